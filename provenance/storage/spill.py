"""How a value's bytes travel: hashed while serialized, spilled to disk when large.

The repository serializes a value straight into a :class:`HashingSpill`,
so that the bytes are hashed as they are written and only a small value
is ever held whole in memory; reading goes the other way, through a
:class:`HashingReader` that hashes the bytes as a serializer reads them
into the value's memory (see :mod:`.reading`).
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from ..errors import CorruptBlob
from ..hashing import hash_file, new_hasher

__all__ = [
    "HashingReader",
    "HASHING_BESIDE",
    "HashingSpill",
    "StoredValue",
    "preallocate",
    "read_small",
    "serialize",
    "temp_copy",
    "verify_blob",
]

#: Blobs up to this size are read into memory and verified in one pass;
#: larger ones are verified by streaming the file, then loaded from it.
_IN_MEMORY_LOAD = 16 << 20
#: A write at least this large is hashed in a second thread while the first
#: writes it (both release the GIL), so the hash costs no time on a free core.
_PARALLEL_HASH = 32 << 20
#: Reads are split in pieces of this size, each hashed right after it lands,
#: while it is still in the core's L2 cache: the bytes cross memory once
#: (hashing from cache runs at tens of GB/s, from memory at a few).
_READ_PIECE = 256 << 10
#: A large read handed to a hashing thread goes in pieces of this size: the
#: fastest on our machines (1 GB in 1 MB pieces lost 7% to the hand-overs,
#: in 16 MB pieces the hasher reads from memory instead of the cache).
_PARALLEL_PIECE = 4 << 20


class StoredValue(NamedTuple):
    """Where :meth:`Repository.store_value` put a value."""

    blob_id: str
    size: int
    inline: bytes | None


class HashingSpill:
    """A write-only file that hashes what it is given and spills to disk when large."""

    def __init__(self, limit: int, directory: str | None) -> None:
        self._hasher = new_hasher()
        self._limit = limit
        self._dir = directory
        self._buf: io.BytesIO | None = io.BytesIO()
        self._file: Any = None
        self.path: str | None = None
        self.size = 0
        self._closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.size += len(view)
        if self._file is None and self.size > self._limit:
            fd, self.path = tempfile.mkstemp(prefix="provenance-", dir=self._dir)
            self._file = os.fdopen(fd, "wb")
            assert self._buf is not None
            self._file.write(self._buf.getbuffer())
            self._buf = None
        if self._file is None:
            self._hasher.update(view)
            assert self._buf is not None
            self._buf.write(view)
        elif len(view) >= _PARALLEL_HASH:
            self._file.flush()
            preallocate(self._file.fileno(), self.size - len(view), len(view))
            _hash_while(self._hasher, view, lambda: self._file.write(view))
        else:
            self._hasher.update(view)
            self._file.write(view)
        return len(view)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def writable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        # Writers that wrap a Python file object (pyarrow's) ask for it.
        return self._closed

    def hexdigest(self) -> str:
        return str(self._hasher.hexdigest())

    def getvalue(self) -> bytes:
        assert self._buf is not None
        return self._buf.getvalue()

    def close(self) -> None:
        self._closed = True
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> HashingSpill:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


#: Held by a thread that hashes beside a write (a large value's hash, the
#: blob's hash): one such thread at a time, so that on two cores the writer
#: keeps one to itself instead of sharing two with two hashers.
HASHING_BESIDE = threading.Lock()
_fallocate: Any = None


def _after_fork_in_child() -> None:
    # A hashing thread of the parent does not exist in the child: its lock
    # would never be released.
    global HASHING_BESIDE
    HASHING_BESIDE = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def preallocate(fd: int, offset: int, length: int) -> None:
    """Reserve the disk blocks of a large write before making it; a no-op where unsupported.

    Linux's ``fallocate`` with ``FALLOC_FL_KEEP_SIZE`` (the file's size is
    unchanged) lets the write copy into blocks already allocated:
    ``numpy.ndarray.tofile`` does the same, and a 1 GB write then takes
    about two thirds of the time.  ``os.posix_fallocate`` is not used: where
    the file system cannot reserve blocks, glibc's fallback writes zeros
    over the whole range first.
    """
    global _fallocate
    if _fallocate is None:
        _fallocate = False
        if sys.platform.startswith("linux"):
            with contextlib.suppress(Exception):
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                # The 64-bit-offset entry point, also on 32-bit systems.
                function = getattr(libc, "fallocate64", None) or libc.fallocate
                function.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
                function.restype = ctypes.c_int
                _fallocate = function
    if _fallocate:
        _fallocate(fd, 1, offset, length)  # 1: FALLOC_FL_KEEP_SIZE; errors are ignored


def _hash_while(hasher: Any, view: memoryview, work: Any) -> None:
    """``hasher.update(view)`` in a second thread while this one runs ``work()``."""
    failed: list[BaseException] = []

    def update() -> None:
        try:
            with HASHING_BESIDE:
                hasher.update(view)
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=update, name="provenance-hash", daemon=True)
    thread.start()
    try:
        work()
    finally:
        thread.join()
    if failed:
        raise failed[0]


class HashingReader:
    """A read-only binary file that hashes every byte read through it, in order.

    A serializer's ``load_from`` reads a blob through it; :meth:`finish`
    hashes whatever it left unread and gives the digest of the whole file,
    which the repository compares with the blob id before it hands the value
    out.  Large ``readinto`` calls are split in :data:`_READ_PIECE` pieces,
    each hashed as soon as it is read, so the data is touched once.
    """

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._hasher = new_hasher()
        self.size = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        # For the size (fstat); reading must go through this object.
        return int(self._raw.fileno())

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if len(view) >= _PARALLEL_HASH:
            return self._readinto_beside(view)
        done = 0
        while done < len(view):
            piece = view[done : done + _READ_PIECE]
            n = self._raw.readinto(piece)
            if not n:
                break
            self._hasher.update(piece[:n])
            done += n
        self.size += done
        return done

    def _readinto_beside(self, view: memoryview) -> int:
        """Fill a large ``view``, hashing each piece in a second thread as the next one is read.

        Reading from the page cache and hashing both release the GIL: one
        core copies while the other hashes, a piece behind, in order.
        """
        pieces: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        failed: list[BaseException] = []

        def hash_pieces() -> None:
            with HASHING_BESIDE:
                while (piece := pieces.get()) is not None:
                    if not failed:
                        try:
                            self._hasher.update(piece)
                        except BaseException as exc:  # re-raised in the reading thread
                            failed.append(exc)

        thread = threading.Thread(target=hash_pieces, name="provenance-hash", daemon=True)
        thread.start()
        done = 0
        try:
            while done < len(view) and not failed:
                piece = view[done : done + _PARALLEL_PIECE]
                n = self._raw.readinto(piece)
                if not n:
                    break
                pieces.put(piece[:n])
                done += n
        finally:
            pieces.put(None)
            thread.join()
        if failed:
            raise failed[0]
        self.size += done
        return done

    def read(self, n: int | None = -1) -> bytes:
        if n is not None and n >= 0:
            buffer = bytearray(n)
            return bytes(buffer[: self.readinto(buffer)])
        data = self._raw.read()
        self._hasher.update(data)
        self.size += len(data)
        return bytes(data)

    def finish(self) -> str:
        """Hash what is left unread; the hex digest of the whole file."""
        rest = bytearray(_READ_PIECE)
        while self.readinto(rest):
            pass
        return str(self._hasher.hexdigest())


def read_small(path: str) -> bytes | None:
    """The file's bytes if it is small enough to load from memory, else ``None``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size > _IN_MEMORY_LOAD:
            return None
        chunks = []
        while size > 0:
            chunk = os.read(fd, size)
            if not chunk:
                break
            chunks.append(chunk)
            size -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


