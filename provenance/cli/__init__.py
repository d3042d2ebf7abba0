"""The ``provenance`` command line: look into a repository without writing Python.

The subcommands live in one module per group, beside the helpers they share:

* :mod:`~provenance.cli.common`: what every command shares: :class:`Command`,
  the common options, output helpers, repo and id resolution, :class:`UsageError`;
* :mod:`~provenance.cli.artifacts`: ``ls`` and ``show``;
* :mod:`~provenance.cli.lineage`: ``diff`` and ``lineage``;
* :mod:`~provenance.cli.sets`: ``sets`` and ``set``;
* :mod:`~provenance.cli.maintenance`: ``promote``, ``verify``, ``gc`` and ``db``;
* :mod:`~provenance.cli.flows`: ``flows``, ``runs`` and ``view`` (the client view).

This module puts their tables together into :data:`COMMANDS`, builds the
parser (:func:`build_parser`) and runs it (:func:`main`, the entry point of
the console script and of ``python -m provenance``).

Each subcommand is one :class:`Command` in the ``COMMANDS`` table of its
module: a function that adds its arguments to an :mod:`argparse` parser and a
function that runs it and returns the exit status.  Adding a subcommand is
writing those two functions and one entry in the table of its module (a new
module also gets one line in :data:`COMMANDS` here)::

    def _runs_arguments(parser):
        parser.add_argument("flow", metavar="FLOW", help="a flow name")

    def cmd_runs(args):
        print(format_table(("RUN", "STARTED"), rows_for(args.flow)))
        return 0

    COMMANDS = [..., Command("runs", "list the runs of a flow", cmd_runs, _runs_arguments)]

The config (``--config``, ``--repo``) is loaded before ``run`` is called.
Output helpers (:func:`format_table`, :func:`format_time`,
:func:`format_size`, :func:`format_duration`, :func:`short_id`,
:func:`print_fields`, :func:`progress_bar`) and the id and repo resolution
(:func:`resolve_artifact_id`, :func:`resolve_set`, :func:`current_repo`)
are shared by every command (in :mod:`~provenance.cli.common`, re-exported
here).  Raise any :class:`ProvenanceError` (or :class:`UsageError`) to report
a problem: :func:`main` turns it into one line.

Every command takes ``--repo NAME``, ``--config FILE`` and ``--debug``.
Errors are one line on stderr (``provenance: error: ...``) and exit status 1,
unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..errors import ProvenanceError
from . import artifacts, flows, lineage, maintenance, sets
from .common import CONFIG_ENV as CONFIG_ENV
from .common import (
    PROG,
    Command,
    add_common_options,
    current_repo,
    format_duration,
    format_size,
    format_table,
    format_time,
    format_value,
    load_configuration,
    members,
    print_fields,
    progress_bar,
    resolve_artifact_id,
    resolve_set,
    short_id,
)
from .common import UsageError as UsageError

# CONFIG_ENV and UsageError (imported "as" themselves above) are not in
# __all__ but stay importable from here, as before the split (the tests read
# provenance.cli.CONFIG_ENV).
__all__ = [
    "COMMANDS",
    "Command",
    "current_repo",
    "format_duration",
    "format_size",
    "format_table",
    "format_time",
    "format_value",
    "main",
    "members",
    "print_fields",
    "progress_bar",
    "resolve_artifact_id",
    "resolve_set",
    "short_id",
]

#: Every subcommand, in the order ``provenance --help`` lists them.
COMMANDS: list[Command] = [
    *artifacts.COMMANDS,
    *lineage.COMMANDS,
    *sets.COMMANDS,
    *maintenance.COMMANDS,
    *flows.COMMANDS,
]


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, built from :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Look into a provenance repository: artifacts, lineage, sets, maintenance.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_common_options(parser, top=True)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in COMMANDS:
        child = sub.add_parser(
            command.name, help=command.help, description=command.description or command.help
        )
        if command.arguments is not None:
            command.arguments(child)
        add_common_options(child, top=False)
        child.set_defaults(command=command)
    return parser


def _one_line(exc: BaseException) -> str:
    # Database errors span several lines (the SQL, a link); the first says it.
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, (ProvenanceError, OSError)):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" + " (run with --debug for the traceback)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script's entry point).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (``sys.argv[1:]`` if omitted).
    """
    args = build_parser().parse_args(argv)
    try:
        load_configuration(args)
        return int(args.command.run(args))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`provenance ls | head`): not an error.  Point
        # stdout at devnull so the interpreter's final flush does not fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:
        if args.debug:
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
