"""Runs and tasks read from the index: the SELECTs the client view runs, as plain SQL.

Each function returns one :data:`Query`: SQL text with ``?`` placeholders
and its parameters, which both index classes run with ``read_rows`` (the
light SQLite index through ``sqlite3``, the full one through its driver),
so that a fresh process reading the client view of an SQLite repo never
imports SQLAlchemy.  The SQL is what both SQLite and PostgreSQL run.

Client objects keep the rows selected with :data:`RUN_COLUMNS` and
:data:`TASK_COLUMNS` and read them by position, so those tuples fix the
meaning of ``run._row[i]`` and ``task._row[i]``.  Values come back as the
driver gives them (on SQLite: times and JSON as text, booleans as 0 and 1):
the objects decode them with :func:`~provenance.storage.index.decode_datetime`,
:func:`~provenance.storage.index.decode_json` and ``bool``.  A namespace is
a tag, so :func:`_has_tags` is also the namespace filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "PAGE",
    "RUN_COLUMNS",
    "TASK_COLUMNS",
    "Query",
    "a_run_in_ns",
    "run_info",
    "computing_task",
    "computing_tasks",
    "first_run_start",
    "flow_names",
    "last_task",
    "latest_successful_run",
    "latest_successful_tasks",
    "read_tags",
    "run_row",
    "run_tags",
    "runs_page",
    "step_names",
    "step_tasks",
    "task_row",
    "task_times",
]

#: SQL text with ``?`` placeholders, and its parameters.
Query = tuple[str, tuple[Any, ...]]

RUN_COLUMNS = (
    "id", "flow", "run_number", "user", "status", "implicit", "created_at", "finished_at",
)  # fmt: skip
TASK_COLUMNS = (
    "id", "step", "task_number", "artifact_id", "cached", "successful", "exception", "params",
    "started_at", "finished_at", "hits",
)  # fmt: skip
#: The most runs fetched per query while iterating a flow (keyset pagination).
PAGE = 256

_RUNS = ", ".join(f'runs."{c}"' for c in RUN_COLUMNS)
_TASKS = ", ".join(f"tasks.{c}" for c in TASK_COLUMNS)


def _has_tags(tags: Iterable[str]) -> tuple[str, tuple[Any, ...]]:
    """``AND``-ed conditions that the run (``runs.id``) carries every one of ``tags``."""
    tags = tuple(tags)
    exists = (
        " AND EXISTS (SELECT 1 FROM run_tags WHERE run_tags.run_id = runs.id AND run_tags.tag = ?)"
    )
    return exists * len(tags), tags


# -- flows -------------------------------------------------------------------------


def flow_names(ns: str | None) -> Query:
    # The flows with a run in ns (all if None), most recently run first.
    where, params = _has_tags([ns] if ns is not None else [])
    return (
        f"SELECT runs.flow, MAX(runs.created_at) FROM runs WHERE 1 = 1{where} "
        "GROUP BY runs.flow ORDER BY MAX(runs.created_at) DESC",
        params,
    )


def first_run_start(flow: str) -> Query:
    # The first run by number: one step down the (flow, run_number) index.
    return (
        "SELECT runs.created_at FROM runs WHERE runs.flow = ? ORDER BY runs.run_number LIMIT 1",
        (flow,),
    )


def a_run_in_ns(flow: str, ns: str) -> Query:
    where, params = _has_tags([ns])
    return f"SELECT runs.id FROM runs WHERE runs.flow = ?{where} LIMIT 1", (flow, *params)


def runs_page(flow: str, tags: list[str], below: int | None, page: int) -> Query:
    # The newest `page` runs numbered below `below` carrying every one of
    # `tags`: keyset pagination over the (flow, run_number) index.
    where, params = _has_tags(tags)
    sql = f"SELECT {_RUNS} FROM runs WHERE runs.flow = ?{where}"
    args: tuple[Any, ...] = (flow, *params)
    if below is not None:
        sql += " AND runs.run_number < ?"
        args += (below,)
    return f"{sql} ORDER BY runs.run_number DESC LIMIT ?", (*args, page)


def latest_successful_run(flow: str, ns: str | None) -> Query:
    where, params = _has_tags([ns] if ns is not None else [])
    return (
        f"SELECT {_RUNS} FROM runs WHERE runs.flow = ? AND runs.status = 'successful'{where} "
        "ORDER BY runs.run_number DESC LIMIT 1",
        (flow, *params),
    )


# -- runs --------------------------------------------------------------------------


def run_row(flow: str, number: int) -> Query:
    return f"SELECT {_RUNS} FROM runs WHERE runs.flow = ? AND runs.run_number = ?", (flow, number)


def run_info(run_id: int) -> Query:
    # The info of one run (a flow run's holds its file, code fingerprint and graph).
    return "SELECT info FROM runs WHERE id = ?", (run_id,)


def run_tags(run_id: int) -> Query:
    # (tag, system) of one run.
    return "SELECT tag, system FROM run_tags WHERE run_id = ?", (run_id,)


def read_tags(index: Any, run_id: int) -> tuple[frozenset[str], frozenset[str]]:
    """``(user tags, system tags)`` of one run."""
    rows = index.read_rows(*run_tags(run_id))
    return (
        frozenset(t for t, system in rows if not system),
        frozenset(t for t, system in rows if system),
    )


def step_names(run_id: int) -> Query:
    # The steps of a run, the one with the latest task first.
    return (
        "SELECT tasks.step FROM tasks WHERE tasks.run_id = ? "
        "GROUP BY tasks.step ORDER BY MAX(tasks.id) DESC",
        (run_id,),
    )


def last_task(run_id: int) -> Query:
    return (
        f"SELECT {_TASKS} FROM tasks WHERE tasks.run_id = ? ORDER BY tasks.id DESC LIMIT 1",
        (run_id,),
    )


def latest_successful_tasks(run_id: int) -> Query:
    # The latest successful task of each step of a run, in the order they ran.
    return (
        f"SELECT {_TASKS} FROM tasks WHERE tasks.id IN (SELECT MAX(tasks.id) FROM tasks "
        "WHERE tasks.run_id = ? AND tasks.successful = ? GROUP BY tasks.step) "
        "ORDER BY tasks.id",
        (run_id, True),
    )


# -- steps and tasks ---------------------------------------------------------------


def task_times(run_id: int, step: str, *, latest: bool) -> Query:
    # (started_at, finished_at) of a step's first or latest task.
    order = "DESC" if latest else "ASC"
    return (
        "SELECT tasks.started_at, tasks.finished_at FROM tasks "
        f"WHERE tasks.run_id = ? AND tasks.step = ? ORDER BY tasks.task_number {order} LIMIT 1",
        (run_id, step),
    )


def step_tasks(run_id: int, step: str, *, cached_only: bool, limit: int | None) -> Query:
    # A step's tasks (only its cache hits if cached_only), newest first.
    sql = f"SELECT {_TASKS} FROM tasks WHERE tasks.run_id = ? AND tasks.step = ?"
    args: tuple[Any, ...] = (run_id, step)
    if cached_only:
        sql += " AND tasks.cached = ?"
        args += (True,)
    sql += " ORDER BY tasks.task_number DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args += (limit,)
    return sql, args


def task_row(run_id: int, step: str, number: int) -> Query:
    return (
        f"SELECT {_TASKS} FROM tasks "
        "WHERE tasks.run_id = ? AND tasks.step = ? AND tasks.task_number = ?",
        (run_id, step, number),
    )


def computing_tasks(artifact_ids: list[str]) -> Query:
    # (artifact_id, flow, run_number, step, task_number) of the tasks that
    # computed these artifacts, oldest first: the first per artifact is its own.
    marks = ", ".join("?" * len(artifact_ids))
    return (
        "SELECT tasks.artifact_id, runs.flow, runs.run_number, tasks.step, tasks.task_number "
        "FROM tasks JOIN runs ON runs.id = tasks.run_id "
        f"WHERE tasks.artifact_id IN ({marks}) AND tasks.cached = ? ORDER BY tasks.id",
        (*artifact_ids, False),
    )


def computing_task(artifact_id: str) -> Query:
    # (flow, run_number, step, task_number) of the first task that computed
    # the artifact rather than serving it from the cache.
    return (
        "SELECT runs.flow, runs.run_number, tasks.step, tasks.task_number "
        "FROM tasks JOIN runs ON runs.id = tasks.run_id "
        "WHERE tasks.artifact_id = ? AND tasks.cached = ? ORDER BY tasks.id LIMIT 1",
        (artifact_id, False),
    )
