"""The repositories, at the import path of the original library.

A thin re-export: the classes live in :mod:`provenance.storage.repos`.  Code
written for ``provenance.repos`` keeps working; new code can import from
``provenance`` itself.
"""

from .storage.proxies import transform_value
from .storage.repos import (  # noqa: F401  (see below)
    ChainedRepository,
    Repository,
    artifact_from_spec,
    memory_repo,
    remember_repo,
    repo_from_spec,
)
from .storage.spill import StoredValue

__all__ = [
    "ChainedRepository",
    "Repository",
    "StoredValue",
    "artifact_from_spec",
    "memory_repo",
    "remember_repo",
    "repo_from_spec",
    "transform_value",
]
