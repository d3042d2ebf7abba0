"""The ``provenance`` command line: look into a repository without writing Python.

Each subcommand is one :class:`Command` in :data:`COMMANDS`: a function that
adds its arguments to an :mod:`argparse` parser and a function that runs it
and returns the exit status.  Adding a subcommand is writing those two
functions and one entry in the table::

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
are shared by every command.  Raise any :class:`ProvenanceError` (or
:class:`UsageError`) to report a problem: :func:`main` turns it into one line.

Every command takes ``--repo NAME``, ``--config FILE`` and ``--debug``.
Errors are one line on stderr (``provenance: error: ...``) and exit status 1,
unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TextIO

from tqdm import tqdm

from .. import config
from .._version import __version__
from ..config import current_config, get_default_repo, get_repo_by_name
from ..errors import ProvenanceError, SetNotFound
from ..storage.schema import SCHEMA_HEAD, current_revision
from ..verbs.gc import GRACE_PERIOD, gc
from ..verbs.promote import promote
from ..verbs.sets import load_set_by_id, load_set_by_name
from ..verbs.verify import verify
from ..verbs.vis import visualize_lineage

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

PROG = "provenance"
#: How many characters of an id the listings show (git shows 7; ids here are
#: 32 hex characters, and 12 keep collisions unlikely in large repos).
SHORT_ID = 12
#: Read when ``--config`` is not given.
CONFIG_ENV = "PROVENANCE_CONFIG"


class UsageError(ProvenanceError):
    """A mistake on the command line that the library itself does not see (an ambiguous id)."""


# -- output helpers ----------------------------------------------------------------


def short_id(artifact_id: str) -> str:
    """The first :data:`SHORT_ID` characters of an id, as listings show it."""
    return artifact_id[:SHORT_ID]


def format_size(size: int | None) -> str:
    """A byte count for people: ``512 B``, ``1.5 KiB``, ``3.0 GiB``; ``-`` if unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_time(moment: datetime | None) -> str:
    """A timestamp in local time to the second (``2024-05-01 14:03:59``); ``-`` if unknown."""
    if moment is None:
        return "-"
    # Stored times are aware (UTC); naive ones are taken as UTC as the index does.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    """A duration for people: ``850 µs``, ``12 ms``, ``3.4 s``, ``2 min 5 s``; ``-`` if unknown."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"


def format_table(
    headers: Sequence[str] | None,
    rows: Sequence[Sequence[Any]],
    align: str | None = None,
    indent: str = "",
) -> str:
    """Rows as a plain aligned table, under a header line unless ``headers`` is None.

    Parameters
    ----------
    headers : sequence of str, optional
        Column titles; ``None`` prints the rows alone.
    rows : sequence of sequences
        Cell values (formatted with ``str``).
    align : str, optional
        One character per column, ``"<"`` (left) or ``">"`` (right); numbers
        read best right-aligned.  Left for every column when omitted.
    indent : str
        Put in front of every line.

    Returns
    -------
    str
        The table without a trailing newline; trailing spaces are stripped.
    """
    cells = [[str(c) for c in row] for row in rows]
    if headers is not None:
        cells.insert(0, list(headers))
    if not cells:
        return ""
    columns = len(cells[0])
    align = align or "<" * columns
    widths = [max(len(row[i]) for row in cells) for i in range(columns)]
    lines = []
    for row in cells:
        parts = [f"{c:{a}{w}}" for c, a, w in zip(row, align, widths)]
        lines.append((indent + "  ".join(parts)).rstrip())
    return "\n".join(lines)


def format_value(value: Any) -> str:
    """A JSON-ish summary of a recorded input or field, on one line."""
    if isinstance(value, dict) and "$artifact" in value:
        return f"<artifact {short_id(str(value['$artifact']))}>"
    if isinstance(value, dict) and "$type" in value:
        return f"<{value['$type']} {str(value.get('$hash', value.get('$repr', '')))[:SHORT_ID]}>"
    return json.dumps(value, sort_keys=True, default=str)


def print_fields(fields: Sequence[tuple[str, Any]], out: TextIO | None = None) -> None:
    """``name  value`` lines with the values aligned (the style of ``show``)."""
    out = out or sys.stdout
    width = max((len(k) for k, _ in fields), default=0)
    for key, value in fields:
        print(f"{key:<{width}}  {value}".rstrip(), file=out)


