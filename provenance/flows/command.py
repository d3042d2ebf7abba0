"""The command line of a flow file: ``python flow.py run | show | resume``, as Metaflow's.

``MyFlow()`` at the bottom of the file calls :func:`main` with the class.
The options of ``run`` are Metaflow's (``--run-id-file``, ``--tag``,
``--max-workers``) plus one ``--<name>`` per :class:`~provenance.flow.Parameter`
and ``--no-cache``.  A step that raises prints its traceback and the
command exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import FlowError, ProvenanceError
from .graph import FlowGraph
from .spec import LAUNCHER, Parameter, Preset, parameters

__all__ = ["main"]


def _parser(cls: type, params: dict[str, Parameter]) -> argparse.ArgumentParser:
    doc = (cls.__doc__ or "").strip().splitlines()
    parser = argparse.ArgumentParser(
        prog=f"python {sys.argv[0] if sys.argv and sys.argv[0] else 'flow.py'}",
        description=f"{cls.__name__}: {doc[0]}" if doc else cls.__name__,
    )
    # Metaflow's top-level options that mean nothing here are accepted and ignored.
    parser.add_argument("--quiet", action="store_true", help="show only the tasks' own output")
    parser.add_argument("--no-pylint", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--datastore", help=argparse.SUPPRESS)
    parser.add_argument("--metadata", help=argparse.SUPPRESS)
    parser.add_argument("--environment", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="{run,show,resume}")
    run = commands.add_parser("run", help="run the flow (steps that ran before are not run again)")
    resume = commands.add_parser(
        "resume", help="run again from a step, with an earlier run's parameters"
    )
    resume.add_argument(
        "step", nargs="?", help="the step to run again from (default: where the run failed)"
    )
    resume.add_argument("--origin-run-id", help="the run to resume (default: the latest)")
    commands.add_parser("show", help="show the flow's steps and transitions")
    for sub in (run, resume):
        sub.add_argument("--run-id-file", help="write the run's id to this file")
        sub.add_argument(
            "--tag", action="append", default=[], metavar="TAG", help="a user tag of the run"
        )
        sub.add_argument(
            "--max-workers", type=int, default=1, metavar="N",
            help="run up to N tasks at once (branches and foreach items)",
        )  # fmt: skip
        sub.add_argument(
            "--dask", metavar="ADDRESS",
            help="run the tasks on the Dask cluster whose scheduler is at ADDRESS",
        )  # fmt: skip
        sub.add_argument(
            "--max-num-splits", type=int, default=None, metavar="N",
            help="refuse a foreach of more than N items (Metaflow's option; no limit by default)",
        )  # fmt: skip
        sub.add_argument("--no-cache", action="store_true", help="run every step")
    for attribute, param in params.items():
        help_text = param.help or ""
        if param.show_default and param.default is not None:
            help_text += f" (default: {param.default!r})"
        run.add_argument(
            f"--{param.name}", dest=f"param_{attribute}", default=None,
            required=param.required, help=help_text.strip() or None, metavar="VALUE",
        )  # fmt: skip
    return parser


def show(graph: FlowGraph) -> str:
    """The graph as text: each step, its docstring, and where it goes."""
    lines = [graph.doc, ""] if graph.doc else []
    for node in graph:
        lines.append(f"Step {node.name}")
        if node.doc:
            lines.extend(f"    {line}" for line in node.doc.splitlines())
        if node.foreach:
            lines.append(f"    => {node.out[0]} (foreach {node.foreach})")
        elif node.out:
            lines.append(f"    => {', '.join(node.out)}")
        lines.append("")
    return "\n".join(lines)


def main(cls: type, argv: Sequence[str] | None = None) -> int:
    """Run the command line of flow ``cls``; returns the exit status."""
    from .execute import run_flow, user_traceback

    args_in = list(sys.argv[1:] if argv is None else argv)
    try:
        graph = FlowGraph(cls)
    except FlowError as exc:
        print(f"{cls.__name__} cannot run: {exc}", file=sys.stderr)
        return 2
    params = parameters(cls)
    parser = _parser(cls, params)
    try:
        args = parser.parse_args(args_in)
    except SystemExit as exit_:  # --help, or a usage error argparse has printed
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 2
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "show":
        print(show(graph))
        return 0
    echo = sys.stdout
    try:
        if args.max_workers < 1:
            raise FlowError(f"--max-workers must be at least 1, got {args.max_workers}")
        if args.max_num_splits is not None and args.max_num_splits < 1:
            raise FlowError(f"--max-num-splits must be at least 1, got {args.max_num_splits}")
        if args.command == "run":
            # As typed: run_flow converts them (and the defaults) through their types.
            given = {
                a: getattr(args, f"param_{a}")
                for a in params
                if getattr(args, f"param_{a}") is not None
            }
            force: frozenset[str] = frozenset()
            origin = None
        else:
            given, force, origin = _resume(cls, graph, params, args)
        if not args.quiet:
            from ..runinfo import _user

            print(f"provenance executing {cls.__name__} for user:{_user()}", file=echo)
        result = run_flow(
            cls, given, tags=args.tag, use_cache=not args.no_cache, echo=echo,
            max_workers=args.max_workers, force=force, dask=args.dask,
            max_num_splits=args.max_num_splits, origin_run_id=origin,
        )  # fmt: skip
    except ProvenanceError as exc:
        print(f"{cls.__name__}: {exc}", file=sys.stderr)
        return 2
    if args.run_id_file:
        with open(args.run_id_file, "w") as f:
            f.write(result.run_id)
    if not result.successful:
        failed = result.failed
        if failed is not None and failed.exception is not None:
            error = failed.exception
            print(f"Step failure: task {failed.pathspec} failed:", file=sys.stderr)
            print(failed.traceback or user_traceback(error), file=sys.stderr, end="")
        return 1
    return 0


def _resume(cls: type, graph: FlowGraph, params: dict[str, Parameter], args: Any) -> Any:
    """The parameters of the run resumed, and the steps to run again whatever the cache."""
    from .client import Flow, namespace

    namespace(None)
    flow = Flow(cls.__name__)
    if args.origin_run_id:
        origin = flow[str(args.origin_run_id)]
    else:
        origin = flow.latest_run
        if origin is None:
            raise FlowError(f"{cls.__name__} has no run to resume")
    start = origin["start"].task if "start" in origin else None
    given: dict[str, Any] = {}
    if start is not None:
        data = start.data
        for attribute in params:
            if attribute in data:
                value = getattr(data, attribute)
                given[attribute] = Preset(getattr(value, "__wrapped__", value))
    if args.step is None:
        return given, frozenset(), origin.id
    if args.step not in graph:
        raise FlowError(f"{cls.__name__} has no step {args.step!r} to resume from")
    # The step and everything after it run again.
    again = {args.step}
    queue = [args.step]
    while queue:
        for target in graph[queue.pop()].out:
            if target not in again:
                again.add(target)
                queue.append(target)
    return given, frozenset(again), origin.id


LAUNCHER[:] = [main]
