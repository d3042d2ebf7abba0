"""Blobstores: where the bytes of artifact values live, by key.

========  ======================================================
type      class
========  ======================================================
memory    :class:`~provenance.storage.blobstores.memory.MemoryStore`
disk      :class:`~provenance.storage.blobstores.disk.DiskStore`
chained   :class:`~provenance.storage.blobstores.chained.ChainedStore`
s3        :class:`~provenance.storage.blobstores.s3.S3Store` (``provenance[s3]``)
fsspec    :class:`~provenance.storage.blobstores.fsspec.FsspecStore` (``provenance[fsspec]``;
          ``sftp`` and ``gs`` are its aliases, ``provenance[sftp]``, ``provenance[gs]``)
========  ======================================================
"""

from .base import Blobstore, Staged
from .chained import ChainedStore
from .disk import DiskStore
from .fsspec import FsspecStore  # importing it does not import fsspec
from .memory import MemoryStore
from .s3 import S3Store  # importing it does not import boto3

__all__ = [
    "Blobstore",
    "ChainedStore",
    "DiskStore",
    "FsspecStore",
    "MemoryStore",
    "S3Store",
    "Staged",
]
