"""The repositories, at the import path of the original library.

A thin re-export: the classes live in :mod:`provenance.storage.repos`.  Code
written for ``provenance.repos`` keeps working; new code can import from
``provenance`` itself.
"""

from .storage.repos import ChainedRepository, Repository, memory_repo

__all__ = ["ChainedRepository", "Repository", "memory_repo"]
