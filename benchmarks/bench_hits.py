"""Sustained cache hits with run recording on, in one process, against diskcache and joblib.

Issue 16, target 1: over 1,000,000 hits in one process, with lineage and the
recording of every call as a task of a run (the default), a hit must cost
at most diskcache's ``memoize`` hit, and at least 10x less than
``joblib.Memory``'s; repeated hits may add at most 16 bytes of index each.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import _subjects
from _harness import Context, Figure, Row, alternate, benchmark, info_row, limit_row, median, na_row

_US = 1e6
#: Distinct calls cycled through: every call after the first round is a hit.
DISTINCT = 100


def _index_bytes(root: str) -> int:
    # The SQLite file and its write-ahead log: what the index takes on disk.
    base = os.path.join(root, "provenance", "provenance.db")
    return sum(os.path.getsize(p) for p in (base, base + "-wal") if os.path.exists(p))


def _hits(fn: Any, n: int) -> float:
    """Seconds per call of ``n`` calls of ``fn`` cycling over ``DISTINCT`` argument sets."""
    t0 = time.perf_counter()
    for k in range(n):
        fn(k % DISTINCT, "abc", 2.5)
    return (time.perf_counter() - t0) / n


@benchmark("hits_sustained")
def hits_sustained(ctx: Context) -> list[Row]:
    """One process, SQLite + disk: 1,000,000 hits of 100 cached calls, recording on (us/hit)."""
    import provenance
    from provenance import recording

    per_round = ctx.pick(200_000, 20_000)
    joblib_per_round = ctx.pick(20_000, 2_000)
    root = tempfile.mkdtemp(prefix="hits-", dir=ctx.tmpdir)
    ours = _subjects.make_cached("provenance", root, _subjects.small_fn)
    for i in range(DISTINCT):
        ours(i, "abc", 2.5)
    recording.flush()
    sides: dict[str, Any] = {}

    def provenance_side() -> float:
        per_hit = _hits(ours, per_round)
        # The task writes are part of the cost: flushed, and counted, here.
        t0 = time.perf_counter()
        recording.flush()
        return per_hit + (time.perf_counter() - t0) / per_round

    sides["provenance"] = provenance_side
    peers: dict[str, str] = {}
    try:
        import diskcache

        cache = diskcache.Cache(os.path.join(root, "diskcache"))
        theirs = cache.memoize()(_subjects.small_fn)
        for i in range(DISTINCT):
            theirs(i, "abc", 2.5)
        sides["diskcache"] = lambda: _hits(theirs, per_round)
    except ImportError as exc:
        peers["diskcache"] = f"diskcache is not installed ({exc})"
    try:
        jl = _subjects.make_cached("joblib", root, _subjects.small_fn)
        for i in range(DISTINCT):
            jl(i, "abc", 2.5)
        sides["joblib"] = lambda: _hits(jl, joblib_per_round)
    except ImportError as exc:
        peers["joblib"] = f"joblib is not installed ({exc})"

    before = _index_bytes(root)
    samples = alternate(ctx.rounds, sides)
    recording.flush()
    grown = _index_bytes(root) - before
    total_hits = per_round * ctx.rounds

    # Recording off, for the hottest loops: the same hits, no task at all.
    provenance.set_record_tasks(False)
    try:
        off = median([_hits(ours, per_round) for _ in range(ctx.rounds)])
    finally:
        provenance.set_record_tasks(True)

    ours_fig = Figure(median(samples["provenance"]) * _US, "us/hit",
                      [s * _US for s in samples["provenance"]])  # fmt: skip
    common = (
        f"{total_hits:,} hits in one process ({per_round:,} per round) of {DISTINCT} cached "
        f"small calls, every one recorded as a task of the implicit run (flushes counted)"
    )
    rows = []
    for peer, label, ratio, target in (
        ("diskcache", "diskcache memoize", 1.0, ">= 1x (no slower)"),
        ("joblib", "joblib.Memory", 10.0, ">= 10x faster"),
    ):
        if peer in peers:
            rows.append(na_row("hits_sustained", label, ours_fig, ratio, target, peers[peer]))
            continue
        theirs_fig = Figure(median(samples[peer]) * _US, "us/hit",
                            [s * _US for s in samples[peer]])  # fmt: skip
        n = per_round if peer == "diskcache" else joblib_per_round
        rows.append(
            Row("hits_sustained", label, ours_fig, theirs_fig, ratio, target,
                f"{common}; {label}: {n:,} hits per round; recording off: {off * _US:.1f} us/hit")
        )  # fmt: skip
    per_hit_bytes = max(grown, 0) / total_hits
    rows.append(
        limit_row(
            "hits_storage",
            Figure(max(per_hit_bytes, 1e-3), "B/hit"),
            16.0,
            "<= 16 bytes per repeated hit",
            f"the index (SQLite file + WAL) grew {grown:,} bytes over {total_hits:,} hits of "
            f"{DISTINCT} artifacts: one counted task row per artifact",
            grown_bytes=grown,
            hits=total_hits,
        )
    )
    rows.append(
        info_row(
            "hits_recording_off",
            Figure(off * _US, "us/hit"),
            f"provenance.set_record_tasks(False): the same {per_round:,} hits, no task recorded",
        )
    )
    return rows
