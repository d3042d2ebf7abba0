"""Read-only mode: the original's ``read_only=`` and ``set_read_only`` (issue 14, gap 2)."""

from __future__ import annotations

import sqlite3
import warnings
from typing import Any

import pytest

import provenance as p
from provenance import recording


def task_count(repo: Any) -> int:
    recording.flush()
    db = str(repo.index.engine.url.database)
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from tasks").fetchone()[0])


def stored(repo: Any) -> tuple[int, int]:
    return len(repo.find_artifacts()), len(list(repo.blobstore.keys()))


def test_read_only_uses_stored_results_and_stores_nothing(disk_repo: Any) -> None:
    calls: list[int] = []

    @p.provenance()
    def square(x: int) -> list[int]:
        calls.append(x)
        return [x * x] * 2000  # big enough for a blob of its own

    made = square(3)
    before, tasks = stored(disk_repo), task_count(disk_repo)
    assert p.get_read_only() is False
    p.set_read_only(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a deliberate read-only call does not warn
        hit = square(3)
        miss = square(4)
        again = square(4)
    assert calls == [3, 4, 4]  # the hit is served; the miss runs each time
    assert hit.artifact.id == made.artifact.id and hit == made
    assert miss == [16] * 2000 and again == miss
    assert miss.artifact.id == square.artifact_id(4)
    assert miss.artifact.value_id == p.hash_value([16] * 2000)
    assert disk_repo.lookup(miss.artifact.id) is None
    assert stored(disk_repo) == before and task_count(disk_repo) == tasks
    p.set_read_only(False)
    square(4)
    assert calls == [3, 4, 4, 4] and disk_repo.lookup(square.artifact_id(4)) is not None


def test_the_decorator_setting_wins_over_the_process_setting(repo: Any) -> None:
    @p.provenance(read_only=True)
    def reader(x: int) -> int:
        return x + 1

    @p.provenance(read_only=False)
    def writer(x: int) -> int:
        return x + 2

    assert reader(1) == 2 and repo.lookup(reader.artifact_id(1)) is None
    p.set_read_only(True)
    assert writer(1) == 3 and repo.lookup(writer.artifact_id(1)) is not None


def test_read_only_composites_and_archives_store_nothing(disk_repo: Any, tmp_path: Any) -> None:
    src = tmp_path / "data.txt"

    @p.provenance(returns_composite=True, read_only=True)
    def parts(x: int) -> dict[str, int]:
        return {"a": x, "b": x * 2}

    @p.provenance(archive_file=True, delete_original_file=True, read_only=True)
    def write(text: str) -> str:
        src.write_text(text)
        return str(src)

    before = stored(disk_repo)
    composite = parts(2)
    assert composite["a"] == 2 and composite["b"] == 4
    path = write("hello")
    assert src.exists() and src.read_text() == "hello" and path == str(src)  # not archived
    assert stored(disk_repo) == before


def test_set_read_only_takes_a_bool() -> None:
    with pytest.raises(TypeError, match="set_read_only.*'yes'"):
        p.set_read_only("yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="read_only must be True, False or None"):
        p.provenance(read_only=1)(lambda: 1)  # type: ignore[arg-type]
