"""A blobstore on any fsspec filesystem: SFTP, Google Cloud Storage, local, memory...

The store keeps the disk store's layout under its root URL
(``<root>/<key[:2]>/<key[2:]>``) and the same guarantee: a reader never sees
a partial blob.  On filesystems with directories and renames (local files,
SFTP, and any protocol not known to be an object store) each blob is written
to ``<root>/.tmp/`` and moved into place; on object stores (GCS, S3, Azure,
memory) one upload creates the object whole, so the blob is written where it
belongs.

Importing this module imports neither fsspec nor a filesystem's own
dependencies (paramiko for SFTP, gcsfs for GCS); building a store checks
that they are installed, and raises
:class:`~provenance.errors.MissingDependency` naming the extra to install.
The connection is made on first use, so loading a config costs nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...errors import BlobNotFound, ConfigError, InvalidId, MissingDependency, require
from ..ids import check_blob_key
from .base import Blobstore, Staged

__all__ = ["FsspecStore"]

_TMP = ".tmp"
#: The ``provenance`` extra that installs what a protocol needs.
EXTRAS = {"sftp": "sftp", "ssh": "sftp", "gs": "gs", "gcs": "gs"}
#: Protocols where one upload creates a complete object (no rename needed).
OBJECT_STORES = {"memory", "gs", "gcs", "s3", "s3a", "az", "abfs", "abfss", "adl", "oci"}
LOCAL = {"file", "local"}
#: Where unknown SSH host keys are looked up by default (as OpenSSH does).
KNOWN_HOSTS = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")
HOST_KEY_POLICIES = ("known_hosts", "auto_add", "warning")


def _redact(url: str) -> str:
    """The URL without a password (``sftp://user:secret@host`` shows as ``user:***@``)."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)


def _protocol(url: str) -> str:
    # The outermost filesystem of a chained URL ("simplecache::gs://...") is the first.
    head = url.split("::", 1)[0]
    return head.split("://", 1)[0].lower() if "://" in head else "file"


class FsspecStore(Blobstore):
    """Blobs as files under an fsspec URL, sharded by the first two key characters.

    Parameters
    ----------
    url : str
        The root: ``sftp://user@host:2222/srv/blobs``, ``gs://bucket/prefix``,
        ``file:///data/blobs``, ``memory://scratch``, or any other URL fsspec
        knows.
    storage_options : mapping, optional
        Options of the filesystem (fsspec's ``storage_options``): for SFTP the
        options of :meth:`paramiko.client.SSHClient.connect` (``username``,
        ``port``, ``password``, ``key_filename``...) plus ``known_hosts`` and
        ``host_key_policy`` (see below); for GCS gcsfs's (``project``,
        ``token``...).  They are part of :meth:`spec`, so worker processes
        get them too.
    cachedir : str, optional
        A local directory that keeps a copy of every blob read, so a blob is
        downloaded once per machine (the original ``sftp`` and ``gs`` stores'
        key).  Blobs never change, so the copies never go stale.
    cleanup_cachedir : bool
        Remove ``cachedir`` when the store is garbage-collected or the process
        exits (the original library's key).
    read, write, delete : bool
        Permission flags.

    Notes
    -----
    SFTP host keys are checked: by default (``host_key_policy:
    known_hosts``) the server's key must be listed in ``known_hosts`` (a
    file or list of files; by default ``~/.ssh/known_hosts`` and
    ``/etc/ssh/ssh_known_hosts``), as the original library and OpenSSH's
    ``StrictHostKeyChecking`` require.  ``auto_add`` trusts any key (fsspec's
    own default), ``warning`` trusts any key with a logged warning.
    """

    kind = "fsspec"

    def __init__(
        self,
        url: str,
        storage_options: Mapping[str, Any] | None = None,
        *,
        cachedir: str | os.PathLike[str] | None = None,
        cleanup_cachedir: bool = False,
        read: bool = True,
        write: bool = True,
        delete: bool = False,
    ) -> None:
        super().__init__(read=read, write=write, delete=delete)
        if not isinstance(url, str) or not url:
            raise ConfigError(f"an fsspec blobstore needs a 'url', got {url!r}")
        self.url = url.rstrip("/") or url
        self.storage_options = dict(storage_options or {})
        self.protocol = _protocol(url)
        self.cachedir = (
            os.path.abspath(os.path.expanduser(os.fspath(cachedir))) if cachedir else None
        )
        self.cleanup_cachedir = bool(cleanup_cachedir)
        self._fs_class = self._check_dependencies()
        self._host_key_policy = self.storage_options.pop("host_key_policy", "known_hosts")
        known = self.storage_options.pop("known_hosts", KNOWN_HOSTS)
        self._known_hosts = [known] if isinstance(known, (str, os.PathLike)) else list(known)
        if self.protocol in ("sftp", "ssh") and self._host_key_policy not in HOST_KEY_POLICIES:
            raise ConfigError(
                f"'host_key_policy' is {self._host_key_policy!r}; "
                f"one of {', '.join(HOST_KEY_POLICIES)}"
            )
        if self.cachedir and self.write:
            os.makedirs(os.path.join(self.cachedir, _TMP), exist_ok=True)
        if self.cachedir and self.cleanup_cachedir:
            weakref.finalize(self, shutil.rmtree, self.cachedir, ignore_errors=True)
        self._fs: Any = None
        self._root = ""
        self._lock = threading.Lock()
        # paramiko's SFTP client mixes up the replies of concurrent requests (it
        # hangs): an SFTP store makes one request at a time.
        self._io: Any = (
            threading.RLock() if self.protocol in ("sftp", "ssh") else contextlib.nullcontext()
        )
        self._shards: set[str] = set()

    def _check_dependencies(self) -> Any:
        """The filesystem class, once its packages are known to be installed."""
        extra = EXTRAS.get(self.protocol, "fsspec")
        feature = f"the {self.protocol} blobstore ({_redact(self.url)})"
        fsspec = require("fsspec", extra, feature)
        if self.protocol in ("sftp", "ssh"):
            require("paramiko", "sftp", feature)
        try:
            return fsspec.get_filesystem_class(self.protocol)
        except ImportError as exc:
            hint = f"`pip install 'provenance[{extra}]'`" if extra != "fsspec" else str(exc)
            raise MissingDependency(f"{feature} needs more packages: {hint}") from exc
        except ValueError as exc:
            raise ConfigError(
                f"fsspec knows no protocol {self.protocol!r} ({_redact(self.url)})"
            ) from exc

    # -- the filesystem, connected on first use ----------------------------------

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (connected on first use)."""
        with self._lock:
            if self._fs is None:
                self._fs, self._root = self._connect()
            return self._fs

    def _connect(self) -> tuple[Any, str]:
        from fsspec.core import url_to_fs

        if self.protocol in ("sftp", "ssh"):
            from ._sftp import sftp_filesystem

            fs, root = sftp_filesystem(
                self.url, self.storage_options, self._host_key_policy, self._known_hosts
            )
        else:
            fs, root = url_to_fs(self.url, **self.storage_options)
        root = root.rstrip("/")
        if self.write and self.protocol not in OBJECT_STORES:
            fs.makedirs(f"{root}/{_TMP}", exist_ok=True)
        return fs, root

    @property
    def root(self) -> str:
        """The root path as the filesystem names it (no protocol)."""
        self.fs  # noqa: B018  (connects, which sets the root)
        return self._root

    def close(self) -> None:
        """Drop the connection (it is made again if the store is used)."""
        with self._lock:
            fs, self._fs = self._fs, None
        client = getattr(fs, "client", None)  # SFTP: paramiko's SSHClient
        if client is not None:
            client.close()

    def spec(self) -> dict[str, Any]:
        if self.protocol == "memory":
            raise TypeError("a memory:// fsspec blobstore cannot be shared with another process")
        options = dict(self.storage_options)
        if self.protocol in ("sftp", "ssh"):
            options["host_key_policy"] = self._host_key_policy
            options["known_hosts"] = list(self._known_hosts)
        return {
            "type": "fsspec",
            "url": self.url,
            "storage_options": options,
            # The owner removes the cache; a worker process must not.
            "cachedir": self.cachedir,
            "read": self.read,
            "write": self.write,
            "delete": self.delete_allowed,
        }

    # -- paths ---------------------------------------------------------------------

    def _path(self, key: str) -> str:
        return f"{self.root}/{key[:2]}/{key[2:]}"

    def _cache_path(self, key: str) -> str | None:
        return os.path.join(self.cachedir, key[:2], key[2:]) if self.cachedir else None

    def local_path(self, key: str) -> str | None:
        if self.protocol in LOCAL:
            return self._path(key)
        path = self._cache_path(key)
        return path if path is not None and os.path.exists(path) else None

    def staging_dir(self) -> str | None:
        if self.protocol in LOCAL:
            return f"{self.root}/{_TMP}"
        return os.path.join(self.cachedir, _TMP) if self.cachedir else None

    def _staging(self) -> Iterator[Staged]:
        yield from super()._staging()  # a local root's .tmp, or the local cache's
        if self.protocol in LOCAL or self.protocol in OBJECT_STORES:
            return  # object stores write whole objects: nothing is staged there
        # A remote filesystem (SFTP): uploads are staged in <root>/.tmp.
        try:
            with self._io:
                entries = self.fs.ls(f"{self.root}/{_TMP}", detail=True)
        except FileNotFoundError:
            return
        now = time.time()
        for entry in entries:
            mtime = entry.get("mtime")
            if hasattr(mtime, "timestamp"):
                mtime = mtime.timestamp()
            if not isinstance(mtime, (int, float)):
                continue  # no age known: never taken for abandoned
            size = int(entry.get("size") or 0)
            yield Staged(f"{self.protocol}://{entry['name']}", size, max(0.0, now - mtime))

    def _remove_staging(self, item: Staged) -> None:
        prefix = f"{self.protocol}://"
        if not item.path.startswith(prefix):
            super()._remove_staging(item)
            return
        with self._io, contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(item.path[len(prefix) :])

    def _forget(self, key: str) -> None:
        path = self._cache_path(key)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    # -- primitives ------------------------------------------------------------------

    def _exists(self, key: str) -> bool:
        # The remote is the truth (gc may have deleted a blob still cached here).
        try:
            with self._io:
                return self.fs.info(self._path(key))["type"] == "file"
        except FileNotFoundError:
            return False

    def _get(self, key: str) -> bytes:
        if self.cachedir and self.protocol not in LOCAL:
            with open(self._fetch(key), "rb") as f:
                return f.read()
        try:
            with self._io:
                return bytes(self.fs.cat_file(self._path(key)))
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(f"blob {key} is not in {self!r}") from None

    def _download(self, key: str, tmp: str) -> None:
        """Stream the blob into the local file ``tmp``."""
        try:
            with self._io:
                self.fs.get_file(self._path(key), tmp)
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(f"blob {key} is not in {self!r}") from None

    def _fetch(self, key: str) -> str:
        """The cached copy of the blob, downloaded (atomically) if not there yet."""
        final = self._cache_path(key)
        assert final is not None and self.cachedir is not None
        if os.path.exists(final):
            return final
        tmpdir = os.path.join(self.cachedir, _TMP)
        os.makedirs(tmpdir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmpdir)
        os.close(fd)
        try:
            self._download(key, tmp)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return final

    def _size(self, key: str) -> int:
        try:
            with self._io:
                return int(self.fs.info(self._path(key))["size"])
        except FileNotFoundError:
            raise BlobNotFound(f"blob {key} is not in {self!r}") from None

    def _age(self, key: str) -> float | None:
        try:
            with self._io:
                modified = self.fs.modified(self._path(key))
        except (FileNotFoundError, NotImplementedError):
            return None
        return max(0.0, time.time() - modified.timestamp())

    def _touch(self, key: str) -> bool:
        """Refresh an existing blob's time (see ``age``) if the store can; whether it exists."""
        path = self._path(key)
        if not self._exists(key):
            return False
        with self._io, contextlib.suppress(NotImplementedError, OSError):
            ftp = getattr(self.fs, "ftp", None)  # SFTP: paramiko's SFTPClient
            if ftp is not None:
                ftp.utime(path, None)
            else:
                self.fs.touch(path, truncate=False)
        return True

    def _write(self, key: str, write: Any, overwrite: bool) -> None:
        """Store a blob with ``write(path)``, never exposing a partial one."""
        with self._io:
            self._write_unlocked(key, write, overwrite)

    def _write_unlocked(self, key: str, write: Any, overwrite: bool) -> None:
        if overwrite:
            self._forget(key)
        elif self._touch(key):
            return
        final = self._path(key)
        if self.protocol in OBJECT_STORES:
            write(final)  # one upload: the object appears complete or not at all
            return
        tmp = f"{self.root}/{_TMP}/{uuid.uuid4().hex}"
        try:
            write(tmp)
            self._move(tmp, final, key[:2])
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(tmp)
            raise

    def _move(self, tmp: str, final: str, shard: str) -> None:
        if shard not in self._shards:
            self.fs.makedirs(f"{self.root}/{shard}", exist_ok=True)
            self._shards.add(shard)
        try:
            self.fs.mv(tmp, final)
        except FileNotFoundError:
            # The shard directory was removed since (by someone else): make it again.
            self.fs.makedirs(f"{self.root}/{shard}", exist_ok=True)
            self.fs.mv(tmp, final)

    def _put_bytes(self, key: str, data: bytes | memoryview, overwrite: bool) -> None:
        self._write(key, lambda path: self.fs.pipe_file(path, bytes(data)), overwrite)

    def _put_file(self, key: str, path: str, move: bool, overwrite: bool) -> None:
        staged = self.staging_dir()
        if (
            move
            and self.protocol in LOCAL
            and staged is not None
            and os.path.dirname(os.path.abspath(path)) == os.path.abspath(staged)
        ):
            if overwrite or not self._touch(key):
                with self._io:
                    self._move(path, self._path(key), key[:2])  # already staged: a rename
            return

        def upload(dest: str) -> None:
            if self.protocol == "memory":
                # Its put_file makes the file visible before it is complete.
                with open(path, "rb") as f:
                    self.fs.pipe_file(dest, f.read())
            else:
                self.fs.put_file(path, dest)  # streamed

        self._write(key, upload, overwrite)

    def _delete(self, key: str) -> None:
        self._forget(key)
        with self._io, contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def _keys(self) -> Iterator[str]:
        root = self.root
        try:
            with self._io:
                found: Sequence[str] = self.fs.find(root)
        except FileNotFoundError:
            return
        for path in found:
            shard, _, rest = path[len(root) + 1 :].partition("/")
            if len(shard) != 2 or not rest or "/" in rest:
                continue  # the staging directory, or someone else's file
            try:
                yield check_blob_key(shard + rest)
            except InvalidId:
                continue

    @contextlib.contextmanager
    def open_local(self, key: str) -> Iterator[str]:
        """A local file holding the blob: the stored file, the cached copy, or a temporary one."""
        self._require("read")
        key = check_blob_key(key)
        path = self.local_path(key)
        if path is not None and os.path.exists(path):
            yield path
            return
        if self.cachedir:
            yield self._fetch(key)
            return
        fd, tmp = tempfile.mkstemp(prefix="provenance-", suffix=os.path.splitext(key)[1])
        os.close(fd)
        try:
            self._download(key, tmp)
            yield tmp
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def __repr__(self) -> str:
        return f"<FsspecStore {_redact(self.url)}>"
