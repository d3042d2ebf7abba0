"""Loading artifacts and proxies by id, or by a unique id prefix, from the default repo."""

from __future__ import annotations

from typing import Any

from .artifact import Artifact
from .config import resolve_repo
from .storage.ids import FULL_ID
from .storage.observers import notify
from .storage.prefixes import resolve_artifact_id

__all__ = ["load_artifact", "load_proxy"]


def load_artifact(artifact_id: str) -> Artifact:
    """The :class:`Artifact` with ``artifact_id`` in the default repo.

    ``artifact_id`` may be a unique prefix of an id, of at least 8 hex digits
    (:data:`~provenance.storage.ids.MIN_PREFIX`), as the command line shows
    and accepts them; a whole id (32 characters or more) is looked up
    directly, with no extra query.

    Raises
    ------
    InvalidId
        If ``artifact_id`` is neither a well-formed id nor a prefix of 8 or
        more lowercase hex digits (nothing is read).
    AmbiguousId
        If several artifacts' ids start with the prefix (an ``InvalidId``
        too); the message lists the first 10 and says how many more.
    ArtifactNotFound
        If the repo has no such artifact (also a ``KeyError``).

    See Also
    --------
    load_proxy
    """
    repo = resolve_repo()
    if not (isinstance(artifact_id, str) and len(artifact_id) >= FULL_ID):
        artifact_id = resolve_artifact_id(repo, artifact_id)
    artifact = repo.get_artifact(artifact_id)
    notify(artifact)  # capture_set records loaded artifacts too
    return artifact


def load_proxy(artifact_id: str) -> Any:
    """The value of the artifact ``artifact_id``, as an :class:`ArtifactProxy`.

    ``artifact_id`` may be a unique prefix of at least 8 hex digits, as in
    :func:`load_artifact`, which raises the same errors.

    See Also
    --------
    load_artifact
    """
    return load_artifact(artifact_id).proxy()
