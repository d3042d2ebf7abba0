"""Blobstores: where the bytes of artifact values live, by key.

========  ======================================================
type      class
========  ======================================================
memory    :class:`~provenance.blobstores.memory.MemoryStore`
disk      :class:`~provenance.blobstores.disk.DiskStore`
chained   :class:`~provenance.blobstores.chained.ChainedStore`
s3        :class:`~provenance.blobstores.s3.S3Store` (``provenance[s3]``)
========  ======================================================
"""

from .base import Blobstore
from .chained import ChainedStore
from .disk import DiskStore
from .memory import MemoryStore

__all__ = ["Blobstore", "ChainedStore", "DiskStore", "MemoryStore"]
