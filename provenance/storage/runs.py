"""Runs and tasks in the index: starting and finishing runs, numbering and inserting tasks, tags.

The SQL side of run recording.  :mod:`provenance.recording` decides when
and what to write (a background writer, in batches); this module writes it,
retrying the conflicts two writers can meet (the same next number, SQLite's
write lock) and nothing else.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..errors import MetaflowTaggingError
from .models import RunRow, RunTag, TaskRow

__all__ = [
    "RunRef",
    "create_run",
    "finish_run",
    "insert_tasks",
    "next_numbers",
    "read_tags",
    "refusal",
    "replace_tags",
    "retrying",
    "transient",
    "write_tasks",
]

logger = logging.getLogger("provenance.runs")

_runs: Table = RunRow.__table__
_run_tags: Table = RunTag.__table__
_tasks: Table = TaskRow.__table__


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


def transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    if isinstance(exc, IntegrityError):
        # A race for the next run or task number; other violations (a
        # missing run: foreign key) will not go away by trying again.
        return "unique" in text or "duplicate key" in text
    return any(word in text for word in ("locked", "busy", "deadlock", "serialize"))


def refusal(exc: BaseException) -> str:
    """Why the database refused a write: the driver's error, on one line."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


def retrying(what: str, fn: Any) -> Any:
    # Two writers can pick the same next run or task number (PostgreSQL), or
    # find SQLite's write lock taken by a reader turned writer: the loser's
    # transaction rolled back and is simply tried again.
    delay = 0.005
    for attempt in range(20):
        try:
            return fn()
        except DBAPIError as exc:
            if attempt == 19 or not transient(exc):
                raise
            logger.debug("retrying %s after %s", what, exc.orig)
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
    raise AssertionError("unreachable")


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

    def attempt() -> RunRef:
        with index._begin() as conn:
            # The number is taken in the statement that inserts the row, so
            # that on SQLite the write lock is held from the first read.
            next_number = (
                select(func.coalesce(func.max(_runs.c.run_number), 0) + 1)
                .where(_runs.c.flow == flow)
                .scalar_subquery()
            )
            row = conn.execute(
                insert(_runs)
                .values(
                    flow=flow,
                    run_number=next_number,
                    user=user,
                    status="running",
                    implicit=implicit,
                    created_at=created_at,
                    finished_at=None,
                    info=info,
                )
                .returning(_runs.c.id, _runs.c.run_number)
            ).one()
            run_id, number = int(row[0]), int(row[1])
            rows = [{"run_id": run_id, "tag": t, "system": True} for t in system]
            rows += [{"run_id": run_id, "tag": t, "system": False} for t in tags if t not in system]
            conn.execute(insert(_run_tags), rows)
        return RunRef(index, run_id, flow, number, implicit)

    return retrying(f"starting a run of {flow}", attempt)


def finish_run(ref: RunRef, status: str) -> None:
    """Mark a run finished with ``status`` (``successful`` or ``failed``)."""
    with ref.index._begin() as conn:
        conn.execute(
            update(_runs)
            .where(_runs.c.id == ref.id)
            .values(status=status, finished_at=datetime.now(timezone.utc))
        )


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
    adds = [row for row in rows if row.get("task_number") is not None]
    fresh = [(ref, row) for ref, row in zip(refs, rows) if row.get("task_number") is None]

    targets = [row["task_number"] for row in adds]

    def attempt() -> None:
        numbers: dict[tuple[RunRef, str], int] = {}
        for row, number in zip(adds, targets):  # as given, whatever a failed attempt set
            row["task_number"] = number
        with index._begin() as conn:
            # Rows to add to that are gone are inserted with the new ones.
            gone = {id(row) for row in _add_hits(conn, adds)} if adds else set()
            new = [*fresh, *((ref, row) for ref, row in zip(refs, rows) if id(row) in gone)]
            keys = list(dict.fromkeys((ref, row["step"]) for ref, row in new))
            for ref, step in keys:
                number = next_numbers.get(ref, {}).get(step)
                if number is None:
                    found = conn.execute(
                        select(func.max(_tasks.c.task_number)).where(
                            _tasks.c.run_id == ref.id, _tasks.c.step == step
                        )
                    ).scalar()
                    number = int(found or 0) + 1
                numbers[ref, step] = number
            for ref, row in new:
                key = (ref, row["step"])
                row["task_number"] = numbers[key]
                numbers[key] += 1
            try:
                if new:
                    insert_tasks(conn, [row for _, row in new])
            except IntegrityError:
                # Another process numbered tasks of the same run and step:
                # read the numbers again on the next attempt.
                for ref, _step in keys:
                    next_numbers.pop(ref, None)
                raise
        for (ref, step), number in numbers.items():
            next_numbers.setdefault(ref, {})[step] = number

    retrying("recording tasks", attempt)


