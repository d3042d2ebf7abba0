"""What the commands of the command line share when they run: config, output, repos and ids.

The implementation modules (:mod:`.artifacts`, :mod:`.lineage`, :mod:`.sets`,
:mod:`.maintenance`, :mod:`.flows`) build on this one and on
:mod:`.parser` (the grammar), and on nothing else of the command line.
Unlike the parser, this module imports the library: it is loaded only once
a command is about to run, never for ``--help``.

* loading the config the common options name (:func:`load_configuration`);
* output helpers (:func:`format_table`, :func:`format_time`,
  :func:`format_size`, :func:`format_duration`, :func:`format_value`,
  :func:`short_id`, :func:`print_fields`, :func:`artifact_table`,
  :func:`progress_bar`);
* the repo and id resolution (:func:`current_repo`, :func:`members`,
  :func:`resolve_artifact_id`, :func:`resolve_set`, :func:`repo_label`);
* :class:`UsageError`, for a mistake on the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

from tqdm import tqdm

from .. import config
from ..errors import AmbiguousId, InvalidId, ProvenanceError, SetNotFound
from ..inputs import artifact_ref
from ..storage import discovery, prefixes
from ..verbs.calls import input_label
from ..verbs.sets import load_set_by_id, load_set_by_name
from .parser import CONFIG_ENV, PROG

__all__ = [
    "ARTIFACT_ALIGN",
    "ARTIFACT_HEADERS",
    "CONFIG_ENV",
    "PROG",
    "SHORT_ID",
    "UsageError",
    "artifact_table",
    "current_repo",
    "format_duration",
    "format_size",
    "format_table",
    "format_time",
    "format_value",
    "load_configuration",
    "members",
    "print_fields",
    "progress_bar",
    "repo_label",
    "resolve_artifact_id",
    "resolve_set",
    "short_id",
]

#: How many characters of an id the listings show (git shows 7; ids here are
#: 32 hex characters, and 12 keep collisions unlikely in large repos).
SHORT_ID = 12


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
    ref = artifact_ref(value)
    if ref is not None:
        return f"<artifact {short_id(ref)}>"
    if isinstance(value, dict) and "$type" in value:
        # Labelled as the lineage drawings label it (``ndarray float64 (1000,)``),
        # with the start of its hash, which tells two such inputs apart.
        digest = value.get("$hash")
        label = input_label(value)
        return f"{label} <{str(digest)[:SHORT_ID]}>" if digest else label
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


ARTIFACT_HEADERS = ("ID", "NAME", "VERSION", "SIZE", "COMPUTED AT")
ARTIFACT_ALIGN = "<<>><"


def artifact_table(rows: Sequence[tuple[Any, ...]]) -> str:
    """``(id, name, version, size, computed_at)`` rows as the table ``ls`` prints."""
    cells = [(short_id(i), n, v, format_size(s), format_time(t)) for i, n, v, s, t in rows]
    return format_table(ARTIFACT_HEADERS, cells, ARTIFACT_ALIGN)


# -- repos and ids -------------------------------------------------------------------


def load_configuration(args: argparse.Namespace) -> None:
    """Make the config of ``--config`` (or the one found here) current.

    Without ``--config``, the repository is found as a script would find it
    (:mod:`provenance.storage.discovery`): ``$PROVENANCE_CONFIG``,
    ``$PROVENANCE_HOME``, else the nearest ``provenance.yaml`` or
    ``.provenance/`` here or above.  A default repository is used only if
    it exists: looking into a repository should not create an empty one by
    mistake.
    """
    path = getattr(args, "config", None)
    if path:
        config.load_yaml_config(path)
    else:
        location = discovery.locate()
        if location.config_file is None and not os.path.exists(
            os.path.join(location.home, "provenance.db")
        ):
            raise UsageError(
                f"no repository at {location.home} ({location.reason}); run `provenance init` "
                f"to make one, pass --config FILE, or set ${CONFIG_ENV} or $PROVENANCE_HOME"
            )
        config.load_located(location)
    name = getattr(args, "repo", None)
    if name:
        config.set_default_repo(name)


def current_repo() -> Any:
    """The repo the command works on (``--repo`` or the configured default)."""
    return config.resolve_repo()


def members(repo: Any) -> list[Any]:
    """The plain repos inside a repo: itself, or the members of a chained repo."""
    return list(getattr(repo, "repos", [repo]))


def resolve_artifact_id(text: str, repo: Any = None) -> str:
    """The full id of the artifact whose id is ``text`` or starts with it (as in git).

    Any length of prefix is accepted here, where a person types it; the
    resolver is the library's (:func:`provenance.storage.prefixes.resolve_artifact_id`).

    Raises
    ------
    InvalidId
        If ``text`` is not hexadecimal digits.
    ArtifactNotFound
        If no artifact matches.
    AmbiguousId
        If several do; the message lists candidates.
    """
    repo = repo or current_repo()
    return prefixes.resolve_artifact_id(repo, text.strip().lower(), min_length=1)


def resolve_set(text: str, repo: Any = None) -> Any:
    """The newest set named ``text``, else the set whose id is or starts with ``text``."""
    repo = repo or current_repo()
    try:
        return load_set_by_name(text, repo=repo)
    except SetNotFound:
        pass
    try:
        set_id = prefixes.resolve_set_id(repo, text.strip().lower(), min_length=1)
    except InvalidId as exc:
        if isinstance(exc, AmbiguousId):
            raise
        raise UsageError(f"no artifact set named {text!r} in {repo_label(repo)}") from None
    except SetNotFound:
        raise UsageError(
            f"no artifact set named {text!r}, or with an id starting with it"
        ) from None
    return load_set_by_id(set_id, repo=repo)


def repo_label(repo: Any) -> str:
    """``repo 'NAME'`` for messages (the repo's repr if it has no name)."""
    return f"repo {repo.name!r}" if getattr(repo, "name", None) else repr(repo)
