"""The light SQLite index: when it is used, what it knows without SQLAlchemy, and that it agrees.

The contract suite of ``test_index.py`` runs on it too (``sqlite-light``).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from provenance import journal
from provenance.storage import models, runs
from provenance.storage.index import SqlIndex, SqliteFileIndex, open_index
from provenance.storage.index import layout as layout_module
from provenance.storage.index.light import FULL_NAMES, sqlite_file_path
from provenance.storage.revisions import SCHEMA_HEAD


def _current_file(tmp_path: Path, name: str = "i.db") -> str:
    url = f"sqlite:///{tmp_path / name}"
    SqlIndex(url).dispose()  # the schema, at this library's revision
    return url


# -- what it knows as plain data ----------------------------------------------------


def test_the_layout_is_the_tables() -> None:
    table = models.ArtifactRow.__table__
    assert tuple(c.name for c in table.columns) == layout_module.COLUMNS
    assert set(layout_module.HOT_COLUMNS) <= set(layout_module.COLUMNS)
    assert (
        tuple(c for c in layout_module.COLUMNS if c not in layout_module.HOT_COLUMNS)
        == layout_module.DEFERRED_COLUMNS
    )
    assert [layout_module.COLUMNS[i] for i in layout_module.HOT_POSITIONS] == [
        c for c in layout_module.COLUMNS if c in layout_module.HOT_COLUMNS
    ]
    tasks = models.TaskRow.__table__
    assert set(runs._TASK_FIELDS) == {c.name for c in tasks.columns} - {"id"}


def test_sqlite_times_are_written_as_sqlalchemy_writes_them(tmp_path: Path) -> None:
    # One column, two writers: what the light index writes, the full one reads.
    from sqlalchemy import DateTime, create_engine, select

    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}")
    when = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (at DATETIME)")
        conn.exec_driver_sql("INSERT INTO t VALUES (?)", (layout_module.sqlite_time(when),))
        from sqlalchemy import Column, MetaData, Table

        t = Table("t", MetaData(), Column("at", DateTime(timezone=True)))
        stored = conn.execute(select(t.c.at)).scalar_one()
        conn.execute(t.insert().values(at=when))
        raw = conn.exec_driver_sql("SELECT at FROM t").all()
    engine.dispose()
    assert stored.replace(tzinfo=timezone.utc) == when
    assert raw[0][0] == raw[1][0]  # the same text, whoever wrote it
    assert layout_module.decode_datetime(raw[0][0]) == when


def test_full_names_are_what_sqlindex_adds(tmp_path: Path) -> None:
    full = SqlIndex(_current_file(tmp_path))
    light = open_index(_current_file(tmp_path))
    try:
        public = {n for n in dir(full) if not n.startswith("_")}
        own = {n for n in dir(light) if not n.startswith("_")} | set(vars(light))
        assert public - own == FULL_NAMES - {"_begin", "_connect"}
        assert {"_begin", "_connect"} <= FULL_NAMES
        # None is shadowed by a method of the light index's own.
        assert not FULL_NAMES & set(dir(SqliteFileIndex))
        assert all(hasattr(full, n) for n in FULL_NAMES)
    finally:
        full.dispose()
        light.dispose()


# -- when it is used ------------------------------------------------------------------


def test_a_current_file_opens_light(tmp_path: Path) -> None:
    url = _current_file(tmp_path)
    index = open_index(url)
    assert isinstance(index, SqliteFileIndex)
    assert index.path == str(tmp_path / "i.db") and index.read_only is None
    assert index.db == url and index._full is None
    # Probing an attribute neither index has builds nothing.
    assert getattr(index, "index", None) is None and index._full is None
    assert "sqlalchemy" in sys.modules  # (this process imported it anyway)


@pytest.mark.parametrize(
    "case", ["empty", "outdated", "memory", "query", "schema", "engine_kwargs"]
)
def test_the_full_index_opens_what_needs_it(tmp_path: Path, case: str) -> None:
    path = tmp_path / "i.db"
    kwargs: dict[str, Any] = {}
    url = f"sqlite:///{path}"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "outdated":
        _current_file(tmp_path)
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '0004'")
    elif case == "memory":
        url = "sqlite://"
    elif case == "query":
        _current_file(tmp_path)
        url += "?timeout=5"
    elif case == "schema":
        _current_file(tmp_path)
        with pytest.raises(Exception, match="schema"):
            open_index(url, schema="x")
        return
    elif case == "engine_kwargs":
        _current_file(tmp_path)
        kwargs["engine_kwargs"] = {"echo": False}
    index = open_index(url, **kwargs)
    try:
        assert isinstance(index, SqlIndex)
        if case == "outdated":  # the full index says how to upgrade
            from provenance.errors import SchemaOutdated

            with pytest.raises(SchemaOutdated, match="0004"):
                index.get("0" * 32)
    finally:
        index.dispose()


def test_a_new_file_is_made_with_the_migrations_schema_without_sqlalchemy(
    tmp_path: Path,
) -> None:
    from provenance.storage.index.fresh import SCHEMA_DDL, _migrated_ddl

    # The DDL kept in fresh.py is what the migrations make, statement for statement
    # (python -m provenance.storage.index.fresh prints it anew after a migration).
    assert _migrated_ddl(str(tmp_path / "migrated.db")) == SCHEMA_DDL
    path = tmp_path / "sub" / "new.db"
    code = (
        "import sys\n"
        "from provenance.storage.index import open_index\n"
        f"index = open_index('sqlite:///{path}')\n"
        "assert type(index).__name__ == 'SqliteFileIndex', index\n"
        "assert index.get('0' * 32) is None\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (SCHEMA_HEAD,)
        ]
    # No private file left behind (the -wal and -shm files are SQLite's own).
    assert [n for n in os.listdir(path.parent) if ".new" in n] == []
    full = SqlIndex(f"sqlite:///{path}")  # and the full index takes it as its own
    try:
        assert full.count() == 0
    finally:
        full.dispose()


def test_processes_making_the_same_new_file_at_once_share_one(tmp_path: Path) -> None:
    path = tmp_path / "raced.db"
    code = (
        "from provenance.storage.index import open_index\n"
        f"index = open_index('sqlite:///{path}')\n"
        "print(index.get('0' * 32) is None)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    assert [proc.communicate()[0].strip() for proc in procs] == ["True"] * 4
    assert [n for n in os.listdir(tmp_path) if not n.startswith("raced.db-")] == ["raced.db"]


def test_only_plain_file_urls_are_light() -> None:
    assert sqlite_file_path("sqlite:////a/b.db") == "/a/b.db"
    assert sqlite_file_path("sqlite:///b.db") == os.path.abspath("b.db")
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite:///a.db?mode=ro",
                "sqlite+pysqlite:///a.db", "sqlite:///a%20b.db", "postgresql://h/db"):  # fmt: skip
        assert sqlite_file_path(url) is None, url


def test_a_damaged_file_is_reported_by_the_full_index(tmp_path: Path) -> None:
    from provenance.errors import IndexDamaged

    path = tmp_path / "i.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexDamaged, match=str(path)):
        open_index(f"sqlite:///{path}").get("0" * 32)


# -- that it agrees with the full index -----------------------------------------------


def test_reads_agree_with_the_full_index(tmp_path: Path) -> None:
    from tests.storage.test_index import row

    url = _current_file(tmp_path)
    full = SqlIndex(url)
    light = open_index(url)
    try:
        full.put(row(1))
        assert light.get(row(1)["id"]) == full.get(row(1)["id"])
        assert light.get_deferred(row(1)["id"]) == full.get_deferred(row(1)["id"])
        assert light.exists(row(1)["id"]) and not light.exists("f" * 32)
        assert light.get("f" * 32) is None
        assert light._full is None  # all of that without the full index
        assert light.count() == 1  # delegated
        assert light._full is not None
    finally:
        full.dispose()
        light.dispose()


@pytest.mark.parametrize("name", ["i.db", "a b+c@d:e=f.db", "é.db"])
def test_journal_identity_is_the_full_indexes(tmp_path: Path, name: str) -> None:
    url = _current_file(tmp_path, name)
    light, full = open_index(url), SqlIndex(url)
    try:
        assert isinstance(light, SqliteFileIndex)
        assert journal.identity(light) == journal.identity(full)
        assert light._full is None
    finally:
        light.dispose()
        full.dispose()


def test_runs_written_light_read_by_the_client(tmp_path: Path) -> None:
    url = _current_file(tmp_path)
    light = open_index(url)
    started = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=timezone.utc)
    ref = runs.create_run(light, "F", ["mine"], implicit=False, created_at=started,
                          user="ann", system=["user:ann"], info={"k": [1]})  # fmt: skip
    rows = [
        {"run_id": ref.id, "step": "s", "task_number": None, "artifact_id": "a" * 32,
         "cached": True, "successful": True, "exception": None, "params": {"x": 1},
         "hits": 3, "started_at": started, "finished_at": started}
    ]  # fmt: skip
    runs.write_tasks(light, [ref], rows)
    assert rows[0]["task_number"] == 1
    more = [{**rows[0], "hits": 2, "finished_at": started.replace(second=9)}]
    runs.write_tasks(light, [ref], more)  # counted into the same task
    runs.finish_run(ref, "successful")
    assert light._full is None
    light.dispose()

    full = SqlIndex(url)
    try:
        with full._connect() as conn:
            run = conn.execute(models.RunRow.__table__.select()).one()._mapping
            task = conn.execute(models.TaskRow.__table__.select()).one()._mapping
            tags = conn.execute(models.RunTag.__table__.select()).all()
        assert (run["flow"], run["run_number"], run["user"], run["status"]) == (
            "F",
            1,
            "ann",
            "successful",
        )
        assert run["created_at"].replace(tzinfo=timezone.utc) == started
        assert run["info"] == {"k": [1]} and run["implicit"] is False
        assert sorted((t.tag, t.system) for t in tags) == [("mine", False), ("user:ann", True)]
        assert (task["task_number"], task["hits"], task["params"], task["cached"]) == (
            1,
            5,
            {"x": 1},
            True,
        )
        assert task["finished_at"].replace(tzinfo=timezone.utc) == started.replace(second=9)
    finally:
        full.dispose()


def test_a_process_that_only_hits_never_imports_sqlalchemy(tmp_path: Path) -> None:
    # Import, load the config, a miss in one process; then hits in a fresh
    # one, recorded as a task of its run: SQLAlchemy is not imported, even at exit.
    script = textwrap.dedent(
        """
        import atexit, sys
        atexit.register(lambda: print("at exit:", sorted(
            m for m in ("sqlalchemy", "alembic") if m in sys.modules)))
        import provenance
        from provenance.config import default_config
        provenance.load_config(default_config(sys.argv[1]))

        @provenance.provenance()
        def double(x):
            print("computed")
            return [x, x]

        print(double(2), double(2))
        """
    )
    home = str(tmp_path / "home")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    env.pop("PROVENANCE_CONFIG", None)
    first = subprocess.run([sys.executable, "-c", script, home], capture_output=True,
                           text=True, env=env, cwd=tmp_path, check=True)  # fmt: skip
    assert "computed" in first.stdout
    second = subprocess.run([sys.executable, "-c", script, home], capture_output=True,
                            text=True, env=env, cwd=tmp_path, check=True)  # fmt: skip
    assert "computed" not in second.stdout, second.stdout
    assert "at exit: []" in second.stdout, second.stdout + second.stderr
    db = next(Path(home).rglob("*.db"))
    with sqlite3.connect(db) as conn:
        tasks = conn.execute(
            "SELECT r.run_number, r.status, t.cached, t.hits FROM tasks t "
            "JOIN runs r ON r.id = t.run_id ORDER BY r.run_number"
        ).fetchall()
    assert tasks == [(1, "successful", 0, 1), (1, "successful", 1, 1), (2, "successful", 1, 2)]


def test_threads_and_a_forked_child_write_runs(tmp_path: Path) -> None:
    import threading

    url = _current_file(tmp_path)
    light = open_index(url)
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def start(flow: str) -> None:
        runs.create_run(light, flow, [], implicit=True, created_at=when, user="u",
                        system=[], info=None)  # fmt: skip

    threads = [threading.Thread(target=start, args=(f"T{i % 2}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert light._writer is not None  # one write connection, shared
    pid = os.fork()
    if pid == 0:  # the child opens its own connections, never the parent's
        try:
            start("T0")
        finally:
            os._exit(0 if light._writer is not None else 1)
    assert os.waitpid(pid, 0)[1] == 0
    start("T1")
    light.dispose()
    with sqlite3.connect(tmp_path / "i.db") as conn:
        numbers = conn.execute("SELECT flow, run_number FROM runs ORDER BY flow, run_number")
        got = numbers.fetchall()
    assert got == [("T0", n) for n in range(1, 6)] + [("T1", n) for n in range(1, 6)]


def test_a_failed_commit_leaves_the_writer_usable(tmp_path: Path) -> None:
    # A commit refused (here: a deferred foreign key) must not leave the
    # shared writer in a transaction holding the write lock.
    url = _current_file(tmp_path)
    light = open_index(url)
    with light.dbapi_transaction() as conn:
        conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError), light.dbapi_transaction() as conn:
        conn.execute("INSERT INTO c VALUES (42)")  # refused only at COMMIT
    assert light._writer is None or not light._writer.in_transaction
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ref = runs.create_run(light, "F", [], implicit=True, created_at=when, user="u",
                          system=[], info=None)  # fmt: skip
    with sqlite3.connect(tmp_path / "i.db", timeout=1) as other:  # the lock is free
        other.execute("INSERT INTO p VALUES (1)")
    assert ref.number == 1
    light.dispose()


def test_a_child_forked_while_locks_are_held_is_not_stuck(tmp_path: Path) -> None:
    from provenance.storage import spill

    light = open_index(_current_file(tmp_path))
    with light._full_lock, spill.HASHING_BESIDE:  # as if another thread held them
        pid = os.fork()
        if pid == 0:
            import signal

            signal.alarm(30)  # a child stuck on a lock dies, and the test fails
            code = 1
            try:
                light.count()  # builds the full index under _full_lock
                with spill.HashingSpill(4096, str(tmp_path)) as out:
                    out.write(b"x" * (40 << 20))  # hashed beside the write
                code = 0
            finally:
                os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    light.dispose()


def test_a_fresh_client_read_never_imports_sqlalchemy(tmp_path: Path) -> None:
    # Runs recorded in one process; the client view read in fresh ones.
    fill = textwrap.dedent(
        """
        import provenance as p

        @p.provenance(returns_composite=True)
        def start(n):
            return {"x": [n, n + 1]}

        for n in (1, 2):
            with p.run("F", tags=["mine"]):
                start(n)
        """
    )
    read = textwrap.dedent(
        """
        import atexit, sys
        atexit.register(lambda: print("at exit:", sorted(
            m for m in ("sqlalchemy", "alembic") if m in sys.modules)))
        from provenance.client import Flow, Run, namespace
        namespace(None)
        run = Run("F/2")
        print(run.data.x, Flow("F").latest_run.id, sorted(run.tags & {"mine"}),
              [r.id for r in Flow("F").runs("mine")], run.successful,
              run.finished_at > run.created_at)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for var in ("PROVENANCE_CONFIG", "PROVENANCE_HOME"):
        env.pop(var, None)
    subprocess.run([sys.executable, "-c", fill], env=env, cwd=tmp_path, check=True)
    got = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True,
                         env=env, cwd=tmp_path, check=True)  # fmt: skip
    lines = got.stdout.splitlines()
    assert lines[0] == "[2, 3] 2 ['mine'] ['2', '1'] True True", got.stdout + got.stderr
    assert lines[-1] == "at exit: []", got.stdout
