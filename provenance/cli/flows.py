"""Commands of the client view (:mod:`provenance.client`): ``flows``, ``runs`` and ``view``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import MetaflowInvalidPathspec
from ..flows import client
from ..flows.client import DataArtifact, Flow, Metaflow, Run, Step, Task
from ..storage.trust import code_risk
from .common import (
    format_duration,
    format_size,
    format_table,
    format_time,
    print_fields,
    short_id,
)

__all__ = ["VIEW_TASK_LIMIT", "VIEW_VALUE_LIMIT", "cmd_flows", "cmd_runs", "cmd_view"]


def _use_namespace(args: argparse.Namespace) -> None:
    if getattr(args, "all_namespaces", False):
        client.namespace(None)
    elif getattr(args, "namespace", None):
        client.namespace(args.namespace)


def _run_status(run: Any) -> str:
    return "successful" if run.successful else ("failed" if run.finished else "running")


def cmd_flows(args: argparse.Namespace) -> int:
    """Print the flows of the namespace with their latest run."""
    _use_namespace(args)
    rows = []
    for flow in Metaflow():
        latest = flow.latest_run
        if latest is None:
            continue
        rows.append((flow.id, latest.pathspec, _run_status(latest), format_time(latest.created_at)))
    if not rows:
        print("no flows in this namespace (try --all-namespaces)", file=sys.stderr)
        return 0
    print(format_table(("FLOW", "LATEST RUN", "STATUS", "STARTED"), rows))
    return 0


def _runs_table(runs: Any, limit: int | None) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for run in runs:
        if limit is not None and len(rows) >= limit:
            break
        rows.append((
            run.id, _run_status(run), format_time(run.created_at), format_time(run.finished_at),
            run.user or "-",
            ",".join(sorted(run.user_tags)) or "-",
        ))  # fmt: skip
    return rows


def cmd_runs(args: argparse.Namespace) -> int:
    """Print the runs of a flow, newest first."""
    _use_namespace(args)
    rows = _runs_table(Flow(args.flow).runs(*args.tag), args.limit or None)
    if not rows:
        print(f"no runs of {args.flow} match", file=sys.stderr)
        return 0
    print(format_table(("RUN", "STATUS", "STARTED", "FINISHED", "USER", "TAGS"), rows))
    return 0


#: ``view`` of a step lists at most this many tasks, newest first.
VIEW_TASK_LIMIT = 100
#: Data artifacts up to this stored size have their value printed by ``view``.
VIEW_VALUE_LIMIT = 64 * 1024


def cmd_view(args: argparse.Namespace) -> int:
    """Print one object of the client view and its children."""
    _use_namespace(args)
    depth = len(args.pathspec.split("/"))
    classes = {1: Flow, 2: Run, 3: Step, 4: Task, 5: DataArtifact}
    if depth not in classes:
        raise MetaflowInvalidPathspec(
            f"pathspec {args.pathspec!r} has {depth} parts; expected 1 (a flow) to 5 (an artifact)"
        )
    obj: Any = classes[depth](args.pathspec)
    rows: list[tuple[Any, ...]] = []
    if isinstance(obj, Flow):
        print_fields([("flow", obj.id), ("first run", format_time(obj.created_at))])
        rows = _runs_table(obj, 20)
        print()
        print(format_table(("RUN", "STATUS", "STARTED", "FINISHED", "USER", "TAGS"), rows))
    elif isinstance(obj, Run):
        print_fields([
            ("run", obj.pathspec), ("status", _run_status(obj)),
            ("started", format_time(obj.created_at)), ("finished", format_time(obj.finished_at)),
            ("user", obj.user or "-"), ("implicit", "yes" if obj.implicit else "no"),
            ("user tags", ", ".join(sorted(obj.user_tags)) or "-"),
            ("system tags", ", ".join(sorted(obj.system_tags))),
            ("data", ", ".join(obj.data) or "-"),
        ])  # fmt: skip
        rows = [
            (s.id, len(list(s)), format_time(s.created_at), format_time(s.finished_at)) for s in obj
        ]
        print()
        print(format_table(("STEP", "TASKS", "STARTED", "FINISHED"), rows))
    elif isinstance(obj, Step):
        print_fields([("step", obj.pathspec), ("started", format_time(obj.created_at))])
        for shown, t in enumerate(obj, 1):
            if shown > VIEW_TASK_LIMIT:
                print(f"(only the newest {VIEW_TASK_LIMIT} tasks are shown)", file=sys.stderr)
                break
            took = (t.finished_at - t.created_at).total_seconds() if t.finished_at else None
            rows.append((
                t.id, format_time(t.created_at), "ok" if t.successful else "failed",
                "hit" if t.cached else "miss", short_id(t.artifact_id) if t.artifact_id else "-",
                format_duration(took),
            ))  # fmt: skip
        print()
        print(format_table(("TASK", "STARTED", "STATUS", "CACHE", "ARTIFACT", "TOOK"), rows))
    elif isinstance(obj, Task):
        fields: list[tuple[str, Any]] = [
            ("task", obj.pathspec), ("status", "ok" if obj.successful else "failed"),
            ("cache", "hit" if obj.cached else "miss"),
            ("origin", obj.origin_pathspec or "-"),
            ("started", format_time(obj.created_at)), ("finished", format_time(obj.finished_at)),
            ("artifact", obj.artifact_id or "-"),
            ("inputs", ", ".join(obj.input_artifact_ids) or "-"),
            ("parameters", json.dumps(obj.parameters, sort_keys=True, default=str)),
        ]  # fmt: skip
        if obj.exception is not None:
            fields.append(("exception", str(obj.exception)))
        fields.append(("data", ", ".join(obj.data) or "-"))
        print_fields(fields)
        for name in ("stdout", "stderr"):
            text = getattr(obj, name)  # a flow task's captured output
            if text:
                print(f"\n{name}" + (" (replayed from the origin)" if obj.cached else "") + ":")
                print(text.rstrip())
        if obj.exception is not None:
            print()
            print(obj.exception.traceback.rstrip())
    else:
        print_fields([
            ("data artifact", obj.pathspec), ("artifact", obj.artifact_id), ("sha", obj.sha),
            ("size", format_size(obj.size)), ("created", format_time(obj.created_at)),
        ])  # fmt: skip
        risk = code_risk(obj.artifact)
        if not args.value and risk is not None:
            print(f"\n(value not shown: {risk}; pass --value to load it)", file=sys.stderr)
        elif args.value or obj.size <= VIEW_VALUE_LIMIT:
            text = repr(obj.artifact.value)
            if len(text) > 4000 and not args.value:
                text = text[:4000] + " ..."
            print()
            print(text)
        else:
            print(f"\n(value of {format_size(obj.size)} not shown; pass --value)", file=sys.stderr)
    return 0
