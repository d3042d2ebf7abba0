"""Content hashes of raw bytes and files, as blobs are addressed: no type tag."""

from __future__ import annotations

import os

import xxhash


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """Return the xxh3_128 hex digest of raw bytes, with no type tag.

    This addresses stored content (blobs), so ``hash_bytes(b) == hash_file(p)``
    when ``p`` holds ``b``; it is *not* the value id of ``b`` (see
    :func:`~provenance.hashing.hash_value`).

    Parameters
    ----------
    data : bytes, bytearray or memoryview
        A C-contiguous buffer; it is hashed without copying.
    """
    return xxhash.xxh3_128_hexdigest(data)


def new_hasher() -> xxhash.xxh3_128:
    """Return a streaming xxh3_128 hasher (``update``, ``digest``, ``hexdigest``).

    Feeding it the bytes of a blob piece by piece gives :func:`hash_bytes` of the whole.
    """
    return xxhash.xxh3_128()


def hash_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Return the xxh3_128 hex digest of a file's content, reading it in chunks.

    Parameters
    ----------
    path : str or os.PathLike
        The file to hash.
    chunk_size : int, optional
        Bytes read per system call; one buffer of this size is reused, so memory
        use does not grow with the file.

    Returns
    -------
    str
        Equal to ``hash_bytes(content)``.
    """
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    hasher = xxhash.xxh3_128()
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            hasher.update(view[:n])
    return hasher.hexdigest()
