"""Decorated functions that the distributed tests run in worker processes.

They live in a module of their own so that workers can import them by name.
Each appends to ``log`` when it really runs (``log`` is left out of the id).
"""

from __future__ import annotations

import os
from typing import Any

import provenance as p


def _record(log: str, what: str) -> None:
    with open(log, "a") as f:
        f.write(f"{what} {os.getpid()}\n")


@p.provenance(ignore=["log"])
def square(i: int, log: str) -> int:
    _record(log, f"square({i})")
    return i * i


@p.provenance(ignore=["log"])
def total(values: list[Any], log: str) -> int:
    _record(log, "total")
    return sum(values)


def runs(log: str) -> list[str]:
    """What ran, in any process."""
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [line.split()[0] for line in f]
