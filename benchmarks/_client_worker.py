"""Run in a fresh process for the ``client_fresh`` benchmark: one client read, or the fill.

Usage::

    python benchmarks/_client_worker.py provenance|metaflow data RUN_ID
    python benchmarks/_client_worker.py provenance|metaflow latest
    python benchmarks/_client_worker.py fill N

``data`` imports the library's client and reads ``Run('F/RUN_ID').data.x``;
``latest`` reads ``Flow('F').latest_run`` and its id.  Both libraries find
their store as a user's script would, from the working directory (``.provenance``
and ``.metaflow``), and read in their default namespace (``user:$USER``, the
same user that recorded the runs).  The value read is printed on stdout, for
the benchmark to check.

``fill`` records N runs of the flow ``F`` through provenance in one process:
``with provenance.run("F"):`` around three decorated steps of Metaflow's
artifacts-tutorial shape (``start(n)`` sets ``x``, ``middle`` updates it,
``end`` reads it), so run ``F/3`` has ``data.x == [3, 4, 6]``, as the
Metaflow run of ``_metaflow_art_flow.py --n 3``.

Prints, on stderr, the seconds from the top of this script to the end (after
the interpreter started) as ``in-process: S`` and the seconds the client's
import took as ``import: S``: the benchmark times the whole process and
reports these shares in its details.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import sys  # noqa: E402
from typing import Any  # noqa: E402

FLOW = "F"


def fill(runs: int) -> None:
    """Record ``runs`` runs of the flow ``F`` in the default repo (``./.provenance``)."""
    import provenance as p

    @p.provenance(returns_composite=True)
    def start(n: int) -> dict[str, list[int]]:
        return {"x": [n, n + 1, n + 2]}

    @p.provenance(returns_composite=True)
    def middle(x: list[int]) -> dict[str, list[int]]:
        # A new list: changing an input in place would change the artifact it came from.
        return {"x": [*x[:2], x[2] + 1]}

    @p.provenance()
    def end(x: list[int]) -> int:
        return len(x)

    for n in range(1, runs + 1):
        with p.run(FLOW) as run:
            state = start(n)
            state = middle(state["x"])
            end(state["x"])
        if run.id != str(n):
            raise RuntimeError(f"run {n} of {FLOW} was recorded as {run.pathspec}")


def read(lib: str, mode: str, run_id: str | None) -> tuple[Any, float]:
    """Import ``lib``'s client and read; returns what was read and the import's seconds."""
    t0 = time.perf_counter()
    if lib == "provenance":
        from provenance.client import Flow, Run
    elif lib == "metaflow":
        from metaflow import Flow, Run  # type: ignore[no-redef]
    else:
        raise ValueError(f"unknown library {lib!r}; known: provenance, metaflow")
    imported = time.perf_counter() - t0
    if mode == "data":
        return Run(f"{FLOW}/{run_id}").data.x, imported
    if mode == "latest":
        return Flow(FLOW).latest_run.id, imported
    raise ValueError(f"unknown mode {mode!r}; known: data, latest")


def main(argv: list[str]) -> int:
    if argv[0] == "fill":
        fill(int(argv[1]))
        imported = 0.0
    else:
        value, imported = read(argv[0], argv[1], argv[2] if len(argv) > 2 else None)
        print(value)
    print(f"in-process: {time.perf_counter() - _T0:.6f}", file=sys.stderr)
    print(f"import: {imported:.6f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
