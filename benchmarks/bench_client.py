"""The client view: do the latest run and tag filters slow down as a flow grows?"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from _harness import Context, Figure, Row, alternate, benchmark, median

_US = 1e6


def _fill(ctx: Context, runs: int) -> Any:
    """An SQLite repo whose flow ``Bench`` has ``runs`` runs (every 100th tagged ``rare``)."""
    from sqlalchemy import insert

    from provenance import MemoryStore, Repository
    from provenance.storage.index import SqlIndex
    from provenance.storage.models import RunRow, RunTag

    index = SqlIndex("sqlite:///" + os.path.join(ctx.tmpdir, f"runs-{runs}.db"))
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rows = [
        {
            "flow": "Bench", "run_number": n, "user": "bench",
            "status": "failed" if n % 7 == 0 else "successful", "implicit": False,
            "created_at": start + timedelta(seconds=n), "finished_at": None, "info": None,
        }
        for n in range(1, runs + 1)
    ]  # fmt: skip
    tags = []
    for n in range(1, runs + 1):
        tags.append({"run_id": n, "tag": "user:bench", "system": True})
        if n % 100 == 0:
            tags.append({"run_id": n, "tag": "rare", "system": False})
    with index.engine.begin() as conn:
        conn.execute(insert(RunRow.__table__), rows)
        conn.execute(insert(RunTag.__table__), tags)
    return Repository(index, MemoryStore())


@benchmark("client_scale")
def client_scale(ctx: Context) -> list[Row]:
    """Flow.latest_run, latest_successful_run and runs('rare'): 10,000 runs vs 100 (us)."""
    from provenance import client

    big, small = 10_000, 100
    repeats = ctx.pick(300, 100)
    t0 = time.perf_counter()
    repos = {n: _fill(ctx, n) for n in (small, big)}
    ctx.log(f"  flows of {small:,} and {big:,} runs built in {time.perf_counter() - t0:.1f} s")
    client.namespace("user:bench")

    def side(n: int) -> Any:
        repo = repos[n]

        def run() -> float:
            t0 = time.perf_counter()
            for _ in range(repeats):
                flow = client.Flow("Bench", _repo=repo)
                latest = flow.latest_run
                good = flow.latest_successful_run
                rare = next(flow.runs("rare"))
            elapsed = time.perf_counter() - t0
            if latest is None or good is None or int(rare.id) != n:
                raise RuntimeError("wrong runs found")
            return elapsed / repeats * _US

        return run

    try:
        samples = alternate(ctx.rounds, {str(n): side(n) for n in (small, big)}, warmup=1)
    finally:
        client.namespace(None)
        client.default_namespace()
        for repo in repos.values():
            repo.index.engine.dispose()
    ours, theirs = samples[str(big)], samples[str(small)]
    return [
        Row(
            "client_latest_run",
            f"itself, {small:,} runs",
            Figure(median(ours), "us/query set", ours),
            Figure(median(theirs), "us/query set", theirs),
            0.5,
            "<= 2x slower",
            f"Flow(...) + latest_run + latest_successful_run + first of runs('rare') "
            f"in a namespace, on a flow of {big:,} runs vs {small:,} (SQLite)",
            extra={"big": big, "small": small, "repeats": repeats},
        )
    ]
