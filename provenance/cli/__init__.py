"""The ``provenance`` command line: look into a repository without writing Python.

The command line is in two halves, so that ``provenance --help`` (and every
``provenance COMMAND --help``, and a usage error) never imports the library:

* :mod:`~provenance.cli.parser`, the grammar: :class:`Command`, every
  subcommand's options and help in :data:`COMMANDS`, the common options and
  :func:`build_parser`.  It imports only the standard library.
* the implementations, imported once a command is about to run:
  :mod:`~provenance.cli.common` (what they share: loading the config,
  output helpers, repo and id resolution, :class:`UsageError`), then one
  module per group: :mod:`~provenance.cli.artifacts` (``ls``, ``show``),
  :mod:`~provenance.cli.lineage` (``diff``, ``lineage``),
  :mod:`~provenance.cli.sets` (``sets``, ``set``),
  :mod:`~provenance.cli.maintenance` (``promote``, ``verify``, ``gc``,
  ``db``) and :mod:`~provenance.cli.flows` (``flows``, ``runs``, ``view``:
  the client view).

This module runs them (:func:`main`, the entry point of the console script
and of ``python -m provenance``).

Adding a subcommand is a function that runs it, in the module of its group
(it returns the exit status), and in :mod:`~provenance.cli.parser` a function
that adds its arguments and one entry in :data:`COMMANDS` naming the first
by ``"module:function"``::

    # provenance/cli/flows.py
    def cmd_runs(args):
        print(format_table(("RUN", "STARTED"), rows_for(args.flow)))
        return 0

    # provenance/cli/parser.py
    def _runs_arguments(parser):
        parser.add_argument("flow", metavar="FLOW", help="a flow name")

    COMMANDS = [..., Command("runs", "list the runs of a flow", "flows:cmd_runs", _runs_arguments)]

The config (``--config``, ``--repo``) is loaded before the command runs.
Output helpers (:func:`format_table`, :func:`format_time`,
:func:`format_size`, :func:`format_duration`, :func:`short_id`,
:func:`print_fields`, :func:`progress_bar`) and the id and repo resolution
(:func:`resolve_artifact_id`, :func:`resolve_set`, :func:`current_repo`)
are shared by every command (in :mod:`~provenance.cli.common`, re-exported
here and imported on first use).  Raise any :class:`ProvenanceError` (or
:class:`UsageError`) to report a problem: :func:`main` turns it into one line.

Every command takes ``--repo NAME``, ``--config FILE`` and ``--debug``.
Errors are one line on stderr (``provenance: error: ...``) and exit status 1,
unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from .parser import COMMANDS, PROG, Command, build_parser
from .parser import CONFIG_ENV as CONFIG_ENV

# CONFIG_ENV and UsageError are not in __all__ but stay importable from here,
# as before the split (the tests read provenance.cli.CONFIG_ENV).
__all__ = [
    "COMMANDS",
    "Command",
    "build_parser",
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

#: The names re-exported from :mod:`.common`, which imports the library: each
#: is looked up there on first use (PEP 562), so that importing this package
#: to build the parser stays light.
_FROM_COMMON = frozenset({
    "UsageError", "current_repo", "format_duration", "format_size", "format_table",
    "format_time", "format_value", "load_configuration", "members", "print_fields",
    "progress_bar", "resolve_artifact_id", "resolve_set", "short_id",
})  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _FROM_COMMON:
        from . import common

        value = getattr(common, name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM_COMMON})


def _one_line(exc: BaseException) -> str:
    # Only reached once a command ran, so the library is loaded already.
    from ..errors import ProvenanceError

    # Database errors span several lines (the SQL, a link); the first says it.
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if isinstance(exc, (ProvenanceError, OSError)):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" + " (run with --debug for the traceback)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script's entry point).

    ``--help``, ``--version`` and usage errors exit while parsing, before
    anything of the library is imported.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (``sys.argv[1:]`` if omitted).
    """
    args = build_parser().parse_args(argv)
    try:
        # The library is imported here, once there is a command to run.
        from .common import load_configuration

        command: Command = args.command
        if command.needs_config:
            load_configuration(args)
        return int(command.resolve()(args))
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
