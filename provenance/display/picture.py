"""The small lineage picture of a card: inline SVG drawn by graphviz's ``dot``.

Only for small graphs (at most :data:`MAX_NODES` artifacts) and only when the
``dot`` program is on ``PATH``; the DOT text is written here, so the
``graphviz`` Python package is not needed.  Whatever goes wrong (no ``dot``,
a graph too big, ``dot`` failing or slow), there is no picture, and the card
lists the lineage as text.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from typing import Any

from .html import element_id, short_id

__all__ = ["DOT_TIMEOUT", "MAX_NODES", "input_refs", "lineage_svg", "upstream"]

#: The most artifacts a card draws: a bigger lineage is listed, not drawn.
MAX_NODES = 30
#: Seconds ``dot`` may take before the card goes without its picture.
DOT_TIMEOUT = 5.0


def _ref(summary: Any) -> str | None:
    # The forms of an artifact in an inputs summary, as provenance.inputs.artifact_ref
    # reads them (the call path is above this module): the original's and 0.2's.
    if isinstance(summary, dict):
        if isinstance(summary.get("$artifact"), str):
            return str(summary["$artifact"])
        if summary.get("type") in ("ArtifactProxy", "Artifact") and isinstance(
            summary.get("id"), str
        ):
            return str(summary["id"])
    return None


def input_refs(summary: Any, limit: int = 100) -> list[str]:
    """The artifact ids an argument's summary refers to, itself or inside lists and dicts."""
    found: list[str] = []
    stack = [summary]
    while stack and len(found) < limit:
        item = stack.pop()
        ref = _ref(item)
        if ref is not None:
            found.append(ref)
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return found


def _parameters(artifact: Any) -> dict[str, list[str]]:
    """The parameter names each input artifact was passed as."""
    summary = artifact.inputs_summary
    named = list((summary.get("kargs") or {}).items())
    named += [(f"*args[{i}]", v) for i, v in enumerate(summary.get("varargs") or [])]
    by_parent: dict[str, list[str]] = {}
    for parameter, value in named:
        for ref in input_refs(value):
            by_parent.setdefault(ref, []).append(parameter)
    return by_parent


Edges = list[tuple[str, str, str]]


def upstream(artifact: Any, limit: int = MAX_NODES) -> tuple[list[Any], Edges] | None:
    """The artifact and its ancestors, and the edges ``(parent, child, parameter)`` among them.

    Read a generation at a time through the repository's batch of rows (no
    value loaded, no SQLAlchemy on an SQLite index); ``None`` when the
    lineage has more than ``limit`` artifacts, which stops the walk.
    """
    repo = artifact.repo
    nodes: dict[str, Any] = {artifact.id: artifact}
    edges: Edges = []
    frontier = [artifact]
    while frontier:
        wanted: list[str] = []
        for child in frontier:
            parameters = _parameters(child)
            for parent in child.input_artifact_ids:
                edges.append((parent, child.id, ", ".join(parameters.get(parent, [])) or "?"))
                if parent not in nodes and parent not in wanted:
                    wanted.append(parent)
        if len(nodes) + len(wanted) > limit:
            return None
        found = repo.get_artifacts(wanted) if wanted and repo is not None else {}
        for parent_id in wanted:
            nodes[parent_id] = found.get(parent_id)  # None: missing from the repo
        frontier = [a for a in (found.get(i) for i in wanted) if a is not None]
    return list(nodes.values()), edges


def _quoted(*lines: str) -> str:
    # A DOT string of lines: backslashes first (dot reads \N, \G, \l... as
    # escapes), then quotes; a line break of the user's is a space, and the
    # lines are joined by DOT's own line break.
    escaped = [" ".join(v.replace("\\", "\\\\").replace('"', '\\"').splitlines()) for v in lines]
    return '"' + "\\n".join(escaped) + '"'


def lineage_svg(
    nodes: Sequence[tuple[str, str]],
    edges: Iterable[tuple[str, str, str]],
    highlight: str | None = None,
) -> str | None:
    """The lineage drawn as inline SVG, or ``None`` (see the module).

    Parameters
    ----------
    nodes : sequence of (artifact id, label)
        Each node links to the card of its artifact (``#prov-<short id>``).
    edges : iterable of (parent id, child id, parameter)
    highlight : str, optional
        The id of the artifact the picture is of, drawn in another colour.
    """
    if not 2 <= len(nodes) <= MAX_NODES:
        return None
    dot = shutil.which("dot")
    if dot is None:
        return None
    names = {artifact_id: f"n{i}" for i, (artifact_id, _) in enumerate(nodes)}
    lines = [
        "digraph lineage {",
        'rankdir=LR; bgcolor="transparent";',
        'node [shape=box, style="rounded,filled", fillcolor="#dbeafe", fontname=Helvetica, '
        "fontsize=10];",
        "edge [fontname=Helvetica, fontsize=9];",
    ]
    for artifact_id, label in nodes:
        colour = "#fde68a" if artifact_id == highlight else "#dbeafe"
        lines.append(
            f"{names[artifact_id]} [label={_quoted(label, short_id(artifact_id))}, "
            f"tooltip={_quoted(artifact_id)}, URL={_quoted('#' + element_id(artifact_id))}, "
            f"fillcolor={_quoted(colour)}];"
        )
    for parent, child, parameter in edges:
        if parent in names and child in names:
            # The tooltip replaces dot's default, the edge's internal names.
            quoted = _quoted(parameter)
            lines.append(f"{names[parent]} -> {names[child]} [label={quoted}, tooltip={quoted}];")
    lines.append("}")
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input="\n".join(lines).encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    svg = done.stdout.decode("utf-8", "replace")
    start = svg.find("<svg")
    if done.returncode != 0 or start < 0:
        return None
    # Inline in HTML: without the XML prolog and doctype dot writes first, and
    # shrinking to the output's width rather than overflowing it.
    return '<svg style="max-width:100%;height:auto"' + svg[start + len("<svg") :]
