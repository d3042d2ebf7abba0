"""Deleting artifacts and freeing their bytes: ``rm``, ``forget``, ``clear`` and eviction.

Every deletion goes the same way, in the order that keeps a reader safe:

1. the artifacts' index rows go first (with their lineage edges and tags),
   so that no lookup finds an artifact whose bytes are about to go;
2. then each blob they referred to (the value, a pickled-inputs blob, the
   inputs stored apart) is deleted if no artifact of any index sharing the
   store still refers to it, looked up again just before, and if it was not
   written or re-put within the grace period: values and inputs are
   content-addressed, so a writer storing the same bytes right now may be
   about to index a new row that refers to the blob (the rule ``gc`` keeps).

A process killed between the two steps leaves unreferenced blobs, which is
what ``gc`` collects; it never leaves a row whose blob is gone.  A blob left
for the grace period is counted as left, not freed.

Eviction (:func:`evict`) weighs a repo from its index alone: each
artifact's row bytes (an inline value, pickled inputs) plus each blob it
refers to, a blob shared by several artifacts counted once.  It removes the
least recently used artifacts first until the total is at most the bound.
An artifact's last use is the latest of its computation and its task
records: every call that returned it, cache hits included, writes one, so
the order costs the hit path nothing.  Members of saved sets (named or
labelled) are never evicted.

Neither removal nor eviction follows lineage: an artifact computed from
removed ones stays, and a cache hit on it still returns its stored value.
Its edges to them stay too, so lineage shows them as gone, and its
``inputs`` hold an :class:`~.stored_inputs.InputArtifactGone` for each; the
report counts such artifacts (``dependents_kept``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import BlobNotFound, PermissionDenied
from .index.layout import decode_datetime, decode_json
from .stored_inputs import refs_in_summary

__all__ = [
    "GRACE_PERIOD",
    "Footprint",
    "Removal",
    "check_can_delete",
    "delete_artifacts",
    "evict",
    "evictable_members",
    "footprints",
    "function_ids",
    "maybe_evict",
    "protected_sets",
    "remove",
    "total_size",
]

logger = logging.getLogger(__name__)

#: Blobs written or re-put less than this many seconds ago are left for ``gc``.
GRACE_PERIOD = 3600.0
#: The ``max_size`` of a repo is checked after a store at most this often
#: (seconds) in one process: weighing the index reads every row.
CHECK_INTERVAL = 60.0

#: The indexes whose rows keep a blob of a store alive (see :func:`remove`).
Sharing = Callable[[Any], Sequence[Any]]


@dataclass(frozen=True)
class Footprint:
    """What one artifact takes, by its index row.

    Attributes
    ----------
    id, name : str
        The artifact.
    last_used : datetime
        Its computation or its latest task record (a call that returned it).
    protected : bool
        Whether it is a member of a saved set.
    row_bytes : int
        Bytes in its index row: an inline value, pickled inputs.
    blobs : tuple of (str, int)
        The blobs it refers to, with their sizes.
    """

    id: str
    name: str
    last_used: datetime
    protected: bool
    row_bytes: int
    blobs: tuple[tuple[str, int], ...]


@dataclass
class Removal:
    """What :func:`remove` or :func:`evict` did (or, on a dry run, would do).

    ``bytes_freed`` counts the row bytes of the removed artifacts and the
    blobs deleted; on a dry run, those that would be.  A blob still
    referenced by another artifact is ``shared``; one written within the
    grace period, or in a store that may not delete, is ``left`` for ``gc``.
    Artifacts computed from removed ones stay (nothing is removed for being
    a child): they are listed in ``dependents_kept``.
    """

    dry_run: bool = False
    removed: list[str] = field(default_factory=list)
    #: The name of each removed artifact.
    names: dict[str, str] = field(default_factory=dict)
    #: Set members left alone (eviction, ``clear``), by id; for ``clear``, also
    #: what other artifacts' values hold.
    protected: list[str] = field(default_factory=list)
    #: Eviction only: artifacts left because a value still held holds them.
    held: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    blobs_deleted: list[str] = field(default_factory=list)
    blobs_shared: list[str] = field(default_factory=list)
    blobs_left: list[str] = field(default_factory=list)
    bytes_left: int = 0
    #: Kept artifacts that took removed ones as inputs: their lineage names
    #: artifacts that are gone, and their ``inputs`` hold an
    #: :class:`~provenance.storage.stored_inputs.InputArtifactGone` in place
    #: of each (on a dry run, those that would).
    dependents_kept: list[str] = field(default_factory=list)
    #: Eviction only: the bound, the repo's size before and after (by the index),
    #: and how much of what remains is held by set members.
    max_size: int | None = None
    size_before: int | None = None
    size_after: int | None = None
    protected_bytes: int = 0


# -- weighing -----------------------------------------------------------------------


def footprints(
    repo: Any, name: str | None = None, ids: Sequence[str] | None = None
) -> list[Footprint]:
    """The footprints of a plain repo's artifacts: all, those named ``name``, or ``ids``."""
    found = []
    for row in repo.index.usage(name=name, ids=ids):
        artifact_id, artifact_name, blob_id, in_blob, size, pickled, inputs_blob = row[:7]
        inputs_json, computed_at, last_task, in_set = row[7:]
        row_bytes = int(pickled or 0)
        blobs: dict[str, int] = {}
        if blob_id and in_blob:
            blobs[blob_id] = int(size) if size is not None else _stored_size(repo, blob_id)
        elif size:
            row_bytes += int(size)
        if inputs_blob:
            blobs[inputs_blob] = _stored_size(repo, inputs_blob)
        for ref in refs_in_summary(decode_json(inputs_json)):
            blobs.setdefault(ref.blob, int(ref.size or 0))
        moments = [m for m in (decode_datetime(computed_at), decode_datetime(last_task)) if m]
        found.append(Footprint(artifact_id, artifact_name, max(moments), bool(in_set), row_bytes,
                               tuple(blobs.items())))  # fmt: skip
    return found


