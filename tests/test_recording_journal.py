"""Task records survive an unreachable index, and one refused row (issue 15, item 1).

The background writer retries an index it cannot reach, keeps the tasks in
memory and then in a journal under ``$PROVENANCE_HOME``, which the next
process writing to that index replays; a row the database refuses is
reported with its cause and written apart from its batch.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

import provenance as p
from provenance import journal, recording
from provenance.storage.index import SqlIndex

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROVENANCE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(journal, "RETRY_FOR", 0.3)
    monkeypatch.setattr(journal, "RETRY_DELAY", 0.02)
    monkeypatch.setattr(recording, "_warned", False)
    recording.flush()
    journal._down.clear()
    journal._replayed.clear()


def count(index: Any, sql: str = "SELECT count(*) FROM tasks") -> Any:
    try:
        with index.engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    except p.IndexUnavailable:  # a pooled connection from before a restart
        with index.engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()


def repo_of(url: str) -> Any:
    return p.Repository(SqlIndex(url), p.MemoryStore())


def calls(repo: Any, n: int, start: int = 0) -> None:
    @p.provenance(repo=repo)
    def twice(x: int) -> int:
        return x * 2

    for i in range(start, start + n):
        assert twice(i) == 2 * i


def test_an_outage_during_a_flush_loses_no_task(postgres_server: Any, postgres_url: str) -> None:
    repo = repo_of(postgres_url)
    calls(repo, 5)
    recording.flush()
    calls(repo, 20, start=5)
    postgres_server.pause()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            recording.flush()  # retried, then kept in memory
        assert len(recording._held) == 20
    finally:
        postgres_server.resume()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recording.flush()
    assert not recording._held
    assert count(repo.index) == 25
    recording.end_implicit_runs()
    repo.index.dispose()


def test_a_short_outage_is_waited_out(
    postgres_server: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "RETRY_FOR", 60.0)
    repo = repo_of(postgres_url)
    calls(repo, 10)
    postgres_server.pause()
    back = threading.Timer(1.0, postgres_server.resume)
    back.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            recording.flush()  # retried with backoff until the server is back
    finally:
        back.join()
    assert not recording._held
    assert count(repo.index) == 10
    recording.end_implicit_runs()
    repo.index.dispose()


def test_beyond_the_memory_bound_tasks_go_to_the_journal(
    postgres_server: Any, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "MAX_HELD", 5)
    repo = repo_of(postgres_url)
    calls(repo, 12)
    postgres_server.pause()
    try:
        recording.flush()
    finally:
        postgres_server.resume()
    path = journal.path_of(repo.index)
    assert path is not None and os.path.exists(path)
    assert not recording._held
    recording.flush()
    calls(repo, 1, start=100)
    recording.flush()  # replays the journal first
    assert not os.path.exists(path)
    assert count(repo.index) == 13
    assert count(repo.index, "SELECT count(*) FROM runs") == 1
    recording.end_implicit_runs()
    repo.index.dispose()


SCRIPT = """
    import sys
    import provenance as p
    from provenance import journal
    from provenance.storage.index import SqlIndex

    journal.RETRY_FOR = 0.2
    repo = p.Repository(SqlIndex(sys.argv[1]), p.MemoryStore())

    @p.provenance(repo=repo)
    def twice(x):
        return x * 2

    for i in range(50):
        twice(i)
    print("ready", flush=True)
    sys.stdin.readline()  # the test stops the server, then lets the process exit
"""


def test_a_process_that_exits_during_an_outage_leaves_a_journal(
    postgres_server: Any, postgres_url: str, tmp_path: Path
) -> None:
    repo = repo_of(postgres_url)  # creates the database
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), postgres_url],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline() == "ready\n"
    postgres_server.pause()
    try:
        out, err = proc.communicate("\n", timeout=60)
        assert proc.returncode == 0, err
        assert "RuntimeWarning" not in err
        path = journal.path_of(repo.index)
        assert path is not None and os.path.exists(path)
        saved = Path(path).read_text()
    finally:
        postgres_server.resume()
    time.sleep(0.1)
    assert count(repo.index) == 0
    # A reader that could write replays it too: the client view shows those tasks.
    from provenance.client import Flow

    p.set_default_repo(repo)
    assert len(list(Flow("script").latest_run["twice"])) == 50
    assert count(repo.index) == 50 and not os.path.exists(path)
    calls(repo, 1, start=1000)
    recording.flush()
    assert not os.path.exists(path)
    assert count(repo.index) == 51
    runs = "SELECT flow, status FROM runs ORDER BY id"
    with repo.index.engine.connect() as conn:
        assert conn.exec_driver_sql(runs).all()[0] == ("script", "successful")
    # Idempotent: the same journal replayed again adds nothing.
    Path(path).write_text(saved)
    assert journal.replay(repo.index) == 0
    assert not os.path.exists(path)
    assert count(repo.index) == 51
    assert count(repo.index, "SELECT count(*) FROM runs WHERE flow = 'script'") == 1
    recording.end_implicit_runs()
    repo.index.dispose()


def test_a_refused_row_is_reported_and_spares_its_batch(postgres_url: str) -> None:
    repo = repo_of(postgres_url)
    now = time.time()
    for i in range(10):
        step = "bad\x00step" if i == 6 else "good"
        recording.record(repo, step, None, cached=False, started=now + i)
    with pytest.warns(RuntimeWarning, match=r"step 'bad\\x00step'.*NUL") as caught:
        recording.flush()
    assert len(caught) == 1
    assert count(repo.index) == 9
    assert count(repo.index, "SELECT max(task_number) FROM tasks") == 9
    recording.end_implicit_runs()
    repo.index.dispose()


def test_a_call_whose_index_goes_down_while_it_runs_is_stored_when_it_is_back(
    disk_repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stress rerun: a server stopped while a call computes must not lose its value."""
    from provenance.errors import IndexUnavailable
    from provenance.storage.repos import Repository

    real = Repository.put_row
    failures = {"left": 2}

    def flaky(self: Any, *args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise IndexUnavailable("the index server test cannot be reached")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Repository, "put_row", flaky)
    monkeypatch.setattr(journal, "RETRY_DELAY", 0.01)
    ran = []

    @p.provenance()
    def work(x: int) -> int:
        ran.append(x)
        return x * 3

    assert work(2) == 6 and failures["left"] == 0
    assert disk_repo.lookup(work.artifact_id(2)) is not None  # stored after the retries
    failures["left"] = 10**6  # down for good: the value comes back, unstored, with a warning
    monkeypatch.setattr(journal, "RETRY_FOR", 0.05)
    with pytest.warns(RuntimeWarning, match="computed but could not be stored"):
        assert work(5) == 15
    assert ran == [2, 5] and disk_repo.lookup(work.artifact_id(5)) is None
