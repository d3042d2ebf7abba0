"""A small pipeline of decorated functions; the docs build draws its lineage.

Run it as a script to draw ``lineage.svg`` in the current directory::

    python docs/examples/lineage_pipeline.py
"""

import random

import provenance as p


@p.provenance(version=1)
def load_data(n_rows, seed=0):
    rng = random.Random(seed)
    xs = [rng.uniform(0, 10) for _ in range(n_rows)]
    return [(x, 3.0 * x + 1.0 + rng.gauss(0, 0.5)) for x in xs]


@p.provenance(returns_composite=True)
def split(data, test_fraction=0.25):
    n_test = int(len(data) * test_fraction)
    return {"train": data[n_test:], "test": data[:n_test]}


@p.provenance(version=2)
def fit(train, ridge=0.0):
    n = len(train)
    mx = sum(x for x, _ in train) / n
    my = sum(y for _, y in train) / n
    sxy = sum((x - mx) * (y - my) for x, y in train)
    sxx = sum((x - mx) ** 2 for x, _ in train) + ridge
    slope = sxy / sxx
    return {"slope": slope, "intercept": my - slope * mx}


@p.provenance()
def evaluate(model, test):
    errors = [(model["slope"] * x + model["intercept"] - y) ** 2 for x, y in test]
    return {"mse": sum(errors) / len(errors), "n": len(errors)}


def run_pipeline():
    data = load_data(200)
    parts = split(data, test_fraction=0.25)
    model = fit(parts["train"], ridge=0.1)
    return evaluate(model, parts["test"])


if __name__ == "__main__":
    score = run_pipeline()
    print(score)
    p.visualize_lineage(score).render("lineage", format="svg", cleanup=True)
