"""Garbage collection: blobs that no artifact refers to, and abandoned staging files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import indexes_sharing, resolve_repo
from ..storage.eviction import Removal, evict, evictable_members
from ..storage.stored_inputs import parse_size

__all__ = ["GRACE_PERIOD", "GcReport", "gc"]

#: Blobs younger than this are left alone: a writer stores a blob before the
#: index row that refers to it, and may be between the two right now.  (The
#: same as :data:`provenance.storage.eviction.GRACE_PERIOD`, the default of
#: deletions, which is read when they run.)
GRACE_PERIOD = 3600.0


@dataclass
class GcReport:
    """What :func:`gc` found (and removed unless it was a dry run)."""

    unreferenced: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped_recent: list[str] = field(default_factory=list)
    #: Bytes of the deleted blobs.
    bytes_freed: int = 0
    dry_run: bool = True
    #: Staging files older than the grace period (writers killed mid-write
    #: leave them), and those removed.
    staging: list[str] = field(default_factory=list)
    staging_removed: list[str] = field(default_factory=list)
    #: Bytes of the removed staging files.
    staging_bytes_freed: int = 0
    #: What keeping each member repo under ``max_size`` removed (or would).
    evicted: list[Removal] = field(default_factory=list)


def gc(
    repo: Any = None,
    dry_run: bool = True,
    grace_period: float = GRACE_PERIOD,
    progress: Callable[[int], None] | None = None,
    max_size: int | str | None = None,
) -> GcReport:
    """Find the blobs no artifact refers to and, unless ``dry_run``, delete them.

    With ``max_size`` (or a repo configured with ``max_size:``), the least
    recently used artifacts are evicted first until the repo takes at most
    that much (see :func:`provenance.storage.eviction.evict`): members of
    saved sets never are.

    A blob still referenced by any artifact is never deleted: values are
    deduplicated, so one blob may serve many artifacts.  Blobs written or
    re-put within ``grace_period`` seconds are skipped, so a write in
    progress is never collected.  Staging files (what a writer writes before
    moving a blob into place) left longer than ``grace_period`` ago belong to
    writers that were killed: they are removed too.

    Parameters
    ----------
    repo : Repository or str, optional
        The repo (the default repo if omitted).
    dry_run : bool
        Only report (the default).  Deleting needs the ``delete`` flag on the
        repo's blobstore.
    grace_period : float
        Seconds a blob or staging file must have been left alone to count
        as garbage.
    progress : callable, optional
        Called with the number of blobs examined so far, now and then.
    max_size : int or str, optional
        Bytes, or a size such as ``"20GB"``, ``"500MiB"``, ``"1.5G"``; each
        member of a chained repo is kept under it.  Default: the repo's
        ``max_size`` setting, if any.  Eviction needs ``delete: true`` on
        the repo and on its blobstore.

    Raises
    ------
    ConfigError
        If ``max_size`` is not a size (naming it).
    PermissionDenied
        If deleting is asked of a repo or blobstore that may not delete.
    """
    repo = resolve_repo(repo)
    report = GcReport(dry_run=dry_run)
    bound = parse_size("max_size", max_size)
    targets = list(getattr(repo, "repos", [repo]))
    if bound is not None:
        targets = evictable_members(repo)
    for member in targets:
        limit = bound if bound is not None else getattr(member, "max_size", None)
        if limit is not None:
            evicted = evict(member, limit, dry_run=dry_run, grace_period=grace_period,
                            sharing=indexes_sharing)  # fmt: skip
            report.evicted.append(evicted)
    examined = 0
    swept: set[int] = set()
    for member in getattr(repo, "repos", [repo]):
        store = member.blobstore
        if not dry_run:
            store._require("delete")
        if id(store) not in swept:
            swept.add(id(store))
            _sweep_staging(store, report, grace_period)
        # Every configured index that keeps values in the same store counts:
        # a blob another repo refers to is not garbage.
        indexes = [member.index, *(i for i in indexes_sharing(store) if i is not member.index)]
        referenced = set().union(*(index.referenced_blobs() for index in indexes))
        for key in list(store.keys()):
            examined += 1
            if progress is not None and examined % 100 == 0:
                progress(examined)
            if key in referenced:
                continue
            age = store.age(key)
            if age is not None and age < grace_period:
                report.skipped_recent.append(key)
                continue
            report.unreferenced.append(key)
            if not dry_run:
                # Look again: an artifact may have come to refer to it.
                if any(index.blob_referenced(key) for index in indexes):
                    continue
                report.bytes_freed += store.size(key)
                store.delete(key)
                report.deleted.append(key)
    if progress is not None:
        progress(examined)
    return report


def _sweep_staging(store: Any, report: GcReport, grace_period: float) -> None:
    stale = store.staging(older_than=grace_period)
    report.staging.extend(item.path for item in stale)
    if not report.dry_run and stale:
        report.staging_bytes_freed += store.remove_staging(stale)
        report.staging_removed.extend(item.path for item in stale)
