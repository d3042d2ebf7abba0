"""Drawing lineage with graphviz (the ``vis`` extra)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import require
from ..inputs import artifact_ref
from .lineage import coerce_artifact

__all__ = ["visualize_lineage"]

_MAX_LITERAL = 40


def _literal(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _MAX_LITERAL else text[: _MAX_LITERAL - 1] + "…"


#: Above this many artifacts, literal inputs are listed inside the call's box
#: instead of as nodes of their own, and dot's layout effort is capped: a
#: 1,000-artifact pipeline then lays out in seconds instead of a minute.
LARGE_GRAPH = 200


def visualize_lineage(
    artifact_or_proxy: Any,
    depth: int | None = None,
    repo: Any = None,
    show_literals: bool = True,
) -> Any:
    """Draw the upstream lineage of an artifact as a :class:`graphviz.Digraph`.

    Each call is a box (the function and its version), each artifact an
    ellipse (its name and short id), each literal input a plain note; edges
    into a call are labelled by parameter.  The result renders with the
    graphviz ``dot`` program (``.render(format='svg')``, ``.pipe('png')``) and
    shows itself inline in Jupyter.

    Parameters
    ----------
    depth : int, optional
        How many calls upstream to draw (all when omitted).
    show_literals : bool
        Draw non-artifact inputs (numbers, strings, small lists) too: as
        notes of their own, or, in graphs of more than :data:`LARGE_GRAPH`
        artifacts, as lines in the call's box.
    """
    graphviz = require("graphviz", "vis", "visualize_lineage")
    artifact = coerce_artifact(artifact_or_proxy, repo)
    owner = artifact.repo if artifact.repo is not None else None
    if owner is None:
        raise ValueError(f"artifact {artifact.id} is not stored in a repository")
    index = owner.index
    ids = list(index.related([artifact.id], "upstream", depth))
    found = owner.get_artifacts(ids)
    edges = index.edges_among(ids)

    large = len(ids) > LARGE_GRAPH
    dot = graphviz.Digraph(name=f"lineage_{artifact.id[:12]}")
    dot.attr(rankdir="LR")
    if large:
        # Straight edges and capped crossing minimization: spline routing and
        # ordering dominate dot's time on big graphs.
        dot.attr(mclimit="0.3", nslimit="2", nslimit1="2", splines="line")
    dot.attr("node", fontname="Helvetica", fontsize="10")
    dot.attr("edge", fontname="Helvetica", fontsize="9")
    for artifact_id in ids:
        art = found.get(artifact_id)
        if art is None:
            dot.node(f"a_{artifact_id}", f"missing\n{artifact_id[:10]}", shape="ellipse",
                     style="dashed")  # fmt: skip
            continue
        dot.node(
            f"a_{artifact_id}",
            f"{art.name}\n{artifact_id[:10]}",
            shape="ellipse",
            style="filled",
            fillcolor="#dbeafe" if artifact_id != artifact.id else "#fde68a",
            tooltip=f"value_id {art.value_id}",
        )
        call = f"c_{artifact_id}"
        literals = []
        if show_literals:
            summary = art.inputs_summary
            literals = [
                (pname, _literal(value))
                for pname, value in (summary.get("kargs") or {}).items()
                if artifact_ref(value) is None
            ]
        label = f"{art.fn_name or art.name}()\nv{art.version}"
        if large and literals:
            label += "\n" + "\n".join(f"{k}={v}" for k, v in literals)
        dot.node(call, label, shape="box", style="rounded,filled", fillcolor="#e5e7eb")
        dot.edge(call, f"a_{artifact_id}")
        if not large:
            for pname, text in literals:
                node = f"l_{artifact_id}_{pname}"
                dot.node(node, f"{pname}={text}", shape="note", fontsize="9")
                dot.edge(node, call, label=pname, style="dotted")
    # On big graphs an edge label becomes a node of its own in dot's layout;
    # a head label does not, and lays out several times faster.
    label_key = "headlabel" if large else "label"
    for child, parent, parameter in edges:
        if parent in ids:
            dot.edge(f"a_{parent}", f"c_{child}", **{label_key: parameter})
    return dot
