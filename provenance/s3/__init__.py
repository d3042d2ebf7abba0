"""An S3 client with the API of Metaflow's ``S3``, over boto3.

::

    from provenance.s3 import S3, S3GetObject

    with S3(s3root="s3://my-bucket/data") as s3:
        s3.put_many([("a.csv", "x,y\\n1,2\\n"), ("b.bin", b"\\x00" * 1024)])
        head = s3.get(S3GetObject("b.bin", offset=0, length=16))
        for obj in s3.get_many(["a.csv", "b.bin"]):
            print(obj.key, obj.size, obj.path)

The ``_many`` operations run in parallel on a pool of threads sharing one
boto3 client; transient failures are retried per item with jittered
exponential backoff.  Importing this module needs boto3 (the ``s3`` extra);
importing :mod:`provenance` does not.
"""

from ..errors import require

require("boto3", "s3", "the S3 client")

from .client import S3  # noqa: E402
from .errors import (  # noqa: E402
    MetaflowS3AccessDenied,
    MetaflowS3Exception,
    MetaflowS3InsufficientDiskSpace,
    MetaflowS3InvalidObject,
    MetaflowS3InvalidRange,
    MetaflowS3NotFound,
    MetaflowS3URLException,
    S3AccessDenied,
    S3Error,
    S3InsufficientDiskSpace,
    S3InvalidObject,
    S3InvalidRange,
    S3NotFound,
    S3TransientError,
    S3URLError,
)
from .objects import RangeInfo, S3GetObject, S3Object, S3PutObject  # noqa: E402
from .retry import FailureInjector, RetryPolicy, TransferStats  # noqa: E402
from .session import make_client  # noqa: E402

__all__ = [
    "FailureInjector",
    "MetaflowS3AccessDenied",
    "MetaflowS3Exception",
    "MetaflowS3InsufficientDiskSpace",
    "MetaflowS3InvalidObject",
    "MetaflowS3InvalidRange",
    "MetaflowS3NotFound",
    "MetaflowS3URLException",
    "RangeInfo",
    "RetryPolicy",
    "S3",
    "S3AccessDenied",
    "S3Error",
    "S3GetObject",
    "S3InsufficientDiskSpace",
    "S3InvalidObject",
    "S3InvalidRange",
    "S3NotFound",
    "S3Object",
    "S3PutObject",
    "S3TransientError",
    "S3URLError",
    "TransferStats",
    "make_client",
]
