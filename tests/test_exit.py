"""A clean program prints nothing: not at exit, not while it runs (issue 14, gap 16).

Each test runs a small script in a fresh interpreter (with ``-W default -X
faulthandler``, so that ResourceWarnings and crashes show) and asserts that it says exactly what it
prints itself.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

import provenance as p
from provenance import recording
from provenance.storage.index import SqlIndex

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROVENANCE_HOME": str(cwd / "home")}
    path = cwd / "script.py"
    path.write_text(textwrap.dedent(script))
    done = subprocess.run(
        [sys.executable, "-W", "default", "-X", "faulthandler", str(path), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


DISPOSED = """
        import provenance as p

        def test(i):
            r = p.memory_repo()

            @p.provenance(repo=r)
            def f(x):
                return x * 2

            for x in range(100):
                f(x)
            if i % 2:
                r.index.engine.dispose()
            else:
                r.index.dispose()

        for i in range(4):
            test(i)
        print("done")
"""


DROPPED = """
        import gc
        import provenance as p

        memory = {"type": "memory"}
        sql = {"type": "sql", "db": "sqlite://", "store": {"type": "memory"}}

        @p.provenance()
        def f(x):
            return x * 2

        for repo in (memory, memory, sql, sql):
            p.load_config({"artifact_repos": {"m": repo}, "default_repo": "m", "blobstores": {}})
            for x in range(50):
                f(x)

        def dropped():
            r = p.memory_repo()

            @p.provenance(repo=r)
            def g(x):
                return x + 1

            for x in range(50):
                g(x)

        for _ in range(3):
            dropped()
            gc.collect()
        print("done")
"""


DAEMON = """
    import threading, time
    import provenance as p
    from provenance.storage.index import SqlIndex

    memory = p.memory_repo()
    disk = p.Repository(SqlIndex("sqlite:///index.db"), p.MemoryStore())

    def work(repo):
        @p.provenance(repo=repo)
        def f(x):
            return x * 2

        i = 0
        while True:
            f(i % 500)
            i += 1

    for repo in (memory, disk):
        threading.Thread(target=work, args=(repo,), daemon=True).start()
    time.sleep(0.3)
    print("done")
"""

AT_EXIT = """
        import provenance as p

        index = {"type": "sql", "db": "sqlite:///index.db", "store": {"type": "memory"}}
        p.load_config({
            "artifact_repos": {"f": index},
            "default_repo": "f",
            "blobstores": {},
        })

        @p.provenance()
        def f(x):
            return x * 2

        for x in range(300):
            f(x % 100)
"""


def test_tasks_queued_for_a_disposed_memory_index_are_dropped_silently(tmp_path: Path) -> None:
    # Was: "could not record 100 task(s) of the run: no such table: runs", and
    # at exit "Exception during reset or similar ... Cannot operate on a
    # closed database" from the pool's handle of a closed connection.
    assert run_script(DISPOSED, tmp_path) == (0, "done\n", "")


def test_replaced_and_dropped_memory_repos_are_silent(tmp_path: Path) -> None:
    # Was, on Python 3.13: "ResourceWarning: unclosed database" for each
    # in-memory index dropped without closing its connection.
    assert run_script(DROPPED, tmp_path) == (0, "done\n", "")


def test_daemon_threads_still_calling_at_exit(tmp_path: Path) -> None:
    # Was: a segmentation fault now and then, when the exit hook closed the
    # connection a daemon thread was running a statement on.
    assert run_script(DAEMON, tmp_path) == (0, "done\n", "")


def test_tasks_queued_at_exit_are_written(tmp_path: Path) -> None:
    assert run_script(AT_EXIT, tmp_path) == (0, "", "")
    with sqlite3.connect(tmp_path / "index.db") as db:
        # 100 computed, then 200 hits counted in one task per artifact.
        assert db.execute("SELECT count(*), sum(hits) FROM tasks").fetchone() == (200, 300)
        assert db.execute("SELECT status FROM runs").fetchall() == [("successful",)]


def test_a_file_index_that_cannot_be_written_still_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "_warned", False)
    repo = p.Repository(SqlIndex(f"sqlite:///{tmp_path / 'i.db'}"), p.MemoryStore())

    @p.provenance(repo=repo)
    def f(x: int) -> int:
        return x * 2

    f(1)
    with repo.index.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tasks")
    with pytest.warns(RuntimeWarning, match="could not record 1 task"):
        recording.flush()
    recording.end_implicit_runs()
    repo.index.dispose()


def test_a_disposed_memory_index_drops_its_tasks_without_a_word(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(recording, "_warned", False)
    repo = p.memory_repo()

    @p.provenance(repo=repo)
    def f(x: int) -> int:
        return x * 2

    f(1)
    repo.index.engine.dispose()
    assert repo.index.gone
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recording.flush()
        recording.end_implicit_runs()
    assert not [r for r in caplog.records if r.levelname != "DEBUG"]
