"""The S3 client: Metaflow's ``S3`` API over boto3, with parallel ``_many`` calls."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidValue
from .errors import S3Error, S3InvalidRange, S3NotFound, S3URLError
from .objects import RangeInfo, S3GetObject, S3Object, S3PutObject
from .retry import FailureInjector, RetryPolicy, TransferStats, default_policy
from .session import make_client
from .transfer import Transfer
from .uploads import Upload, make_upload
from .urls import check_key, configured_root, range_header, root_for_run, split_url

__all__ = ["S3"]

_MiB = 1 << 20


class S3:
    """A client for S3 (and S3-compatible servers) with Metaflow's API.

    Use it as a context manager, which removes the temporary directory that
    holds downloaded objects on exit (or call :meth:`close`)::

        with S3(s3root="s3://my-bucket/some/path") as s3:
            s3.put_many([("a.txt", "hello"), ("b.bin", b"...")])
            blobs = [obj.blob for obj in s3.get_many(["a.txt", "b.bin"])]

    There are three ways to address objects:

    1. ``S3(run=run)``: paths are relative to the run's root,
       ``s3://<bucket>/<prefix>/<flow>/<run id>``, where the bucket and
       prefix come from ``PROVENANCE_S3_ROOT`` (else Metaflow's
       ``METAFLOW_DATATOOLS_S3ROOT``, else ``METAFLOW_DATASTORE_SYSROOT_S3``
       plus ``/data``); ``bucket`` and ``prefix`` override either part.
       ``run`` is any object with a ``pathspec`` ``"Flow/RunId"``.
    2. ``S3(s3root="s3://bucket/path")`` (or ``S3(bucket=..., prefix=...)``):
       paths are relative to that root.
    3. ``S3()``: every key is a full ``s3://bucket/key`` URL.

    With a root, a full URL is an error (:class:`S3URLError`).

    Parameters
    ----------
    tmproot : str
        Where the temporary directory for downloads is created.
    bucket, prefix : str, optional
        Override the parts of the run's root; without ``run``, the root.
    run : object, optional
        A run (anything with ``pathspec``) whose data root to use.
    s3root : str, optional
        The root, if ``run`` is not given.
    encryption : str, optional
        Server-side encryption of every object put (``"AES256"`` or
        ``"aws:kms"``); ``put``, ``put_many`` and ``put_files`` take one per
        object too.
    role : str, optional
        The ARN of an IAM role to assume (through STS) for every request.
    session_vars : mapping, optional
        Keyword arguments of the ``boto3.session.Session`` the client is
        made from (``region_name``, ``profile_name``, credentials).
    client_params : mapping, optional
        Keyword arguments of ``session.client("s3", ...)`` (``endpoint_url``,
        ``config`` as a ``botocore.config.Config`` or a dict of its options).
    external_client : object, optional
        Metaflow's: a boto3 S3 client to use, or an object holding one as
        ``.client``; ``role``, ``session_vars`` and ``client_params`` are then
        ignored, as in Metaflow.
    inject_failure_rate : float, optional
        Metaflow's spelling of ``inject_failures``: a percentage (0-100) of
        item operations that fail transiently first, for tests.
    endpoint_url : str, optional
        An S3-compatible server, e.g. ``http://127.0.0.1:9000``.
    s3_config : mapping, optional
        Options of the boto3 client (see :func:`make_client`).
    client : botocore client, optional
        Use this boto3 S3 client instead of making one.
    workers : int
        Threads running the ``_many`` operations.
    retry : RetryPolicy, optional
        How transient failures are retried; by default
        :data:`provenance.s3.retry.S3_RETRY_COUNT` retries (Metaflow's
        ``S3_RETRY_COUNT``, 7 unless ``PROVENANCE_S3_RETRY_COUNT`` or
        ``METAFLOW_S3_RETRY_COUNT`` says otherwise).
    inject_failures : float, optional
        For tests: the fraction (0-1) of item operations that fail
        transiently before the real call (see :class:`FailureInjector`);
        not together with ``inject_failure_rate``.
    seed : int
        Chooses which operations ``inject_failures`` fails.
    multipart_threshold, part_size : int
        Objects above the threshold are transferred in parallel parts.
    conditional_writes : bool, optional
        How ``overwrite=False`` skips existing keys: with a conditional PUT
        (``If-None-Match: *``, one request) or with a HEAD before the PUT.
        ``None`` (or ``True``) tries the conditional PUT and falls back to
        HEAD if the server rejects it; choose ``False`` for a server that
        ignores the header.
    """

    def __init__(
        self,
        tmproot: str = ".",
        bucket: str | None = None,
        prefix: str | None = None,
        run: object | None = None,
        s3root: str | None = None,
        encryption: str | None = None,
        *,
        role: str | None = None,
        session_vars: Mapping[str, Any] | None = None,
        client_params: Mapping[str, Any] | None = None,
        external_client: Any = None,
        inject_failure_rate: float | None = None,
        endpoint_url: str | None = None,
        s3_config: Mapping[str, Any] | None = None,
        client: Any = None,
        workers: int = 32,
        retry: RetryPolicy | None = None,
        inject_failures: float | None = None,
        seed: int = 0,
        multipart_threshold: int = 16 * _MiB,
        part_size: int = 8 * _MiB,
        conditional_writes: bool | None = None,
    ) -> None:
        self._encryption = check_encryption(encryption, "encryption")
        fraction = _failure_fraction(inject_failure_rate, inject_failures)
        self._s3root: str | None
        if run is not None:
            self._s3root = root_for_run(run, bucket, prefix)
        elif s3root:
            self._s3root = check_key(s3root).rstrip("/")
        elif bucket:
            self._s3root = check_key(f"s3://{bucket}/{(prefix or '').strip('/')}").rstrip("/")
        else:
            self._s3root = None
        if external_client is not None and client is not None:
            raise TypeError("S3() takes external_client= or client=, not both")
        if external_client is not None:
            # Metaflow's: an object whose ``client`` is the boto3 client (its
            # S3Client), or the boto3 client itself.
            client = getattr(external_client, "client", None) or external_client
            if not hasattr(client, "put_object"):
                raise TypeError(
                    f"external_client must be a boto3 S3 client, or hold one as .client; "
                    f"got {type(external_client).__name__}"
                )
        if client is None:
            if role or session_vars or client_params:
                client = make_client(
                    endpoint_url, s3_config, workers, role=role, session_vars=session_vars,
                    client_params=client_params,
                )  # fmt: skip
            else:
                client = make_client(endpoint_url, s3_config, workers)
        self._transfer = Transfer(
            client,
            workers=workers,
            retry=retry or default_policy(),
            inject=FailureInjector(fraction, int(seed)),
            multipart_threshold=int(multipart_threshold),
            part_size=int(part_size),
        )
        self._transfer.conditional_writes = conditional_writes
        self._tmpdir: str | None = tempfile.mkdtemp(dir=tmproot, prefix="provenance.s3.")
        # A client that is never closed still removes its files when collected.
        self._finalizer = weakref.finalize(self, _cleanup, self._tmpdir, self._transfer)

    #: Metaflow's: the kind of store this client talks to.
    TYPE = "s3"

    @classmethod
    def get_root_from_config(cls, echo: Any = None, create_on_absent: bool = True) -> str | None:
        """The configured data root (Metaflow's classmethod): ``PROVENANCE_S3_ROOT``, else
        ``METAFLOW_DATATOOLS_S3ROOT``, else ``METAFLOW_DATASTORE_SYSROOT_S3`` + ``/data``."""
        return configured_root()

    # -- lifetime ----------------------------------------------------------------

    def __enter__(self) -> S3:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete every temporary file downloaded by this client, and stop its threads."""
        self._finalizer()
        self._tmpdir = None

    @property
    def client(self) -> Any:
        """The underlying boto3 S3 client."""
        return self._transfer.client

    @property
    def stats(self) -> TransferStats:
        """Counters of retries and injected failures."""
        return self._transfer.stats

    @property
    def s3root(self) -> str | None:
        """The root keys are relative to, or ``None`` when full URLs are used."""
        return self._s3root

    # -- addressing ----------------------------------------------------------------

    def _url(self, key: Any) -> str:
        key = getattr(key, "key", key)
        if key is not None and not isinstance(key, str):
            raise S3URLError(f"an S3 key must be a string, got {key!r}")
        if self._s3root is None:
            if key and key.startswith("s3://"):
                return check_key(key)
            raise S3URLError(
                f"{key!r} is not a full s3:// URL; initialize S3 with an 's3root' "
                "or a 'run' to use paths relative to a root"
            )
        if not key:
            return self._s3root
        if key.startswith("s3://"):
            raise S3URLError(
                f"don't use full S3 URLs with a client that has a root ({self._s3root}): {key}",
                key,
            )
        return check_key(f"{self._s3root}/{key.lstrip('/')}")

    def _object_url(self, key: Any) -> str:
        url = self._url(key)
        if not split_url(url)[1]:
            raise S3URLError(f"{url} names a bucket, not an object", url)
        return url

    def _checked_url(self, key: Any, value: Any, path: Any) -> str:
        """The URL to put ``key`` at; as in Metaflow, a bad value is reported before a bad key."""
        try:
            return self._object_url(key)
        except S3URLError:
            make_upload(str(getattr(key, "key", key)), value, path)  # raises for a bad value
            raise

    def _encryption_of(self, encryption: str | None) -> str | None:
        """An object's server-side encryption: its own, else the client's."""
        return check_encryption(encryption, "encryption") or self._encryption

    def _tmpfile(self, tag: str) -> str:
        if self._tmpdir is None:
            raise S3Error("this S3 client is closed")
        # gc removes a staging directory left alone past its grace period,
        # which may be an idle client's: make it again.
        os.makedirs(self._tmpdir, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=self._tmpdir, prefix=f"{tag}.")
        os.close(fd)
        return path

    # -- reading ---------------------------------------------------------------------

    def _result(
        self, prefix: str | None, url: str, path: str | None, head: Mapping[str, Any], info: bool
    ) -> S3Object:
        size = int(head.get("ContentLength", 0))
        if not info:
            return S3Object(prefix, url, path, size)
        modified = head.get("LastModified")
        return S3Object(
            prefix,
            url,
            path,
            size,
            content_type=head.get("ContentType"),
            metadata=head.get("Metadata") or {},
            range_info=_range_info(head, size) if path else None,
            last_modified=int(modified.timestamp()) if modified is not None else None,
            encryption=head.get("ServerSideEncryption"),
        )

    def _empty_range(self, url: str, offset: int) -> dict[str, Any]:
        head = dict(self._transfer.head(url))
        head["_range"] = RangeInfo(int(head["ContentLength"]), offset, 0)
        head["ContentLength"] = 0
        return head

    def _get_one(self, request: tuple[str | None, str, Any], missing: bool, info: bool) -> S3Object:
        prefix, url, key = request
        offset, length = getattr(key, "offset", None), getattr(key, "length", None)
        path = self._tmpfile("get")
        try:
            if length == 0:
                # "Zero bytes" has no HTTP Range form: check the object exists.
                head = self._empty_range(url, offset or 0)
            else:
                try:
                    head = self._transfer.download(url, range_header(offset, length), path)
                except S3InvalidRange:
                    # S3 refuses every range of an empty object; a range from 0
                    # of it is empty, as a range past any other end is cut.
                    if offset:
                        raise
                    head = self._empty_range(url, 0)
                    if head["_range"].total_size:
                        raise
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            if missing and isinstance(exc, S3NotFound):
                return S3Object(prefix, url)
            raise
        return self._result(prefix, url, path, head, info)

    def get(
        self,
        key: str | S3GetObject | None = None,
        return_missing: bool = False,
        return_info: bool = True,
    ) -> S3Object:
        """Download one object (or a range of it, with :class:`S3GetObject`).

        Parameters
        ----------
        key : str or S3GetObject
            An ``s3://`` URL or a path under the root; ``None`` is the root.
        return_missing : bool
            Return a missing object as an ``S3Object`` with ``exists == False``
            instead of raising :class:`S3NotFound`.
        return_info : bool
            Also return the content type, user metadata and range information
            (they come with the data at no extra cost).

        Returns
        -------
        S3Object
            The object, downloaded to a temporary file (:attr:`S3Object.path`).
        """
        return self._get_one(
            (self._s3root, self._object_url(key), key), return_missing, return_info
        )

    def get_many(
        self,
        keys: Iterable[str | S3GetObject],
        return_missing: bool = False,
        return_info: bool = True,
    ) -> list[S3Object]:
        """Download many objects in parallel; results in the order of ``keys``.

        Parameters are as for :meth:`get`.  Each object is streamed to its own
        temporary file, so the objects need not fit in memory together.
        """
        requests = [(self._s3root, self._object_url(k), k) for k in keys]
        return self._transfer.map(lambda r: self._get_one(r, return_missing, return_info), requests)

    def get_recursive(
        self, keys: Iterable[str | None], return_info: bool = False
    ) -> list[S3Object]:
        """Download every object under the given prefixes, in parallel.

        A prefix covers the object of that name and everything below
        ``prefix/``; it is a path, so ``a`` does not cover ``ab``.

        Returns
        -------
        list of S3Object
            The objects, with ``prefix`` set to the prefix they were found under.
        """
        found = self._walk_many(keys)
        requests = [(prefix, url, None) for prefix, url, _ in found]
        objs = self._transfer.map(lambda r: self._get_one(r, True, return_info), requests)
        # An object deleted between the listing and the download is not returned.
        return [o for o in objs if o.exists]

    def get_all(self, return_info: bool = False) -> list[S3Object]:
        """Download every object under the root (requires ``s3root`` or ``run``)."""
        if self._s3root is None:
            raise S3URLError("get_all() needs a client with a root ('s3root' or 'run')")
        return self.get_recursive([None], return_info)

    # -- listing -------------------------------------------------------------------------

    def list_paths(self, keys: Iterable[str | None] | None = None) -> list[S3Object]:
        """List the next level below each path, in parallel.

        Objects come back with ``exists == True``; deeper prefixes
        ("directories") with ``exists == False`` and a URL ending in ``/``.
        """
        prefixes = [self._url(k).rstrip("/") + "/" for k in ([None] if keys is None else keys)]

        def one(prefix: str) -> list[S3Object]:
            bucket, _ = split_url(prefix)
            entries = sorted(self._transfer.list_prefix(prefix, "/"), key=lambda e: e[0])
            return [S3Object(prefix, f"s3://{bucket}/{k}", size=size) for k, size in entries]

        return [o for objs in self._transfer.map(one, prefixes) for o in objs]

    def list_recursive(self, keys: Iterable[str | None] | None = None) -> list[S3Object]:
        """List every object under each path (see :meth:`get_recursive`), in parallel."""
        found = self._walk_many([None] if keys is None else keys)
        return [S3Object(prefix, url, size=size) for prefix, url, size in found]

    def _walk_many(self, keys: Iterable[str | None]) -> list[tuple[str, str, int]]:
        return [
            x for xs in self._transfer.map(self._walk, [self._url(k) for k in keys]) for x in xs
        ]

    def _walk(self, url: str) -> list[tuple[str, str, int]]:
        bucket, path = split_url(url)
        path = path.rstrip("/")
        base = f"s3://{bucket}/"
        below = self._transfer.list_prefix(f"{base}{path}/" if path else base)
        out = [(url, base + k, int(size or 0)) for k, size in sorted(below)]
        if path:
            first = self._transfer.first_key(base + path)
            if first is not None and first[0] == path:
                out.insert(0, (url, base + path, first[1]))
        return out

    def info(self, key: str | None = None, return_missing: bool = False) -> S3Object:
        """The size, content type and metadata of one object (one HEAD request).

        Returns
        -------
        S3Object
            Not downloaded (``downloaded == False``); ``exists == False`` for a
            missing object with ``return_missing``.
        """
        url = self._object_url(key)
        try:
            head = self._transfer.head(url)
        except S3NotFound:
            if return_missing:
                return S3Object(self._s3root, url)
            raise
        return self._result(self._s3root, url, None, head, True)

    def info_many(self, keys: Iterable[str], return_missing: bool = False) -> list[S3Object]:
        """:meth:`info` of many objects, in parallel, in the order of ``keys``."""
        keys = list(keys)
        for key in keys:
            self._object_url(key)
        return self._transfer.map(lambda k: self.info(k, return_missing), keys)

    # -- writing ------------------------------------------------------------------------------

    def put(
        self,
        key: str | S3PutObject,
        obj: Any,
        overwrite: bool = True,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        encryption: str | None = None,
    ) -> str:
        """Upload one object.

        Parameters
        ----------
        key : str or S3PutObject
            An ``s3://`` URL or a path under the root.
        obj : str, bytes or file object
            What to store; text is encoded as UTF-8.
        overwrite : bool
            If false and the key exists, upload nothing (and succeed).
        content_type : str, optional
            The MIME type to store with the object.
        metadata : dict, optional
            JSON-encodable user metadata to store with the object.
        encryption : str, optional
            Server-side encryption of this object, over the client's.

        Returns
        -------
        str
            The URL of the object.
        """
        content_type = content_type or getattr(key, "content_type", None)
        metadata = metadata or getattr(key, "metadata", None)
        encryption = self._encryption_of(encryption or getattr(key, "encryption", None))
        url = self._checked_url(key, obj, None)
        item = make_upload(url, obj, content_type=content_type, metadata=metadata,
                           encryption=encryption)  # fmt: skip
        self._transfer.upload(item, if_absent=not overwrite)
        return item.url

    def _put_all(
        self, entries: Iterable[Any], files: bool, overwrite: bool
    ) -> list[tuple[str, str]]:
        # Every entry is checked (values, metadata, local files) before any upload.
        keys: list[Any] = []
        items: list[Upload] = []
        for entry in entries:
            if isinstance(entry, (tuple, list)) and not isinstance(entry, S3PutObject):
                key, thing = entry
                content_type = metadata = None
            else:  # an S3PutObject, or any object with its attributes
                key = entry.key
                thing = entry.path if files else entry.value
                content_type = getattr(entry, "content_type", None)
                metadata = getattr(entry, "metadata", None)
            encryption = self._encryption_of(getattr(entry, "encryption", None))
            value, path = (None, thing) if files else (thing, None)
            url = self._checked_url(key, value, path)
            keys.append(key)
            items.append(make_upload(url, value, path, content_type, metadata, encryption))
        if_absent = not overwrite
        done = self._transfer.map(lambda i: self._transfer.upload(i, if_absent=if_absent), items)
        return [(key, item.url) for key, item, ok in zip(keys, items, done) if ok]

    def put_many(self, key_objs: Iterable[Any], overwrite: bool = True) -> list[tuple[str, str]]:
        """Upload many objects in parallel.

        Parameters
        ----------
        key_objs : iterable of (key, value) or S3PutObject
            The objects; an ``S3PutObject`` also carries a content type and
            metadata.
        overwrite : bool
            If false, keys that exist are left alone.

        Returns
        -------
        list of (key, url)
            The objects actually uploaded, in the order given.
        """
        return self._put_all(key_objs, False, overwrite)

    def put_files(self, key_paths: Iterable[Any], overwrite: bool = True) -> list[tuple[str, str]]:
        """Upload many local files in parallel, streaming them from disk.

        Parameters
        ----------
        key_paths : iterable of (key, path) or S3PutObject
            The files; an ``S3PutObject`` also carries a content type and
            metadata.
        overwrite : bool
            If false, keys that exist are left alone.

        Returns
        -------
        list of (key, url)
            The files actually uploaded, in the order given.

        Raises
        ------
        S3NotFound
            If a local file does not exist (checked before anything is uploaded).
        """
        return self._put_all(key_paths, True, overwrite)

    # -- beyond Metaflow's client: touching and deleting ------------------------------------------

    def touch_many(self, keys: Iterable[str]) -> None:
        """Set the objects' last-modified time to now, in parallel.

        A server-side copy of each object onto itself: content type and user
        metadata are kept and no bytes are transferred.  Objects larger than
        5 GB cannot be copied this way and raise :class:`S3Error`.
        """
        self._transfer.map(self._transfer.touch, [self._object_url(k) for k in keys])

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete objects, a thousand per request, in parallel; missing keys are fine."""
        by_bucket: dict[str, list[str]] = {}
        for key in keys:
            bucket, name = split_url(self._object_url(key))
            by_bucket.setdefault(bucket, []).append(name)
        batches = [
            (bucket, names[i : i + 1000])
            for bucket, names in by_bucket.items()
            for i in range(0, len(names), 1000)
        ]
        self._transfer.map(lambda b: self._transfer.delete(*b), batches)

    def delete(self, key: str) -> None:
        """Delete one object; a missing key is fine."""
        self.delete_many([key])

    def __repr__(self) -> str:
        return f"<S3 {self._s3root or '(full URLs)'}>"


def _range_info(head: Mapping[str, Any], size: int) -> RangeInfo:
    # Content-Range is "bytes <first>-<last>/<total>", both ends inclusive.
    if "_range" in head:
        info: RangeInfo = head["_range"]
        return info
    content_range = head.get("ContentRange")
    if content_range:
        span, _, total = content_range.partition(" ")[2].partition("/")
        first, _, last = span.partition("-")
        return RangeInfo(int(total), int(first), int(last) - int(first) + 1)
    return RangeInfo(size, 0, size)


def _cleanup(tmpdir: str, transfer: Transfer) -> None:
    transfer.close()
    shutil.rmtree(tmpdir, ignore_errors=True)


#: What S3 accepts as ``ServerSideEncryption``.
ENCRYPTIONS = ("AES256", "aws:kms", "aws:kms:dsse")


def check_encryption(value: str | None, what: str) -> str | None:
    """``value`` if it is a server-side encryption S3 knows (or ``None``), else an error."""
    if value is None or value in ENCRYPTIONS:
        return value
    raise InvalidValue(f"{what} must be one of {', '.join(ENCRYPTIONS)} or None, got {value!r}")


def _failure_fraction(rate: float | None, fraction: float | None) -> float:
    """The fraction of operations to fail, from Metaflow's percentage or ours."""
    if rate is not None and fraction is not None:
        raise TypeError(
            "S3() takes inject_failure_rate= (a percentage) or inject_failures=, not both"
        )
    if rate is not None:
        if not 0 <= float(rate) <= 100:
            raise InvalidValue(f"inject_failure_rate is a percentage (0-100), got {rate!r}")
        return float(rate) / 100.0
    return float(fraction or 0.0)
