"""Index lookups: does a cache hit slow down as the index grows?"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import _index_fill
from _harness import Context, Figure, Row, alternate, benchmark, median

_US = 1e6


def _build(ctx: Context, n: int, template: dict[str, Any]) -> tuple[str, list[str], float]:
    """An SQLite index of ``n`` artifacts: its path, its ids and the seconds it took."""
    from provenance.storage.index import SqlIndex

    path = os.path.join(ctx.tmpdir, f"index-{n}.db")
    t0 = time.perf_counter()
    index = SqlIndex("sqlite:///" + path)
    maker = _index_fill.RowMaker(index.engine, template)
    ids = _index_fill.random_ids(n)
    _index_fill.bulk_load(index, _index_fill.small_call_rows(maker, ids), maker)
    return path, ids, time.perf_counter() - t0


@benchmark("index_scale")
def index_scale(ctx: Context) -> list[Row]:
    """Repository.lookup of random existing ids: 1,000,000 artifacts indexed vs 1,000 (us)."""
    from provenance import MemoryStore, Repository
    from provenance.storage.index import SqlIndex

    big = ctx.pick(1_000_000, 100_000)
    small = 1_000
    lookups = ctx.pick(5_000, 2_000)
    template = _index_fill.template_row()
    built = {}
    for n in (small, big):
        built[n] = _build(ctx, n, template)
        size = _index_fill.db_size(built[n][0])
        ctx.log(f"  {n:,} artifacts indexed in {built[n][2]:.1f} s ({size / 2**20:.0f} MB)")

    # Each index is read through a fresh SqlIndex with its ordinary settings,
    # as a user's process would (the blobstore is never touched by a lookup).
    repos = {n: Repository(SqlIndex("sqlite:///" + built[n][0]), MemoryStore()) for n in built}
    rng = random.Random(0)
    misses: dict[int, list[float]] = {n: [] for n in built}

    def side(n: int) -> Any:
        repo = repos[n]
        ids = built[n][1]

        def run() -> float:
            sample = [rng.choice(ids) for _ in range(lookups)]
            absent = _index_fill.random_ids(lookups // 5)
            lookup = repo.lookup
            t0 = time.perf_counter()
            for artifact_id in sample:
                if lookup(artifact_id) is None:
                    raise RuntimeError(f"artifact {artifact_id} was not found")
            elapsed = time.perf_counter() - t0
            t0 = time.perf_counter()
            for artifact_id in absent:
                if lookup(artifact_id) is not None:
                    raise RuntimeError("a random id was found")
            misses[n].append((time.perf_counter() - t0) / len(absent) * _US)
            return elapsed / lookups * _US

        return run

    # The warm-up round opens each index and reads its upper pages once.
    samples = alternate(ctx.rounds, {str(n): side(n) for n in (small, big)}, warmup=1)
    ours = samples[str(big)]
    theirs = samples[str(small)]
    miss_big = median(misses[big][1:])
    miss_small = median(misses[small][1:])
    big_mb = _index_fill.db_size(built[big][0]) / 2**20
    for repo in repos.values():
        repo.index.engine.dispose()
    return [
        Row(
            "index_lookup",
            f"itself, {small:,} artifacts",
            Figure(median(ours), "us/lookup", ours),
            Figure(median(theirs), "us/lookup", theirs),
            0.5,
            "<= 2x slower",
            f"Repository.lookup of {lookups:,} random existing ids per round in an SQLite "
            f"index of {big:,} artifacts ({big_mb:.0f} MB, built in {built[big][2]:.0f} s) "
            f"vs {small:,}; absent ids {miss_big:.0f} vs {miss_small:.0f} us",
            extra={
                "big": big,
                "small": small,
                "lookups_per_round": lookups,
                "db_mb": big_mb,
                "build_seconds": built[big][2],
                "miss_us": {"big": misses[big][1:], "small": misses[small][1:]},
            },
        )
    ]