def _stored_size(repo: Any, key: str) -> int:
    try:
        return int(repo.blobstore.size(key))
    except (BlobNotFound, FileNotFoundError):
        return 0


def total_size(prints: Iterable[Footprint]) -> int:
    """Bytes of ``prints``: row bytes, plus each distinct blob once."""
    rows = 0
    blobs: dict[str, int] = {}
    for p in prints:
        rows += p.row_bytes
        blobs.update(p.blobs)
    return rows + sum(blobs.values())


# -- deleting -----------------------------------------------------------------------


def check_can_delete(repo: Any, *, blobs: bool = False) -> None:
    """Raise :class:`~provenance.PermissionDenied` unless ``repo`` may delete artifacts.

    ``blobs``: its blobstore must be allowed to delete too (eviction, whose
    point is to free bytes).
    """
    for member in [repo, *getattr(repo, "repos", [])]:
        if not getattr(member, "delete_allowed", False):
            raise PermissionDenied(
                f"{member!r} is not configured to delete artifacts (delete: false); "
                "set delete: true on the repo to allow it"
            )
    for member in getattr(repo, "repos", [repo]):
        if not getattr(member, "_write_flag", True) or member.cannot_write is not None:
            reason = member.cannot_write or "write: false"
            raise PermissionDenied(f"{member!r} is read-only ({reason}): nothing can be deleted")
        if blobs and not member.blobstore.delete_allowed:
            raise PermissionDenied(
                f"the blobstore of {member!r} is not configured to delete (delete: false); "
                "set delete: true on the blobstore to free space"
            )


