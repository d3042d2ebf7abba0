"""Decorate an expensive function, call it twice, and load the result back by id.

Run it from anywhere::

    python examples/basic/basic_example.py

Artifacts go to ``.provenance/`` in the current directory (or
``$PROVENANCE_HOME``).  Run the script again: this time even the first call is
served from the cache, because the repository is on disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import provenance as p

runs: list[int] = []  # the calls that really ran (not served from the cache)


@p.provenance(version=1)
def expensive_sum(n: int, power: int = 2) -> int:
    """Stand-in for a slow computation (a model fit, a big query)."""
    runs.append(n)
    time.sleep(1.0)
    return sum(i**power for i in range(n))


@p.provenance()
def report(total: int, label: str = "sum of squares") -> str:
    return f"{label}: {total}"


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def main() -> None:
    first, t1 = timed(expensive_sum, 1_000_000)
    second, t2 = timed(expensive_sum, 1_000_000, power=2)  # the same call, spelled differently
    print(f"first call:  {t1 * 1000:8.1f} ms  ({'computed' if runs else 'served from the cache'})")
    print(f"second call: {t2 * 1000:8.1f} ms  (served from the cache)")
    assert second.artifact.id == first.artifact.id
    assert len(runs) <= 1, "the second call must not run the function"

    text = report(first)  # passing a proxy records lineage
    art = text.artifact
    print(f"artifact {first.artifact.id}: value_id={first.artifact.value_id}")
    print(f"{art.name} depends on {art.input_artifact_ids}")

    # The id is all another process (or a colleague with the same repo)
    # needs to get the value back, with its metadata and lineage.
    again = p.load_proxy(first.artifact.id)
    print(f"loaded back by id: {again} (same value: {again == first})")
    command = f"import provenance as p; print(p.load_proxy('{first.artifact.id}'))"
    print(f'from another process: python -c "{command}"')
    print(
        "The second run was served from the cache."
        if len(runs) == 1
        else "Both calls were served from the cache (the repository is on disk)."
    )


if __name__ == "__main__":
    main()
