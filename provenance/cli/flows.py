"""Commands of the client view (:mod:`provenance.client`): ``flows``, ``runs`` and ``view``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import MetaflowInvalidPathspec
from ..storage.trust import code_risk
from .common import (
    Command,
    add_limit,
    format_duration,
    format_size,
    format_table,
    format_time,
    print_fields,
    short_id,
)

__all__ = ["COMMANDS", "VIEW_TASK_LIMIT", "VIEW_VALUE_LIMIT", "cmd_flows", "cmd_runs", "cmd_view"]

# The client view (provenance.flows.client) is imported inside the functions
# that use it, not above, so that `provenance --help` need not load it.  Today
# `import provenance` loads it anyway (through provenance.flows.runs); the
# laziness is kept for when it does not.


def _namespace_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--namespace",
        metavar="NS",
        help="show runs carrying this tag (default: user:<you>, from $PROVENANCE_USER or $USER)",
    )
    group.add_argument(
        "-A", "--all-namespaces", action="store_true", help="show the runs of every namespace"
    )


def _use_namespace(args: argparse.Namespace) -> None:
    # Lazy: see the note at the top of the module.
    from ..flows import client

    if getattr(args, "all_namespaces", False):
        client.namespace(None)
    elif getattr(args, "namespace", None):
        client.namespace(args.namespace)


def _run_status(run: Any) -> str:
    return "successful" if run.successful else ("failed" if run.finished else "running")


def _flows_arguments(parser: argparse.ArgumentParser) -> None:
    _namespace_arguments(parser)


def cmd_flows(args: argparse.Namespace) -> int:
    """Print the flows of the namespace with their latest run."""
    # Lazy: see the note at the top of the module.
    from ..flows.client import Metaflow

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


def _runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flow", metavar="FLOW", help="a flow name")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="TAG",
        help="only runs carrying this tag (repeat for several: all must match)",
    )  # fmt: skip
    add_limit(parser, 20)
    _namespace_arguments(parser)


def cmd_runs(args: argparse.Namespace) -> int:
    """Print the runs of a flow, newest first."""
    # Lazy: see the note at the top of the module.
    from ..flows.client import Flow

    _use_namespace(args)
    rows = _runs_table(Flow(args.flow).runs(*args.tag), args.limit or None)
    if not rows:
        print(f"no runs of {args.flow} match", file=sys.stderr)
        return 0
    print(format_table(("RUN", "STATUS", "STARTED", "FINISHED", "USER", "TAGS"), rows))
    return 0


def _view_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "pathspec", metavar="PATHSPEC",
        help="Flow, Flow/run, Flow/run/step, Flow/run/step/task or Flow/run/step/task/artifact",
    )  # fmt: skip
    parser.add_argument(
        "--value", action="store_true",
        help="print a data artifact's value even when it is large or pickled (it is loaded: "
        "a pickle runs code, and loads only from a trusted repo)",
    )  # fmt: skip
    _namespace_arguments(parser)


#: ``view`` of a step lists at most this many tasks, newest first.
VIEW_TASK_LIMIT = 100
#: Data artifacts up to this stored size have their value printed by ``view``.
VIEW_VALUE_LIMIT = 64 * 1024


def cmd_view(args: argparse.Namespace) -> int:
    """Print one object of the client view and its children."""
    # Lazy: see the note at the top of the module.
    from ..flows.client import DataArtifact, Flow, Run, Step, Task

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


#: The commands of this module, in the order ``provenance --help`` lists them.
COMMANDS: list[Command] = [
    Command("flows", "list the flows (of the client view) with their latest run", cmd_flows,
            _flows_arguments,
            "List the flows that have runs in the namespace (default user:<you>), "
            "most recently run first."),
    Command("runs", "list the runs of a flow, newest first", cmd_runs, _runs_arguments,
            "List the runs of FLOW, newest first, optionally only those carrying every --tag."),
    Command("view", "show a flow, run, step, task or data artifact by pathspec", cmd_view,
            _view_arguments,
            "Show one object of the client view (as provenance.client does) and its children. "
            "Values of data artifacts up to 64 KB are printed if loading them runs no code "
            "(json, npy, parquet, archived files); --value prints larger ones and pickles."),
]  # fmt: skip
