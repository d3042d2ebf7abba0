"""An artifact's lineage as inline SVG whose nodes open the artifacts they stand for.

Drawn by graphviz ``dot`` from :func:`~provenance.lineage_graph` (upstream
and downstream, each to its own depth).  ``dot`` writes every label as XML
text, so a name holding markup shows as text; the links are built here from
checked hexadecimal ids only.
"""

from __future__ import annotations

from typing import Any

from ..errors import require
from ..verbs.lineage import lineage_graph
from .queries import spec_url

__all__ = ["CACHED_COLOUR", "MAX_NODES", "STEP_COLOURS", "lineage_svg", "steps_svg"]

#: A drawing with more artifacts than this is refused: lower the depths.
MAX_NODES = 200


def _label(data: dict[str, Any], artifact_id: str) -> str:
    if data.get("missing"):  # removed or evicted while its children were kept
        return f"gone\n{artifact_id[:10]}"
    # A backslash starts an escape sequence in a dot label: shown as itself.
    name = str(data.get("name") or "").replace("\\", "\\\\")
    return f"{name}\n{artifact_id[:10]}"


def lineage_svg(repo: Any, artifact_id: str, up: int, down: int, link: str) -> str:
    """The SVG of ``artifact_id``'s lineage, ``up`` calls upstream and ``down`` downstream.

    ``link`` is the URL of an artifact's page with ``{id}`` in place of its id.
    """
    graphviz = require("graphviz", "vis", "the lineage drawing of provenance ui")
    upstream = lineage_graph(artifact_id, "upstream", up, repo=repo)
    downstream = lineage_graph(artifact_id, "downstream", down, repo=repo)
    nodes = {**dict(upstream.nodes(data=True)), **dict(downstream.nodes(data=True))}
    if len(nodes) > MAX_NODES:
        raise ValueError(
            f"the lineage at these depths holds {len(nodes)} artifacts, over {MAX_NODES}: "
            "lower the depths"
        )
    dot = graphviz.Digraph(name="lineage")
    dot.attr(rankdir="LR", bgcolor="transparent")
    dot.attr("node", fontname="Helvetica", fontsize="10", shape="box", style="rounded,filled")
    dot.attr("edge", fontname="Helvetica", fontsize="9", color="#6b7280")
    for node_id, data in nodes.items():
        dot.node(
            f"a{node_id}",
            _label(data, node_id),
            URL=link.format(id=node_id),
            target="_top",
            tooltip=f"{data.get('fn_name') or '?'} v{data.get('version')}",
            fillcolor="#fde68a" if node_id == artifact_id else "#dbeafe",
            id=f"node-{node_id}",
        )
    for graph in (upstream, downstream):
        for parent, child, data in graph.edges(data=True):
            dot.edge(f"a{parent}", f"a{child}", label=str(data.get("parameter", "")))
    svg = dot.pipe(format="svg", encoding="utf-8")
    # The document's prolog and doctype do not belong inside an HTML page.
    return svg[svg.index("<svg") :]


#: Fill colours of a step by its tasks' state, and of a step whose every task was cached.
STEP_COLOURS = {"successful": "#bbf7d0", "failed": "#fecaca", "running": "#fef08a"}
CACHED_COLOUR = "#e0e7ff"


def steps_svg(run: Any, steps: list[tuple[Any, str, int, int]]) -> str:
    """The SVG of a run's steps, each a link to its page.

    ``steps`` holds ``(step, state, tasks, cached tasks)``.  The edges come
    from a FlowSpec run's graph; the steps of other runs stand alone.  A step
    whose every task was served from the cache is drawn dashed in its own colour.
    """
    graphviz = require("graphviz", "vis", "the step graph of provenance ui")
    dot = graphviz.Digraph(name="steps")
    dot.attr(rankdir="LR", bgcolor="transparent")
    dot.attr("node", fontname="Helvetica", fontsize="10", shape="box", style="rounded,filled")
    names = set()
    for step, state, count, cached in steps:
        name = step.id
        names.add(name)
        all_cached = count > 0 and cached == count and state == "successful"
        dot.node(
            f"s_{name}",
            f"{name}\n{count} task{'s' if count != 1 else ''}"
            + (f", {cached} cached" if cached else ""),
            URL=f"/flows/{spec_url(step.pathspec)}",
            target="_top",
            fillcolor=CACHED_COLOUR if all_cached else STEP_COLOURS.get(state, "#e5e7eb"),
            style="rounded,filled,dashed" if all_cached else "rounded,filled",
            id=f"step-{name}",
        )
    graph = (run._flow_info() or {}).get("graph") or {}
    for name, targets in graph.items():
        for target in targets:
            if name in names and target in names:
                dot.edge(f"s_{name}", f"s_{target}")
    svg = dot.pipe(format="svg", encoding="utf-8")
    return svg[svg.index("<svg") :]
