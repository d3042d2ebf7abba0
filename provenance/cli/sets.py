"""Commands about artifact sets: ``sets`` (the saved sets) and ``set`` (one set and its members)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .common import (
    artifact_table,
    current_repo,
    format_table,
    format_time,
    members,
    print_fields,
    resolve_set,
    short_id,
)

__all__ = ["cmd_set", "cmd_sets"]


def _set_table_rows(repo: Any, limit: int | None) -> list[tuple[Any, ...]]:
    rows: dict[str, dict[str, Any]] = {}
    for member in members(repo):
        if member.read:
            for row in member.index.find_sets(limit=limit):
                rows.setdefault(row["id"], row)
    ordered = sorted(rows.values(), key=lambda r: (r["created_at"], r["id"]), reverse=True)
    out = []
    for row in ordered[:limit] if limit is not None else ordered:
        labels = {k: v for k, v in (row["labels"] or {}).items() if k != "name"}
        extra = json.dumps(labels, sort_keys=True, default=str) if labels else ""
        out.append((short_id(row["id"]), row["name"] or "-", row["size"],
                    format_time(row["created_at"]), extra))  # fmt: skip
    return out


def cmd_sets(args: argparse.Namespace) -> int:
    """Print the saved artifact sets, newest first."""
    rows = _set_table_rows(current_repo(), args.limit or None)
    if not rows:
        print("no artifact sets", file=sys.stderr)
        return 0
    print(format_table(("ID", "NAME", "MEMBERS", "CREATED AT", "OTHER LABELS"), rows, "<<><<"))
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    """Print one set's labels and its members."""
    repo = current_repo()
    found = resolve_set(args.name, repo)
    print_fields([
        ("set", found.id),
        ("name", found.name or "-"),
        ("labels", json.dumps(found.labels, sort_keys=True, default=str)),
        ("created at", format_time(found.created_at)),
        ("members", len(found)),
    ])  # fmt: skip
    artifacts = repo.get_artifacts(found.artifact_ids)
    rows = [(a.id, a.name, a.version, a.size, a.computed_at) for a in artifacts.values()]
    rows.sort(key=lambda r: (r[4], r[0]), reverse=True)
    missing = sorted(set(found.artifact_ids) - set(artifacts))
    print()
    print(artifact_table(rows + [(i, "(missing)", "", None, None) for i in missing]))
    return 0
