"""Commands about single artifacts: ``ls`` (the table), ``show`` (one), ``export`` (its value)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import UntrustedValue
from ..storage.stored_inputs import input_sizes as stored_input_sizes
from ..verbs.calls import GONE
from ..verbs.export import export_artifact
from .common import (
    PROG,
    UsageError,
    current_repo,
    format_duration,
    format_size,
    format_table,
    format_time,
    format_value,
    members,
    print_fields,
    resolve_artifact_id,
    short_id,
)

__all__ = ["cmd_export", "cmd_ls", "cmd_show"]


def _summary_rows(repo: Any, name: str | None, limit: int | None) -> list[tuple[Any, ...]]:
    rows: dict[str, tuple[Any, ...]] = {}
    for member in members(repo):
        if member.read:
            for row in member.index.summaries(name=name, limit=limit):
                rows.setdefault(row[0], (*row, member))
    ordered = sorted(rows.values(), key=lambda r: (r[4] is not None, r[4], r[0]), reverse=True)
    return ordered[:limit] if limit is not None else ordered


def input_sizes(rows: list[tuple[Any, ...]]) -> tuple[dict[str, int | None], dict[str, int]]:
    """The inputs' bytes of each listed artifact, and the distinct inputs stored apart.

    Per repo of the listing (``row[5]``), as
    :func:`provenance.storage.stored_inputs.input_sizes` counts them.
    """
    by_member: dict[int, tuple[Any, list[str]]] = {}
    for row in rows:
        by_member.setdefault(id(row[5]), (row[5], []))[1].append(row[0])
    sizes: dict[str, int | None] = {}
    shared: dict[str, int] = {}
    for member, ids in by_member.values():
        found, blobs = stored_input_sizes(member, ids)
        sizes.update(found)
        shared.update(blobs)
    return sizes, shared


def cmd_ls(args: argparse.Namespace) -> int:
    """Print the artifacts table, newest first."""
    limit = args.limit or None
    # One more row than shown tells whether the listing was cut.
    rows = _summary_rows(current_repo(), args.name, None if limit is None else limit + 1)
    if not rows:
        print("no artifacts" + (f" named {args.name!r}" if args.name else ""), file=sys.stderr)
        return 0
    shown = rows[:limit]
    sizes, shared = input_sizes(shown)
    cells = [
        (short_id(i), n, v, format_size(s), format_size(sizes.get(i)), format_time(t))
        for i, n, v, s, t, _ in shown
    ]
    print(format_table(("ID", "NAME", "VERSION", "SIZE", "INPUTS", "COMPUTED AT"),
                       cells, "<<>>><"))  # fmt: skip
    if shared:
        print(f"(INPUTS counts in full the inputs stored apart that each artifact refers to; "
              f"those listed share {len(shared)} stored once, "
              f"{format_size(sum(shared.values()))} in all)", file=sys.stderr)  # fmt: skip
    if limit is not None and len(rows) > limit:
        print(f"(the newest {limit} shown; --limit 0 lists them all)", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print everything recorded about one artifact."""
    repo = current_repo()
    artifact = repo.get_artifact(resolve_artifact_id(args.id, repo))
    function = ".".join(x for x in (artifact.fn_module, artifact.fn_name) if x) or "-"
    took = artifact.compute_duration
    fields: list[tuple[str, Any]] = [
        ("artifact", artifact.id),
        ("name", artifact.name),
        ("version", artifact.version),
        ("function", function),
        ("computed at", format_time(artifact.computed_at)
            + (f" (took {format_duration(took)})" if took is not None else "")),
        ("value id", artifact.value_id),
        ("blob id", artifact.blob_id or "-"),
        ("serializer", artifact.serializer),
        ("size", format_size(artifact.size)),
        ("composite", "yes" if artifact.composite else "no"),
        ("hash scheme", artifact.hash_scheme),
        ("code", artifact.code_fingerprint or "-"),
    ]  # fmt: skip
    tags = artifact.repo.index.tags_of(artifact.id) if artifact.repo is not None else []
    if tags:
        fields.append(("tags", ", ".join(tags)))
    custom = {k: v for k, v in (artifact.custom_fields or {}).items() if k != "tags"}
    for key, value in sorted(custom.items()):
        fields.append((f"custom.{key}", format_value(value)))
    print_fields(fields)

    # The JSON summary, not the pickled inputs: unpickling would import the
    # user's modules and could run their code.
    summary = artifact.inputs_summary
    inputs = [(f"  {k}", format_value(v)) for k, v in (summary.get("kargs") or {}).items()]
    inputs += [
        (f"  *args[{i}]", format_value(v)) for i, v in enumerate(summary.get("varargs") or [])
    ]
    print("\ninputs")
    print_fields(inputs or [("  (none recorded)", "")])
    _show_input_sizes(artifact)

    edges = artifact.repo.index.lineage_edges(artifact.id)
    print("\nlineage parents")
    if edges:
        found = repo.get_artifacts([parent for parent, _ in edges])
        rows = []
        for parent, parameter in edges:
            art = found.get(parent)
            name = f"{art.name} v{art.version}" if art else GONE
            rows.append((short_id(parent), name, f"as {parameter}"))
        print(format_table(None, rows, indent="  "))
    else:
        print("  (none)")

    print("\nrun info")
    print_fields(_flatten(artifact.run_info or {}, "  ") or [("  (none recorded)", "")])

    return _show_loaded(artifact) if args.value else 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write an artifact's value to a file in its natural format (the stored bytes, verified)."""
    repo = current_repo()
    artifact = repo.get_artifact(resolve_artifact_id(args.id, repo))
    try:
        done = export_artifact(artifact, args.path, force=args.force)
    except FileExistsError as exc:
        raise UsageError(f"{exc.filename} exists already: give --force to overwrite it") from None
    print(f"exported {short_id(artifact.id)} ({artifact.name}) as {done.format} to "
          f"{done.path} ({format_size(done.size)})")  # fmt: skip
    if done.note:
        print(f"{PROG}: note: {done.path} is {done.note}", file=sys.stderr)
    return 0