@contextlib.contextmanager
def temp_copy(data: bytes) -> Iterator[str]:
    fd, path = tempfile.mkstemp(prefix="provenance-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def serialize(
    blobstore: Any,
    value: Any,
    ser: Any,
    dump_kwargs: Mapping[str, Any] | None,
    overwrite: bool,
    inline_limit: int,
) -> StoredValue:
    """Serialize ``value`` with ``ser``: into memory when small, else into ``blobstore``.

    See :meth:`Repository.store_value <provenance.Repository.store_value>`.
    """
    kwargs = dict(dump_kwargs or {})
    if ser.dump_to is not None:
        with HashingSpill(inline_limit, blobstore.staging_dir()) as out:
            ser.dump_to(value, out, **kwargs)
            blob_id = out.hexdigest()
            if out.path is None:
                return StoredValue(blob_id, out.size, out.getvalue())
            out.close()
            blobstore.put_file(blob_id, out.path, move=True, overwrite=overwrite)
            return StoredValue(blob_id, out.size, None)
    # A serializer that only writes to file names: give it a name that
    # does not exist yet, in a private directory on the store's disk.
    workdir = tempfile.mkdtemp(prefix="provenance-", dir=blobstore.staging_dir())
    tmp = os.path.join(workdir, "value")
    try:
        ser.dump(value, tmp, **kwargs)
        blob_id = hash_file(tmp)
        size = os.path.getsize(tmp)
        blobstore.put_file(blob_id, tmp, move=True, overwrite=overwrite)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return StoredValue(blob_id, size, None)


def verify_blob(actual: str, expected: str, artifact: Any) -> None:
    """Raise :class:`~provenance.CorruptBlob` if a value's bytes do not hash to its blob id."""
    if actual != expected:
        raise CorruptBlob(
            f"the stored value of artifact {artifact.id} ({artifact.name}) is corrupt: "
            f"blob {artifact.blob_id} hashes to {actual}"
        )
