"""Which failures are transient, how they are retried, and failures injected for tests."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import threading
from dataclasses import dataclass, field

from botocore.exceptions import (
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..errors import ConfigError
from .errors import (
    S3AccessDenied,
    S3Error,
    S3InsufficientDiskSpace,
    S3InvalidRange,
    S3NotFound,
    S3TransientError,
)

__all__ = [
    "S3_RETRY_COUNT", "FailureInjector", "RetryPolicy", "TransferStats", "code_and_status",
    "default_policy", "translate",
]  # fmt: skip


def _retry_count() -> int:
    for name in ("PROVENANCE_S3_RETRY_COUNT", "METAFLOW_S3_RETRY_COUNT"):
        text = os.environ.get(name)
        if text:
            try:
                count = int(text)
            except ValueError:
                raise ConfigError(
                    f"{name} must be a whole number of retries, got {text!r}"
                ) from None
            if count < 0:
                raise ConfigError(f"{name} must be 0 or more, got {count}")
            return count
    return 7


#: How many times a failed item operation is retried, as Metaflow's
#: ``metaflow_config.S3_RETRY_COUNT`` (default 7, from ``PROVENANCE_S3_RETRY_COUNT``
#: or ``METAFLOW_S3_RETRY_COUNT``).  A client made without ``retry=`` reads it
#: when it is made, so a test lowers it with
#: ``monkeypatch.setattr(provenance.s3.retry, "S3_RETRY_COUNT", 0)``.
S3_RETRY_COUNT = _retry_count()

_TRANSIENT_CODES = frozenset(
    {
        "ConditionalRequestConflict",  # a concurrent conditional write: retry to learn who won
        "InternalError",
        "OperationAborted",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequests",
    }
)
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})
_DENIED_CODES = frozenset(
    {"AccessDenied", "AllAccessDisabled", "Forbidden", "403", "InvalidAccessKeyId"}
)


def code_and_status(exc: ClientError) -> tuple[str, int]:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code, status


def translate(exc: BaseException, url: str, op: str) -> BaseException:
    """The typed error for a failure of ``op`` on ``url``.

    Transient failures become :class:`S3TransientError`; errors that are
    not S3's (a full disk, a bug) are returned unchanged.
    """
    if isinstance(exc, S3Error):
        return exc
    if isinstance(exc, ClientError):
        code, status = code_and_status(exc)
        message = exc.response.get("Error", {}).get("Message") or code or str(status)
        if code in _NOT_FOUND_CODES or status == 404:
            what = "bucket does not exist" if code == "NoSuchBucket" else "not found"
            return S3NotFound(f"{url}: {what}", url)
        if code in _DENIED_CODES or status == 403:
            return S3AccessDenied(f"access denied to {url} ({op}): {message}", url)
        if code == "InvalidRange" or status == 416:
            return S3InvalidRange(f"invalid range for {url}: {message}", url)
        if code in _TRANSIENT_CODES or status == 429 or (status >= 500 and status != 501):
            return S3TransientError(f"{op} {url}: {code or status}: {message}", url)
        return S3Error(f"{op} {url} failed: {code or status}: {message}", url)
    if isinstance(exc, NoCredentialsError):
        return S3AccessDenied(
            f"no AWS credentials to {op} {url}: set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or pass them in s3_config",
            url,
        )
    if isinstance(exc, (BotoConnectionError, HTTPClientError, IncompleteReadError)):
        return S3TransientError(f"{op} {url}: {exc}", url)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC and op == "get":
        return S3InsufficientDiskSpace(
            f"no space left on the local disk to download {url}: {exc.strerror}", url
        )
    return exc


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    Attributes
    ----------
    max_attempts : int
        Attempts per item, the first included.
    base_delay, max_delay : float
        The backoff before retry ``n`` (from 0) is drawn uniformly from
        ``[0, min(max_delay, base_delay * 2**n)]`` ("full jitter"), so clients
        throttled together do not retry in lockstep.
    """

    max_attempts: int = 8
    base_delay: float = 0.1
    max_delay: float = 10.0

    def delay(self, retry: int) -> float:
        """The pause before retry number ``retry`` (0 for the first retry)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**retry))


def default_policy() -> RetryPolicy:
    """The policy of a client made without ``retry=``: :data:`S3_RETRY_COUNT` retries."""
    return RetryPolicy(max_attempts=S3_RETRY_COUNT + 1)


@dataclass(frozen=True)
class FailureInjector:
    """Make a fraction of item operations fail transiently, for tests.

    Whether an attempt fails depends only on ``(seed, op, url, attempt)``,
    not on thread scheduling, so a run is reproducible.  As in Metaflow, the
    rate halves with each retry of an item, so a run exercises the retry
    paths heavily yet completes; a rate of 1 or more fails every attempt (to
    test running out of retries).

    Attributes
    ----------
    rate : float
        The probability that a first attempt fails, from 0 to 1.
    seed : int
        Chooses which attempts fail.
    """

    rate: float = 0.0
    seed: int = 0

    def fails(self, op: str, url: str, attempt: int) -> bool:
        """Whether this attempt is to fail."""
        if self.rate <= 0:
            return False
        if self.rate >= 1:
            return True
        digest = hashlib.blake2b(
            f"{self.seed}\0{op}\0{url}\0{attempt}".encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big") / 2**64 < self.rate * 0.5**attempt


@dataclass
class TransferStats:
    """Counters of what the retry machinery did (thread-safe)."""

    retries: int = 0
    injected_failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, retries: int = 0, injected: int = 0) -> None:
        """Add to the counters."""
        with self._lock:
            self.retries += retries
            self.injected_failures += injected
