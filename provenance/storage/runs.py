"""Runs and tasks in the index: starting and finishing runs, numbering and inserting tasks.

The SQL side of run recording.  :mod:`provenance.recording` decides when
and what to write (a background writer, in batches); this module writes it,
retrying the conflicts two writers can meet (the same next number, SQLite's
write lock) and nothing else.

The statements go straight to the database driver, through the index's
:meth:`dbapi_transaction`, in SQL that SQLite and PostgreSQL both run: the
process that only hits its cache and records it (the commonest one) then
never imports SQLAlchemy, on the light SQLite index
(:class:`~provenance.storage.index.light.SqliteFileIndex`) as on the full
one.  The tags of runs, written by the client view, are :mod:`.run_tags`'.
"""

from __future__ import annotations

import json
import logging
import os
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import ProvenanceError
from .index.layout import sqlite_time

__all__ = [
    "RunRef",
    "create_run",
    "finish_run",
    "insert_tasks",
    "next_numbers",
    "refusal",
    "retrying",
    "transient",
    "write_tasks",
]

logger = logging.getLogger("provenance.runs")


@dataclass(eq=False)  # compared (and hashed) by identity
class RunRef:
    """A run this process writes tasks into."""

    index: Any
    id: int
    flow: str
    number: int
    implicit: bool
    owner_pid: int = field(default_factory=os.getpid)

    @property
    def pathspec(self) -> str:
        return f"{self.flow}/{self.number}"


def transient(exc: BaseException) -> bool:
    """Whether a write that failed with ``exc`` may succeed if tried again.

    ``exc`` is the driver's exception, or SQLAlchemy's wrapper of it.
    """
    if isinstance(exc, ProvenanceError):
        return False  # a damaged, full or unreachable index: said once, not retried
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).lower()
    if any(c.__name__ == "IntegrityError" for c in type(orig).__mro__):
        # A race for the next run or task number; other violations (a
        # missing run: foreign key) will not go away by trying again.
        return "unique" in text or "duplicate key" in text
    return any(word in text for word in ("locked", "busy", "deadlock", "serialize"))


def refusal(exc: BaseException) -> str:
    """Why the database refused a write: the driver's error, on one line."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


def retrying(what: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, tried again (with a growing pause) while it fails :func:`transient`-ly."""
    # Two writers can pick the same next run or task number (PostgreSQL), or
    # find SQLite's write lock taken by a reader turned writer: the loser's
    # transaction rolled back and is simply tried again.
    delay = 0.005
    for attempt in range(20):
        try:
            return fn()
        except Exception as exc:
            if attempt == 19 or not transient(exc):
                raise
            logger.debug("retrying %s after %s", what, refusal(exc))
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
    raise AssertionError("unreachable")


