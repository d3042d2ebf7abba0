"""The decorated functions of the distributed example (importable by the workers)."""

from __future__ import annotations

import time

import provenance as p


@p.provenance(version=1)
def simulate(seed: int, steps: int = 200_000) -> float:
    """Stand-in for an expensive simulation."""
    time.sleep(0.2)
    x = seed
    for _ in range(steps):
        x = (x * 1103515245 + 12345) % 2**31
    return x / 2**31


@p.provenance()
def summarize(results: list[float]) -> dict[str, float]:
    return {"n": len(results), "mean": sum(results) / len(results)}
