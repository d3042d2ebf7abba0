"""Lineage drawings: one box per call (a composite's members its outputs), inputs labelled."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import pandas as pd
import pytest

import provenance as p
from provenance.verbs.calls import input_label

HAS_DOT = shutil.which("dot") is not None


@p.provenance(returns_composite=True)
def split(df: Any, frac: float) -> dict[str, Any]:
    cut = int(len(df) * frac)
    return {"train": df.iloc[:cut], "test": df.iloc[cut:]}


@p.provenance()
def fit(train: Any, test: Any, weights: Any, label: str = "y") -> float:
    return float(len(train) + len(test) + weights.sum())


def pipeline() -> tuple[Any, Any]:
    frame = pd.DataFrame(np.arange(750).reshape(150, 5), columns=list("abcde"))
    parts = split(frame, 0.6)
    return parts, fit(parts["train"], parts["test"], np.zeros(1000))


def test_input_labels_give_type_and_shape_or_type_and_a_short_repr() -> None:
    summaries = {
        "DataFrame 150×5": {"$type": "pandas.DataFrame", "$hash": "ab", "$shape": [150, 5]},
        "ndarray float64 (1000,)": {
            "$type": "numpy.ndarray", "$hash": "cd", "$shape": [1000], "$dtype": "float64"
        },
        "Series int64 (3,)": {"$type": "pandas.Series", "$shape": [3], "$dtype": "int64"},
        # Recorded before shapes were: the type alone, never the hash.
        "DataFrame": {"$type": "pandas.core.frame.DataFrame", "$hash": "ef"},
        "float nan": {"$type": "float", "$repr": "nan"},
        "str (5000 characters)": {"$type": "str", "$hash": "01", "$len": 5000},
        "File data.csv": {"$type": "provenance.File", "$path": "/tmp/x/data.csv", "$hash": "2"},
        "int 3": 3,
        "float 0.5": 0.5,
        "bool True": True,
        "None": None,
        "str 'train'": "train",
        "list [1, 2, 3]": [1, 2, 3],
        "list (2 items)": [{"$type": "numpy.ndarray", "$hash": "3"}, 1],
        "dict (1 keys)": {"m": {"$type": "a.Model", "$hash": "4"}},
    }  # fmt: skip
    for label, summary in summaries.items():
        assert input_label(summary) == label
    assert input_label("x" * 100).endswith("…") and len(input_label("x" * 100)) == 44


def test_a_composite_call_is_one_box_with_its_members_as_outputs(repo: Any) -> None:
    parts, model = pipeline()
    source = p.visualize_lineage(model).source
    # One box for split, one for fit; an ellipse per artifact.
    assert source.count("split()") == 1 and source.count("fit()") == 1
    assert source.count("shape=box") == 2
    assert source.count("shape=ellipse") == 3
    composite = parts.artifact.id
    box = f"c_{composite}"
    for key in ("train", "test"):
        member = parts.member_ids[key]
        assert f"{box} -> a_{member} [label={key}]" in source
        assert f"a_{member} -> c_{model.artifact.id} [label={key}]" in source
    assert "2 outputs" in source
    # The frame went into split once: one edge, not one per member.
    assert source.count(f"-> {box} [label=df style=dotted]") == 1
    assert "DataFrame 150×5" in source and "ndarray float64 (1000,)" in source
    assert "frac = float 0.6" in source and "label = str 'y'" in source
    assert "$hash" not in source


def test_drawing_the_composite_itself_highlights_its_box(repo: Any) -> None:
    parts, _ = pipeline()
    source = p.visualize_lineage(parts).source
    assert source.count("shape=box") == 1 and source.count("shape=ellipse") == 2
    assert f'c_{parts.artifact.id} [label="split()' in source
    assert "#fde68a" in source.split(f"c_{parts.artifact.id} [label=")[1].split("]")[0]


@pytest.mark.skipif(not HAS_DOT, reason="graphviz 'dot' is not installed")
def test_the_rendered_svg_shows_the_labels(repo: Any) -> None:
    parts, model = pipeline()
    svg = p.visualize_lineage(model).pipe(format="svg").decode()
    for text in ("split()", "fit()", "split_train", "split_test", "DataFrame 150×5",
                 "weights = ndarray float64 (1000,)", ">train<", ">test<"):  # fmt: skip
        assert text in svg, text
    assert svg.count("split()") == 1
    assert "$hash" not in svg


def test_the_networkx_graph_names_each_node_s_call_key_and_inputs(repo: Any) -> None:
    parts, model = pipeline()
    graph = p.lineage_graph(model)
    train, test = parts.member_ids["train"], parts.member_ids["test"]
    nodes = graph.nodes
    assert nodes[train]["call"] == nodes[test]["call"] == parts.artifact.id
    assert (nodes[train]["key"], nodes[test]["key"]) == ("train", "test")
    assert nodes[train]["inputs"] == {"df": "DataFrame 150×5", "frac": "float 0.6"}
    top = nodes[model.artifact.id]
    assert top["call"] == model.artifact.id and top["key"] is None
    assert top["inputs"] == {"weights": "ndarray float64 (1000,)", "label": "str 'y'"}
    assert set(graph.predecessors(model.artifact.id)) == {train, test}


@p.provenance(returns_composite=True)
def three(n: int) -> dict[str, Any]:
    return {"a": n, "b": n + 1, "c": n + 2}


@p.provenance()
def pair(x: Any, y: Any) -> int:
    return x + y


def same(n: int) -> int:
    return n


def test_some_members_of_a_composite_still_make_one_call_and_look_alikes_do_not(
    repo: Any,
) -> None:
    parts = three(1)
    used = pair(parts["a"], parts["c"])
    graph = p.lineage_graph(used)
    a, c = parts.member_ids["a"], parts.member_ids["c"]
    assert set(graph.nodes) == {used.artifact.id, a, c}
    assert graph.nodes[a]["call"] == graph.nodes[c]["call"] == parts.artifact.id
    assert (graph.nodes[a]["key"], graph.nodes[c]["key"]) == ("a", "c")
    assert p.visualize_lineage(used).source.count("shape=box") == 2
    # One function under two names, called alike: two calls, not a composite.
    first = p.provenance(name="twin_left")(same)(4)
    second = p.provenance(name="twin_right")(same)(4)
    both = pair(first, second)
    graph = p.lineage_graph(both)
    assert graph.nodes[first.artifact.id]["call"] == first.artifact.id
    assert graph.nodes[second.artifact.id]["key"] is None
    assert p.visualize_lineage(both).source.count("shape=box") == 3