def evictable_members(repo: Any) -> list[Any]:
    """What eviction of ``repo`` works on: itself, or the members of a chain that may delete.

    A chain must allow deleting itself; its members that may not (a shared
    read-only repo) are left alone.

    Raises
    ------
    PermissionDenied
        If nothing may be evicted, saying why.
    """
    members = getattr(repo, "repos", None)
    if members is None:
        check_can_delete(repo, blobs=True)
        return [repo]
    if not repo.delete_allowed:
        check_can_delete(repo)  # raises, naming the chain
    able = []
    for member in members:
        try:
            check_can_delete(member, blobs=True)
        except PermissionDenied:
            continue
        able.append(member)
    if not able:
        check_can_delete(members[0], blobs=True)  # raises, saying why
    return able


def remove(
    repo: Any,
    artifact_ids: Iterable[str],
    *,
    dry_run: bool = False,
    grace_period: float | None = None,
    sharing: Sharing | None = None,
    report: Removal | None = None,
    weighed: Sequence[Footprint] | None = None,
) -> Removal:
    """Delete the given artifacts of a plain repo, rows first, then the blobs no one needs.

    Ids not in the repo are ignored.  Set membership is the caller's
    concern (see :func:`protected_sets`).

    Parameters
    ----------
    repo : Repository
        A plain (not chained) repository.
    artifact_ids : iterable of str
        Full ids.
    dry_run : bool
        Only say what would be removed and freed.
    grace_period : float, optional
        Blobs written or re-put less than this many seconds ago stay (for
        ``gc``); :data:`GRACE_PERIOD` by default.
    sharing : callable, optional
        ``sharing(store)``: every index whose rows keep a blob of ``store``
        alive (other configured repos on the same store); this repo's by default.
    report : Removal, optional
        Added to, instead of a new one.
    weighed : sequence of Footprint, optional
        The footprints of every artifact of the repo, if already read.
    """
    report = report if report is not None else Removal(dry_run=dry_run)
    wanted = list(dict.fromkeys(artifact_ids))
    order = {artifact_id: i for i, artifact_id in enumerate(wanted)}
    prints = sorted(footprints(repo, ids=wanted), key=lambda p: order[p.id]) if wanted else []
    if not prints:
        return report
    check_can_delete(repo)
    ids = [p.id for p in prints]
    removed = set(ids) if dry_run else set(repo.index.delete_many(ids))
    gone = [p for p in prints if p.id in removed]
    for p in gone:
        report.removed.append(p.id)
        report.names[p.id] = p.name
        report.bytes_freed += p.row_bytes
    _note_dependents(repo, report, removed)
    candidates: dict[str, int] = {}
    for p in gone:
        candidates.update(p.blobs)
    if dry_run:
        # Blobs that only the removed artifacts refer to would go.
        users = Counter(k for p in weighed or footprints(repo) for k, _ in p.blobs)
        for p in gone:
            users.subtract(k for k, _ in p.blobs)
        for key, size in candidates.items():
            if users[key] > 0:
                report.blobs_shared.append(key)
            else:
                report.blobs_deleted.append(key)
                report.bytes_freed += size
        return report
    indexes = list(sharing(repo.blobstore)) if sharing is not None else [repo.index]
    if repo.index not in indexes:
        indexes.append(repo.index)
    grace = GRACE_PERIOD if grace_period is None else grace_period
    _delete_blobs(repo.blobstore, candidates, indexes, grace, report)
    return report


def _note_dependents(repo: Any, report: Removal, removed: set[str]) -> None:
    # One query over the edges: eviction goes by least recent use, so the
    # parents of kept artifacts are the common case, not a corner.
    going = removed | set(report.removed)
    kept = repo.index.dependents(removed) - going if removed else set()
    report.dependents_kept = sorted((set(report.dependents_kept) | kept) - going)


