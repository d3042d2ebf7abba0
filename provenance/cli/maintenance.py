"""Commands that copy, check or clean repos: ``promote``, ``verify``, ``rm``, ``gc``, ``db``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config import current_config, get_repo_by_name
from ..storage.eviction import Removal
from ..storage.schema import SCHEMA_HEAD, current_revision
from ..storage.stored_inputs import parse_size
from ..verbs.gc import gc
from ..verbs.promote import promote
from ..verbs.remove import remove_artifacts
from ..verbs.verify import verify
from .common import (
    current_repo,
    format_size,
    format_table,
    members,
    progress_bar,
    repo_label,
    resolve_artifact_id,
    resolve_set,
    short_id,
)

__all__ = ["cmd_db", "cmd_gc", "cmd_promote", "cmd_rm", "cmd_verify"]


def cmd_promote(args: argparse.Namespace) -> int:
    """Copy an artifact or a set, with its lineage, into the ``--to`` repo."""
    repo = current_repo()
    target = get_repo_by_name(args.to)
    if args.set is not None:
        what: Any = resolve_set(args.set, repo)
        label = f"set {what.name or short_id(what.id)} ({len(what)} artifacts)"
    else:
        what = resolve_artifact_id(args.id, repo)
        label = f"artifact {short_id(what)}"
    with progress_bar(args, "promote") as update:
        copied = promote(what, target, from_repo=repo, progress=update)
    print(f"promoted {label} to {repo_label(target)}: copied {len(copied)} artifacts")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every stored value; exit status 1 if any is missing or corrupt."""
    repo = current_repo()
    total = sum(m.index.count() for m in members(repo))
    with progress_bar(args, "verify", total) as update:
        report = verify(repo, progress=update)
    if report.staging:
        size = format_size(sum(item.size for item in report.staging))
        print(f"{len(report.staging)} staging file{'' if len(report.staging) == 1 else 's'} "
              f"({size}) were left by interrupted "
              "writes; `provenance gc` removes them", file=sys.stderr)  # fmt: skip
    if report.problems:
        rows = [(p.kind, p.artifact_id, p.name, p.detail) for p in report.problems]
        print(format_table(("PROBLEM", "ARTIFACT", "NAME", "DETAIL"), rows))
        count = len(report.problems)
        print(f"checked {_checked(report)}: {count} problem{'' if count == 1 else 's'}",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"checked {_checked(report)}: all values intact")
    return 0


def _checked(report: Any) -> str:
    """``N artifacts``, and the inputs stored apart if there were any."""
    text = f"{report.checked} artifacts"
    if report.inputs_checked:
        text += f" and {report.inputs_checked} stored inputs"
    return text


def cmd_rm(args: argparse.Namespace) -> int:
    """Delete artifacts by id or unique prefix (``--dry-run``: say what would go)."""
    repo = current_repo()
    ids = list(dict.fromkeys(resolve_artifact_id(text, repo) for text in args.ids))
    report = remove_artifacts(ids, repo, force=args.force, dry_run=args.dry_run,
                              grace_period=args.grace_period)  # fmt: skip
    verb = "would remove" if args.dry_run else "removed"
    for artifact_id in dict.fromkeys(report.removed):
        print(f"{verb} {artifact_id}  {report.names.get(artifact_id, '')}".rstrip())
    count = len(set(report.removed))
    what = "artifact" if count == 1 else "artifacts"
    print(f"{verb} {count} {what}, {_freed(report)}{_left(report)}{_dependents(report)}",
          file=sys.stderr)  # fmt: skip
    return 0


def _freed(report: Removal) -> str:
    return f"{'would free' if report.dry_run else 'freed'} {format_size(report.bytes_freed)}"


def _left(report: Removal) -> str:
    """What a removal did not free, and why."""
    text = ""
    if report.blobs_shared:
        text += f"; {len(report.blobs_shared)} blobs kept (other artifacts refer to them)"
    if report.blobs_left:
        text += (
            f"; {len(report.blobs_left)} blobs ({format_size(report.bytes_left)}) left for "
            "`provenance gc` (written within the grace period, or the store may not delete)"
        )
    return text


def _dependents(report: Removal) -> str:
    """The kept artifacts computed from removed ones, if any."""
    count = len(report.dependents_kept)
    if not count:
        return ""
    what = "artifact" if count == 1 else "artifacts"
    shows = "would show" if report.dry_run else "now show"
    return (
        f"; {count} kept {what} took removed ones as inputs "
        f"(their inputs and lineage {shows} those as gone)"
    )


def _evicted(report: Removal) -> str:
    """The summary line of keeping one repo under its size bound."""
    bound = format_size(report.max_size)
    if not report.removed:
        text = f"{format_size(report.size_before)} stored, max {bound}: nothing to evict"
    else:
        text = (
            f"{_freed(report)}: {len(report.removed)} least recently used artifacts "
            f"{'would be ' if report.dry_run else ''}evicted, {format_size(report.size_after)} "
            f"stored of max {bound}{_left(report)}{_dependents(report)}"
        )
    if report.protected:
        count = len(report.protected)
        text += (
            f"; {format_size(report.protected_bytes)} remain in {count} "
            f"{'member' if count == 1 else 'members'} of saved sets, never evicted"
        )
    if report.held:
        text += (
            f"; {len(report.held)} members of composites kept while those stay "
            "(evicted once they go)"
        )
    if (report.size_after or 0) > (report.max_size or 0):
        text += f"; still over max {bound}"
    return text


def cmd_gc(args: argparse.Namespace) -> int:
    """Delete (or with ``--dry-run`` list) the blobs no artifact refers to."""
    max_size = parse_size("--max-size", args.max_size)
    with progress_bar(args, "gc", unit=" blobs") as update:
        report = gc(current_repo(), dry_run=args.dry_run, grace_period=args.grace_period,
                    progress=update, max_size=max_size)  # fmt: skip
    for evicted in report.evicted:
        verb = "would evict" if args.dry_run else "evicted"
        for artifact_id in evicted.removed:
            print(f"{verb} {artifact_id}  {evicted.names.get(artifact_id, '')}".rstrip())
        print(_evicted(evicted), file=sys.stderr)
    keys = report.unreferenced if args.dry_run else report.deleted
    for key in keys:
        print(key)
    if args.dry_run:
        summary = f"{len(keys)} unreferenced blobs would be deleted (dry run)"
    else:
        summary = f"deleted {len(keys)} unreferenced blobs, freed {format_size(report.bytes_freed)}"
    if report.skipped_recent:
        summary += f"; {len(report.skipped_recent)} recent blobs left alone"
    if args.dry_run and report.staging:
        summary += f"; {len(report.staging)} abandoned staging files would be removed"
    elif report.staging_removed:
        summary += (
            f"; removed {len(report.staging_removed)} abandoned staging files, "
            f"freed {format_size(report.staging_bytes_freed)}"
        )
    print(summary, file=sys.stderr)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Upgrade the index schema of the repo (or of every configured repo)."""
    repos = list(current_config().repos.values()) if args.all else [current_repo()]
    seen: set[int] = set()
    for repo in repos:
        for member in members(repo):
            index = member.index
            if id(index) in seen:
                continue
            seen.add(id(index))
            before = current_revision(index.engine)
            index.upgrade()
            if before == SCHEMA_HEAD:
                print(f"{repo_label(member)}: schema already at revision {SCHEMA_HEAD}")
            else:
                print(
                    f"{repo_label(member)}: upgraded schema {before or '(empty)'} -> {SCHEMA_HEAD}"
                )
    return 0
