"""Drawing lineage with graphviz (the ``vis`` extra)."""

from __future__ import annotations

from typing import Any

from ..errors import require
from .calls import GONE, Call, group_calls, literal_inputs
from .lineage import coerce_artifact

__all__ = ["visualize_lineage"]

#: Above this many artifacts, literal inputs are listed inside the call's box
#: instead of as nodes of their own, and dot's layout effort is capped: a
#: 1,000-artifact pipeline then lays out in seconds instead of a minute.
LARGE_GRAPH = 200

_ROOT_FILL = "#fde68a"


def visualize_lineage(
    artifact_or_proxy: Any,
    depth: int | None = None,
    repo: Any = None,
    show_literals: bool = True,
) -> Any:
    """Draw the upstream lineage of an artifact as a :class:`graphviz.Digraph`.

    Each call is a box (the function and its version), each artifact an
    ellipse (its name and short id), each literal input a plain note; edges
    into a call are labelled by parameter.  A ``returns_composite`` call is
    one box with an edge to each of its members, labelled by key.  Inputs
    that are not artifacts are labelled from their recorded summary, with
    their type and shape (``DataFrame 150×5``, ``ndarray float64 (1000,)``)
    or their type and a short repr (``int 3``).  The result renders with the
    graphviz ``dot`` program (``.render(format='svg')``, ``.pipe('png')``) and
    shows itself inline in Jupyter.

    Parameters
    ----------
    depth : int, optional
        How many calls upstream to draw (all when omitted).
    show_literals : bool
        Draw non-artifact inputs too: as notes of their own, or, in graphs
        of more than :data:`LARGE_GRAPH` artifacts, as lines in the call's box.
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
    calls, call_of = group_calls(found, ids)

    large = len(ids) > LARGE_GRAPH
    dot = graphviz.Digraph(name=f"lineage_{artifact.id[:12]}")
    dot.attr(rankdir="LR")
    if large:
        # Straight edges and capped crossing minimization: spline routing and
        # ordering dominate dot's time on big graphs.
        dot.attr(mclimit="0.3", nslimit="2", nslimit1="2", splines="line")
    dot.attr("node", fontname="Helvetica", fontsize="10")
    dot.attr("edge", fontname="Helvetica", fontsize="9")
    for call in calls:
        _draw_call(dot, call, found, artifact.id, show_literals, large)
    # On big graphs an edge label becomes a node of its own in dot's layout;
    # a head label does not, and lays out several times faster.
    label_key = "headlabel" if large else "label"
    drawn: set[tuple[str, str, str]] = set()
    for child, parent, parameter in edges:
        if parent not in ids:
            continue
        # A composite's members share one box, and so its edges in.
        head = f"c_{call_of[child].node}"
        tail = f"c_{parent}" if parent in found and found[parent].composite else f"a_{parent}"
        if (tail, head, parameter) not in drawn:
            drawn.add((tail, head, parameter))
            dot.edge(tail, head, **{label_key: parameter})
    return dot


def _draw_gone(dot: Any, artifact_id: str) -> None:
    dot.node(f"a_{artifact_id}", f"gone\n{artifact_id[:10]}", shape="ellipse", style="dashed",
             tooltip=f"{artifact_id}: {GONE}")  # fmt: skip


def _draw_call(
    dot: Any, call: Call, found: dict[str, Any], root: str, show_literals: bool, large: bool
) -> None:
    """One call's box, the ellipses of the artifacts it made and its literal inputs."""
    described = call.first(found)
    if described is None:
        for artifact_id in call.outputs:
            _draw_gone(dot, artifact_id)
        return
    node = f"c_{call.node}"
    for artifact_id in call.outputs:
        art = found.get(artifact_id)
        if art is None:
            _draw_gone(dot, artifact_id)
        else:
            dot.node(
                f"a_{artifact_id}",
                f"{art.name}\n{artifact_id[:10]}",
                shape="ellipse",
                style="filled",
                fillcolor=_ROOT_FILL if artifact_id == root else "#dbeafe",
                tooltip=f"value_id {art.value_id}",
            )
        key = call.keys.get(artifact_id)
        dot.edge(node, f"a_{artifact_id}", **({"label": key} if key else {}))
    literals = literal_inputs(described) if show_literals else []
    label = f"{described.fn_name or described.name}()\nv{described.version}"
    if call.keys:
        label += f"\n{len(call.outputs)} outputs"
    if large and literals:
        label += "\n" + "\n".join(f"{k} = {v}" for k, v in literals)
    is_root = call.composite is not None and call.composite.id == root
    extra = {"tooltip": f"composite {call.composite.id}"} if call.composite is not None else {}
    dot.node(node, label, shape="box", style="rounded,filled",
             fillcolor=_ROOT_FILL if is_root else "#e5e7eb", **extra)  # fmt: skip
    if not large:
        for pname, text in literals:
            literal = f"l_{call.node}_{pname}"
            dot.node(literal, f"{pname} = {text}", shape="note", fontsize="9")
            dot.edge(literal, node, label=pname, style="dotted")