def _delete_blobs(
    store: Any,
    candidates: dict[str, int],
    indexes: Sequence[Any],
    grace_period: float,
    report: Removal,
) -> None:
    keys = list(candidates)
    # In batches: the time between looking for references to a blob and
    # deleting it stays short, as in gc.
    for start in range(0, len(keys), 100):
        batch = keys[start : start + 100]
        shared = _referenced(indexes, batch)
        report.blobs_shared.extend(k for k in batch if k in shared)
        old = []
        for key in (k for k in batch if k not in shared):
            if not store.exists(key):
                continue  # never stored, or removed already
            age = store.age(key)
            if not store.delete_allowed or (age is not None and age < grace_period):
                report.blobs_left.append(key)
                report.bytes_left += candidates[key]
            else:
                old.append(key)
        # Again, after the age: a writer refreshes a blob's time before its
        # row refers to it, so a row it has indexed since is seen now.
        used = _referenced(indexes, old)
        for key in old:
            if key in used:
                report.blobs_shared.append(key)
                continue
            try:
                store.delete(key)
            except (BlobNotFound, FileNotFoundError):
                continue  # another process removed it first
            report.blobs_deleted.append(key)
            report.bytes_freed += candidates[key]


def _referenced(indexes: Sequence[Any], keys: list[str]) -> set[str]:
    found: set[str] = set()
    for index in indexes if keys else ():
        found |= index.blobs_referenced(keys)
    return found


def protected_sets(repo: Any, artifact_ids: Iterable[str]) -> dict[str, list[str]]:
    """The saved sets (name, else id) holding each of ``artifact_ids`` that is in one."""
    found: dict[str, list[str]] = {}
    for member in getattr(repo, "repos", [repo]):
        for artifact_id, sets in member.index.sets_of(artifact_ids).items():
            labels = found.setdefault(artifact_id, [])
            labels.extend(name or set_id[:12] for set_id, name in sets if name or set_id)
    return found


def delete_artifacts(
    repo: Any,
    artifact_ids: Iterable[str],
    *,
    force: bool = False,
    skip_protected: bool = False,
    dry_run: bool = False,
    grace_period: float | None = None,
    sharing: Sharing | None = None,
) -> Removal:
    """Delete artifacts of any repo (each member of a chain that has them), with their blobs.

    What ``provenance rm``, ``f.forget()`` and ``f.clear()`` run.  Members
    of saved sets are refused (nothing is deleted) unless ``force``, or
    with ``skip_protected`` left alone and listed in ``protected``.

    Raises
    ------
    PermissionDenied
        If the repo may not delete (``delete: false``, read-only), or an
        artifact is a set member and neither ``force`` nor ``skip_protected``
        is given (the message names the sets).
    """
    ids = list(dict.fromkeys(artifact_ids))
    if not getattr(repo, "delete_allowed", False):
        raise PermissionDenied(
            f"{repo!r} is not configured to delete artifacts (delete: false); "
            "set delete: true on the repo to allow it"
        )
    report = Removal(dry_run=dry_run)
    if not force:
        kept = _kept(repo, ids)
        if kept and not skip_protected:
            shown = "; ".join(f"{i[:12]} {kept[i]}" for i in list(kept)[:5])
            more = f" (and {len(kept) - 5} more)" if len(kept) > 5 else ""
            raise PermissionDenied(
                f"{len(kept)} of the artifacts are members of saved sets or held by the values "
                f"of other artifacts, and nothing was deleted: {shown}{more}; delete those "
                "first, or force it (rm --force)"
            )
        report.protected = [i for i in ids if i in kept]
        ids = [i for i in ids if i not in kept]
    for member in getattr(repo, "repos", [repo]):
        if member.delete_allowed:
            remove(member, ids, dry_run=dry_run, grace_period=grace_period, sharing=sharing,
                   report=report)  # fmt: skip
    # Once each, though every member of a chain that held it removed it.
    report.removed = list(dict.fromkeys(report.removed))
    return report


def _kept(repo: Any, ids: list[str]) -> dict[str, str]:
    """Why each of ``ids`` that must stay does: a saved set, or a value that holds it."""
    why = {i: f"is in the set {', '.join(map(repr, sets))}"
           for i, sets in protected_sets(repo, ids).items()}  # fmt: skip
    going = set(ids)
    for member in getattr(repo, "repos", [repo]):
        held = member.index.held_by_values()
        for i in ids:
            holders = sorted(held.get(i, set()) - going)
            if holders and i not in why:
                why[i] = (
                    f"is held by the value of {holders[0][:12]} (a composite, or a returned value)"
                )
    return why


