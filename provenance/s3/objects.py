"""The values the S3 client takes and returns.

:class:`S3GetObject` and :class:`S3PutObject` describe requests (any object
with the same attributes works too); :class:`S3Object` describes a result:
an object in S3, a prefix, or a missing key, with an optional local copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import IO, Any, NamedTuple

__all__ = ["META_KEY", "RangeInfo", "S3GetObject", "S3Object", "S3PutObject"]

# User metadata travels as one JSON document in this S3 user-metadata header,
# the one Metaflow uses, so objects written by either client read back in both.
META_KEY = "metaflow-user-attributes"


class S3GetObject(NamedTuple):
    """A (part of an) object to download: ``object[key][offset:offset + length]``.

    Attributes
    ----------
    key : str
        An ``s3://`` URL or a path under the client's root, as for ``get``.
    offset : int, optional
        The first byte to download (default 0).
    length : int, optional
        How many bytes to download; ``None`` reads to the end, a negative
        value ``-n`` reads the last ``n`` bytes (``offset`` is then ignored).
        A range that runs past the end of the object is cut at the end; one
        that starts past the end raises :class:`S3InvalidRange`.
    """

    key: str | None = None
    offset: int | None = None
    length: int | None = None


class S3PutObject(NamedTuple):
    """An object to upload with ``put_many`` (``value``) or ``put_files`` (``path``).

    Attributes
    ----------
    key : str
        An ``s3://`` URL or a path under the client's root.
    value : str, bytes or file object, optional
        What to upload; text is encoded as UTF-8.  A file object must be
        readable and seekable.
    path : str, optional
        A local file to upload.
    content_type : str, optional
        The MIME type stored with the object.
    metadata : dict, optional
        JSON-encodable user metadata stored with the object.
    encryption : str, optional
        Server-side encryption of this object (``"AES256"`` or
        ``"aws:kms"``), over the client's.
    """

    key: str | None = None
    value: str | bytes | IO[bytes] | None = None
    path: str | None = None
    content_type: str | None = None
    metadata: Mapping[str, Any] | None = None
    encryption: str | None = None


class RangeInfo(NamedTuple):
    """What part of an object was downloaded.

    Attributes
    ----------
    total_size : int
        The size of the whole object in S3.
    request_offset : int
        The offset of the first byte downloaded.
    request_length : int
        How many bytes were downloaded.
    """

    total_size: int
    request_offset: int = 0
    request_length: int = -1


class S3Object:
    """An object or a prefix in S3, with an optional local copy.

    ``S3Object`` s are returned by the methods of :class:`~provenance.s3.S3`;
    they are not built by users.  The downloaded bytes live in a file in the
    client's temporary directory (:attr:`path`), not in memory, and go away
    when the client is closed.

    Parameters
    ----------
    prefix : str or None
        The root or prefix the request was relative to.
    url : str
        The full ``s3://`` URL.
    path : str or None
        The local copy, if downloaded.
    size : int or None
        The size in S3; ``None`` if nothing exists at ``url``.
    content_type, metadata, range_info, last_modified, encryption
        Information returned with the object, when asked for.  ``metadata``
        is the raw S3 user metadata; the JSON user attributes are decoded
        from it.  ``encryption`` is the server-side encryption the server
        reports (``"AES256"``, ``"aws:kms"``), or ``None``.
    """

    __slots__ = (
        "_content_type",
        "_encryption",
        "_key",
        "_last_modified",
        "_metadata",
        "_path",
        "_prefix",
        "_range_info",
        "_size",
        "_url",
    )

    def __init__(
        self,
        prefix: str | None,
        url: str,
        path: str | None = None,
        size: int | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        range_info: RangeInfo | None = None,
        last_modified: int | None = None,
        encryption: str | None = None,
    ) -> None:
        self._url = url
        self._encryption = encryption
        self._path = path
        self._size = os.stat(path).st_size if path else size
        self._content_type = content_type
        self._last_modified = last_modified
        self._range_info = range_info
        self._metadata: dict[str, Any] | None = None
        if metadata is not None and META_KEY in metadata:
            self._metadata = json.loads(metadata[META_KEY])
        # The key is what the caller asked for: the part of the URL below the
        # prefix it gave (or the root), else the whole URL.
        if prefix is None or prefix == url:
            self._key = url
            self._prefix: str | None = None
        else:
            self._key = url[len(prefix.rstrip("/")) + 1 :].rstrip("/")
            self._prefix = prefix

    @property
    def exists(self) -> bool:
        """Whether this URL is an existing object (not a prefix, not missing)."""
        return self._size is not None

    @property
    def downloaded(self) -> bool:
        """Whether the contents were downloaded (see :attr:`path`, :attr:`blob`)."""
        return bool(self._path)

    @property
    def url(self) -> str:
        """The ``s3://`` URL of this object."""
        return self._url

    @property
    def prefix(self) -> str | None:
        """The prefix (or root) the request was relative to, if any."""
        return self._prefix

    @property
    def key(self) -> str:
        """The key as requested: a path below :attr:`prefix`, or the full URL."""
        return self._key

    @property
    def path(self) -> str | None:
        """The local file holding the downloaded contents, or ``None``.

        The file is removed when the client that downloaded it is closed.
        """
        return self._path

    @property
    def blob(self) -> bytes | None:
        """The downloaded contents as bytes, or ``None`` if not downloaded."""
        if not self._path:
            return None
        with open(self._path, "rb") as f:
            return f.read()

    @property
    def text(self) -> str | None:
        """The downloaded contents decoded as UTF-8, or ``None`` if not downloaded."""
        blob = self.blob
        return None if blob is None else blob.decode("utf-8", errors="replace")

    @property
    def size(self) -> int | None:
        """The size in bytes (of the part downloaded, for a range), or ``None``."""
        return self._size

    @property
    def has_info(self) -> bool:
        """Whether content type, metadata or range information was fetched.

        If false, :attr:`content_type`, :attr:`metadata`, :attr:`range_info`
        and :attr:`last_modified` are ``None``.
        """
        return (
            self._content_type is not None
            or self._metadata is not None
            or self._range_info is not None
        )

    @property
    def metadata(self) -> dict[str, Any] | None:
        """The user metadata stored with the object, or ``None``."""
        return self._metadata

    @property
    def content_type(self) -> str | None:
        """The MIME type stored with the object, or ``None``."""
        return self._content_type

    @property
    def encryption(self) -> str | None:
        """The server-side encryption of the object, as the server reports it (with info)."""
        return self._encryption

    @property
    def range_info(self) -> RangeInfo | None:
        """Which bytes of the object were downloaded (see :class:`RangeInfo`)."""
        return self._range_info

    @property
    def last_modified(self) -> int | None:
        """When the object was last written, as a Unix timestamp."""
        return self._last_modified

    def __repr__(self) -> str:
        if self._path:
            return f"<S3Object {self._url} ({self._size} bytes, local)>"
        if self._size is not None:
            return f"<S3Object {self._url} ({self._size} bytes, in S3)>"
        return f"<S3Object {self._url} (object does not exist)>"
