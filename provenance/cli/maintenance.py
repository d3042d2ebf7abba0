"""Commands that copy, check or clean repos: ``promote``, ``verify``, ``gc`` and ``db upgrade``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..config import current_config, get_repo_by_name
from ..storage.schema import SCHEMA_HEAD, current_revision
from ..verbs.gc import gc
from ..verbs.promote import promote
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

__all__ = ["cmd_db", "cmd_gc", "cmd_promote", "cmd_verify"]


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


def cmd_gc(args: argparse.Namespace) -> int:
    """Delete (or with ``--dry-run`` list) the blobs no artifact refers to."""
    with progress_bar(args, "gc", unit=" blobs") as update:
        report = gc(current_repo(), dry_run=args.dry_run, grace_period=args.grace_period,
                    progress=update)  # fmt: skip
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
