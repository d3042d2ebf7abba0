"""A blobstore in a directory of sharded files."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from ...errors import BlobNotFound
from .base import Blobstore

__all__ = ["DiskStore"]

_TMP = ".tmp"


class DiskStore(Blobstore):
    """Blobs as files under ``cachedir``, sharded by the first two key characters.

    Every write goes to a temporary file in ``cachedir/.tmp`` (the same
    filesystem) and is then renamed into place, so a reader never sees a
    partial blob and a process killed mid-write leaves only a stray temporary
    file, never a truncated blob.

    Parameters
    ----------
    cachedir : str or path
        The root directory; created if missing.
    fsync : bool
        Also flush each blob to the disk before the rename.  Renames already
        make writes safe against killed processes; ``fsync`` adds safety
        against power loss at a large cost in write speed.
    read, write, delete : bool
        Permission flags.
    """

    kind = "disk"

    def __init__(
        self,
        cachedir: str | os.PathLike[str],
        *,
        fsync: bool = False,
        read: bool = True,
        write: bool = True,
        delete: bool = False,
    ) -> None:
        super().__init__(read=read, write=write, delete=delete)
        self.cachedir = os.path.abspath(os.path.expanduser(os.fspath(cachedir)))
        self.fsync = bool(fsync)
        self._tmpdir = os.path.join(self.cachedir, _TMP)
        if self.write:
            os.makedirs(self._tmpdir, exist_ok=True)

    def _path(self, key: str) -> str:
        return os.path.join(self.cachedir, key[:2], key[2:])

    def local_path(self, key: str) -> str | None:
        return self._path(key)

    def staging_dir(self) -> str | None:
        return self._tmpdir

    def spec(self) -> dict[str, Any]:
        return {
            "type": "disk",
            "cachedir": self.cachedir,
            "fsync": self.fsync,
            "read": self.read,
            "write": self.write,
            "delete": self.delete_allowed,
        }

    def _exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))

    def _get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise BlobNotFound(f"blob {key} is not in {self!r}") from None

    def _size(self, key: str) -> int:
        try:
            return os.stat(self._path(key)).st_size
        except FileNotFoundError:
            raise BlobNotFound(f"blob {key} is not in {self!r}") from None

    def _age(self, key: str) -> float | None:
        try:
            return time.time() - os.stat(self._path(key)).st_mtime
        except FileNotFoundError:
            return None

    def _touch(self, key: str) -> bool:
        """Refresh an existing blob's time (see ``age``); whether it exists."""
        try:
            os.utime(self._path(key))
            return True
        except FileNotFoundError:
            return False

    def _commit(self, tmp: str, key: str, overwrite: bool) -> None:
        final = self._path(key)
        if not overwrite and self._touch(key):
            os.unlink(tmp)
            return
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(tmp, final)

    def _tempfile(self) -> tuple[int, str]:
        os.makedirs(self._tmpdir, exist_ok=True)
        return tempfile.mkstemp(dir=self._tmpdir)

    def _put_bytes(self, key: str, data: bytes | memoryview, overwrite: bool) -> None:
        if not overwrite and self._touch(key):
            return
        fd, tmp = self._tempfile()
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            self._commit(tmp, key, overwrite)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _put_file(self, key: str, path: str, move: bool, overwrite: bool) -> None:
        if not overwrite and self._touch(key):
            return
        if move and os.path.dirname(os.path.abspath(path)) == self._tmpdir and not self.fsync:
            # Already staged on our filesystem: the rename is the whole write.
            self._commit(path, key, overwrite)
            return
        fd, tmp = self._tempfile()
        try:
            with os.fdopen(fd, "wb") as dst, open(path, "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
                if self.fsync:
                    dst.flush()
                    os.fsync(dst.fileno())
            self._commit(tmp, key, overwrite)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def _keys(self) -> Iterator[str]:
        try:
            shards = os.scandir(self.cachedir)
        except FileNotFoundError:
            return
        with shards:
            for shard in shards:
                if len(shard.name) != 2 or not shard.is_dir():
                    continue
                with os.scandir(shard.path) as entries:
                    for entry in entries:
                        if entry.is_file():
                            yield shard.name + entry.name

    def __repr__(self) -> str:
        return f"<DiskStore {self.cachedir}>"
