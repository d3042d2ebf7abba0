"""The exceptions of the S3 client.

They hang under :class:`~provenance.errors.ProvenanceError` like every other
error of the library, and also under the project error (or built-in) that
describes the same situation, so ``except KeyError`` and
``except provenance.errors.NotFound`` both catch a missing object::

    ProvenanceError
    └── S3Error                                  any failed S3 operation
        ├── S3URLError (ValueError)              a malformed or misplaced address
        ├── S3NotFound (NotFound, KeyError)      no such object, bucket or local file
        ├── S3AccessDenied (PermissionDenied)    the credentials may not do this
        ├── S3InvalidRange (ValueError)          a range outside the object
        ├── S3InvalidObject (TypeError)          a value that cannot be uploaded
        └── S3TransientError                     still failing after every retry

Every error carries the S3 URL it is about in its message and in ``.url``.
The names of Metaflow's S3 client (``MetaflowS3NotFound`` and friends) are
aliases of these classes, so code written for Metaflow keeps working.
"""

from __future__ import annotations

from ..errors import NotFound, PermissionDenied, ProvenanceError

__all__ = [
    "MetaflowS3AccessDenied",
    "MetaflowS3Exception",
    "MetaflowS3InsufficientDiskSpace",
    "MetaflowS3InvalidObject",
    "MetaflowS3InvalidRange",
    "MetaflowS3NotFound",
    "MetaflowS3URLException",
    "S3AccessDenied",
    "S3Error",
    "S3InsufficientDiskSpace",
    "S3InvalidObject",
    "S3InvalidRange",
    "S3NotFound",
    "S3TransientError",
    "S3URLError",
]


class S3Error(ProvenanceError):
    """An S3 operation failed.

    Parameters
    ----------
    message : str
        What went wrong and, where it helps, what to do about it.
    url : str, optional
        The ``s3://`` URL the operation was about.
    """

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url

    def __str__(self) -> str:
        # NotFound (a KeyError) would quote the message; a sentence reads better.
        return str(self.args[0]) if self.args else ""


class S3URLError(S3Error, ValueError):
    """An address is malformed, or a full URL was given to a client with a root."""


class S3NotFound(S3Error, NotFound):
    """The object, its bucket, or a local file to upload does not exist."""


class S3AccessDenied(S3Error, PermissionDenied):
    """The server refused the operation (HTTP 403)."""


class S3InvalidRange(S3Error, ValueError):
    """A requested byte range starts past the end of the object (HTTP 416)."""


class S3InvalidObject(S3Error, TypeError):
    """A value to upload is neither text, bytes, nor a readable, seekable file."""


class S3InsufficientDiskSpace(S3Error, OSError):
    """No space is left where a downloaded object is written (Metaflow's name for it too)."""


class S3TransientError(S3Error):
    """A transient failure (throttling, 5xx, a dropped connection) outlived its retries.

    Also the error raised by injected failures before they are retried.
    """


# Metaflow's names, so code written against ``metaflow.S3`` works unchanged.
MetaflowS3Exception = S3Error
MetaflowS3URLException = S3URLError
MetaflowS3NotFound = S3NotFound
MetaflowS3AccessDenied = S3AccessDenied
MetaflowS3InvalidRange = S3InvalidRange
MetaflowS3InvalidObject = S3InvalidObject
MetaflowS3InsufficientDiskSpace = S3InsufficientDiskSpace
