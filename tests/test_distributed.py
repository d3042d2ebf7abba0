"""Decorated functions in joblib (loky) and Dask worker processes share the parent's repo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_config, sqlite_config

import provenance as p

TESTS = str(Path(__file__).resolve().parent)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared(
    request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A repo configured in the parent only: SQLite + disk, or PostgreSQL + disk."""
    # Workers import the task module by name.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([TESTS, os.environ.get("PYTHONPATH", "")]))
    if request.param == "sqlite":
        config = sqlite_config(str(tmp_path / "shared"))
    else:
        url = request.getfixturevalue("postgres_url")
        config = postgres_config(url, str(tmp_path / "shared"))
    cfg = p.load_config(config)
    return {"repo": cfg.repos["local"], "log": str(tmp_path / "runs.log"), "tmp": tmp_path}


def check_round_trip(shared: dict[str, Any], run_many: Any) -> None:
    import distributed_tasks as t

    log = shared["log"]
    t.square(3, log)  # computed in the parent: a cache hit in the workers
    squares = run_many(t.square, [(i, log) for i in range(6)])
    assert squares == [i * i for i in range(6)]
    assert all(p.is_proxy(s) for s in squares)
    assert sorted(t.runs(log)) == sorted(f"square({i})" for i in range(6))  # 3 ran once
    pids = {line.split()[1] for line in open(log)}  # noqa: SIM115
    assert len(pids) >= 2  # the parent and at least one worker
    # Values computed in workers are cache hits in the parent, from the same repo.
    for i in range(6):
        assert t.square.in_cache(i, log)
    again = t.square(4, log)
    assert t.runs(log).count("square(4)") == 1
    assert again.artifact.id == squares[4].artifact.id
    # Proxies sent to a worker keep their lineage.
    [summed] = run_many(t.total, [(squares, log)])
    assert summed == sum(i * i for i in range(6))
    assert set(summed.artifact.input_artifact_ids) == {s.artifact.id for s in squares}
    assert summed.artifact.id in shared["repo"]
    # The workers never built a default repo of their own.
    assert not (shared["tmp"] / "home").exists()
    assert not (shared["tmp"] / ".provenance").exists()


@pytest.mark.slow
def test_joblib_loky_workers(shared: dict[str, Any]) -> None:
    from joblib import Parallel, delayed

    def run_many(fn: Any, calls: list[tuple[Any, ...]]) -> list[Any]:
        with Parallel(n_jobs=2, backend="loky") as parallel:
            return list(parallel(delayed(fn)(*args) for args in calls))

    check_round_trip(shared, run_many)


@pytest.mark.slow
def test_joblib_workers_follow_using_repo(shared: dict[str, Any], tmp_path: Any) -> None:
    import distributed_tasks as t
    from joblib import Parallel, delayed

    other = p.load_config(
        {**sqlite_config(str(tmp_path / "other")), "default_repo": "local"}
    ).repos["local"]
    p.load_config(sqlite_config(str(tmp_path / "shared")))
    with p.using_repo(other):
        results = Parallel(n_jobs=2, backend="loky")(
            delayed(t.square)(i, shared["log"]) for i in range(3)
        )
    assert all(r.artifact.id in other for r in results)
    assert not any(r.artifact.id in p.get_default_repo() for r in results)


@pytest.mark.slow
def test_dask_local_cluster_workers(shared: dict[str, Any]) -> None:
    distributed = pytest.importorskip("distributed")

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):

        def run_many(fn: Any, calls: list[tuple[Any, ...]]) -> list[Any]:
            futures = [client.submit(fn, *args, pure=False) for args in calls]
            return list(client.gather(futures))

        check_round_trip(shared, run_many)


@pytest.mark.slow
def test_worker_calls_are_tasks_of_the_callers_run(shared: dict[str, Any]) -> None:
    import distributed_tasks as t
    from joblib import Parallel, delayed

    from provenance.client import Flow, Metaflow, Run

    log = shared["log"]
    with p.run("Workers", tags=["parallel"]) as r:
        t.square(0, log)  # in the parent
        Parallel(n_jobs=2, backend="loky")(delayed(t.square)(i, log) for i in range(6))
    # Written by the workers before their results came back: complete at once.
    step = Run(r.pathspec)["square"]
    tasks = list(step)
    assert len(tasks) == 7
    assert sorted(int(x.id) for x in tasks) == list(range(1, 8))
    assert sorted(x.data.square for x in tasks) == sorted([0] + [i * i for i in range(6)])
    assert sum(x.cached for x in tasks) == 1  # square(0) again, in a worker
    # Outside an explicit run, worker calls join the parent's implicit run:
    # the workers open no runs of their own.
    Parallel(n_jobs=2, backend="loky")(delayed(t.square)(i, log) for i in range(6, 9))
    p.recording.flush()
    flows = {f.id for f in Metaflow()}
    assert "Workers" in flows and len(flows) == 2, flows
    (implicit_flow,) = flows - {"Workers"}
    (implicit,) = list(Flow(implicit_flow))
    assert sorted(x.data.square for x in implicit["square"]) == [36, 49, 64]
