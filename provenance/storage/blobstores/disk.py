"""A blobstore in a directory of sharded files."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from ...errors import BlobNotFound, ConfigError, StorageFull
from ..modes import current_umask
from .base import Blobstore

__all__ = ["DiskStore", "check_mode"]

_TMP = ".tmp"
#: The errors of a directory this process may not write.
_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)
_FULL = (errno.ENOSPC, errno.EDQUOT)


def check_mode(where: str, value: Any) -> int | None:
    """A ``mode:`` config value (an int, or a string of octal digits) as an int."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0o")
        try:
            value = int(text, 8)
        except ValueError:
            raise ConfigError(
                f"'{where}' must be a file mode in octal, such as '0660', got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777:
        raise ConfigError(f"'{where}' must be a file mode from 0000 to 0777, got {value!r}")
    if not value & 0o600 == 0o600:
        raise ConfigError(f"'{where}' {value:04o} must let the owner read and write the blobs")
    return value


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
    mode : int, optional
        The permissions of the blobs, e.g. ``0o660`` to share them with the
        group.  Directories the store makes get the same bits plus search
        (``x``) wherever reading is allowed, and the set-group-id bit when the
        group may write, so colleagues' files stay in the group.  By default
        files and directories follow the umask, as ``cp`` does.
    read, write, delete : bool
        Permission flags.  A store configured to write whose directory this
        process cannot write (another user's, a read-only mount) reads as
        usual; :attr:`cannot_write` says why it does not write.
    """

    kind = "disk"

    def __init__(
        self,
        cachedir: str | os.PathLike[str],
        *,
        fsync: bool = False,
        mode: int | None = None,
        read: bool = True,
        write: bool = True,
        delete: bool = False,
    ) -> None:
        super().__init__(read=read, write=write, delete=delete)
        self.cachedir = os.path.abspath(os.path.expanduser(os.fspath(cachedir)))
        self.fsync = bool(fsync)
        self.mode = check_mode("mode", mode)
        if self.mode is None:
            self._file_mode = 0o666 & ~current_umask()
            self._dir_mode: int | None = None
        else:
            self._file_mode = self.mode
            self._dir_mode = self.mode | (self.mode & 0o444) >> 2
            if self.mode & 0o020:
                self._dir_mode |= 0o2000
        self._tmpdir = os.path.join(self.cachedir, _TMP)
        if self.write:
            try:
                self._makedirs(self._tmpdir)
                if not os.access(self._tmpdir, os.W_OK):
                    raise PermissionError(errno.EACCES, "not writable", self._tmpdir)
            except OSError as exc:
                if exc.errno not in _READ_ONLY:
                    raise
                self.cannot_write = (
                    f"the directory {self.cachedir} is read-only for this user or mount "
                    f"({exc.strerror})"
                )

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
            "mode": self.mode,
            "read": self.read,
            "write": self._write_flag,
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

    def _makedirs(self, path: str) -> None:
        """``os.makedirs``, giving the directories it makes the store's mode."""
        if os.path.isdir(path):
            return
        parent = os.path.dirname(path)
        if parent != path:
            self._makedirs(parent)
        try:
            os.mkdir(path)
        except FileExistsError:
            return
        if self._dir_mode is not None:
            os.chmod(path, self._dir_mode)

    def _commit(self, tmp: str, key: str, overwrite: bool) -> None:
        final = self._path(key)
        if not overwrite and self._touch(key):
            os.unlink(tmp)
            return
        # Staging files are private (mkstemp makes them 0600); the blob
        # gets the store's mode, or what the umask allows.
        os.chmod(tmp, self._file_mode)
        self._makedirs(os.path.dirname(final))
        os.replace(tmp, final)

    def _tempfile(self) -> tuple[int, str]:
        self._makedirs(self._tmpdir)
        return tempfile.mkstemp(dir=self._tmpdir)

    def _put_bytes(self, key: str, data: bytes | memoryview, overwrite: bool) -> None:
        try:
            self._put_bytes_unchecked(key, data, overwrite)
        except OSError as exc:
            full = self._full(exc)
            if full is None:
                raise
            raise full from exc

    def _put_file(self, key: str, path: str, move: bool, overwrite: bool) -> None:
        try:
            self._put_file_unchecked(key, path, move, overwrite)
        except OSError as exc:
            full = self._full(exc)
            if full is None:
                raise
            raise full from exc

    def _full(self, exc: OSError) -> StorageFull | None:
        if exc.errno not in _FULL:
            return None
        return StorageFull(
            exc.errno,
            f"no space left on the device of the blobstore {self.cachedir}: {exc.strerror}; "
            "free some space (provenance gc) and retry",
            exc.filename or self.cachedir,
        )

    def _put_bytes_unchecked(self, key: str, data: bytes | memoryview, overwrite: bool) -> None:
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

    def _put_file_unchecked(self, key: str, path: str, move: bool, overwrite: bool) -> None:
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