@contextlib.contextmanager
def progress_bar(
    args: argparse.Namespace, desc: str, total: int | None = None, unit: str = " artifacts"
) -> Iterator[Callable[[int], None]]:
    """A tqdm bar on stderr, yielded as a callback taking the count done so far.

    The library's ``progress`` callbacks report running totals; tqdm counts
    increments, so the callback turns one into the other.  The bar shows on
    a terminal, or always with ``--progress``, never with ``--no-progress``.
    """
    choice = getattr(args, "progress", None)
    disable = (not sys.stderr.isatty()) if choice is None else not choice
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable)

    def update(done: int) -> None:
        if done > bar.n:
            bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()


# -- repos and ids -------------------------------------------------------------------


def load_configuration(args: argparse.Namespace) -> None:
    """Make the config of ``--config`` (or ``$PROVENANCE_CONFIG``) current.

    Without one, the library's default repo under ``$PROVENANCE_HOME`` (or
    ``./.provenance``) is used, but only if it exists: looking into a
    repository should not create an empty one by mistake.
    """
    path = getattr(args, "config", None) or os.environ.get(CONFIG_ENV)
    if path:
        config.load_yaml_config(path)
    else:
        home = config.provenance_home()
        if not os.path.exists(os.path.join(home, "provenance.db")):
            raise UsageError(
                f"no repository at {home}; pass --config FILE, set ${CONFIG_ENV}, "
                "or set $PROVENANCE_HOME to the directory of one"
            )
        config.load_config(config.default_config(home))
    name = getattr(args, "repo", None)
    if name:
        config.set_default_repo(name)


def current_repo() -> Any:
    """The repo the command works on (``--repo`` or the configured default)."""
    return get_default_repo()


def members(repo: Any) -> list[Any]:
    """The plain repos inside a repo: itself, or the members of a chained repo."""
    return list(getattr(repo, "repos", [repo]))


def _hex_prefix(text: str, what: str) -> str:
    prefix = text.strip().lower()
    if not prefix or any(c not in "0123456789abcdef" for c in prefix) or len(prefix) > 128:
        raise UsageError(f"{text!r} is not {what} or a prefix of one (hexadecimal digits)")
    return prefix


def _unique(
    prefix: str, found: list[str], what: str, repo: Any, describe: Callable[[str], str]
) -> str:
    if prefix in found:
        return prefix  # a whole id, even if a longer one starts with it
    if not found:
        raise UsageError(f"no {what} starts with {prefix!r} in {_repo_label(repo)}")
    if len(found) > 1:
        shown = ", ".join(describe(i) for i in found[:5])
        more = " and more" if len(found) > 5 else ""
        raise UsageError(
            f"{what} prefix {prefix!r} is ambiguous: it matches {shown}{more}; give more digits"
        )
    return found[0]


def resolve_artifact_id(text: str, repo: Any = None) -> str:
    """The full id of the artifact whose id is ``text`` or starts with it (as in git).

    Raises
    ------
    UsageError
        If no artifact, or more than one, matches; the message lists a few
        candidates of an ambiguous prefix.
    """
    repo = repo or current_repo()
    prefix = _hex_prefix(text, "an artifact id")
    found: dict[str, None] = {}
    for member in members(repo):
        found.update(dict.fromkeys(member.index.ids_with_prefix(prefix, limit=6)))

    def describe(artifact_id: str) -> str:
        artifact = repo.lookup(artifact_id)
        return f"{short_id(artifact_id)} ({artifact.name})" if artifact else short_id(artifact_id)

    return _unique(prefix, list(found), "artifact id", repo, describe)


def resolve_set(text: str, repo: Any = None) -> Any:
    """The newest set named ``text``, else the set whose id is or starts with ``text``."""
    repo = repo or current_repo()
    try:
        return load_set_by_name(text, repo=repo)
    except SetNotFound:
        pass
    try:
        prefix = _hex_prefix(text, "a set id")
    except UsageError:
        raise UsageError(f"no artifact set named {text!r} in {_repo_label(repo)}") from None
    found: dict[str, None] = {}
    for member in members(repo):
        found.update(dict.fromkeys(member.index.set_ids_with_prefix(prefix, limit=6)))
    if not found:
        raise UsageError(f"no artifact set named {text!r}, or with an id starting with it")
    return load_set_by_id(_unique(prefix, list(found), "set id", repo, short_id), repo=repo)


