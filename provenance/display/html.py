"""The pieces of every card: escaped text, rows, short ids and links, sizes, times.

Everything a card shows passes through :func:`text` (or :func:`link`, which
escapes too): names, labels and values may hold ``<script>``, and must show
as text.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

__all__ = [
    "MAX_ROWS",
    "Row",
    "card",
    "count",
    "duration",
    "element_id",
    "guarded",
    "link",
    "literal",
    "one_line",
    "short_id",
    "size",
    "table",
    "text",
    "when",
]

#: The most members, steps, tasks or nodes a card lists (the rest are counted).
MAX_ROWS = 30
#: Characters of an id a card shows: enough to tell a notebook's artifacts apart.
SHORT = 8
#: Characters of a literal input shown before it is cut.
MAX_LITERAL = 60

#: A row of a card: its label and its value, already HTML.
Row = tuple[str, str]

_STYLE = (
    "<style>.prov-repr{font-family:var(--jp-ui-font-family,sans-serif);font-size:13px}"
    ".prov-repr table{border-collapse:collapse;margin:2px 0}"
    ".prov-repr th,.prov-repr td{text-align:left;vertical-align:top;padding:1px 8px 1px 0;"
    "border:none}.prov-repr th{font-weight:600;color:#555}"
    ".prov-repr .prov-kind{color:#777}.prov-repr .prov-note{color:#777;font-style:italic}"
    "</style>"
)


#: What :func:`html.escape` replaces (quotes included).  Not that module itself:
#: importing it (and its table of entities) would add 10 ms to every process
#: that reads an artifact, shown in a notebook or not.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def text(value: Any) -> str:
    """``value`` as HTML text: escaped, quotes included (safe in attributes too)."""
    return str(value).translate(_ESCAPES)


def one_line(value: str) -> str:
    """``value`` with its line breaks and runs of spaces made single spaces (for reprs)."""
    return " ".join(value.split())


def count(n: int, noun: str) -> str:
    """``'1 artifact'``, ``'2 artifacts'``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def short_id(artifact_id: Any) -> str:
    """The first :data:`SHORT` characters of an id."""
    return str(artifact_id)[:SHORT]


def element_id(artifact_id: Any) -> str:
    """The HTML id of an artifact's card, which links to it point at (``prov-<short id>``)."""
    return "prov-" + text(short_id(artifact_id))


def link(artifact_id: Any, label: Any = None) -> str:
    """A link to an artifact's card by short id, its full id as the tooltip."""
    shown = f"{text(label)} " if label is not None else ""
    return (
        f'<a href="#{element_id(artifact_id)}" title="{text(artifact_id)}">'
        f"{shown}<code>{text(short_id(artifact_id))}</code></a>"
    )


def literal(value: Any) -> str:
    """A short JSON text of a recorded input that is not an artifact, escaped."""
    try:
        shown = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):  # keys that do not sort: a summary from elsewhere
        shown = repr(value)
    if len(shown) > MAX_LITERAL:
        shown = shown[: MAX_LITERAL - 1] + "…"
    return f"<code>{text(shown)}</code>"


def size(n_bytes: Any) -> str:
    """A byte count for people (``'1.5 kB'``); an em dash when unknown."""
    if not isinstance(n_bytes, (int, float)) or n_bytes < 0:
        return "—"
    value = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def duration(seconds: Any) -> str:
    """Seconds for people (``'7.6 µs'``, ``'1.23 s'``, ``'2 min 3 s'``); a dash when unknown."""
    if not isinstance(seconds, (int, float)) or seconds < 0:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest} s"


def when(moment: Any) -> str:
    """A time in UTC to the second (``'2026-12-03 10:49:00 UTC'``); a dash when unknown."""
    if not isinstance(moment, datetime):
        return "—"
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    total: int | None = None,
    *,
    more: bool = False,
) -> str:
    """A small table of HTML cells.

    ``total`` above the rows shown adds "and N more"; ``more`` (when the
    total is not counted) adds "and more".
    """
    shown = [list(r) for r in rows]
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in shown)
    if total is not None and total > len(shown):
        note = f'<div class="prov-note">and {total - len(shown)} more</div>'
    elif more:
        note = '<div class="prov-note">and more</div>'
    else:
        note = ""
    return f"<table><tr>{head}</tr>{body}</table>{note}"


def card(kind: str, title: str, rows: Iterable[Row], *, anchor: str | None = None) -> str:
    """A card: its kind and title (HTML) over a two-column table of rows.

    ``anchor`` is the element id links point at (:func:`element_id`).
    """
    body = "".join(f"<tr><th>{text(label)}</th><td>{value}</td></tr>" for label, value in rows)
    at = f' id="{anchor}"' if anchor else ""
    return (
        f'<div class="prov-repr"{at}>{_STYLE}'
        f'<div><span class="prov-kind">{text(kind)}</span> {title}</div>'
        f"<table>{body}</table></div>"
    )


_T = TypeVar("_T")


def guarded(render: Callable[[_T], str]) -> Callable[[_T], str]:
    """``render`` made never to raise: on an error, the plain ``repr`` and the error, as HTML.

    A ``_repr_html_`` that raises replaces the cell's output with a
    traceback; a card that cannot be made (a repository gone, a row
    deleted meanwhile) shows what it can instead.
    """

    @functools.wraps(render)
    def safe(obj: _T) -> str:
        try:
            return render(obj)
        except Exception as exc:  # noqa: BLE001  (any failure falls back to text)
            try:
                shown = repr(obj)
            except Exception:  # noqa: BLE001
                shown = f"<{type(obj).__name__}>"
            return (
                f'<div class="prov-repr"><code>{text(one_line(shown))}</code> '
                f'<span class="prov-note">(no details: {text(type(exc).__name__)}: '
                f"{text(one_line(str(exc)))})</span></div>"
            )

    return safe
