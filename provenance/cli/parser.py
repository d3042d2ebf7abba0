"""The grammar of the command line: every subcommand, its options and help, and the parser.

Building the parser imports nothing but the standard library (and
:mod:`provenance._version` for ``--version``), so ``provenance --help``,
``provenance COMMAND --help`` and a usage error cost the interpreter's start
and no more.  What a command does lives in the module of its group
(:mod:`.artifacts`, :mod:`.lineage`, :mod:`.sets`, :mod:`.maintenance`,
:mod:`.flows`), named here by a ``"module:function"`` reference and
imported only when the command runs (:meth:`Command.resolve`).

The pieces:

* :class:`Command`, the entry of a subcommand in :data:`COMMANDS`;
* argument helpers (:func:`add_limit`, :func:`id_argument`,
  :func:`parse_count`) and the options every command takes
  (:func:`add_common_options`);
* one ``_<name>_arguments`` function per subcommand that takes arguments,
  grouped as the implementation modules are;
* :func:`build_parser`.

``tests/cli/test_parser.py`` checks, in a fresh process, that building the
parser and asking for any help imports none of the library, and that every
reference resolves.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from .._version import __version__

__all__ = [
    "COMMANDS",
    "CONFIG_ENV",
    "GC_GRACE_PERIOD",
    "LINEAGE_FORMATS",
    "PROG",
    "Command",
    "add_common_options",
    "add_limit",
    "build_parser",
    "id_argument",
    "parse_count",
]

PROG = "provenance"
#: Read when ``--config`` is not given.
CONFIG_ENV = "PROVENANCE_CONFIG"
#: The default of ``gc --grace-period``, in seconds: the value of
#: :data:`provenance.verbs.gc.GRACE_PERIOD`, written out so that the help need
#: not import the verb (a test keeps the two equal).
GC_GRACE_PERIOD = 3600.0
#: The formats ``lineage`` draws in (``text``: the indented tree, the default without ``-o``).
LINEAGE_FORMATS = ("text", "svg", "png", "dot")


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, help, arguments and where its implementation lives.

    Attributes
    ----------
    name : str
        The word typed after ``provenance``.
    help : str
        One line for ``provenance --help``.
    run : str
        ``"module:function"``: the function, in that module of
        :mod:`provenance.cli`, that is called with the parsed arguments once
        the config is loaded and returns the exit status.  A reference, not
        the function, so that the parser is built without importing the
        library (see :meth:`resolve`).
    arguments : callable, optional
        Adds the command's own arguments to its parser.
    description : str, optional
        A longer text for ``provenance NAME --help`` (``help`` if omitted).
    needs_config : bool, default True
        Whether the configuration is loaded (and a repository must exist)
        before the command runs; ``init`` and ``info`` do without.
    """

    name: str
    help: str
    run: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    description: str | None = None
    needs_config: bool = True

    def resolve(self) -> Callable[[argparse.Namespace], int]:
        """Import the implementation module and return the function that runs the command.

        Raises
        ------
        ValueError
            If :attr:`run` is not a ``"module:function"`` reference.
        AttributeError
            If the module has no such function.
        """
        module, sep, function = self.run.partition(":")
        if not sep or not module or not function:
            raise ValueError(
                f"command {self.name!r}: run={self.run!r} is not a 'module:function' reference"
            )
        # The package is this module's, wherever it was imported from.
        found = getattr(importlib.import_module(f".{module}", __package__), function)
        return cast(Callable[[argparse.Namespace], int], found)


# -- argument helpers ----------------------------------------------------------------