def _repo_label(repo: Any) -> str:
    return f"repo {repo.name!r}" if getattr(repo, "name", None) else repr(repo)


# -- commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, help, arguments and what it does.

    Attributes
    ----------
    name : str
        The word typed after ``provenance``.
    help : str
        One line for ``provenance --help``.
    run : callable
        Called with the parsed arguments once the config is loaded; returns
        the exit status.
    arguments : callable, optional
        Adds the command's own arguments to its parser.
    description : str, optional
        A longer text for ``provenance NAME --help`` (``help`` if omitted).
    """

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    description: str | None = None


def _count(text: str) -> int:
    """An argparse type: a whole number, zero or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, 0 or more, got {text!r}")
    return value


def _add_limit(parser: argparse.ArgumentParser, default: int) -> None:
    parser.add_argument(
        "--limit",
        type=_count,
        default=default,
        metavar="K",
        help=f"show at most K rows (default {default}; 0 shows all)",
    )


def _summary_rows(repo: Any, name: str | None, limit: int | None) -> list[tuple[Any, ...]]:
    rows: dict[str, tuple[Any, ...]] = {}
    for member in members(repo):
        if member.read:
            for row in member.index.summaries(name=name, limit=limit):
                rows.setdefault(row[0], row)
    ordered = sorted(rows.values(), key=lambda r: (r[4] is not None, r[4], r[0]), reverse=True)
    return ordered[:limit] if limit is not None else ordered


ARTIFACT_HEADERS = ("ID", "NAME", "VERSION", "SIZE", "COMPUTED AT")
ARTIFACT_ALIGN = "<<>><"


def artifact_table(rows: Sequence[tuple[Any, ...]]) -> str:
    """``(id, name, version, size, computed_at)`` rows as the table ``ls`` prints."""
    cells = [(short_id(i), n, v, format_size(s), format_time(t)) for i, n, v, s, t in rows]
    return format_table(ARTIFACT_HEADERS, cells, ARTIFACT_ALIGN)


def _ls_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", metavar="N", help="only artifacts named N")
    _add_limit(parser, 50)


def cmd_ls(args: argparse.Namespace) -> int:
    """Print the artifacts table, newest first."""
    limit = args.limit or None
    # One more row than shown tells whether the listing was cut.
    rows = _summary_rows(current_repo(), args.name, None if limit is None else limit + 1)
    if not rows:
        print("no artifacts" + (f" named {args.name!r}" if args.name else ""), file=sys.stderr)
        return 0
    print(artifact_table(rows[:limit]))
    if limit is not None and len(rows) > limit:
        print(f"(the newest {limit} shown; --limit 0 lists them all)", file=sys.stderr)
    return 0


def _id_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="an artifact id, or a unique prefix of one")


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
    summary = artifact.inputs_json or {}
    inputs = [(f"  {k}", format_value(v)) for k, v in (summary.get("kargs") or {}).items()]
    inputs += [
        (f"  *args[{i}]", format_value(v)) for i, v in enumerate(summary.get("varargs") or [])
    ]
    print("\ninputs")
    print_fields(inputs or [("  (none recorded)", "")])

    edges = artifact.repo.index.lineage_edges(artifact.id)
    print("\nlineage parents")
    if edges:
        found = repo.get_artifacts([parent for parent, _ in edges])
        rows = []
        for parent, parameter in edges:
            art = found.get(parent)
            name = f"{art.name} v{art.version}" if art else "(missing)"
            rows.append((short_id(parent), name, f"as {parameter}"))
        print(format_table(None, rows, indent="  "))
    else:
        print("  (none)")

    print("\nrun info")
    print_fields(_flatten(artifact.run_info or {}, "  ") or [("  (none recorded)", "")])
    return 0


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", metavar="ID1", help="an artifact id, or a unique prefix of one")
    parser.add_argument("second", metavar="ID2", help="another artifact id or prefix")


def cmd_diff(args: argparse.Namespace) -> int:
    """Print how two artifacts' identities differ (name, version, code, arguments)."""
    from ..why import compare_artifacts

    repo = current_repo()
    first = repo.get_artifact(resolve_artifact_id(args.first, repo))
    second = repo.get_artifact(resolve_artifact_id(args.second, repo))
    print(compare_artifacts(first, second))
    return 0


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