class _Sql:
    """The statements of this module for one index: its placeholders and its values.

    Written once, with ``?`` placeholders, in SQL both databases run
    (``RETURNING`` included: SQLite has it since 3.35); PostgreSQL's
    drivers take ``%s``, and its JSON columns a cast.  SQLite keeps
    timestamps as naive UTC text and JSON as text, as SQLAlchemy writes
    them; PostgreSQL takes aware datetimes.
    """

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        mark, json_mark = ("?", "?") if self.sqlite else ("%s", "CAST(%s AS JSONB)")

        def sql(text: str) -> str:
            return text.replace("?j", json_mark).replace("?", mark)

        self.new_run = sql(
            'INSERT INTO runs (flow, run_number, "user", status, implicit, created_at, '
            "finished_at, info) VALUES (?, (SELECT COALESCE(MAX(run_number), 0) + 1 "
            "FROM runs WHERE flow = ?), ?, 'running', ?, ?, NULL, ?j) RETURNING id, run_number"
        )
        self.new_tag = sql("INSERT INTO run_tags (run_id, tag, system) VALUES (?, ?, ?)")
        self.finish = sql("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?")
        self.add_hits = sql(
            "UPDATE tasks SET hits = hits + ?, finished_at = ? "
            "WHERE run_id = ? AND step = ? AND task_number = ?"
        )
        self.find_task = sql(
            "SELECT id FROM tasks WHERE run_id = ? AND step = ? AND task_number = ?"
        )
        self.last_number = sql("SELECT MAX(task_number) FROM tasks WHERE run_id = ? AND step = ?")
        self.new_task = sql(
            f"INSERT INTO tasks ({', '.join(_TASK_FIELDS)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?j, ?j, ?, ?, ?)"
        )

    def time(self, value: datetime | None) -> Any:
        return sqlite_time(value) if self.sqlite else value

    @staticmethod
    def json(value: Any) -> str | None:
        return None if value is None else json.dumps(value)

    def task(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return (
            row["run_id"], row["step"], row["task_number"], row["artifact_id"],
            bool(row["cached"]), bool(row["successful"]), self.json(row["exception"]),
            self.json(row["params"]), row["hits"], self.time(row["started_at"]),
            self.time(row["finished_at"]),
        )  # fmt: skip


_TASK_FIELDS = (
    "run_id", "step", "task_number", "artifact_id", "cached", "successful", "exception",
    "params", "hits", "started_at", "finished_at",
)  # fmt: skip
_statements: dict[str, _Sql] = {}


def _sql(index: Any) -> _Sql:
    name = index.dialect_name
    found = _statements.get(name)
    if found is None:
        found = _statements[name] = _Sql(name)
    return found


def create_run(
    index: Any,
    flow: str,
    tags: list[str],
    *,
    implicit: bool,
    created_at: datetime,
    user: str,
    system: list[str],
    info: Any,
) -> RunRef:
    """Insert a run of ``flow`` with the next run number, its system and user tags."""
    sql = _sql(index)

    def attempt() -> RunRef:
        with index.dbapi_transaction() as conn:
            cur = conn.cursor()
            # The number is taken in the statement that inserts the row, so
            # that on SQLite the write lock is held from the first read.
            cur.execute(sql.new_run, (flow, flow, user, bool(implicit), sql.time(created_at),
                                      sql.json(info)))  # fmt: skip
            row = cur.fetchone()
            run_id, number = int(row[0]), int(row[1])
            rows = [(run_id, t, True) for t in system]
            rows += [(run_id, t, False) for t in tags if t not in system]
            if rows:
                cur.executemany(sql.new_tag, rows)
            cur.close()
        return RunRef(index, run_id, flow, number, implicit)

    return retrying(f"starting a run of {flow}", attempt)


def finish_run(ref: RunRef, status: str) -> None:
    """Mark a run finished with ``status`` (``successful`` or ``failed``)."""
    sql = _sql(ref.index)
    with ref.index.dbapi_transaction() as conn:
        cur = conn.cursor()
        cur.execute(sql.finish, (status, sql.time(datetime.now(timezone.utc)), ref.id))
        cur.close()


#: The next task number of each step of the runs this process writes to.
#: Read from the database once; a conflict (another process adding tasks to
#: the same run: a forked worker) drops it and it is read again.
next_numbers: weakref.WeakKeyDictionary[RunRef, dict[str, int]] = weakref.WeakKeyDictionary()


def write_tasks(index: Any, refs: list[RunRef], rows: list[dict[str, Any]]) -> None:
    """Write task rows (``rows[i]`` a task of run ``refs[i]``), numbering new ones per step.

    A row whose ``task_number`` is set holds more cache hits of a task
    written before: its ``hits`` are added to that row, whose end becomes
    this row's.  If that row is gone, it is inserted as a new task.
    """
    sql = _sql(index)
    adds = [row for row in rows if row.get("task_number") is not None]
    fresh = [(ref, row) for ref, row in zip(refs, rows) if row.get("task_number") is None]
    targets = [row["task_number"] for row in adds]

    def attempt() -> None:
        numbers: dict[tuple[RunRef, str], int] = {}
        for row, number in zip(adds, targets):  # as given, whatever a failed attempt set
            row["task_number"] = number
        with index.dbapi_transaction() as conn:
            cur = conn.cursor()
            # Rows to add to that are gone are inserted with the new ones.
            gone = {id(row) for row in _add_hits(cur, sql, adds)} if adds else set()
            new = [*fresh, *((ref, row) for ref, row in zip(refs, rows) if id(row) in gone)]
            keys = list(dict.fromkeys((ref, row["step"]) for ref, row in new))
            for ref, step in keys:
                number = next_numbers.get(ref, {}).get(step)
                if number is None:
                    cur.execute(sql.last_number, (ref.id, step))
                    found = cur.fetchone()
                    number = int((found[0] if found else None) or 0) + 1
                numbers[ref, step] = number
            for ref, row in new:
                key = (ref, row["step"])
                row["task_number"] = numbers[key]
                numbers[key] += 1
            try:
                if new:
                    cur.executemany(sql.new_task, [sql.task(row) for _, row in new])
            except Exception as exc:
                if any(c.__name__ == "IntegrityError" for c in type(exc).__mro__):
                    # Another process numbered tasks of the same run and step:
                    # read the numbers again on the next attempt.
                    for ref, _step in keys:
                        next_numbers.pop(ref, None)
                raise
            cur.close()
        for (ref, step), number in numbers.items():
            next_numbers.setdefault(ref, {})[step] = number

    retrying("recording tasks", attempt)


def insert_tasks(index: Any, rows: list[dict[str, Any]]) -> None:
    """Insert task rows whose ``task_number`` the caller chose, in one transaction.

    For a run one process drives alone (a :class:`~provenance.flow.FlowSpec`
    run), whose task numbers are known before each task starts, as
    ``current.task_id`` must be.
    """
    sql = _sql(index)

    def attempt() -> None:
        with index.dbapi_transaction() as conn:
            cur = conn.cursor()
            cur.executemany(sql.new_task, [sql.task(row) for row in rows])
            cur.close()

    retrying("recording tasks", attempt)


def _add_hits(cur: Any, sql: _Sql, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the hits of ``rows`` to the task rows they name; return those not found."""
    params = [
        (row["hits"], sql.time(row["finished_at"]), row["run_id"], row["step"], row["task_number"])
        for row in rows
    ]
    missing = []
    # One statement per row: its rowcount says whether the row is there
    # (after executemany, drivers differ in what rowcount sums).
    for row, p in zip(rows, params):
        cur.execute(sql.add_hits, p)
        if cur.rowcount == 0:
            missing.append(row)
    return missing
