"""Run in a fresh process for the start-up benchmark: one cached call, a fill, or a raw listing.

Usage::

    python benchmarks/_startup_worker.py LIB ROOT populate|hit
    python benchmarks/_startup_worker.py provenance ROOT fill N
    python benchmarks/_startup_worker.py sqlite-ls DB_PATH

``LIB`` is ``provenance`` (the default layout: an SQLite index and a disk
blobstore under ``ROOT``, as ``default_config`` makes it), ``joblib``
(``joblib.Memory``) or ``diskcache`` (``Cache(...).memoize()``).  ``populate``
computes ``small_fn(1)`` once; ``hit`` imports the library, opens its cache
and calls ``small_fn(1)``, which must come from the cache (exit status 3 if
it ran).  ``fill`` computes ``small_fn(i)`` for ``i < N`` (the repo that
``provenance ls`` lists).  ``sqlite-ls`` is the floor of ``provenance ls``:
the same rows, read with :mod:`sqlite3` and printed as a table.

Prints the seconds from the top of this script to the end (after the
interpreter started) on stderr, as ``in-process: S``: the benchmark times
the whole process and reports this share in its details.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

#: How many times small_fn really ran in this process (a hit leaves it at 0).
CALLS = 0


def small_fn(i: int) -> dict[str, Any]:
    """A small cached function: small argument, small result."""
    global CALLS
    CALLS += 1
    return {"i": i, "items": [i, i * 2, i * 3]}


def cached(lib: str, root: str) -> Callable[..., Any]:
    """``small_fn`` cached by ``lib`` under ``root``: import, open the cache, wrap."""
    if lib == "provenance":
        import provenance
        from provenance.config import default_config

        provenance.load_config(default_config(root))
        return provenance.provenance()(small_fn)  # type: ignore[no-any-return,unused-ignore]
    if lib == "joblib":
        import joblib

        return joblib.Memory(location=root, verbose=0).cache(small_fn)
    if lib == "diskcache":
        import diskcache

        return diskcache.Cache(root).memoize()(small_fn)  # type: ignore[no-any-return]
    raise ValueError(f"unknown library {lib!r}; known: provenance, joblib, diskcache")


def sqlite_ls(db_path: str, limit: int = 50) -> None:
    """Print the newest ``limit`` artifacts as ``provenance ls`` does, with sqlite3 alone."""
    import sqlite3

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT id, name, version, size, computed_at FROM artifacts "
        "ORDER BY computed_at DESC, id LIMIT ?",
        (limit + 1,),
    ).fetchall()
    cells = [("ID", "NAME", "VERSION", "SIZE", "COMPUTED AT")]
    cells += [(i[:12], n, str(v), f"{s} B", str(t)[:19]) for i, n, v, s, t in rows[:limit]]
    widths = [max(len(row[c]) for row in cells) for c in range(5)]
    print("\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells))
    if len(rows) > limit:
        print(f"(the newest {limit} shown; --limit 0 lists them all)", file=sys.stderr)


def main(argv: list[str]) -> int:
    if argv[0] == "sqlite-ls":
        sqlite_ls(argv[1])
    else:
        lib, root, mode = argv[:3]
        fn = cached(lib, os.path.join(root, lib))
        if mode == "fill":
            for i in range(int(argv[3])):
                fn(i)
        else:
            result = fn(1)
            # provenance hands out a proxy of the value: compare the value itself.
            if getattr(result, "__wrapped__", result) != {"i": 1, "items": [1, 2, 3]}:
                print(f"{lib}: small_fn(1) returned {result!r}", file=sys.stderr)
                return 2
            if mode == "hit" and CALLS:
                print(f"{lib}: small_fn(1) ran on what should be a hit", file=sys.stderr)
                return 3
    print(f"in-process: {time.perf_counter() - _T0:.6f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