_FORMATS = ("svg", "png", "dot")


def _lineage_arguments(parser: argparse.ArgumentParser) -> None:
    _id_argument(parser)
    parser.add_argument(
        "--format",
        choices=_FORMATS,
        help="the drawing's format (default: from the extension of -o, else svg)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="where to write the drawing (default: stdout)"
    )
    parser.add_argument(
        "--depth", type=_count, metavar="N", help="draw at most N calls upstream (default: all)"
    )
    parser.add_argument(
        "--no-literals",
        dest="literals",
        action="store_false",
        help="leave out inputs that are not artifacts (numbers, strings, ...)",
    )


def cmd_lineage(args: argparse.Namespace) -> int:
    """Draw an artifact's upstream lineage into a file or stdout."""
    fmt = args.format
    if fmt is None:
        ext = os.path.splitext(args.output or "")[1].lstrip(".").lower()
        fmt = ext if ext in _FORMATS else "svg"
    if fmt == "png" and args.output in (None, "-") and sys.stdout.isatty():
        raise UsageError("will not write a PNG to a terminal; give -o FILE")
    repo = current_repo()
    artifact = repo.get_artifact(resolve_artifact_id(args.id, repo))
    drawing = visualize_lineage(artifact, depth=args.depth, show_literals=args.literals)
    import graphviz  # importable: visualize_lineage needed it

    try:
        data = drawing.source.encode() if fmt == "dot" else drawing.pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise UsageError(
            "drawing needs graphviz's `dot` program on the PATH "
            "(apt-get install graphviz, brew install graphviz, ...)"
        ) from exc
    if args.output in (None, "-"):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(args.output, "wb") as f:
            f.write(data)
        print(f"wrote the lineage of {short_id(artifact.id)} to {args.output}", file=sys.stderr)
    return 0


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


def _sets_arguments(parser: argparse.ArgumentParser) -> None:
    _add_limit(parser, 50)


def cmd_sets(args: argparse.Namespace) -> int:
    """Print the saved artifact sets, newest first."""
    rows = _set_table_rows(current_repo(), args.limit or None)
    if not rows:
        print("no artifact sets", file=sys.stderr)
        return 0
    print(format_table(("ID", "NAME", "MEMBERS", "CREATED AT", "OTHER LABELS"), rows, "<<><<"))
    return 0


def _set_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", metavar="NAME", help="a set name (the newest set of that name), or a set id prefix"
    )


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


