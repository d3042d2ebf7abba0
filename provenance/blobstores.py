"""The blobstores, at the import path of the original library.

A thin re-export: the stores live in :mod:`provenance.storage.blobstores`
(importing them does not import boto3; building an ``S3Store`` does).
"""

from .storage.blobstores import Blobstore, ChainedStore, DiskStore, MemoryStore
from .storage.blobstores.s3 import S3Store

__all__ = ["Blobstore", "ChainedStore", "DiskStore", "MemoryStore", "S3Store"]
