"""Addressing: ``s3://`` URLs, the client's root, run roots and byte ranges."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .errors import S3InvalidRange, S3URLError

__all__ = [
    "ROOT_ENV_VARS", "check_key", "configured_root", "range_header", "root_for_run", "split_url",
]  # fmt: skip

# Where S3(run=...) finds its datastore root, first match wins.  The Metaflow
# variables are read as Metaflow does: its DATATOOLS_S3ROOT defaults to the
# datastore's sysroot plus "/data".
ROOT_ENV_VARS = ("PROVENANCE_S3_ROOT", "METAFLOW_DATATOOLS_S3ROOT", "METAFLOW_DATASTORE_SYSROOT_S3")


def split_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/some/key`` into ``("bucket", "some/key")``.

    The key is taken verbatim: ``#``, ``?``, spaces and non-ASCII characters
    are legal in S3 keys, so the URL is not parsed as a web URL.
    """
    if not url.startswith("s3://"):
        raise S3URLError(f"not an S3 URL (expected s3://bucket/key): {url!r}", url)
    bucket, _, key = url[5:].partition("/")
    if not bucket:
        raise S3URLError(f"S3 URL without a bucket: {url!r}", url)
    return bucket, key


def check_key(url: str) -> str:
    """Return ``url`` if its key has no ``.`` or ``..`` segment and fits S3's 1024 bytes.

    S3 takes such a key verbatim, but the tools that mirror a bucket to disk
    (and some S3-compatible servers) resolve it, and a key built from a
    pathspec or a user's key must never climb out of its root.
    """
    _, key = split_url(url)
    shown = url if len(url) <= 100 else f"{url[:100]}... ({len(url)} characters)"
    if any(part in (".", "..") for part in key.split("/")):
        raise S3URLError(f"an S3 key must not have '.' or '..' segments: {shown!r}", shown)
    if len(key.encode("utf-8", "surrogatepass")) > 1024:
        raise S3URLError(f"an S3 key is at most 1024 bytes (UTF-8): {shown!r}", shown)
    return url


def root_for_run(
    run: object,
    bucket: str | None,
    prefix: str | None,
    environ: Mapping[str, str] = os.environ,
) -> str:
    """The root ``s3://<bucket>/<prefix>/<flow>/<run id>`` of a run's data.

    Parameters
    ----------
    run : object
        Anything with a ``pathspec`` attribute ``"Flow/RunId"`` (a run of
        :mod:`provenance.client`, or Metaflow's ``Run``).
    bucket, prefix : str, optional
        Override the bucket and the path of the configured root.
    environ : mapping
        Where the root is configured: ``PROVENANCE_S3_ROOT``, else
        ``METAFLOW_DATATOOLS_S3ROOT``, else ``METAFLOW_DATASTORE_SYSROOT_S3``
        followed by ``/data``.
    """
    if getattr(type(run), "_provenance_run_pathspec_", None) is not None:
        # A flow's step passing itself, as Metaflow's S3(run=self): its run.
        pathspec = run._provenance_run_pathspec_  # type: ignore[attr-defined]
    else:
        pathspec = getattr(run, "pathspec", None)
    if not isinstance(pathspec, str) or pathspec.count("/") < 1:
        raise S3URLError(f"run must have a pathspec 'Flow/RunId', got {pathspec!r} from {run!r}")
    flow, run_id = pathspec.split("/")[:2]
    if flow in ("", ".", "..") or run_id in ("", ".", ".."):
        raise S3URLError(f"run pathspec {pathspec[:100]!r} does not name a flow and a run")
    root = configured_root(environ)
    if root is None and not bucket:
        raise S3URLError(
            "S3(run=...) needs a datastore root: set PROVENANCE_S3_ROOT "
            "(e.g. s3://my-bucket/provenance) or pass bucket= and prefix="
        )
    root_bucket, root_path = split_url(root) if root else ("", "")
    bucket = bucket or root_bucket
    path = (prefix if prefix is not None else root_path).strip("/")
    parts = [p for p in (path, flow, run_id) if p]
    return check_key(f"s3://{bucket}/" + "/".join(parts))


def configured_root(environ: Mapping[str, str] = os.environ) -> str | None:
    """The configured data root: ``PROVENANCE_S3_ROOT``, else Metaflow's (``None`` if unset)."""
    for name in ROOT_ENV_VARS:
        value = environ.get(name)
        if value:
            return value.rstrip("/") + ("/data" if name == "METAFLOW_DATASTORE_SYSROOT_S3" else "")
    return None


def range_header(offset: int | None, length: int | None) -> str | None:
    """The HTTP ``Range`` header for ``object[offset:offset + length]``.

    ``None`` for the whole object.  A negative ``length`` asks for the last
    ``-length`` bytes.  A zero ``length`` has no HTTP form and is handled by
    the caller.
    """
    if offset is None and length is None:
        return None
    start = offset or 0
    if start < 0:
        raise S3InvalidRange(f"a range cannot start at a negative offset ({start})")
    if length is None:
        return f"bytes={start}-"
    if length < 0:
        return f"bytes=-{-length}"
    return f"bytes={start}-{start + length - 1}"
