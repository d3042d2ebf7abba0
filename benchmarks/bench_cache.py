"""Cache hits and misses: provenance against joblib.Memory and cachier."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import _subjects
from _harness import BENCH_DIR, Context, Figure, Row, alternate, benchmark, median, na_row

_WORKER = os.path.join(BENCH_DIR, "_hit_worker.py")
_US = 1e6
_MS = 1e3


def run_worker(
    lib: str, root: str, n: int, mode: str, profile: str | None = None
) -> dict[str, Any]:
    """Run ``_hit_worker.py`` in a fresh interpreter and return its JSON report."""
    cmd = [sys.executable, _WORKER, lib, root, str(n), mode]
    if profile:
        cmd += ["--profile", profile]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=BENCH_DIR, timeout=600)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{lib} {mode} worker exited with {proc.returncode}: {tail}")
    report: dict[str, Any] = json.loads(proc.stdout)
    want = n if mode == "populate" else 0
    if report["ran"] != want:
        hint = (
            " (the ids differ from the populating process: did the library's code change"
            " during the run, or is hashing not deterministic across processes?)"
            if mode == "hit"
            else ""
        )
        raise RuntimeError(
            f"{lib} {mode}: the function ran {report['ran']} times, expected {want}{hint}"
        )
    return report


# -- 1. cache hit in a fresh process, small arguments ------------------------------------


@benchmark("cache_hit_small")
def cache_hit_small(ctx: Context) -> list[Row]:
    """Fresh process, SQLite + disk: hit each of 1,000 cached small calls once (us per call)."""
    n = ctx.pick(1000, 200)
    root = tempfile.mkdtemp(prefix="hit_small-", dir=ctx.tmpdir)
    target = ">= 5x faster"

    usable: list[str] = []
    skipped: dict[str, str] = {}
    populate_us: dict[str, float] = {}
    for lib in _subjects.LIBS:
        t0 = time.perf_counter()
        try:
            report = run_worker(lib, root, n, "populate")
        except Exception as exc:  # a peer that cannot run is reported, not fatal
            if lib == "provenance":
                raise
            skipped[lib] = str(exc)
            ctx.log(f"  {lib}: n/a ({exc})")
            continue
        populate_us[lib] = sum(report["call_s"]) / n * _US
        usable.append(lib)
        ctx.log(f"  populated {lib}: {n} misses in {time.perf_counter() - t0:.1f} s")

    reports: dict[str, list[dict[str, Any]]] = {lib: [] for lib in usable}

    def side(lib: str) -> Any:
        def run() -> float:
            report = run_worker(lib, root, n, "hit")
            reports[lib].append(report)
            return sum(report["call_s"]) / n

        return run

    # One discarded warm-up round: every side then reads its files from a warm page
    # cache.  Not with --quick, to keep it short (populating just wrote the files).
    warmup = ctx.pick(1, 0)
    alternate(ctx.rounds, {lib: side(lib) for lib in usable}, warmup=warmup)

    def summary(lib: str) -> dict[str, Any]:
        rs = reports[lib][warmup:]  # drop the warm-up
        return {
            "per_call_us": median([sum(r["call_s"]) / n * _US for r in rs]),
            "setup_ms": median([r["setup_s"] * _MS for r in rs]),
            "first_ms": median([r["call_s"][0] * _MS for r in rs]),
            "steady_us": median([statistics.median(r["call_s"][1:]) * _US for r in rs]),
            "samples_us": [sum(r["call_s"]) / n * _US for r in rs],
        }

    ours = summary("provenance")
    ours_fig = Figure(ours["per_call_us"], "us/call", ours["samples_us"])
    rows = []
    for lib in _subjects.LIBS[1:]:
        label = _subjects.LABELS[lib]
        if lib in skipped:
            rows.append(na_row("cache_hit_small", label, ours_fig, 5.0, target, skipped[lib]))
            continue
        theirs = summary(lib)
        notes = (
            f"{n} calls; import+config {ours['setup_ms']:.0f} vs {theirs['setup_ms']:.0f} ms; "
            f"first call {ours['first_ms']:.2f} vs {theirs['first_ms']:.2f} ms; "
            f"steady state {ours['steady_us']:.0f} vs {theirs['steady_us']:.0f} us/call "
            f"({theirs['steady_us'] / ours['steady_us']:.2f}x)"
        )
        rows.append(
            Row(
                "cache_hit_small",
                label,
                ours_fig,
                Figure(theirs["per_call_us"], "us/call", theirs["samples_us"]),
                5.0,
                target,
                notes,
                extra={
                    "n": n,
                    "provenance": ours,
                    "peer": theirs,
                    "populate_us_per_call": {
                        "provenance": populate_us["provenance"],
                        lib: populate_us[lib],
                    },
                },
            )
        )
    return rows


# -- 2. cache hit with a big array argument, in process ---------------------------------


@benchmark("cache_hit_big_array")
def cache_hit_big_array(ctx: Context) -> list[Row]:
    """In process: a cached call whose argument is a 256 MB float64 array (ms per call)."""
    import numpy as np

    mb = ctx.pick(256, 32)
    root = tempfile.mkdtemp(prefix="hit_array-", dir=ctx.tmpdir)
    arr = np.random.default_rng(0).random(mb * (1 << 20) // 8)
    fns = {
        lib: _subjects.make_cached(lib, root, _subjects.array_fn)
        for lib in ("provenance", "joblib")
    }
    for fn in fns.values():  # the warm-up call stores the result in both caches
        fn(arr)
    ran = _subjects.CALLS

    def side(lib: str) -> Any:
        fn = fns[lib]

        def run() -> float:
            t0 = time.perf_counter()
            r = fn(arr)
            elapsed = time.perf_counter() - t0
            if _subjects.unwrap(r)["n"] != arr.shape[0]:
                raise RuntimeError(f"{lib} returned a wrong result")
            return elapsed

        return run

    samples = alternate(ctx.rounds, {lib: side(lib) for lib in fns})
    if ran != _subjects.CALLS:
        raise RuntimeError("a timed call was not a cache hit")
    ours = [s * _MS for s in samples["provenance"]]
    theirs = [s * _MS for s in samples["joblib"]]
    ours_rate = mb / 1024 / (median(ours) / _MS)
    theirs_rate = mb / 1024 / (median(theirs) / _MS)
    return [
        Row(
            "cache_hit_big_array",
            "joblib.Memory",
            Figure(median(ours), "ms/call", ours),
            Figure(median(theirs), "ms/call", theirs),
            10.0,
            ">= 10x faster",
            f"{mb} MB float64 argument; {ours_rate:.1f} vs {theirs_rate:.2f} GB/s",
            extra={"mb": mb},
        )
    ]


# -- 3. cache miss overhead -------------------------------------------------------------


@benchmark("cache_miss_overhead")
def cache_miss_overhead(ctx: Context) -> list[Row]:
    """In process: 300 distinct calls returning 1 KB each, all misses (us per miss)."""
    n = ctx.pick(300, 100)
    root = tempfile.mkdtemp(prefix="miss-", dir=ctx.tmpdir)
    fns = {
        lib: _subjects.make_cached(lib, root, _subjects.kb_fn) for lib in ("provenance", "joblib")
    }
    next_arg = {lib: 0 for lib in fns}

    def side(lib: str) -> Any:
        fn = fns[lib]

        def run() -> float:
            # Each round calls with arguments never seen before: every call is a miss.
            start = next_arg[lib]
            next_arg[lib] += n
            before = _subjects.CALLS
            t0 = time.perf_counter()
            for i in range(start, start + n):
                fn(i)
            elapsed = time.perf_counter() - t0
            if _subjects.CALLS - before != n:
                raise RuntimeError(f"{lib}: {n} calls with new arguments were not all misses")
            return elapsed / n

        return run

    # The warm-up round pays for each library's one-time work (opening the index,
    # joblib's function-code check) so that rounds measure misses only.
    samples = alternate(ctx.rounds, {lib: side(lib) for lib in fns}, warmup=1)
    bare = min(_timeit_bare(n) for _ in range(3)) * _US
    ours = [s * _US for s in samples["provenance"]]
    theirs = [s * _US for s in samples["joblib"]]
    return [
        Row(
            "cache_miss_overhead",
            "joblib.Memory",
            Figure(median(ours), "us/miss", ours),
            Figure(median(theirs), "us/miss", theirs),
            1.0,
            ">= 1x (no slower)",
            f"{n} misses per round, 1 KB results; the function alone takes {bare:.1f} us",
            extra={"n": n, "bare_fn_us": bare},
        )
    ]


def _timeit_bare(n: int) -> float:
    """Seconds per call of the uncached function (its calls are not counted)."""
    t0 = time.perf_counter()
    for i in range(n):
        _subjects.kb_fn(i)
    elapsed = time.perf_counter() - t0
    _subjects.CALLS -= n
    return elapsed / n
