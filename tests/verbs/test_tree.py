"""The text tree of an artifact's lineage (``provenance lineage ID`` without ``-o``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import provenance as p
from provenance.verbs.tree import lineage_tree


@p.provenance(name="load")
def load(n: int) -> list[int]:
    return list(range(n))


@p.provenance(name="combine")
def combine(a: Any, b: Any, alpha: float = 0.5) -> list[int]:
    return [len(a) + len(b)]


@p.provenance(name="split", returns_composite=True)
def split(df: Any, frac: float) -> dict[str, Any]:
    cut = int(len(df) * frac)
    return {"train": df.iloc[:cut], "test": df.iloc[cut:]}


@p.provenance(name="fit")
def fit(train: Any, test: Any, weights: Any) -> float:
    return float(len(train) + len(test))


def line(result: Any, name: str) -> str:
    artifact = result.artifact
    return f"{artifact.id[:12]}  {name}  {__name__}.{artifact.fn_name}() v0"


def test_a_tree_of_calls_with_literals_shared_inputs_and_depth(repo: Any) -> None:
    three, four = load(3), load(4)
    inner = combine(three, four, alpha=0.25)
    top = combine(three, inner)
    assert lineage_tree(top).splitlines() == [
        line(top, "combine"),
        f"├── a: {line(three, 'load')}",
        "│   └── n = int 3",
        f"├── b: {line(inner, 'combine')}",
        f"│   ├── a: {line(three, 'load')}",
        "│   │   └── … see above",
        f"│   ├── b: {line(four, 'load')}",
        "│   │   └── n = int 4",
        "│   └── alpha = float 0.25",
        "└── alpha = float 0.5",
    ]
    assert lineage_tree(top.artifact.id, depth=1, show_literals=False).splitlines() == [
        line(top, "combine"),
        f"├── a: {line(three, 'load')}",
        f"└── b: {line(inner, 'combine')}",
        f"    ├── a: {line(three, 'load')}",
        "    └── … 1 more input artifact, deeper than the depth",
    ]
    assert lineage_tree(three) == line(three, "load") + "\n└── n = int 3"


def test_a_composite_call_appears_once_with_its_members_keys(disk_repo: Any) -> None:
    # SQLite keeps the recorded inputs' order (the signature's), which the
    # lines follow; PostgreSQL's JSONB sorts keys by length first.
    frame = pd.DataFrame(np.zeros((150, 5)))
    parts = split(frame, 0.6)
    model = fit(parts["train"], parts["test"], np.ones(1000))
    train, test = parts["train"], parts["test"]
    assert lineage_tree(model).splitlines() == [
        line(model, "fit"),
        f"├── train: {line(train, 'split_train')} [train]",
        "│   ├── df = DataFrame 150×5",
        "│   └── frac = float 0.6",
        f"├── test: {line(test, 'split_test')} [test]",
        f"│   └── … the same call as {train.artifact.id[:12]}, above",
        "└── weights = ndarray float64 (1000,)",
    ]
