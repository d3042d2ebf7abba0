"""Removing artifacts by id: what ``provenance rm`` runs.

The deletion itself (rows first, then the blobs no artifact needs any
more) is :func:`provenance.storage.eviction.delete_artifacts`; this verb
adds the configured repos that share a blobstore, whose references keep a
blob alive.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..config import indexes_sharing, resolve_repo
from ..storage.eviction import Removal, delete_artifacts
from ..storage.ids import check_id

__all__ = ["Removal", "remove_artifacts"]


def remove_artifacts(
    artifact_ids: Iterable[str],
    repo: Any = None,
    *,
    force: bool = False,
    dry_run: bool = False,
    grace_period: float | None = None,
) -> Removal:
    """Delete artifacts, with the blobs that no other artifact refers to.

    Parameters
    ----------
    artifact_ids : iterable of str
        Full artifact ids; those not in the repo are ignored (see
        ``removed`` in the report).
    repo : Repository or str, optional
        The repo (the default repo if omitted); a chained repo deletes from
        each member configured with ``delete: true``.
    force : bool
        Delete members of saved sets too (the sets then name an artifact
        that is gone).  Without it, nothing is deleted if any is a member.
    dry_run : bool
        Only report what would be removed and freed.
    grace_period : float, optional
        Blobs written or re-put less than this many seconds ago are left
        for ``gc``: a writer storing the same bytes may be about to refer
        to them (default :data:`~provenance.verbs.gc.GRACE_PERIOD`).

    Raises
    ------
    PermissionDenied
        If the repo may not delete, or (without ``force``) an artifact is a
        member of a saved set; the message names the sets.
    InvalidId
        If an id is malformed.
    """
    ids = [check_id(i) for i in artifact_ids]
    return delete_artifacts(resolve_repo(repo), ids, force=force, dry_run=dry_run,
                            grace_period=grace_period, sharing=indexes_sharing)  # fmt: skip