def function_ids(repo: Any, name: str) -> list[str]:
    """The ids of every artifact named ``name`` (any version) in ``repo`` or its members.

    With the members of its composites (named ``<name>_<key>``), which are
    part of its values.
    """
    found: dict[str, None] = {}
    for member in getattr(repo, "repos", [repo]):
        own = {row[0] for row in member.index.summaries(name=name)}
        found.update(dict.fromkeys(sorted(own)))
        held = [i for i, holders in member.index.held_by_values().items() if holders & own]
        parts = member.index.usage(ids=held) if held else []
        found.update(dict.fromkeys(r[0] for r in parts if str(r[1]).startswith(name + "_")))
    return list(found)


# -- eviction -----------------------------------------------------------------------


def evict(
    repo: Any,
    max_size: int,
    *,
    dry_run: bool = False,
    grace_period: float | None = None,
    sharing: Sharing | None = None,
    keep: Iterable[str] = (),
) -> Removal:
    """Remove least recently used artifacts of a plain repo until it takes at most ``max_size``.

    Members of saved sets, and the artifacts in ``keep`` (the one just
    stored, when applied after a store), stay whatever the total.  The report says what
    was freed, the sizes before and after, and how much remains in set
    members (see the module for how size and last use are read).
    """
    check_can_delete(repo, blobs=True)
    prints = footprints(repo)
    users = Counter(k for p in prints for k, _ in p.blobs)
    sizes: dict[str, int] = {}
    for p in prints:
        sizes.update(p.blobs)
    total = total_size(prints)
    report = Removal(dry_run=dry_run, max_size=max_size, size_before=total)
    chosen: list[str] = []
    kept = set(keep)
    # What another artifact's value holds (a composite's members) goes only
    # once every holder has gone: loading the holder would fail.
    held = repo.index.held_by_values()
    going: set[str] = set()
    candidates = (p for p in prints if not p.protected and p.id not in kept)
    for p in sorted(candidates, key=lambda p: (p.last_used, p.id)):
        if total <= max_size:
            break
        if held.get(p.id, set()) - going:
            report.held.append(p.id)
            continue
        chosen.append(p.id)
        going.add(p.id)
        total -= p.row_bytes
        for key, _ in p.blobs:
            users[key] -= 1
            if users[key] == 0:
                total -= sizes[key]
    report.protected = [p.id for p in prints if p.protected]
    report.protected_bytes = total_size(p for p in prints if p.protected)
    remove(repo, chosen, dry_run=dry_run, grace_period=grace_period, sharing=sharing,
           report=report, weighed=prints)  # fmt: skip
    report.size_after = total
    return report


_last_check: dict[int, float] = {}
_check_lock = threading.Lock()


def maybe_evict(repo: Any, stored: str, sharing: Sharing | None = None) -> Removal | None:
    """Apply the ``max_size`` of each member of ``repo`` that has one, at most every minute.

    Called after the artifact ``stored`` is stored, in the process that
    stored it (never on a cache hit), which it never evicts.  A failure is
    logged, not raised: the value is stored.
    """
    now = time.monotonic()
    done = None
    for member in getattr(repo, "repos", [repo]):
        bound = getattr(member, "max_size", None)
        if bound is None:
            continue
        with _check_lock:
            last = _last_check.get(id(member))
            if last is not None and now - last < CHECK_INTERVAL:
                continue
            _last_check[id(member)] = now
        try:
            done = evict(member, bound, sharing=sharing, keep=[stored])
        except Exception as exc:  # a store that succeeded must not fail here
            logger.warning("max_size of %r not applied: %s", member, exc)
            continue
        if done.removed:
            logger.info("max_size of %r: evicted %d artifacts, freed %d bytes; %d kept artifacts "
                        "took evicted ones as inputs", member, len(done.removed),
                        done.bytes_freed, len(done.dependents_kept))  # fmt: skip
    return done
