"""A small machine-learning pipeline with lineage, a lineage drawing and artifact sets.

    python examples/pipeline/pipeline_example.py [--out DIR]

Five decorated steps (load data, split, fit the featurizer, train, evaluate)
are run for two values of a hyperparameter.  The second model reuses the data,
the split and the featurizer of the first: only training and evaluation run
again.  Everything the runs made or loaded is saved as the artifact set
``pipeline-example``; the best model and its score as the set ``best-model``.
The lineage of the best score is drawn to ``DIR/lineage.svg`` (next to this
script by default; it needs the graphviz ``dot`` program).

Artifacts go to ``.provenance/`` in the current directory (or
``$PROVENANCE_HOME``).  Run the script again: every step is then loaded.

Only numpy is needed: the model is a logistic regression fitted by gradient
descent, the data two overlapping Gaussian clouds.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

import provenance as p

HERE = os.path.dirname(os.path.abspath(__file__))


# -- the pipeline steps ------------------------------------------------------------
# Each step is a pure function of its arguments, so its result can be cached
# under the hash of those arguments.  Passing one step's result to the next
# records the lineage.  Bump ``version`` when a step's code changes what it
# returns: calls made with the old code are then computed again.


@p.provenance(version=1)
def load_data(n_samples: int = 600, seed: int = 0) -> dict[str, np.ndarray]:
    """Stand-in for reading a data set: two classes in four dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_samples)
    centers = np.array([[0.0, 0.0, 0.0, 0.0], [1.5, 1.0, -0.5, 0.0]])
    X = centers[y] + rng.normal(scale=1.0, size=(n_samples, 4))
    return {"X": X, "y": y}


# ``returns_composite`` stores each key of the returned dict as an artifact of
# its own (``split_train``, ``split_test``): later steps depend on the part
# they use, and the drawing shows which.
@p.provenance(version=1, returns_composite=True)
def split(data: dict[str, np.ndarray], test_fraction: float = 0.25, seed: int = 0) -> dict:
    order = np.random.default_rng(seed).permutation(len(data["y"]))
    n_test = int(len(order) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return {
        "train": {"X": data["X"][train], "y": data["y"][train]},
        "test": {"X": data["X"][test], "y": data["y"][test]},
    }


@p.provenance(version=1)
def fit_featurizer(train: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Standardization learnt on the training data only (no test-set leakage)."""
    return {"mean": train["X"].mean(axis=0), "std": train["X"].std(axis=0)}


def featurize(featurizer: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """Standardized columns plus their squares and a bias column.

    Not decorated: it is cheap, and it runs inside the steps that need it.
    """
    Z = (X - featurizer["mean"]) / featurizer["std"]
    return np.hstack([Z, Z**2, np.ones((len(Z), 1))])


@p.provenance(version=1)
def train_model(
    train: dict[str, np.ndarray],
    featurizer: dict[str, np.ndarray],
    l2: float = 0.01,
    epochs: int = 500,
    learning_rate: float = 0.5,
) -> np.ndarray:
    """Logistic regression weights, by full-batch gradient descent."""
    F, y = featurize(featurizer, train["X"]), train["y"]
    w = np.zeros(F.shape[1])
    for _ in range(epochs):
        predicted = 1.0 / (1.0 + np.exp(-F @ w))
        w -= learning_rate * (F.T @ (predicted - y) / len(y) + l2 * w)
    return w


@p.provenance(version=1)
def evaluate(
    weights: np.ndarray, featurizer: dict[str, np.ndarray], test: dict[str, np.ndarray]
) -> dict[str, float]:
    scores = featurize(featurizer, test["X"]) @ weights
    accuracy = float(np.mean((scores > 0) == test["y"]))
    return {"accuracy": accuracy, "n_test": len(test["y"])}


# -- running it ----------------------------------------------------------------------


def step(fn: p.ProvenanceFunction, *args: Any, **kwargs: Any) -> Any:
    """Call a step and say whether it was computed or loaded from the repository."""
    # ``in_cache`` hashes the arguments and looks the id up; nothing runs.
    cached = fn.in_cache(*args, **kwargs)
    result = fn(*args, **kwargs)
    status = "loaded  " if cached else "computed"
    # Proxies and composite results both carry the artifact of the call.
    print(f"  {fn.__name__:<15} {status}  {result.artifact.id[:12]}")
    return result


def run_pipeline(l2: float) -> tuple[Any, Any]:
    print(f"pipeline with l2={l2}:")
    data = step(load_data, n_samples=600, seed=0)
    parts = step(split, data, test_fraction=0.25)
    featurizer = step(fit_featurizer, parts["train"])
    weights = step(train_model, parts["train"], featurizer, l2=l2)
    metrics = step(evaluate, weights, featurizer, parts["test"])
    print(f"  test accuracy: {metrics['accuracy']:.3f}")
    return weights, metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=HERE, help="where to write lineage.svg")
    out_dir = os.path.abspath(parser.parse_args().out)

    # Every artifact computed or loaded inside the block becomes a member of
    # the set, saved when the block ends: a record of what this run used.
    with p.capture_set("pipeline-example") as captured:
        results = [run_pipeline(l2) for l2 in (0.01, 1.0)]
    run_set = captured[0]

    # Sets are found again by name (the newest set of that name), from any
    # process that reads this repository.
    loaded = p.load_set_by_name("pipeline-example")
    assert loaded.id == run_set.id
    print(f"\nset {loaded.name!r} ({loaded.id[:12]}) has {len(loaded)} artifacts:")
    for artifact in sorted(loaded.artifacts().values(), key=lambda a: a.name):
        print(f"  {artifact.name:<34} {artifact.id[:12]}")

    # A set can also be made from chosen artifacts, with labels to find it by.
    weights, metrics = max(results, key=lambda r: r[1]["accuracy"])
    best = p.create_set([weights, metrics], labels={"name": "best-model", "pipeline": "numpy"})
    print(f"set 'best-model' ({best.id[:12]}): accuracy {metrics['accuracy']:.3f}")

    # The drawing is built from the index: every upstream call and artifact
    # of the best score, with the literal arguments of each call.
    os.makedirs(out_dir, exist_ok=True)
    svg = p.visualize_lineage(metrics).render(
        os.path.join(out_dir, "lineage"), format="svg", cleanup=True
    )
    print(f"lineage of the best score drawn to {svg}")


if __name__ == "__main__":
    main()
