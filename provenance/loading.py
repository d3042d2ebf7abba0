"""Loading artifacts and proxies by id from the default repo."""

from __future__ import annotations

from typing import Any

from .artifact import Artifact
from .config import resolve_repo
from .storage.observers import notify

__all__ = ["load_artifact", "load_proxy"]


def load_artifact(artifact_id: str) -> Artifact:
    """The :class:`Artifact` with ``artifact_id`` in the default repo.

    Raises
    ------
    InvalidId
        If ``artifact_id`` is not a well-formed id (nothing is read).
    ArtifactNotFound
        If the repo has no such artifact (also a ``KeyError``).

    See Also
    --------
    load_proxy
    """
    artifact = resolve_repo().get_artifact(artifact_id)
    notify(artifact)  # capture_set records loaded artifacts too
    return artifact


def load_proxy(artifact_id: str) -> Any:
    """The value of the artifact ``artifact_id``, as an :class:`ArtifactProxy`.

    See Also
    --------
    load_artifact
    """
    return load_artifact(artifact_id).proxy()