def parse_count(text: str) -> int:
    """An argparse type: a whole number, zero or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, got {text!r}")
    return value


def add_limit(parser: argparse.ArgumentParser, default: int) -> None:
    """Add ``--limit K`` (at most K rows; 0 for all) to a listing command."""
    parser.add_argument(
        "--limit",
        type=parse_count,
        default=default,
        metavar="K",
        help=f"show at most K rows (default {default}; 0 shows all)",
    )


def id_argument(parser: argparse.ArgumentParser) -> None:
    """Add the positional ``ID`` (an artifact id or a unique prefix) to a command."""
    parser.add_argument("id", metavar="ID", help="an artifact id, or a unique prefix of one")


def add_common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """Add the options of every command: ``--repo``, ``--config``, ``--debug``, ``--progress``."""
    # Given before or after the subcommand.  Below the top level the options
    # must not default, or the subparser would overwrite a value given above.
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("common options")
    group.add_argument(
        "--repo",
        metavar="NAME",
        default=default,
        help="the configured repo to use (default: the config's default_repo)",
    )
    group.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help=f"a YAML config file (default: ${CONFIG_ENV}, else the repo under "
        "$PROVENANCE_HOME, else the nearest provenance.yaml or .provenance/ here or above)",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="show the full traceback of an error",
    )
    group.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=default,
        help="show progress bars (default: when stderr is a terminal)",
    )


# -- the repository: init, info ------------------------------------------------------


def _init_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", nargs="?", metavar="DIR",
        help="where to make it: DIR/.provenance (default: the current directory)",
    )  # fmt: skip
    parser.add_argument(
        "--yaml", action="store_true",
        help="also write DIR/provenance.yaml, the repository's config with relative paths, "
        "to edit (for a shared index or blobstore) and commit",
    )  # fmt: skip


def _info_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")


# -- artifacts: ls, show, export ------------------------------------------------------------


def _ls_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", metavar="N", help="only artifacts named N")
    add_limit(parser, 50)


def _show_arguments(parser: argparse.ArgumentParser) -> None:
    id_argument(parser)
    parser.add_argument(
        "--value", action="store_true",
        help="also load and print the value and the recorded inputs (a pickle runs code, "
        "and loads only from a trusted repo)",
    )  # fmt: skip


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    id_argument(parser)
    parser.add_argument(
        "path", metavar="PATH",
        help="the file to write, or a directory to write <name>.<ext> in",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="overwrite PATH if it exists")


# -- lineage: diff, lineage ---------------------------------------------------------


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", metavar="ID1", help="an artifact id, or a unique prefix of one")
    parser.add_argument("second", metavar="ID2", help="another artifact id or prefix")


def _lineage_arguments(parser: argparse.ArgumentParser) -> None:
    id_argument(parser)
    parser.add_argument(
        "--format",
        choices=LINEAGE_FORMATS,
        help="text (an indented tree) or a drawing's format (default: from the extension of "
        "-o, .txt for text, else svg; without -o, text)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the tree or drawing (default: stdout)",
    )
    parser.add_argument(
        "--depth",
        type=parse_count,
        metavar="N",
        help="show at most N calls upstream (default: all)",
    )
    parser.add_argument(
        "--no-literals",
        dest="literals",
        action="store_false",
        help="leave out inputs that are not artifacts (numbers, strings, ...)",
    )


# -- sets: sets, set ----------------------------------------------------------------


def _sets_arguments(parser: argparse.ArgumentParser) -> None:
    add_limit(parser, 50)


def _set_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", metavar="NAME", help="a set name (the newest set of that name), or a set id prefix"
    )


# -- maintenance: promote, verify, gc, db -------------------------------------------


def _promote_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("id", nargs="?", metavar="ID", help="an artifact id or a unique prefix")
    what.add_argument("--set", metavar="NAME", help="promote a set (by name or id prefix) instead")
    parser.add_argument(
        "--to", required=True, metavar="REPO", help="the configured repo to copy into"
    )


def _rm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="+", metavar="ID", help="artifact ids or unique prefixes")
    parser.add_argument(
        "--dry-run", action="store_true", help="only list what would be removed and freed"
    )
    parser.add_argument("--force", action="store_true", help="remove members of saved sets too")
    _grace_period_argument(parser)


def _gc_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="only list the blobs that would be deleted"
    )
    parser.add_argument(
        "--max-size",
        metavar="SIZE",
        help="first evict least recently used artifacts (never members of saved sets) until "
        "the repo takes at most SIZE: bytes, or 20GB, 500MiB, 1.5G (default: the repo's "
        "max_size setting, if any)",
    )
    _grace_period_argument(parser)


def _grace_period_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grace-period",
        type=float,
        default=GC_GRACE_PERIOD,
        metavar="SECONDS",
        help="leave alone blobs written less than SECONDS ago, since a writer may be about "
        f"to index them (default {GC_GRACE_PERIOD:g})",
    )


def _db_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("upgrade",),
        help="upgrade: create or migrate the index schema to this library's revision",
    )
    parser.add_argument(
        "--all", action="store_true", help="upgrade every configured repo, not only one"
    )


# -- flows: flows, runs, view (the client view) -------------------------------------


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


def _runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("flow", metavar="FLOW", help="a flow name")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="TAG",
        help="only runs carrying this tag (repeat for several: all must match)",
    )  # fmt: skip
    add_limit(parser, 20)
    _namespace_arguments(parser)


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


def _ui_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
        default=8700,
        help="the port on 127.0.0.1 (default 8700; 0 picks a free one)",
    )
    parser.add_argument(
        "--open",
        action="store_true",
        dest="open_browser",
        help="open the page in the default browser",
    )
    parser.add_argument(
        "--namespace",
        default=None,
        metavar="TAG",
        help="show only the runs in this namespace (default: every namespace)",
    )
    # --repo is one of the options every command takes.  # fmt: skip


#: Every subcommand, in the order ``provenance --help`` lists them.
COMMANDS: list[Command] = [
    Command("init", "make a repository here (./.provenance)", "repo:cmd_init", _init_arguments,
            "Make a repository in DIR/.provenance (an SQLite index and a blob directory).  "
            "Scripts and notebooks run in DIR or below it find it, as git finds .git.",
            needs_config=False),
    Command("info", "say which repository and config are in use, and why", "repo:cmd_info",
            _info_arguments,
            "Say which config file and repositories a script run here would use, and which "
            "rule chose them: $PROVENANCE_CONFIG, $PROVENANCE_HOME, else the nearest "
            "provenance.yaml or .provenance/ in this directory or above it.",
            needs_config=False),
    Command("ls", "list artifacts, newest first", "artifacts:cmd_ls", _ls_arguments,
            "List artifacts newest first: id prefix, name, version, stored size and "
            "when they were computed (local time)."),
    Command("show", "show an artifact's metadata, inputs, lineage parents and run info",
            "artifacts:cmd_show", _show_arguments,
            "Show everything recorded about one artifact.  ID may be a unique prefix, as in git. "
            "The inputs shown are their JSON summary; nothing pickled is loaded unless --value "
            "is given."),
    Command("export", "write an artifact's value to a file in its natural format",
            "artifacts:cmd_export", _export_arguments,
            "Write the value of an artifact to PATH as its serializer stored it, checked "
            "against its hash: Parquet for a DataFrame or Series, .npy for an array, .json "
            "for a JSON value, an archived file as itself; a pickled value as the pickle "
            "(.joblib, .pkl), with a warning that loading it runs code.  Nothing is loaded, "
            "so a repo that is not trusted exports too.  ID may be a unique prefix."),
    Command("diff", "show how two artifacts' identities differ", "lineage:cmd_diff",
            _diff_arguments,
            "Compare what identifies two artifacts: name, version, code (with a diff of the "
            "stored source), each argument, the id scheme.  IDs may be unique prefixes."),
    Command("lineage", "print an artifact's lineage as a tree, or draw it with graphviz",
            "lineage:cmd_lineage", _lineage_arguments,
            "Print the upstream lineage of an artifact as an indented tree, or with -o FILE "
            "or --format draw it (needs the 'vis' extra and graphviz's `dot` program).  "
            "ID may be a unique prefix."),
    Command("sets", "list artifact sets, newest first", "sets:cmd_sets", _sets_arguments),
    Command("set", "show an artifact set and its members", "sets:cmd_set", _set_arguments),
    Command("promote", "copy an artifact or a set, with its whole lineage, into another repo",
            "maintenance:cmd_promote", _promote_arguments,
            "Copy an artifact (or every artifact of a set) and everything it was computed "
            "from into the repo given by --to.  Artifacts already there are skipped, so an "
            "interrupted promotion completes when run again."),
    Command("verify", "check every stored value against its hash", "maintenance:cmd_verify",
            None,
            "Check every artifact's stored bytes against their recorded hash.  Missing or "
            "corrupt values are listed and the exit status is 1."),
    Command("rm", "delete artifacts, and the blobs no other artifact needs",
            "maintenance:cmd_rm", _rm_arguments,
            "Delete artifacts by id (or unique prefix): their index records first, then the "
            "blobs no other artifact refers to (the repo must be configured with delete: true). "
            "Members of saved sets are refused unless --force.  Use --dry-run first."),
    Command("gc", "delete blobs that no artifact refers to; evict to a --max-size",
            "maintenance:cmd_gc", _gc_arguments,
            "Delete blobs that no artifact of any configured repo sharing the blobstore refers "
            "to (the blobstore must be configured with delete: true).  With --max-size (or the "
            "repo's max_size), first evict the least recently used artifacts until the repo "
            "fits.  Use --dry-run first."),
    Command("db", "database maintenance: `provenance db upgrade`", "maintenance:cmd_db",
            _db_arguments,
            "Create or upgrade the index schema (after installing a newer provenance)."),
    Command("flows", "list the flows (of the client view) with their latest run",
            "flows:cmd_flows", _namespace_arguments,
            "List the flows that have runs in the namespace (default user:<you>), "
            "most recently run first."),
    Command("runs", "list the runs of a flow, newest first", "flows:cmd_runs", _runs_arguments,
            "List the runs of FLOW, newest first, optionally only those carrying every --tag."),
    Command("view", "show a flow, run, step, task or data artifact by pathspec",
            "flows:cmd_view", _view_arguments,
            "Show one object of the client view (as provenance.client does) and its children. "
            "Values of data artifacts up to 64 KB are printed if loading them runs no code "
            "(json, npy, parquet, archived files); --value prints larger ones and pickles."),
    Command("ui", "serve a read-only web view of the repository on 127.0.0.1", "ui:cmd_ui",
            _ui_arguments,
            "Serve a web page of the repository's artifacts, their inputs, values and "
            "lineage, on 127.0.0.1 only.  The URL printed carries a random token that "
            "every request needs.  Needs the ui extra: pip install 'provenance[ui]'."),
]  # fmt: skip


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