_TASK_FIELDS = (
    "run_id", "step", "task_number", "artifact_id", "cached", "successful", "exception",
    "params", "hits", "started_at", "finished_at",
)  # fmt: skip


def _add_hits(conn: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the hits of ``rows`` to the task rows they name; return those not found."""
    stmt = (
        update(_tasks)
        .where(
            _tasks.c.run_id == bindparam("b_run"),
            _tasks.c.step == bindparam("b_step"),
            _tasks.c.task_number == bindparam("b_number"),
        )
        .values(hits=_tasks.c.hits + bindparam("b_hits"), finished_at=bindparam("b_finished"))
    )
    params = [
        {
            "b_run": row["run_id"], "b_step": row["step"], "b_number": row["task_number"],
            "b_hits": row["hits"], "b_finished": row["finished_at"],
        }
        for row in rows
    ]  # fmt: skip
    if conn.execute(stmt, params).rowcount == len(rows):
        return []
    # Some row is gone (its run was deleted, say): the others were added to
    # (an update of a missing row does nothing); find which, one by one.
    found = select(_tasks.c.id).where(
        _tasks.c.run_id == bindparam("b_run"),
        _tasks.c.step == bindparam("b_step"),
        _tasks.c.task_number == bindparam("b_number"),
    )
    return [row for row, p in zip(rows, params) if conn.execute(found, p).first() is None]


_insert_sql: dict[str, tuple[str, list[str], list[Any]]] = {}


def insert_tasks(conn: Any, rows: list[dict[str, Any]]) -> None:
    # Straight to the driver's executemany: SQLAlchemy's per-row statement
    # building cost ~40 us a task, as much as the cache hit being recorded.
    # The columns' own bind processors still turn datetimes and JSON into
    # what the database expects, and None stays SQL NULL.
    dialect = conn.dialect
    key = f"{dialect.name}+{dialect.driver}:{dialect.paramstyle}"
    prepared = _insert_sql.get(key)
    if prepared is None:
        compiled = insert(_tasks).compile(dialect=dialect, column_keys=list(_TASK_FIELDS))
        order = list(compiled.positiontup or _TASK_FIELDS)
        processors = [
            _tasks.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in order
        ]
        prepared = _insert_sql[key] = (str(compiled), order, processors)
    sql, order, processors = prepared
    positional = dialect.positional
    batch = []
    for row in rows:
        values = [
            None if row[name] is None else (process(row[name]) if process else row[name])
            for name, process in zip(order, processors)
        ]
        batch.append(tuple(values) if positional else dict(zip(order, values)))
    conn.exec_driver_sql(sql, batch)


# -- tags of runs ------------------------------------------------------------------


def read_tags(index: Any, run_id: int) -> tuple[frozenset[str], frozenset[str]]:
    """``(user tags, system tags)`` of one run."""
    stmt = select(_run_tags.c.tag, _run_tags.c.system).where(_run_tags.c.run_id == run_id)
    with index._connect() as conn:
        rows = conn.execute(stmt).all()
    return (
        frozenset(t for t, system in rows if not system),
        frozenset(t for t, system in rows if system),
    )


def replace_tags(
    index: Any, run_id: int, pathspec: str | None, remove: list[str], add: list[str]
) -> None:
    """Change a run's user tags: removals first, then additions, in one transaction.

    A system tag among those to remove refuses the whole change.
    """
    with index._begin() as conn:
        system = {
            r[0]
            for r in conn.execute(
                select(_run_tags.c.tag).where(
                    _run_tags.c.run_id == run_id, _run_tags.c.system.is_(True)
                )
            )
        }
        refused = sorted(t for t in remove if t in system)
        if refused:
            raise MetaflowTaggingError(f"cannot remove system tag(s) {refused} of run {pathspec}")
        if remove:
            conn.execute(
                delete(_run_tags).where(
                    _run_tags.c.run_id == run_id,
                    _run_tags.c.system.is_(False),
                    _run_tags.c.tag.in_(remove),
                )
            )
        current = {
            r[0] for r in conn.execute(select(_run_tags.c.tag).where(_run_tags.c.run_id == run_id))
        }
        new = [t for t in add if t not in current]
        if new:
            conn.execute(
                insert(_run_tags), [{"run_id": run_id, "tag": t, "system": False} for t in new]
            )