def _show_input_sizes(artifact: Any) -> None:
    """The inputs' size, then each input stored apart with how many artifacts share it."""
    index = artifact.repo.index
    sizes, _ = input_sizes([(artifact.id, None, None, None, None, artifact.repo)])
    print(f"\ninputs size: {format_size(sizes.get(artifact.id))}")
    _, _, refs = index.input_footprints([artifact.id]).get(artifact.id, (0, None, []))
    rows = []
    for ref in refs:
        users = index.input_blob_users(ref.blob)
        shared = f"shared by {users} artifacts" if users > 1 else "used by this artifact only"
        rows.append((f"  {ref.parameter}", format_size(ref.size), ref.serializer,
                     short_id(ref.blob), f"stored once, {shared}"))  # fmt: skip
    if rows:
        print("stored inputs")
        print(format_table(None, rows))


def _show_loaded(artifact: Any) -> int:
    """Print the value and the unpickled inputs (``show --value``); 1 if one was refused.

    Loading respects the repo's trust: a pickle in a repo that is not
    trusted is refused (:class:`~provenance.UntrustedValue`) and the other
    part is still shown.
    """
    status = 0
    print("\nvalue")
    try:
        print(repr(artifact.value))
    except UntrustedValue as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        status = 1
    print("\nloaded inputs")
    try:
        loaded = artifact.inputs
    except UntrustedValue as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    rows = [(f"  {k}", repr(v)) for k, v in loaded.get("kargs", {}).items()]
    rows += [(f"  *args[{i}]", repr(v)) for i, v in enumerate(loaded.get("varargs", ()))]
    print_fields(rows or [("  (none recorded)", "")])
    return status


def _flatten(data: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            out.append((f"{prefix}{key}", " ".join(str(v) for v in value)))
        else:
            out.append((f"{prefix}{key}", str(value)))
    return out
