"""A blobstore in an S3 bucket (or any S3-compatible server), over :mod:`provenance.s3`.

Blobs are immutable and named by their content hash, which makes S3 an easy
home for them: a put of a key that exists is skipped (a conditional
``If-None-Match: *`` PUT where the server supports it, a HEAD first
otherwise; both are safe because equal keys mean equal bytes), and a blob
becomes visible only complete (a single PUT, or a completed multipart
upload).  The batch operations used by promotion, ``verify`` and ``gc`` run
in parallel through the client's ``_many`` calls.

Importing this module does not import boto3; building a store does.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import BlobNotFound, ConfigError, InvalidId, NotFound, require_installed
from ..ids import check_blob_key
from .base import Blobstore

if TYPE_CHECKING:
    from ...s3 import S3, S3Object

__all__ = ["S3Store"]

_BATCH = 256  # objects in flight per batch of a copy (bounds local disk use)


def _parse_basepath(basepath: str) -> tuple[str, str]:
    bucket, _, prefix = basepath.removeprefix("s3://").partition("/")
    if not bucket:
        raise ConfigError(f"'basepath' must be 's3://bucket/prefix', got {basepath!r}")
    return bucket, prefix


class S3Store(Blobstore):
    """Blobs as objects ``s3://<bucket>/<prefix>/<key>``.

    Parameters
    ----------
    bucket : str
        The bucket; it must exist.
    prefix : str
        The path under which the blobs are stored (may be empty).
    basepath : str, optional
        ``s3://bucket/prefix`` in one string, instead of ``bucket`` and
        ``prefix`` (the original library's key).
    endpoint_url : str, optional
        An S3-compatible server, e.g. ``http://127.0.0.1:9000``; by default
        the usual boto3 sources decide (AWS, or ``AWS_ENDPOINT_URL_S3``).
    s3_config : mapping, optional
        Options of the boto3 client (``region_name``, credentials,
        ``profile_name``, ``config``: see :func:`provenance.s3.make_client`).
        They are part of :meth:`spec`, so worker processes get them too.
    cachedir : str, optional
        A local directory that keeps a copy of every blob read, so a blob is
        downloaded once per machine and :meth:`local_path` can serve it.
        Blobs never change, so the copies never go stale.
    workers : int
        Threads for the batch operations.
    read, write, delete : bool
        Permission flags.
    """

    kind = "s3"

    def __init__(
        self,
        bucket: str | None = None,
        prefix: str = "",
        *,
        basepath: str | None = None,
        endpoint_url: str | None = None,
        s3_config: Mapping[str, Any] | None = None,
        cachedir: str | os.PathLike[str] | None = None,
        workers: int = 32,
        read: bool = True,
        write: bool = True,
        delete: bool = False,
    ) -> None:
        super().__init__(read=read, write=write, delete=delete)
        if basepath is not None:
            if bucket:
                raise ConfigError("give either 'bucket' (and 'prefix') or 'basepath', not both")
            bucket, prefix = _parse_basepath(basepath)
        if not bucket:
            raise ConfigError(
                "an S3 blobstore needs a 'bucket' (or 'basepath: s3://bucket/prefix')"
            )
        self.bucket = bucket
        self.prefix = (prefix or "").strip("/")
        # Checked when the config is loaded, not when the first large value
        # has been computed: found, not imported (boto3 takes a while to import).
        require_installed("boto3", "s3", f"the s3 blobstore ({self.root})")
        if any(part in (".", "..") for part in self.prefix.split("/")) and self.prefix:
            raise ConfigError(
                f"an S3 prefix must not have '.' or '..' segments: {self.prefix[:100]!r}"
            )
        self.endpoint_url = endpoint_url
        self.s3_config = dict(s3_config) if s3_config else None
        self.cachedir = (
            os.path.abspath(os.path.expanduser(os.fspath(cachedir))) if cachedir else None
        )
        self.workers = int(workers)
        staging = self.staging_dir()
        if staging is not None and self.write:
            os.makedirs(staging, exist_ok=True)
        self._client: S3 | None = None
        self._lock = threading.Lock()

    @property
    def root(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def s3(self) -> S3:
        """The S3 client (made on first use, so building a config costs nothing)."""
        with self._lock:
            if self._client is None:
                from ...s3 import S3

                tmproot = self.staging_dir() or tempfile.gettempdir()
                os.makedirs(tmproot, exist_ok=True)
                self._client = S3(
                    tmproot,
                    s3root=self.root,
                    endpoint_url=self.endpoint_url,
                    s3_config=self.s3_config,
                    workers=self.workers,
                )
            return self._client

    def close(self) -> None:
        """Release the client and its temporary files (it is remade if used again)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def spec(self) -> dict[str, Any]:
        return {
            "type": "s3",
            "bucket": self.bucket,
            "prefix": self.prefix,
            "endpoint_url": self.endpoint_url,
            "s3_config": self.s3_config,
            "cachedir": self.cachedir,
            "read": self.read,
            "write": self.write,
            "delete": self.delete_allowed,
        }

    # -- the local read cache ----------------------------------------------------

    def _cache_path(self, key: str) -> str | None:
        return os.path.join(self.cachedir, key[:2], key[2:]) if self.cachedir else None

    def local_path(self, key: str) -> str | None:
        path = self._cache_path(key)
        return path if path is not None and os.path.exists(path) else None

    def staging_dir(self) -> str | None:
        return os.path.join(self.cachedir, ".tmp") if self.cachedir else None

    def _keep(self, key: str, obj: S3Object) -> str:
        """Move a downloaded object into the cache (if any); return where it is now."""
        assert obj.path is not None
        final = self._cache_path(key)
        if final is None:
            return obj.path
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(obj.path, final)  # same filesystem: the client's tmpdir is in cachedir
        return final

    def _forget(self, key: str) -> None:
        path = self._cache_path(key)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _fetch_many(self, keys: list[str]) -> dict[str, str]:
        """Local files holding ``keys`` (cached ones as they are, others downloaded)."""
        out = {k: p for k in keys if (p := self.local_path(k)) is not None}
        todo = [k for k in dict.fromkeys(keys) if k not in out]
        objs = self.s3.get_many(todo, return_missing=True, return_info=False)
        missing = [k for k, obj in zip(todo, objs) if not obj.exists]
        if missing:
            for obj in objs:
                if obj.path:
                    os.unlink(obj.path)
            raise BlobNotFound(f"blob {missing[0]} is not in {self!r}")
        for key, obj in zip(todo, objs):
            out[key] = self._keep(key, obj)
        return out

    def _release(self, key: str, path: str) -> None:
        # Downloads that are not in the cache are temporary.
        if path != self._cache_path(key):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    # -- primitives ------------------------------------------------------------------

    def _exists(self, key: str) -> bool:
        # The bucket is the truth (gc may have deleted a blob still cached here).
        return self.s3.info(key, return_missing=True).exists

    def _get(self, key: str) -> bytes:
        return self.get_many([key])[key]

    def _size(self, key: str) -> int:
        path = self.local_path(key)
        if path is not None:
            return os.path.getsize(path)
        size = self.s3.info(key, return_missing=True).size
        if size is None:
            raise BlobNotFound(f"blob {key} is not in {self!r}")
        return size

    def _age(self, key: str) -> float | None:
        modified = self.s3.info(key, return_missing=True).last_modified
        return None if modified is None else max(0.0, time.time() - modified)

    def _store(self, items: list[tuple[str, Any]], files: bool, overwrite: bool) -> None:
        """Upload ``(key, bytes or path)`` pairs; a skipped existing key is touched.

        A put of a key that exists counts as a write (see ``age``), so that
        ``gc`` never collects a blob an artifact is about to refer to: its
        last-modified time is refreshed by a server-side copy.
        """
        put = self.s3.put_files if files else self.s3.put_many
        done = {key for key, _ in put(items, overwrite=overwrite)}
        skipped = [(k, v) for k, v in items if k not in done]
        if not skipped:
            return
        from ...s3.errors import S3Error

        try:
            self.s3.touch_many([k for k, _ in skipped])
        except NotFound:
            # Deleted since the put looked (a gc): write it after all.
            put(skipped, overwrite=False)
        except S3Error:
            pass  # e.g. over 5 GB, too large to copy: the blob is stored anyway

    def _put_bytes(self, key: str, data: bytes | memoryview, overwrite: bool) -> None:
        if overwrite:
            self._forget(key)
        self._store([(key, bytes(data))], False, overwrite)

    def _put_file(self, key: str, path: str, move: bool, overwrite: bool) -> None:
        if overwrite:
            self._forget(key)
        self._store([(key, path)], True, overwrite)
        cached = self._cache_path(key)
        if move and cached is not None and not os.path.exists(cached):
            # The file is ours to consume: it becomes the cached copy.
            os.makedirs(os.path.dirname(cached), exist_ok=True)
            with contextlib.suppress(OSError):
                os.replace(path, cached)

    def _delete(self, key: str) -> None:
        self._forget(key)
        self.s3.delete(key)

    def _keys(self) -> Iterator[str]:
        for obj in self.s3.list_recursive():
            try:
                key = check_blob_key(obj.key)
            except InvalidId:
                continue  # not a blob (someone else's file under the prefix)
            yield key

    # -- parallel batch operations -------------------------------------------------------

    def exists_many(self, keys: Iterable[str]) -> dict[str, bool]:
        """For each key, whether it is stored (HEAD requests in parallel)."""
        self._require("read")
        keys = [check_blob_key(k) for k in keys]
        infos = self.s3.info_many(keys, return_missing=True)
        return {k: i.exists for k, i in zip(keys, infos)}

    def get_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        """The bytes of each key, downloaded in parallel, in the order given.

        Raises
        ------
        BlobNotFound
            If any key is missing.
        """
        self._require("read")
        keys = [check_blob_key(k) for k in keys]
        paths = self._fetch_many(keys)
        out = {}
        for key in keys:
            with open(paths[key], "rb") as f:
                out[key] = f.read()
        for key, path in paths.items():
            self._release(key, path)
        return out

    def put_many(self, items: Iterable[tuple[str, bytes]], *, overwrite: bool = False) -> None:
        """Store each ``(key, data)`` pair, in parallel (existing keys skipped)."""
        self._require("write")
        pairs = [(check_blob_key(k), bytes(d)) for k, d in items]
        if overwrite:
            for key, _ in pairs:
                self._forget(key)
        self._store(pairs, False, overwrite)

    def put_files(
        self, items: Iterable[tuple[str, str | os.PathLike[str]]], *, overwrite: bool = False
    ) -> None:
        """Store each ``(key, path)`` local file, streaming them in parallel."""
        self._require("write")
        pairs = [(check_blob_key(k), os.fspath(p)) for k, p in items]
        if overwrite:
            for key, _ in pairs:
                self._forget(key)
        self._store(pairs, True, overwrite)

    def copy_to(self, dest: Blobstore, keys: Iterable[str]) -> list[str]:
        """Copy blobs to ``dest``: parallel downloads, and parallel uploads to S3.

        Blobs go through local files a batch at a time, never through memory
        whole.  Keys ``dest`` already holds are skipped.

        Returns
        -------
        list of str
            The keys that were copied.
        """
        self._require("read")
        keys = [check_blob_key(k) for k in keys]
        present = dest.exists_many(keys)
        missing = [k for k in dict.fromkeys(keys) if not present[k]]
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            paths = self._fetch_many(batch)
            try:
                if isinstance(dest, S3Store):
                    dest.put_files([(k, paths[k]) for k in batch])
                else:
                    for key in batch:
                        # A temporary download may be consumed; a cached copy may not.
                        temporary = paths[key] != self._cache_path(key)
                        dest.put_file(key, paths[key], move=temporary)
            finally:
                for key, path in paths.items():
                    self._release(key, path)
        return missing

    @contextlib.contextmanager
    def open_local(self, key: str) -> Iterator[str]:
        """A local file holding the blob: the cached copy, or a streamed temporary one."""
        self._require("read")
        key = check_blob_key(key)
        path = self._fetch_many([key])[key]
        try:
            yield path
        finally:
            self._release(key, path)

    def __repr__(self) -> str:
        return f"<S3Store {self.root}>"
