"""The cards of storage's and the verbs' objects: artifacts, composites, sets, captures, lineage.

Each reads its object's attributes and the index rows its repository hands
out in a batch (``repo.get_artifacts``): no value is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .html import (
    MAX_ROWS,
    Row,
    card,
    count,
    duration,
    element_id,
    guarded,
    link,
    literal,
    size,
    table,
    text,
    when,
)
from .picture import MAX_NODES, input_refs, lineage_svg, upstream

__all__ = [
    "artifact_html",
    "artifact_rows",
    "capture_html",
    "composite_html",
    "graph_html",
    "set_html",
]


def _title(name: Any, version: Any, artifact_id: Any) -> str:
    shown = f" v{text(version)}" if version is not None else ""
    return f"<b>{text(name)}</b>{shown} {link(artifact_id)}"


def _input_cell(summary: Any) -> str:
    refs = input_refs(summary)
    if not refs:
        return literal(summary)
    if isinstance(summary, dict) and len(refs) == 1:
        return link(refs[0], summary.get("name"))
    return ", ".join(link(r) for r in refs[:MAX_ROWS]) + (" …" if len(refs) > MAX_ROWS else "")


def _inputs(artifact: Any) -> str:
    summary = artifact.inputs_summary
    named = list((summary.get("kargs") or {}).items())
    named += [(f"*args[{i}]", v) for i, v in enumerate(summary.get("varargs") or [])]
    if not named:
        return '<span class="prov-note">none</span>'
    cells = [(f"<code>{text(p)}</code>", _input_cell(v)) for p, v in named[:MAX_ROWS]]
    return table(["parameter", "value"], cells, total=len(named))


def _picture(artifact: Any) -> Row | None:
    found = upstream(artifact)
    if found is None:
        return (
            "lineage",
            f'<span class="prov-note">more than {MAX_NODES} artifacts upstream: '
            "draw it with provenance.visualize_lineage</span>",
        )
    nodes, edges = found
    labelled = [(a.id, a.name) for a in nodes if a is not None]
    # A parent removed or evicted while this artifact was kept: its edge is left.
    drawn = {artifact_id for artifact_id, _ in labelled}
    labelled += [(p, "gone") for p in dict.fromkeys(p for p, _, _ in edges) if p not in drawn]
    svg = lineage_svg(labelled, edges, highlight=artifact.id)
    return ("lineage", svg) if svg else None


def artifact_rows(artifact: Any) -> list[Row]:
    """The rows of an artifact's card (a composite's card adds its members)."""
    function = ".".join(p for p in (artifact.fn_module, artifact.fn_name) if p)
    durations = (
        f"compute {duration(artifact.compute_duration)}, hash {duration(artifact.hash_duration)}"
        f", inputs' id {duration(artifact.input_id_duration)}"
    )
    rows: list[Row] = [
        ("id", f"<code>{text(artifact.id)}</code>"),
        ("function", f"<code>{text(function or '—')}</code>"),
        ("version", text(artifact.version)),
        ("created", text(when(artifact.computed_at))),
        ("durations", text(durations)),
        ("size", f"{text(size(artifact.size))} ({text(artifact.serializer)})"),
        ("inputs", _inputs(artifact)),
    ]
    if artifact.tags:
        rows.append(("tags", text(", ".join(map(str, artifact.tags)))))
    picture = _picture(artifact)
    if picture is not None:
        rows.append(picture)
    return rows


@guarded
def artifact_html(artifact: Any) -> str:
    """An :class:`~provenance.Artifact`'s card: what it is, how it was made, its inputs."""
    return card(
        "Artifact",
        _title(artifact.name, artifact.version, artifact.id),
        artifact_rows(artifact),
        anchor=element_id(artifact.id),
    )


def _members_table(repo: Any, ids: list[str], keys: list[str] | None = None) -> str:
    """Members by link, name, version, size and creation, from one batch of rows."""
    shown = ids[:MAX_ROWS]
    found = repo.get_artifacts(shown) if repo is not None and shown else {}
    rows = []
    for i, artifact_id in enumerate(shown):
        member = found.get(artifact_id)
        row = [text(keys[i])] if keys is not None else []
        if member is None:
            # Of a set in no repository (made, not loaded), nothing more is known.
            gone = '<span class="prov-note">not in the repo</span>' if repo is not None else "—"
            row += [link(artifact_id), "—", "—", gone]
        else:
            row += [link(artifact_id, member.name), text(member.version), text(size(member.size)),
                    text(when(member.computed_at))]  # fmt: skip
        rows.append(row)
    headers = (["key"] if keys is not None else []) + ["artifact", "version", "size", "created"]
    return table(headers, rows, total=len(ids))


