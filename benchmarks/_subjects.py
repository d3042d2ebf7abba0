"""The functions the benchmarks cache, and how each library is set up to cache them.

This module is imported under the same name (``_subjects``) by the benchmark
runner and by the fresh worker processes, so joblib and cachier (which key their
caches by module and function name) and provenance (by function name) find in
a worker what the runner stored.  It imports no caching library at module
level: each ``make_*`` imports its own, so a worker's import time is its own.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

#: How many times the wrapped functions really ran (a cache hit leaves it alone).
CALLS = 0

LIBS = ("provenance", "joblib", "cachier", "cachier_separate")
LABELS = {
    "provenance": "provenance",
    "joblib": "joblib.Memory",
    "cachier": "cachier",
    "cachier_separate": "cachier(separate_files)",
}


def small_fn(i: int, s: str, x: float) -> dict[str, Any]:
    """A function with small arguments and a small result."""
    global CALLS
    CALLS += 1
    return {"i": i, "s": s, "x": x, "items": [i, i * 2, i * 3]}


def array_fn(a: Any) -> dict[str, int]:
    """A function of a big array with a small result."""
    global CALLS
    CALLS += 1
    return {"n": int(a.shape[0])}


def kb_fn(i: int) -> bytes:
    """1 KB of deterministic pseudo-random bytes: a cache miss that costs almost nothing."""
    global CALLS
    CALLS += 1
    return random.Random(i).randbytes(1024)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "small_fn": small_fn,
    "array_fn": array_fn,
    "kb_fn": kb_fn,
}


def provenance_config(root: str) -> dict[str, Any]:
    """An SQLite index plus a disk blobstore under ``root``: the default repo's layout."""
    from provenance.config import default_config

    return default_config(root)


def make_cached(lib: str, root: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` cached by ``lib``, storing under ``root`` (each library in its own folder)."""
    if lib == "provenance":
        import provenance

        provenance.load_config(provenance_config(os.path.join(root, "provenance")))
        return provenance.provenance()(fn)  # type: ignore[no-any-return,unused-ignore]
    if lib == "joblib":
        import joblib

        return joblib.Memory(location=os.path.join(root, "joblib"), verbose=0).cache(fn)
    if lib in ("cachier", "cachier_separate"):
        from cachier import cachier

        return cachier(  # type: ignore[no-any-return,unused-ignore]
            backend="pickle",
            cache_dir=os.path.join(root, lib),
            separate_files=lib == "cachier_separate",
        )(fn)
    raise ValueError(f"unknown library {lib!r}; known: {', '.join(LIBS)}")


def unwrap(value: Any) -> Any:
    """The plain value of a result (provenance returns a proxy of it)."""
    return getattr(value, "__wrapped__", value)


def time_small_calls(fn: Callable[..., Any], n: int) -> tuple[list[float], list[int]]:
    """Call ``fn(i, "abc", 2.5)`` for ``i < n``: the seconds of each call, and the wrong ``i``.

    What the hit workers time; a result whose ``i`` is not the call's is wrong.
    """
    import time

    clock = time.perf_counter
    call_s = []
    results = []
    for i in range(n):
        t = clock()
        r = fn(i, "abc", 2.5)
        call_s.append(clock() - t)
        results.append(r)
    return call_s, [i for i, r in enumerate(results) if unwrap(r)["i"] != i]
