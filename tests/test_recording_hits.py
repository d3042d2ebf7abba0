"""Repeated cache hits are counted in one task row (issue 16, target 1).

The hits of one artifact by one step of a run are one task whose ``hits``
grows at each flush, so a loop of many hits writes a row per artifact, not
a row per hit; the client view still sees a cached task, its origin and its
count.  ``set_record_tasks(False)`` (or the config key ``record_tasks``)
records nothing at all.
"""

from __future__ import annotations

from typing import Any

import pytest

import provenance as p
from provenance import recording
from provenance.client import Run


def task_rows(repo: Any) -> list[tuple[Any, ...]]:
    recording.flush()
    with repo.index.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT step, task_number, cached, hits FROM tasks ORDER BY id"
        ).all()


def test_repeated_hits_are_one_task_with_a_count(repo: Any) -> None:
    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    with p.run("Hits") as r:
        for _ in range(1000):
            assert double(3) == 6
    step = Run(r.pathspec)["double"]
    computed, cached = sorted(step, key=lambda t: int(t.id))
    assert (computed.cached, computed.hits) == (False, 1)
    assert (cached.cached, cached.hits) == (True, 999)
    assert cached.artifact_id == computed.artifact_id
    assert cached.origin_pathspec == computed.pathspec
    assert cached.created_at <= cached.finished_at
    assert cached.metadata_dict["hits"] == 999
    assert "cached" in cached.tags and list(step.tasks("cached")) == [cached]


def test_hits_after_a_flush_are_added_to_the_same_row(disk_repo: Any) -> None:
    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    with p.run("Hits"):
        double(1)
        for _ in range(3):
            double(1)
        recording.flush()
        for _ in range(5):
            double(1)
        recording.flush()
        double(1)
    assert task_rows(disk_repo) == [("double", 1, False, 1), ("double", 2, True, 9)]


def test_tasks_are_numbered_in_the_order_the_calls_began(disk_repo: Any) -> None:
    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    double(1), double(2)  # computed, outside the run
    with p.run("Order"):
        double(2)  # a hit
        double(5)  # computed
        double(1)  # a hit
        double(2)  # counted with the first hit
    rows = task_rows(disk_repo)[2:]
    assert [(number, cached, hits) for _, number, cached, hits in rows] == [
        (1, True, 2),
        (2, False, 1),
        (3, True, 1),
    ]


def test_hits_in_two_runs_are_two_tasks(disk_repo: Any) -> None:
    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    double(1)
    with p.run("A") as a:
        double(1), double(1)
    with p.run("A") as b:
        double(1)
    assert [t.hits for t in Run(a.pathspec)["double"]] == [2]
    assert [t.hits for t in Run(b.pathspec)["double"]] == [1]


def test_a_counted_row_deleted_meanwhile_is_written_again(disk_repo: Any) -> None:
    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    double(1)
    with p.run("Gone"):
        double(1), double(1)
        recording.flush()
        with disk_repo.index.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM tasks WHERE cached")
        double(1)
    assert [row[2:] for row in task_rows(disk_repo)] == [(False, 1), (True, 1)]


def test_threads_hitting_together_lose_no_count(disk_repo: Any) -> None:
    import threading

    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    double(1)

    def hit() -> None:
        for i in range(2000):
            double(1)
            if i % 500 == 0:
                recording.flush()

    with p.run("Threads") as r:
        threads = [threading.Thread(target=hit) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sum(t.hits for t in Run(r.pathspec)["double"] if t.cached) == 8000


def test_recording_can_be_turned_off(disk_repo: Any) -> None:
    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    p.set_record_tasks(False)
    assert p.get_record_tasks() is False
    with p.run("Off"):
        double(1), double(1)
    assert task_rows(disk_repo) == []
    assert disk_repo.lookup(double(1).artifact.id) is not None  # still stored
    p.set_record_tasks(True)
    with p.run("On"):
        double(1)
    assert [row[2:] for row in task_rows(disk_repo)] == [(True, 1)]
    with pytest.raises(TypeError, match="set_record_tasks"):
        p.set_record_tasks("no")  # type: ignore[arg-type]


def test_the_config_key_turns_recording_off_and_is_checked(tmp_path: Any) -> None:
    from conftest import sqlite_config

    cfg = p.load_config({**sqlite_config(str(tmp_path / "r")), "record_tasks": False})
    assert p.get_record_tasks() is False

    @p.provenance()
    def double(x: int) -> int:
        return x * 2

    double(1), double(1)
    assert task_rows(cfg.repos["local"]) == []
    with pytest.raises(p.ConfigError, match="'record_tasks' must be true or false, got 'yes'"):
        p.load_config({**sqlite_config(str(tmp_path / "s")), "record_tasks": "yes"})
