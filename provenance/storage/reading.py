"""How a stored value is read back: verified while it streams, or mapped.

Every value a repository hands out is checked against its blob id (the
hash of its bytes), and the check costs no second pass over the data:

* a value kept in its index row, or a blob small enough to read whole, is
  hashed in memory and then deserialized;
* a serializer with ``load_from`` (``npy``) reads a blob on local disk
  through a :class:`~provenance.storage.spill.HashingReader`, straight into
  the value's memory, each piece hashed as it arrives; the value is dropped
  and :class:`~provenance.CorruptBlob` raised if the whole file does not
  hash to the blob id;
* other blobs are hashed file by file, then loaded.

A **memory map** (``mmap_mode``: the decorator's ``load_kwargs`` or a repo's
``mmap_mode`` setting, for serializers that map, ``npy``) cannot be
verified at load without reading all of it, which is what a map avoids.
So a mapped value is checked for its size only (a truncated blob raises
:class:`~provenance.CorruptBlob`), and its content is verified by
:func:`provenance.verify` (``provenance verify``).  The map is made safe
instead: only ``"r"`` (read-only) and ``"c"`` (copy-on-write: changes stay in
this process's memory) are accepted, so the stored blob can never be changed
through it, and blobs are replaced by rename, never in place, so a map
keeps the bytes it was made from.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import BlobNotFound, CorruptBlob, InvalidValue
from ..hashing import hash_bytes, hash_file
from ..serializers import Serializer
from .spill import HashingReader, read_small, temp_copy, verify_blob

__all__ = ["MAP_MODES", "check_map_mode", "deserialize"]

#: The ``mmap_mode`` values accepted: maps through which the file cannot change.
MAP_MODES = ("r", "c")


def check_map_mode(where: str, value: Any, error: type[Exception] = InvalidValue) -> str | None:
    """``value`` as an ``mmap_mode``: ``"r"``, ``"c"`` or ``None``; else raise ``error``.

    Parameters
    ----------
    where : str
        What the value is, for the message (``"load_kwargs['mmap_mode']"``,
        ``"'artifact_repos.local.mmap_mode'"``).
    value : object
        The setting.
    error : type
        The exception raised (a :class:`~provenance.ConfigError` for config).
    """
    if value is None or (isinstance(value, str) and value in MAP_MODES):
        return value
    raise error(
        f"{where} must be 'r' (a read-only map) or 'c' (copy-on-write: changes stay in "
        f"memory), or null for no map; got {value!r}"
        + (": a map that writes would change the stored blob" if value in ("r+", "w+") else "")
    )


def deserialize(repo: Any, artifact: Any, serializer: Serializer, inline: bytes | None) -> Any:
    """Read ``artifact``'s value from ``repo`` with ``serializer``, verified (see above).

    Raises
    ------
    CorruptBlob
        If the bytes do not hash to the blob id (or a mapped blob has not
        the recorded size); nothing is returned.
    FileNotFoundError, BlobNotFound
        If the blob is missing (the repository names the artifact).
    """
    blob_id = artifact.blob_id
    digest = blob_id.split(".", 1)[0]
    load_kwargs = dict(artifact.load_kwargs or {})
    if "mmap_mode" in load_kwargs:
        mode = check_map_mode("load_kwargs['mmap_mode']", load_kwargs.pop("mmap_mode"))
    else:
        mode = getattr(repo, "mmap_mode", None) if serializer.maps else None
    if inline is not None:
        verify_blob(hash_bytes(inline), digest, artifact)
        if serializer.loads is not None and not load_kwargs:
            return serializer.loads(inline)
        with temp_copy(inline) as local:
            return serializer.load(local, **load_kwargs)
    path = repo.blobstore.local_path(blob_id)
    if path is not None:
        if mode is not None and serializer.maps:
            return _mapped(artifact, serializer, path, mode, load_kwargs)
        if serializer.load_from is not None and not load_kwargs:
            return _streamed(artifact, serializer, path, digest)
        if serializer.loads is not None and not load_kwargs:
            data = read_small(path)
            if data is not None:
                verify_blob(hash_bytes(data), digest, artifact)
                return serializer.loads(data)
    if mode is not None:
        load_kwargs["mmap_mode"] = mode  # a map of the local copy, verified below
    with repo.blobstore.open_local(blob_id) as local:
        if serializer.load_from is not None and not load_kwargs:
            return _streamed(artifact, serializer, local, digest)
        verify_blob(hash_file(local), digest, artifact)
        return serializer.load(local, **load_kwargs)


def _streamed(artifact: Any, serializer: Serializer, path: str, digest: str) -> Any:
    assert serializer.load_from is not None
    with open(path, "rb", buffering=0) as raw:
        reader = HashingReader(raw)
        try:
            value = serializer.load_from(reader)
        except Exception as exc:
            # A blob cut short or overwritten fails to parse: say it is
            # corrupt, which it is if its bytes do not hash to its id.
            actual = reader.finish()
            if actual != digest:
                raise _corrupt(artifact, f"hashes to {actual}") from exc
            raise
        verify_blob(reader.finish(), digest, artifact)
    return value


def _mapped(
    artifact: Any, serializer: Serializer, path: str, mode: str, load_kwargs: dict[str, Any]
) -> Any:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise BlobNotFound(f"blob {artifact.blob_id} is not on disk at {path}") from None
    if artifact.size is not None and size != artifact.size:
        raise _corrupt(artifact, f"is {size:,} bytes where {artifact.size:,} were stored")
    return serializer.load(path, mmap_mode=mode, **load_kwargs)


def _corrupt(artifact: Any, what: str) -> CorruptBlob:
    return CorruptBlob(
        f"the stored value of artifact {artifact.id} ({artifact.name}) is corrupt: "
        f"blob {artifact.blob_id} {what}"
    )
