"""Lineage: the artifacts an artifact was computed from, and those computed from it.

Lineage is read from the index's edges by recursive SQL queries; no value is
ever loaded.  An artifact removed or evicted while artifacts computed from it
were kept is still named by their edges: it is a node marked ``missing`` in
:func:`lineage_graph` (and "gone" in the tree and the drawings), and is left
out of :func:`dependencies` with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from ..artifact import Artifact, is_proxy
from ..config import resolve_repo
from ..errors import ProvenanceWarning, require
from .calls import group_calls, literal_inputs

__all__ = ["coerce_artifact", "dependencies", "lineage_graph"]


def coerce_artifact(artifact_or_id: Any, repo: Any = None) -> Artifact:
    """An :class:`Artifact` from an artifact, a proxy, a composite result or an id."""
    if is_proxy(artifact_or_id):
        return artifact_or_id.artifact
    if isinstance(artifact_or_id, Artifact):
        return artifact_or_id
    artifact = getattr(artifact_or_id, "artifact", None)
    if isinstance(artifact, Artifact):
        return artifact
    return resolve_repo(repo).get_artifact(artifact_or_id)


def _index_of(artifact: Artifact, repo: Any) -> Any:
    owner = artifact.repo if artifact.repo is not None else resolve_repo(repo)
    return owner, owner.index


def _topological(ids: Iterable[str], edges: list[tuple[str, str, str]]) -> list[str]:
    """Order ``ids`` so that every artifact comes after its inputs (Kahn's algorithm)."""
    ids = list(ids)
    members = set(ids)
    parents: dict[str, set[str]] = {i: set() for i in ids}
    children: dict[str, set[str]] = {i: set() for i in ids}
    for child, parent, _ in edges:
        if child in members and parent in members:
            parents[child].add(parent)
            children[parent].add(child)
    ready = sorted(i for i in ids if not parents[i])
    order: list[str] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for child in sorted(children[node]):
            parents[child].discard(node)
            if not parents[child]:
                ready.append(child)
    return order


def dependencies(artifact_or_id: Any, repo: Any = None) -> list[Artifact]:
    """The artifact and every artifact it depends on, dependencies first.

    An artifact of the lineage that was removed or evicted (its children
    were kept) is left out, with a :class:`~provenance.ProvenanceWarning`
    naming it; what it was computed from is out of reach too, as its edges
    went with it.

    Parameters
    ----------
    artifact_or_id : Artifact, ArtifactProxy or str
    repo : Repository or str, optional
        Where to look up an id (the default repo if omitted).
    """
    artifact = coerce_artifact(artifact_or_id, repo)
    owner, index = _index_of(artifact, repo)
    ids = list(index.related([artifact.id], "upstream"))
    order = _topological(ids, index.edges_among(ids))
    found = owner.get_artifacts(order)
    missing = [i for i in order if i not in found]
    if missing:
        more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        warnings.warn(
            f"the lineage of {artifact.id} names {len(missing)} artifact(s) no longer in "
            f"{owner!r} (removed or evicted), left out of its dependencies: "
            f"{', '.join(missing[:5])}{more}; calling the functions that computed them again "
            "stores them again",
            ProvenanceWarning,
            stacklevel=2,
        )
    return [found[i] for i in order if i in found]


def lineage_graph(
    artifact_proxy_or_id: Any,
    direction: str = "upstream",
    depth: int | None = None,
    repo: Any = None,
) -> Any:
    """The lineage of an artifact as a :class:`networkx.DiGraph` (a :class:`.LineageGraph`).

    Nodes are artifact ids carrying ``name``, ``version``, ``id``,
    ``value_id``, ``computed_at``, ``fn_module`` and ``fn_name``; ``call``,
    the id of the call that made it (shared by the members of a
    ``returns_composite`` call: its composite's id, when known), ``key``
    (the member's key, else ``None``) and ``inputs``, the label of each
    input that is not an artifact (``{"df": "DataFrame 150×5", "k": "int
    3"}``, see :func:`~provenance.verbs.calls.input_label`); an edge goes
    from an input artifact to the artifact computed from it, carrying the
    ``parameter`` name (several names joined by ``", "``).  An artifact that
    is gone (removed or evicted while an artifact computed from it was
    kept) is a node with only ``id`` and ``missing=True``, its edge to its
    child kept; what it was computed from is not known any more.

    Parameters
    ----------
    direction : {'upstream', 'downstream', 'both'}
        Ancestors, descendants, or both.
    depth : int, optional
        How many edges away to go (unbounded if omitted).
    """
    if direction not in ("upstream", "downstream", "both"):
        raise ValueError(f"direction must be 'upstream', 'downstream' or 'both', got {direction!r}")
    require("networkx", "vis", "lineage_graph")
    # Imported once networkx is known to be installed: the module subclasses its graph.
    from .graph import LineageGraph

    artifact = coerce_artifact(artifact_proxy_or_id, repo)
    owner, index = _index_of(artifact, repo)
    ids: dict[str, None] = {}
    for way in ("upstream", "downstream"):
        if direction in (way, "both"):
            ids.update(dict.fromkeys(index.related([artifact.id], way, depth)))
    rows = owner.get_artifacts(list(ids))
    _, call_of = group_calls(dict(rows), list(ids))
    graph = LineageGraph(root=artifact.id, direction=direction)
    for artifact_id in ids:
        found = rows.get(artifact_id)
        if found is None:
            graph.add_node(artifact_id, id=artifact_id, missing=True)
            continue
        call = call_of[artifact_id]
        graph.add_node(
            artifact_id,
            id=artifact_id,
            name=found.name,
            version=found.version,
            value_id=found.value_id,
            computed_at=found.computed_at,
            fn_module=found.fn_module,
            fn_name=found.fn_name,
            call=call.node,
            key=call.keys.get(artifact_id),
            inputs=dict(literal_inputs(found)),
        )
    for child, parent, parameter in index.edges_among(list(ids)):
        if parent not in ids:
            continue
        if graph.has_edge(parent, child):
            graph.edges[parent, child]["parameter"] += f", {parameter}"
        else:
            graph.add_edge(parent, child, parameter=parameter)
    return graph