@guarded
def composite_html(composite: Any) -> str:
    """A ``returns_composite`` value's card: its artifact's, and each key's artifact."""
    artifact = composite.artifact
    keys = list(composite.member_ids)
    ids = [composite.member_ids[k] for k in keys]
    rows = artifact_rows(artifact)
    rows.insert(1, ("members", _members_table(artifact.repo, ids, keys)))
    return card(
        "CompositeDict",
        _title(artifact.name, artifact.version, artifact.id),
        rows,
        anchor=element_id(artifact.id),
    )


@guarded
def set_html(artifact_set: Any) -> str:
    """An :class:`~provenance.ArtifactSet`'s card: its labels and its first members."""
    ids = sorted(artifact_set.artifact_ids)
    name = artifact_set.name
    title = f"<b>{text(name)}</b>" if name is not None else "<i>unnamed</i>"
    saved = artifact_set.created_at
    rows: list[Row] = [
        ("id", f"<code>{text(artifact_set.id)}</code>"),
        ("labels", literal(artifact_set.labels)),
        ("saved", text(when(saved)) if saved is not None else "not saved"),
        ("members", _members_table(artifact_set.repo, ids) if ids else "none"),
    ]
    return card("ArtifactSet", f"{title} ({count(len(ids), 'artifact')})", rows)


@guarded
def capture_html(capture: Any) -> str:
    """What :func:`~provenance.capture_set` yields: the saved set, or the ids so far."""
    if capture.set is not None:
        return set_html(capture.set)
    ids = sorted(capture.artifact_ids)
    links = ", ".join(link(i) for i in ids[:MAX_ROWS]) + (" …" if len(ids) > MAX_ROWS else "")
    rows: list[Row] = [("captured", f"{count(len(ids), 'artifact')} so far: {links or '—'}")]
    return card("capture_set", "<i>capturing</i>", rows)


def _graph_order(graph: Any) -> list[Any]:
    # Inputs before what was made of them (Kahn's), without importing networkx.
    waiting = {n: graph.in_degree(n) for n in graph.nodes}
    ready = sorted((n for n, d in waiting.items() if d == 0), key=str)
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in sorted(graph.successors(node), key=str):
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return order + sorted((n for n in graph.nodes if n not in set(order)), key=str)


def _graph_rows(graph: Any, order: Iterable[Any]) -> list[list[str]]:
    rows = []
    for node in order:
        data = graph.nodes[node]
        inputs = ", ".join(
            f"<code>{text(graph.edges[p, node].get('parameter', '?'))}</code>={link(p)}"
            for p in sorted(graph.predecessors(node), key=str)
        )
        if data.get("missing"):
            note = '<span class="prov-note">gone (removed or evicted)</span>'
            rows.append([link(node), "—", note, inputs])
        else:
            rows.append([link(node, data.get("name")), text(data.get("version")),
                         text(when(data.get("computed_at"))), inputs or "—"])  # fmt: skip
    return rows


@guarded
def graph_html(graph: Any) -> str:
    """A lineage graph's card: its artifacts, inputs first, and its picture when small."""
    root = graph.graph.get("root")
    direction = graph.graph.get("direction", "")
    order = _graph_order(graph)
    root_name = graph.nodes[root].get("name") if root in graph.nodes else None
    title = (
        f"{text(direction)} of <b>{text(root_name)}</b> {link(root)}" if root else "<i>lineage</i>"
    )
    rows: list[Row] = [
        (
            "size",
            text(
                f"{count(graph.number_of_nodes(), 'artifact')}, "
                f"{count(graph.number_of_edges(), 'edge')}"
            ),
        )
    ]
    nodes = [(n, str(graph.nodes[n].get("name", "gone"))) for n in order]
    edges = [(p, c, str(d.get("parameter", ""))) for p, c, d in graph.edges(data=True)]
    svg = lineage_svg(nodes, edges, highlight=root)
    if svg:
        rows.append(("picture", svg))
    shown = _graph_rows(graph, order[:MAX_ROWS])
    rows.append(("artifacts", table(["artifact", "version", "created", "inputs"], shown,
                                    total=len(order))))  # fmt: skip
    return card("Lineage", title, rows)
