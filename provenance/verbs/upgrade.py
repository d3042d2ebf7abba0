"""Database maintenance from Python: the equivalent of ``provenance db upgrade``."""

from __future__ import annotations

from typing import Any

from ..config import resolve_repo

__all__ = ["upgrade_schema"]


def upgrade_schema(repo: Any = None) -> None:
    """Create or upgrade the index schema of a repo (the default repo if none).

    Parameters
    ----------
    repo : Repository, ChainedRepository or str, optional
        A repo object or a configured repo name; every SQL index it uses is
        upgraded to this library's schema revision.
    """
    repo = resolve_repo(repo)
    for member in getattr(repo, "repos", [repo]):
        member.index.upgrade()
