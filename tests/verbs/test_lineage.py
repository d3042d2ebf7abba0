"""Lineage queries, graphs and drawings."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

import provenance as p
from provenance.verbs.tree import lineage_tree


@p.provenance()
def load(n: int) -> list[int]:
    return list(range(n))


@p.provenance()
def clean(data: list[int], drop: int = 0) -> list[int]:
    return [x for x in data if x != drop]


@p.provenance()
def combine(a: list[int], b: list[int], weight: float = 1.0) -> float:
    return (sum(a) + sum(b)) * weight


def pipeline() -> tuple[Any, ...]:
    raw = load(5)
    cleaned = clean(raw, drop=2)
    other = load(3)
    result = combine(cleaned, other, weight=0.5)
    return raw, cleaned, other, result


def test_dependencies_come_first(repo: Any) -> None:
    raw, cleaned, other, result = pipeline()
    deps = p.dependencies(result)
    ids = [a.id for a in deps]
    assert ids[-1] == result.artifact.id
    assert set(ids) == {raw.artifact.id, cleaned.artifact.id, other.artifact.id, result.artifact.id}
    assert ids.index(raw.artifact.id) < ids.index(cleaned.artifact.id)
    assert [a.id for a in p.dependencies(raw.artifact.id)] == [raw.artifact.id]


def test_lineage_graph_upstream(repo: Any) -> None:
    raw, cleaned, other, result = pipeline()
    g = p.lineage_graph(result)
    assert set(g.nodes) == {
        raw.artifact.id,
        cleaned.artifact.id,
        other.artifact.id,
        result.artifact.id,
    }
    assert g.edges[cleaned.artifact.id, result.artifact.id]["parameter"] == "a"
    assert g.edges[other.artifact.id, result.artifact.id]["parameter"] == "b"
    assert g.edges[raw.artifact.id, cleaned.artifact.id]["parameter"] == "data"
    node = g.nodes[result.artifact.id]
    assert node["name"] == f"{__name__}.combine"
    assert node["value_id"] == result.artifact.value_id
    assert node["computed_at"] == result.artifact.computed_at
    assert node["version"] == 0


def test_lineage_graph_downstream_both_and_depth(repo: Any) -> None:
    raw, cleaned, other, result = pipeline()
    down = p.lineage_graph(raw.artifact.id, direction="downstream")
    assert set(down.nodes) == {raw.artifact.id, cleaned.artifact.id, result.artifact.id}
    both = p.lineage_graph(cleaned, direction="both")
    assert set(both.nodes) == {raw.artifact.id, cleaned.artifact.id, result.artifact.id}
    shallow = p.lineage_graph(result, depth=1)
    assert set(shallow.nodes) == {cleaned.artifact.id, other.artifact.id, result.artifact.id}
    with pytest.raises(ValueError, match="direction"):
        p.lineage_graph(result, direction="sideways")


def test_same_input_twice_is_one_edge_with_both_parameters(repo: Any) -> None:
    raw = load(4)
    doubled = combine(raw, raw)
    g = p.lineage_graph(doubled)
    assert g.edges[raw.artifact.id, doubled.artifact.id]["parameter"] == "a, b"


def test_lineage_of_10k_ancestors_is_one_query_not_a_walk(disk_repo: Any) -> None:
    @p.provenance()
    def step(prev: Any, i: int) -> int:
        return i

    node = step(None, 0)
    for i in range(1, 300):
        node = step(node, i)
    deps = p.dependencies(node)
    assert len(deps) == 300
    assert [a.inputs_json["i"] for a in deps] == list(range(300))


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")
def test_visualize_lineage_renders_svg_with_dot(repo: Any, tmp_path: Any) -> None:
    raw, cleaned, other, result = pipeline()
    dot = p.visualize_lineage(result)
    svg = dot.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg
    for text in (
        "combine",
        "clean",
        "load",
        "weight = float 0.5",
        "drop = int 2",
        "n = int 5",
        "n = int 3",
    ):
        assert text in svg, text
    assert result.artifact.id[:10] in svg
    # Edges into calls are labelled by parameter.
    assert ">data<" in svg and ">a<" in svg and ">b<" in svg
    png = dot.pipe(format="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "image/svg+xml" in dot._repr_mimebundle_()


def test_large_lineage_lists_literals_inside_calls(repo: Any) -> None:
    from provenance.vis import LARGE_GRAPH

    @p.provenance()
    def acc(prev: Any, k: int) -> int:
        return k

    node = acc(None, 0)
    for k in range(1, LARGE_GRAPH + 5):
        node = acc(node, k)
    source = p.visualize_lineage(node).source
    assert "shape=note" not in source
    assert f"k = int {LARGE_GRAPH + 4}" in source
    assert "mclimit" in source


def test_artifacts_inside_a_returned_value_are_in_its_lineage(repo: Any) -> None:
    # As the original library's artifact hasher recorded them: calc's value
    # holds add's, so add is upstream of calc (and promote copies it).
    @p.provenance()
    def add(a: int, b: int) -> int:
        return a + b

    @p.provenance()
    def calc(a: int, b: int) -> dict[str, Any]:
        return {"add": add(a, b), "plain": a * b}

    result = calc(1, 2)
    added = add(1, 2)
    assert result["add"] == 3 and result["plain"] == 2
    assert [a.id for a in p.dependencies(result.artifact.id)] == [
        added.artifact.id,
        result.artifact.id,
    ]
    assert result.artifact.input_artifact_ids == [added.artifact.id]
    graph = p.lineage_graph(result)
    assert graph.edges[added.artifact.id, result.artifact.id]["parameter"] == "<return>['add']"
    # The id is still made from the inputs only: a hit, with the same lineage.
    again = calc(1, 2)
    assert again.artifact.id == result.artifact.id


def test_a_removed_parent_is_a_gone_node_in_every_lineage_view(repo: Any) -> None:
    # Eviction takes the least recently used first: parents go before children.
    raw, cleaned, other, result = pipeline()
    gone = raw.artifact.id
    p.remove_artifacts([gone], repo)

    graph = p.lineage_graph(result)
    assert graph.nodes[gone] == {"id": gone, "missing": True}
    assert graph.edges[gone, cleaned.artifact.id]["parameter"] == "data"
    down = p.lineage_graph(cleaned, direction="both")
    assert down.nodes[gone]["missing"] and result.artifact.id in down.nodes

    with pytest.warns(p.ProvenanceWarning, match=f"removed or evicted.*{gone}"):
        deps = p.dependencies(result)
    assert [a.id for a in deps][-1] == result.artifact.id
    assert {a.id for a in deps} == {cleaned.artifact.id, other.artifact.id, result.artifact.id}

    tree = lineage_tree(result)
    assert f"data: {gone[:12]}  gone (removed or evicted)" in tree
    assert "drop = int 2" in tree  # the kept child's literal inputs are still shown

    source = p.visualize_lineage(result).source
    assert f'a_{gone} [label="gone\n{gone[:10]}"' in source
    assert f"a_{gone} -> c_{cleaned.artifact.id} [label=data]" in source
    assert "gone (removed or evicted)" in p.lineage_graph(result)._repr_html_()
