"""The flow the ``client_fresh`` benchmark has Metaflow run: its artifacts tutorial's shape.

``start`` sets ``self.x`` from the parameter ``n``, ``middle`` updates it,
``end`` only finishes; so the run started with ``--n 3`` has ``data.x ==
[3, 4, 6]``, as the run ``F/3`` that provenance records in
``_client_worker.py fill``.  Run by the benchmark, with Metaflow's local
datastore and metadata, in a temporary directory::

    python benchmarks/_metaflow_art_flow.py --quiet --no-pylint run --n 3 --run-id-file id.txt

The class is named ``F``: Metaflow names the flow after it.
"""

from metaflow import FlowSpec, Parameter, step


class F(FlowSpec):
    """Three steps; ``x`` is set in ``start`` and updated in ``middle``."""

    n = Parameter("n", default=0, type=int, help="which run this is (x starts at n)")

    @step
    def start(self) -> None:
        self.x = [self.n, self.n + 1, self.n + 2]
        self.next(self.middle)

    @step
    def middle(self) -> None:
        self.x = [*self.x[:2], self.x[2] + 1]
        self.next(self.end)

    @step
    def end(self) -> None:
        pass


if __name__ == "__main__":
    F()
