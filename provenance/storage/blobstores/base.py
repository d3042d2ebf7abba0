"""The blobstore abstraction: bytes by key, and nothing else.

A backend implements six primitives (``_exists``, ``_get``, ``_put_bytes``,
``_put_file``, ``_delete``, ``_keys``).  Everything else (permission checks,
key validation, batch operations, copies between stores, materializing a
local file) is written once here on top of them.

Keys are content hashes: a put of a key that already exists is skipped unless
``overwrite=True`` (used only to replace a blob found corrupt).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...errors import PermissionDenied
from ..ids import check_blob_key

__all__ = ["Blobstore", "Staged"]


@dataclass(frozen=True)
class Staged:
    """A staging file (or directory) a writer left behind, as :meth:`Blobstore.staging` lists it.

    Attributes
    ----------
    path : str
        Where it is: a local path, or the store's own name for it.
    size : int
        Its size in bytes (a directory's: the sum of its files).
    age : float
        Seconds since it (or anything in it) was last modified.
    owner : Blobstore, optional
        The member store that listed it (in a chained store), which removes it.
    """

    path: str
    size: int
    age: float
    owner: Any = field(default=None, compare=False, repr=False)


class Blobstore:
    """Base class of every blobstore.

    Parameters
    ----------
    read, write, delete : bool
        What the store may be used for.  An operation the flags forbid raises
        :class:`~provenance.errors.PermissionDenied`; the flags are checked
        here, in one place, never in the backends.
    """

    kind: ClassVar[str] = "abstract"

    #: Whether a chained store may copy into this one the blobs it read from a
    #: later store (the config key ``read_through_write`` of a member store).
    accepts_read_through: bool = True

    #: Why a store configured to write cannot (its directory is read-only for
    #: this process), or ``None``.  Set by a backend that finds out on opening.
    cannot_write: str | None = None

    def __init__(self, *, read: bool = True, write: bool = True, delete: bool = False) -> None:
        self.read = bool(read)
        self._write_flag = bool(write)
        self.delete_allowed = bool(delete)

    @property
    def write(self) -> bool:
        """Whether the store takes new blobs: its flag, unless it found it cannot."""
        return self._write_flag and self.cannot_write is None

    @write.setter
    def write(self, value: bool) -> None:
        self._write_flag = bool(value)

    # -- primitives: what a backend must implement -------------------------

    def _exists(self, key: str) -> bool:
        """Whether a complete blob is stored under ``key``."""
        raise NotImplementedError

    def _get(self, key: str) -> bytes:
        """The bytes stored under ``key``; raise ``BlobNotFound`` if absent."""
        raise NotImplementedError

    def _put_bytes(self, key: str, data: bytes | memoryview, overwrite: bool) -> None:
        """Store ``data`` under ``key`` atomically.

        A reader must never see a partial blob: either the old state or the
        complete new blob.  If the key exists and ``overwrite`` is false the
        call does nothing.
        """
        raise NotImplementedError

    def _put_file(self, key: str, path: str, move: bool, overwrite: bool) -> None:
        """Store the file at ``path`` under ``key`` atomically.

        With ``move`` the source file may be consumed (renamed); otherwise it
        is left in place.  Same atomicity and skip rules as ``_put_bytes``.
        Large files must be streamed, not read into memory.
        """
        raise NotImplementedError

    def _delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""
        raise NotImplementedError

    def _keys(self) -> Iterator[str]:
        """Every key stored, in any order."""
        raise NotImplementedError

    def _size(self, key: str) -> int:
        """The size in bytes of the blob under ``key``."""
        return len(self._get(key))

    def _age(self, key: str) -> float | None:
        """Seconds since the blob was last written (or re-put), if the store knows."""
        return None

    def _staging(self) -> Iterator[Staged]:
        """The staging files writers of this store left, in progress or abandoned.

        The default lists the entries of :meth:`staging_dir` when it is a local
        directory.  A backend with staging elsewhere (a remote directory,
        unfinished multipart uploads) adds its own.
        """
        staging = self.staging_dir()
        if staging is not None and os.path.isabs(staging):
            yield from local_staging(staging)

    def _remove_staging(self, item: Staged) -> None:
        """Remove one entry :meth:`_staging` listed (gone already is not an error)."""
        remove_local(item.path)

    def local_path(self, key: str) -> str | None:
        """A path on the local filesystem holding the blob, if the store has one.

        Disk stores return their file; other stores return ``None`` and
        readers use :meth:`open_local` instead.
        """
        return None

    def staging_dir(self) -> str | None:
        """A directory where a file about to be ``put_file(move=True)`` is best written.

        A disk store returns a directory on its own filesystem, so the final
        step is a rename; ``None`` means the system temporary directory.
        """
        return None

    def spec(self) -> dict[str, Any]:
        """A config dict that rebuilds an equivalent store in another process.

        Raises ``TypeError`` for stores that live only in this process.
        """
        raise TypeError(f"a {self.kind} blobstore cannot be shared with another process")

    # -- public, checked operations ----------------------------------------

    def _require(self, flag: str) -> None:
        if flag == "write" and self._write_flag and self.cannot_write is not None:
            raise PermissionDenied(f"{self!r} cannot be written: {self.cannot_write}")
        allowed = self.delete_allowed if flag == "delete" else getattr(self, flag)
        if not allowed:
            raise PermissionDenied(f"{self!r} is not configured to {flag} ({flag}: false)")

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        self._require("read")
        return self._exists(check_blob_key(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.exists(key)

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``.

        Raises
        ------
        BlobNotFound
            If nothing is stored under the key.
        """
        self._require("read")
        return self._get(check_blob_key(key))

    def size(self, key: str) -> int:
        """The stored size of ``key`` in bytes."""
        self._require("read")
        return self._size(check_blob_key(key))

    def put(self, key: str, data: bytes | memoryview, *, overwrite: bool = False) -> None:
        """Store ``data`` under ``key`` (skipped if the key exists, unless ``overwrite``)."""
        self._require("write")
        self._put_bytes(check_blob_key(key), data, overwrite)

    def put_file(
        self, key: str, path: str | os.PathLike[str], *, move: bool = False, overwrite: bool = False
    ) -> None:
        """Store the file at ``path`` under ``key``, streaming it.

        Parameters
        ----------
        move : bool
            Whether the source file may be consumed.  It is removed either way
            once the call returns when ``move`` is true.
        """
        self._require("write")
        self._put_file(check_blob_key(key), os.fspath(path), move, overwrite)
        if move:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def delete(self, key: str) -> None:
        """Remove ``key`` (a missing key is not an error)."""
        self._require("delete")
        self._delete(check_blob_key(key))

    def keys(self) -> Iterator[str]:
        """Iterate over every stored key."""
        self._require("read")
        return self._keys()

    def age(self, key: str) -> float | None:
        """Seconds since ``key`` was last written or re-put (``None``: unknown).

        A put of a key that already exists counts as a write, so a blob that
        a new artifact is about to refer to is never mistaken for garbage.
        """
        self._require("read")
        return self._age(check_blob_key(key))

    def staging(self, older_than: float = 0.0) -> list[Staged]:
        """Staging files left at least ``older_than`` seconds ago.

        A writer stages a value before moving it into place; one killed
        mid-write leaves its staging file behind, which nothing else removes.
        A file younger than the grace period may belong to a write in
        progress: :func:`provenance.gc` removes only older ones.
        """
        self._require("read")
        return [item for item in self._staging() if item.age >= older_than]

    def remove_staging(self, items: Iterable[Staged]) -> int:
        """Remove staging entries listed by :meth:`staging`; the bytes freed.

        Needs the ``delete`` flag, as deleting blobs does.
        """
        self._require("delete")
        freed = 0
        for item in items:
            (item.owner or self)._remove_staging(item)
            freed += item.size
        return freed

    # -- batch operations: written once, overridden where a backend is faster

    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        """For each key, whether it is stored."""
        return {key: self.exists(key) for key in keys}

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each key, in the order given."""
        return {key: self.get(key) for key in keys}

    def put_many(self, items: Iterable[tuple[str, bytes]], *, overwrite: bool = False) -> None:
        """Store each ``(key, data)`` pair."""
        for key, data in items:
            self.put(key, data, overwrite=overwrite)

    def copy_to(self, dest: Blobstore, keys: Iterable[str]) -> list[str]:
        """Copy blobs to ``dest`` as bytes (values are never deserialized).

        Keys ``dest`` already holds are skipped.  Each blob is written
        atomically, so an interrupted copy leaves only complete blobs behind.

        Returns
        -------
        list of str
            The keys that were actually copied.
        """
        keys = list(keys)
        present = dest.exists_many(keys)
        missing = [k for k in keys if not present[k]]
        put_files = getattr(dest, "put_files", None)
        if put_files is None:
            for key in missing:
                with self.open_local(key) as path:
                    dest.put_file(key, path)
            return missing
        # A store with a parallel batch upload (S3) gets the blobs in batches.
        for start in range(0, len(missing), 256):
            with contextlib.ExitStack() as stack:
                batch = [
                    (k, stack.enter_context(self.open_local(k)))
                    for k in missing[start : start + 256]
                ]
                put_files(batch)
        return missing

    @contextlib.contextmanager
    def open_local(self, key: str) -> Iterator[str]:
        """A context giving a local file path that holds the blob.

        For a disk store this is the stored file itself (do not modify it);
        other stores write a temporary copy that is removed afterwards.
        """
        self._require("read")
        check_blob_key(key)
        path = self.local_path(key)
        if path is not None and os.path.exists(path):
            yield path
            return
        fd, tmp = tempfile.mkstemp(prefix="provenance-", suffix=os.path.splitext(key)[1])
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self._get(key))
            yield tmp
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def materialize(self, key: str, dest: str | os.PathLike[str]) -> str:
        """Copy the blob to the file ``dest`` (atomically) and return its path."""
        dest = os.fspath(dest)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest) or ".", prefix=".materialize-")
        os.close(fd)
        try:
            with self.open_local(key) as src:
                shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return dest

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


# -- local staging directories ---------------------------------------------------


def local_staging(directory: str) -> Iterator[Staged]:
    """Every entry of a local staging directory, with its size and age."""
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    now = time.time()
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                size, newest = _tree_stat(entry.path)
            else:
                st = entry.stat(follow_symlinks=False)
                size, newest = st.st_size, st.st_mtime
        except FileNotFoundError:
            continue  # finished (moved into place) while we looked
        yield Staged(entry.path, size, max(0.0, now - newest))


def _tree_stat(path: str) -> tuple[int, float]:
    """Total size of the files under ``path``, and the newest modification time in it."""
    size, newest = 0, os.stat(path).st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(os.path.join(root, name))
                newest = max(newest, st.st_mtime)
                if name in files:
                    size += st.st_size
    return size, newest


def remove_local(path: str) -> None:
    """Remove a local staging file or directory (a missing one is not an error)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
