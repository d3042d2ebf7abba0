"""One-object operations with retries, and the thread pool that runs many.

Every operation on one object (a HEAD, a download, an upload, a listing) runs
through :meth:`Transfer.attempt`: a transient failure (throttling, a 5xx, a
dropped connection) is retried with jittered exponential backoff, a permanent
one is translated into a typed :mod:`~provenance.s3.errors` error at once.
The ``_many`` operations map an operation over their items on a shared pool
of threads (one boto3 client is thread-safe), so only the items that failed
are ever retried, each on its own.
"""

from __future__ import annotations

import io
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import IO, Any, TypeVar

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from .errors import S3NotFound, S3TransientError
from .retry import FailureInjector, RetryPolicy, TransferStats, code_and_status, translate
from .uploads import Upload, read_small, size_of
from .urls import split_url

__all__ = ["Transfer"]

T = TypeVar("T")
X = TypeVar("X")

_CHUNK = 1 << 20


class _ConditionalUnsupported(Exception):
    """The server rejected ``If-None-Match: *``."""


class Transfer:
    """Retried single-object operations over one boto3 client, and a pool to run many.

    Parameters
    ----------
    client : botocore client
        A thread-safe boto3 S3 client.
    workers : int
        Threads of the pool the ``_many`` operations share.
    retry : RetryPolicy
        How transient failures are retried.
    inject : FailureInjector
        Transient failures to inject (tests only).
    multipart_threshold, part_size : int
        Objects larger than the threshold are transferred in parts of
        ``part_size`` bytes, several at a time, straight from and to disk.
    """

    def __init__(
        self,
        client: Any,
        *,
        workers: int,
        retry: RetryPolicy,
        inject: FailureInjector,
        multipart_threshold: int,
        part_size: int,
    ) -> None:
        self.client = client
        self.workers = max(1, int(workers))
        self.retry = retry
        self.inject = inject
        self.multipart_threshold = multipart_threshold
        self.stats = TransferStats()
        self._tconfig = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=part_size,
            max_concurrency=4,
        )
        # None until the server has answered a conditional PUT either way.
        self.conditional_writes: bool | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    # -- running -------------------------------------------------------------

    def attempt(self, op: str, url: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one operation on ``url``), retrying transient failures."""
        for n in itertools.count():
            try:
                if self.inject.fails(op, url, n):
                    self.stats.count(injected=1)
                    raise S3TransientError(f"injected transient failure: {op} {url}", url)
                return fn()
            except Exception as exc:
                err = translate(exc, url, op)
                if not isinstance(err, S3TransientError):
                    if err is exc:
                        raise
                    raise err from exc
                if n + 1 >= self.retry.max_attempts:
                    raise S3TransientError(
                        f"{op} {url} still failing after {n + 1} attempts: {err}", url
                    ) from exc
                self.stats.count(retries=1)
                time.sleep(self.retry.delay(n))
        raise AssertionError("unreachable")  # pragma: no cover

    def map(self, fn: Callable[[X], T], items: Iterable[X]) -> list[T]:
        """``[fn(item) for item in items]``, run on the pool, results in order.

        The first error cancels the items not yet started and is raised once
        the running ones have finished.
        """
        items = list(items)
        if len(items) <= 1:
            return [fn(item) for item in items]
        pool = self._get_pool()
        futures: list[Future[T]] = [pool.submit(fn, item) for item in items]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            # Running items still write into the caller's temporary directory.
            wait(futures)
            raise

    def _get_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="provenance-s3")
            return self._pool

    def close(self) -> None:
        """Stop the pool's threads."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- operations on one object --------------------------------------------

    def head(self, url: str) -> dict[str, Any]:
        """The headers of the object at ``url``; :class:`S3NotFound` if missing."""
        bucket, key = split_url(url)
        return self.attempt("info", url, lambda: self.client.head_object(Bucket=bucket, Key=key))

    def exists(self, url: str) -> bool:
        """Whether an object is stored at ``url``."""
        try:
            self.head(url)
        except S3NotFound:
            return False
        return True

    def download(self, url: str, byte_range: str | None, dest: str) -> dict[str, Any]:
        """Write the object (or a range of it) to the file ``dest``; return its headers.

        The body is streamed to disk in chunks; a whole object larger than the
        multipart threshold is fetched in parallel ranged parts.  Each attempt
        rewrites ``dest`` from the start, and a short read is retried.
        """
        bucket, key = split_url(url)

        def once() -> dict[str, Any]:
            kwargs = {"Bucket": bucket, "Key": key}
            if byte_range:
                kwargs["Range"] = byte_range
            resp = self.client.get_object(**kwargs)
            body = resp.pop("Body")
            expected = int(resp.get("ContentLength", 0))
            try:
                if byte_range is None and expected > self.multipart_threshold:
                    body.close()
                    self.client.download_file(bucket, key, dest, Config=self._tconfig)
                else:
                    with open(dest, "wb") as f:
                        for chunk in body.iter_chunks(_CHUNK):
                            f.write(chunk)
            finally:
                body.close()
            got = os.path.getsize(dest)
            if got != expected:
                raise S3TransientError(
                    f"download of {url} cut short: {got} of {expected} bytes", url
                )
            return resp

        return self.attempt("get", url, once)

    def upload(self, item: Upload, *, if_absent: bool) -> bool:
        """Store one object; return whether it was written.

        With ``if_absent`` nothing is written over an existing object: a
        conditional PUT (``If-None-Match: *``) where the server supports it,
        else a HEAD first.  Objects above the multipart threshold always HEAD
        first, so an existing large object is never uploaded again.  Either
        way the object appears complete or not at all: a single PUT, or a
        multipart upload that becomes visible only when completed.
        """
        size = size_of(item)
        if size > self.multipart_threshold:
            if if_absent and self.exists(item.url):
                return False
            self.attempt("put", item.url, lambda: self._upload_multipart(item))
            return True
        if not if_absent:
            self.attempt("put", item.url, lambda: self._put(item, conditional=False))
            return True
        if self.conditional_writes is not False:
            try:
                return self.attempt("put", item.url, lambda: self._put(item, conditional=True))
            except _ConditionalUnsupported:
                self.conditional_writes = False
        if self.exists(item.url):
            return False
        self.attempt("put", item.url, lambda: self._put(item, conditional=False))
        return True

    def _put(self, item: Upload, *, conditional: bool) -> bool:
        bucket, key = split_url(item.url)
        kwargs = dict(item.extra)
        if conditional:
            kwargs["IfNoneMatch"] = "*"
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=read_small(item), **kwargs)
        except ClientError as exc:
            if not conditional:
                raise
            code, status = code_and_status(exc)
            if code == "PreconditionFailed" or status == 412:
                self.conditional_writes = True
                return False
            message = str(exc.response.get("Error", {}).get("Message", "")).lower()
            if code == "NotImplemented" or status == 501 or "if-none-match" in message:
                raise _ConditionalUnsupported(code) from exc
            raise
        if conditional:
            self.conditional_writes = True
        return True

    def _upload_multipart(self, item: Upload) -> None:
        bucket, key = split_url(item.url)
        extra = dict(item.extra) or None
        if item.path is not None:
            self.client.upload_file(item.path, bucket, key, ExtraArgs=extra, Config=self._tconfig)
            return
        if item.data is not None:
            fileobj: IO[bytes] = io.BytesIO(item.data)
        else:
            assert item.fileobj is not None
            fileobj = item.fileobj
            fileobj.seek(0)  # a retry starts over
        self.client.upload_fileobj(fileobj, bucket, key, ExtraArgs=extra, Config=self._tconfig)

    def list_prefix(self, url: str, delimiter: str = "") -> list[tuple[str, int | None]]:
        """``(key, size)`` of the objects whose key starts with the URL's key.

        With a ``delimiter``, common prefixes come back with size ``None``.
        """
        bucket, prefix = split_url(url)

        def once() -> list[tuple[str, int | None]]:
            out: list[tuple[str, int | None]] = []
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix, Delimiter=delimiter
            )
            for page in pages:
                out.extend((o["Key"], int(o["Size"])) for o in page.get("Contents", ()))
                out.extend((p["Prefix"], None) for p in page.get("CommonPrefixes", ()))
            return out

        return self.attempt("list", url, once)

    def first_key(self, url: str) -> tuple[str, int] | None:
        """``(key, size)`` of the smallest key starting with the URL's key, if any.

        One cheap request: keys are listed in order, so an object named
        exactly like the prefix comes first.
        """
        bucket, prefix = split_url(url)

        def once() -> tuple[str, int] | None:
            resp = self.client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
            for obj in resp.get("Contents", ()):
                return str(obj["Key"]), int(obj["Size"])
            return None

        return self.attempt("list", url, once)

    def touch(self, url: str) -> None:
        """Make the object's last-modified time now, keeping its bytes and metadata.

        A server-side copy onto itself (S3 allows that when the metadata is
        "replaced", here by itself); the bytes never leave the server.
        """
        bucket, key = split_url(url)
        head = self.head(url)

        def once() -> None:
            extra = {"ContentType": head["ContentType"]} if head.get("ContentType") else {}
            self.client.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": bucket, "Key": key},
                MetadataDirective="REPLACE",
                Metadata=head.get("Metadata") or {},
                **extra,
            )

        self.attempt("touch", url, once)

    def delete(self, bucket: str, keys: list[str]) -> None:
        """Delete up to 1,000 keys of one bucket in one request (missing keys are fine)."""
        url = f"s3://{bucket}/{keys[0]}" if keys else f"s3://{bucket}"

        def once() -> None:
            resp = self.client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
            errors = [e for e in resp.get("Errors", ()) if e.get("Code") != "NoSuchKey"]
            if errors:
                first = errors[0]
                raise ClientError(
                    {"Error": {"Code": first.get("Code"), "Message": first.get("Message")}},
                    "DeleteObjects",
                )

        self.attempt("delete", url, once)
