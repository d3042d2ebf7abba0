"""A small training pipeline as a flow: load, featurize in a foreach, train, evaluate.

    python examples/flows/train_flow.py run --rows 5000
    python examples/flows/train_flow.py run --rows 5000     # every task is a hit
    python examples/flows/train_flow.py run --rows 5000 --max-workers 2
    python examples/flows/train_flow.py show

Each featurizer is a foreach task, trained and scored on held-out rows; the
join keeps the best.  Change one featurizer's code and run again: the
featurize tasks run again (they share the step's code), and a train task
whose features come out the same as before is a hit.
"""

from __future__ import annotations

import numpy as np

from provenance.flow import FlowSpec, Parameter, step


def linear(x: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(x)), x])


def quadratic(x: np.ndarray) -> np.ndarray:
    return np.column_stack([linear(x), x**2])


def fourier(x: np.ndarray) -> np.ndarray:
    return np.column_stack([quadratic(x), np.sin(3 * x), np.cos(3 * x)])


FEATURIZERS = {"linear": linear, "quadratic": quadratic, "fourier": fourier}


class TrainFlow(FlowSpec):
    """Fit least squares on three feature sets of synthetic data and keep the best."""

    rows = Parameter("rows", type=int, default=2000, help="rows of synthetic data")
    seed = Parameter("seed", type=int, default=0, help="the data's random seed")

    @step
    def start(self):
        """Load: synthetic data with a known signal and a little noise."""
        rng = np.random.default_rng(self.seed)
        self.x = rng.normal(size=(self.rows, 3))
        signal = 2 * self.x[:, 0] - self.x[:, 1] ** 2 + 0.5 * np.sin(3 * self.x[:, 2])
        self.y = signal + rng.normal(scale=0.1, size=self.rows)
        self.featurizers = list(FEATURIZERS)
        self.next(self.featurize, foreach="featurizers")

    @step
    def featurize(self):
        """One feature matrix per featurizer."""
        self.kind = self.input
        self.features = FEATURIZERS[self.kind](self.x)
        self.next(self.train)

    @step
    def train(self):
        """Least squares on the first 80% of the rows, scored on the rest."""
        split = int(0.8 * len(self.y))
        self.coef, *_ = np.linalg.lstsq(self.features[:split], self.y[:split], rcond=None)
        held_out = self.features[split:] @ self.coef - self.y[split:]
        self.rmse = float(np.sqrt(np.mean(held_out**2)))
        self.next(self.evaluate)

    @step
    def evaluate(self, inputs):
        """Keep the featurizer with the lowest held-out error."""
        self.scores = {i.kind: round(i.rmse, 4) for i in inputs}
        self.best = min(self.scores, key=self.scores.__getitem__)
        self.next(self.end)

    @step
    def end(self):
        """Report."""
        for kind, rmse in self.scores.items():
            print(f"{kind:>10}: held-out RMSE {rmse}")
        print(f"best: {self.best} on {self.rows} rows")


if __name__ == "__main__":
    TrainFlow()
