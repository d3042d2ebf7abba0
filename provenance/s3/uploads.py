"""What to upload: bytes, a local file or a file object, with its headers."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from .errors import S3InvalidObject, S3NotFound
from .objects import META_KEY

__all__ = ["Upload", "make_upload", "read_small", "size_of"]


@dataclass(frozen=True)
class Upload:
    """One object to upload: the bytes, a local file, or a file object."""

    url: str
    data: bytes | None = None
    path: str | None = None
    fileobj: IO[bytes] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def make_upload(
    url: str,
    value: Any = None,
    path: str | os.PathLike[str] | None = None,
    content_type: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    encryption: str | None = None,
) -> Upload:
    """Check and describe one object to upload to ``url``.

    Raises
    ------
    S3InvalidObject
        If the value is not text, bytes or a readable, seekable file, or the
        metadata is not JSON-encodable.
    S3NotFound
        If ``path`` is not an existing file.
    """
    extra: dict[str, Any] = {}
    if content_type:
        extra["ContentType"] = content_type
    if encryption:
        extra["ServerSideEncryption"] = encryption
    if metadata:
        try:
            extra["Metadata"] = {META_KEY: json.dumps(dict(metadata))}
        except (TypeError, ValueError) as exc:
            raise S3InvalidObject(f"metadata for {url} is not JSON-encodable: {exc}", url) from None
    if path is not None:
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise S3NotFound(f"local file not found: {path} (to upload to {url})", url)
        return Upload(url, path=path, extra=extra)
    if isinstance(value, str):
        return Upload(url, data=value.encode("utf-8"), extra=extra)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Upload(url, data=bytes(value), extra=extra)
    readable = getattr(value, "readable", lambda: hasattr(value, "read"))
    seekable = getattr(value, "seekable", lambda: hasattr(value, "seek"))
    if value is not None and readable() and seekable():
        return Upload(url, fileobj=value, extra=extra)
    raise S3InvalidObject(
        f"the value for {url} is not text, bytes or a readable, seekable file: {type(value)}",
        url,
    )


def size_of(item: Upload) -> int:
    if item.data is not None:
        return len(item.data)
    if item.path is not None:
        return os.path.getsize(item.path)
    assert item.fileobj is not None
    here = item.fileobj.seek(0, os.SEEK_END)
    item.fileobj.seek(0)
    return here


def read_small(item: Upload) -> bytes:
    if item.data is not None:
        return item.data
    if item.path is not None:
        with open(item.path, "rb") as f:
            return f.read()
    assert item.fileobj is not None
    item.fileobj.seek(0)
    return item.fileobj.read()