def _promote_arguments(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("id", nargs="?", metavar="ID", help="an artifact id or a unique prefix")
    what.add_argument("--set", metavar="NAME", help="promote a set (by name or id prefix) instead")
    parser.add_argument(
        "--to", required=True, metavar="REPO", help="the configured repo to copy into"
    )


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
    print(f"promoted {label} to {_repo_label(target)}: copied {len(copied)} artifacts")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every stored value; exit status 1 if any is missing or corrupt."""
    repo = current_repo()
    total = sum(m.index.count() for m in members(repo))
    with progress_bar(args, "verify", total) as update:
        report = verify(repo, progress=update)
    if report.problems:
        rows = [(p.kind, p.artifact_id, p.name, p.detail) for p in report.problems]
        print(format_table(("PROBLEM", "ARTIFACT", "NAME", "DETAIL"), rows))
        print(f"checked {report.checked} artifacts: {len(report.problems)} problems",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"checked {report.checked} artifacts: all values intact")
    return 0


def _gc_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="only list the blobs that would be deleted"
    )
    parser.add_argument(
        "--grace-period",
        type=float,
        default=GRACE_PERIOD,
        metavar="SECONDS",
        help="leave alone blobs written less than SECONDS ago, since a writer may be about "
        f"to index them (default {GRACE_PERIOD:g})",
    )


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
    print(summary, file=sys.stderr)
    return 0


def _db_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("upgrade",),
        help="upgrade: create or migrate the index schema to this library's revision",
    )
    parser.add_argument(
        "--all", action="store_true", help="upgrade every configured repo, not only one"
    )


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
                print(f"{_repo_label(member)}: schema already at revision {SCHEMA_HEAD}")
            else:
                print(
                    f"{_repo_label(member)}: upgraded schema {before or '(empty)'} -> {SCHEMA_HEAD}"
                )
    return 0


# -- the client view: flows, runs, view ------------------------------------------------


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
    _add_limit(parser, 20)
    _namespace_arguments(parser)


def cmd_runs(args: argparse.Namespace) -> int:
    """Print the runs of a flow, newest first."""
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
        help="print a data artifact's value even when it is large (it is loaded)",
    )  # fmt: skip
    _namespace_arguments(parser)


#: ``view`` of a step lists at most this many tasks, newest first.
VIEW_TASK_LIMIT = 100
#: Data artifacts up to this stored size have their value printed by ``view``.
VIEW_VALUE_LIMIT = 64 * 1024


def cmd_view(args: argparse.Namespace) -> int:
    """Print one object of the client view and its children."""
    from ..errors import MetaflowInvalidPathspec
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
        if args.value or obj.size <= VIEW_VALUE_LIMIT:
            text = repr(obj.artifact.value)
            if len(text) > 4000 and not args.value:
                text = text[:4000] + " ..."
            print()
            print(text)
        else:
            print(f"\n(value of {format_size(obj.size)} not shown; pass --value)", file=sys.stderr)
    return 0


#: Every subcommand, in the order ``provenance --help`` lists them.
COMMANDS: list[Command] = [
    Command("ls", "list artifacts, newest first", cmd_ls, _ls_arguments,
            "List artifacts newest first: id prefix, name, version, stored size and "
            "when they were computed (local time)."),
    Command("show", "show an artifact's metadata, inputs, lineage parents and run info",
            cmd_show, _id_argument,
            "Show everything recorded about one artifact.  ID may be a unique prefix, as in git."),
    Command("diff", "show how two artifacts' identities differ", cmd_diff, _diff_arguments,
            "Compare what identifies two artifacts: name, version, code (with a diff of the "
            "stored source), each argument, the id scheme.  IDs may be unique prefixes."),
    Command("lineage", "draw an artifact's lineage with graphviz", cmd_lineage,
            _lineage_arguments,
            "Draw the upstream lineage of an artifact (needs the 'vis' extra and graphviz's "
            "`dot` program).  ID may be a unique prefix."),
    Command("sets", "list artifact sets, newest first", cmd_sets, _sets_arguments),
    Command("set", "show an artifact set and its members", cmd_set, _set_arguments),
    Command("promote", "copy an artifact or a set, with its whole lineage, into another repo",
            cmd_promote, _promote_arguments,
            "Copy an artifact (or every artifact of a set) and everything it was computed "
            "from into the repo given by --to.  Artifacts already there are skipped, so an "
            "interrupted promotion completes when run again."),
    Command("verify", "check every stored value against its hash", cmd_verify, None,
            "Check every artifact's stored bytes against their recorded hash.  Missing or "
            "corrupt values are listed and the exit status is 1."),
    Command("gc", "delete blobs that no artifact refers to", cmd_gc, _gc_arguments,
            "Delete blobs that no artifact of any configured repo sharing the blobstore refers "
            "to (the blobstore must be configured with delete: true).  Use --dry-run first."),
    Command("db", "database maintenance: `provenance db upgrade`", cmd_db, _db_arguments,
            "Create or upgrade the index schema (after installing a newer provenance)."),
    Command("flows", "list the flows (of the client view) with their latest run", cmd_flows,
            _flows_arguments,
            "List the flows that have runs in the namespace (default user:<you>), "
            "most recently run first."),
    Command("runs", "list the runs of a flow, newest first", cmd_runs, _runs_arguments,
            "List the runs of FLOW, newest first, optionally only those carrying every --tag."),
    Command("view", "show a flow, run, step, task or data artifact by pathspec", cmd_view,
            _view_arguments,
            "Show one object of the client view (as provenance.client does) and its children. "
            "Values of data artifacts up to 64 KB are printed; --value prints larger ones."),
]  # fmt: skip


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
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
        "$PROVENANCE_HOME or ./.provenance)",
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


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, built from :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Look into a provenance repository: artifacts, lineage, sets, maintenance.",
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common_options(parser, top=True)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in COMMANDS:
        child = sub.add_parser(
            command.name, help=command.help, description=command.description or command.help
        )
        if command.arguments is not None:
            command.arguments(child)
        _common_options(child, top=False)
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
