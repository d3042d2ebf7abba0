"""The repositories, at the import path of the original library.

A thin re-export: the classes live in :mod:`provenance.storage.repos`.  Code
written for ``provenance.repos`` keeps working; new code can import from
``provenance`` itself.
"""

from .storage.repos import (  # noqa: F401  (see below)
    ChainedRepository,
    Repository,
    artifact_from_spec,
    memory_repo,
    repo_from_spec,
)

__all__ = ["ChainedRepository", "Repository", "memory_repo"]

# Pickles of repositories and artifacts written before the move name
# ``provenance.repos.repo_from_spec`` and ``artifact_from_spec``.
