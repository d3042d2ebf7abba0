"""Runs and tasks read from the index: the SELECTs the client view runs.

Client objects keep the rows selected with :data:`RUN_COLUMNS` and
:data:`TASK_COLUMNS` and read them by position, so those tuples fix the
meaning of ``run._row[i]`` and ``task._row[i]``.  A namespace is a tag, so
:func:`in_ns` is also the namespace filter.  Each function builds one
statement; the objects run it on their index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, Table, exists, func, select

from .models import RunRow, RunTag, TaskRow

__all__ = [
    "PAGE",
    "RUN_COLUMNS",
    "TASK_COLUMNS",
    "a_run_in_ns",
    "computing_task",
    "first_run_start",
    "flow_names",
    "has_tags",
    "in_ns",
    "last_task",
    "latest_successful_run",
    "latest_successful_tasks",
    "run_row",
    "runs_page",
    "runs_t",
    "step_names",
    "step_tasks",
    "tags_t",
    "task_row",
    "task_times",
    "tasks_t",
]

runs_t: Table = RunRow.__table__
tags_t: Table = RunTag.__table__
tasks_t: Table = TaskRow.__table__

RUN_COLUMNS = (
    runs_t.c.id,
    runs_t.c.flow,
    runs_t.c.run_number,
    runs_t.c.user,
    runs_t.c.status,
    runs_t.c.implicit,
    runs_t.c.created_at,
    runs_t.c.finished_at,
)
TASK_COLUMNS = (
    tasks_t.c.id,
    tasks_t.c.step,
    tasks_t.c.task_number,
    tasks_t.c.artifact_id,
    tasks_t.c.cached,
    tasks_t.c.successful,
    tasks_t.c.exception,
    tasks_t.c.params,
    tasks_t.c.started_at,
    tasks_t.c.finished_at,
    tasks_t.c.hits,
)
#: The most runs fetched per query while iterating a flow (keyset pagination).
PAGE = 256

# -- tag filters -------------------------------------------------------------------


def in_ns(run_id_column: Any, ns: str) -> Any:
    return exists().where(tags_t.c.run_id == run_id_column, tags_t.c.tag == ns)


def has_tags(run_id_column: Any, tags: Iterable[str]) -> list[Any]:
    return [in_ns(run_id_column, t) for t in tags]


# -- flows -------------------------------------------------------------------------


def flow_names(ns: str | None) -> Select[Any]:
    # The flows with a run in ns (all if None), most recently run first.
    stmt = select(runs_t.c.flow, func.max(runs_t.c.created_at).label("last"))
    if ns is not None:
        stmt = stmt.where(in_ns(runs_t.c.id, ns))
    return stmt.group_by(runs_t.c.flow).order_by(func.max(runs_t.c.created_at).desc())


def first_run_start(flow: str) -> Select[Any]:
    # The first run by number: one step down the (flow, run_number) index.
    return (
        select(runs_t.c.created_at)
        .where(runs_t.c.flow == flow)
        .order_by(runs_t.c.run_number)
        .limit(1)
    )


def a_run_in_ns(flow: str, ns: str) -> Select[Any]:
    return select(runs_t.c.id).where(runs_t.c.flow == flow, in_ns(runs_t.c.id, ns)).limit(1)


def runs_page(flow: str, tags: list[str], below: int | None, page: int) -> Select[Any]:
    # The newest `page` runs numbered below `below` carrying every one of
    # `tags`: keyset pagination over the (flow, run_number) index.
    stmt = select(*RUN_COLUMNS).where(runs_t.c.flow == flow, *has_tags(runs_t.c.id, tags))
    if below is not None:
        stmt = stmt.where(runs_t.c.run_number < below)
    return stmt.order_by(runs_t.c.run_number.desc()).limit(page)


def latest_successful_run(flow: str, ns: str | None) -> Select[Any]:
    stmt = select(*RUN_COLUMNS).where(
        runs_t.c.flow == flow,
        runs_t.c.status == "successful",
        *has_tags(runs_t.c.id, [ns] if ns is not None else []),
    )
    return stmt.order_by(runs_t.c.run_number.desc()).limit(1)


# -- runs --------------------------------------------------------------------------


def run_row(flow: str, number: int) -> Select[Any]:
    return select(*RUN_COLUMNS).where(runs_t.c.flow == flow, runs_t.c.run_number == number)


def step_names(run_id: int) -> Select[Any]:
    # The steps of a run, the one with the latest task first.
    return (
        select(tasks_t.c.step)
        .where(tasks_t.c.run_id == run_id)
        .group_by(tasks_t.c.step)
        .order_by(func.max(tasks_t.c.id).desc())
    )


def last_task(run_id: int) -> Select[Any]:
    return (
        select(*TASK_COLUMNS)
        .where(tasks_t.c.run_id == run_id)
        .order_by(tasks_t.c.id.desc())
        .limit(1)
    )


def latest_successful_tasks(run_id: int) -> Select[Any]:
    # The latest successful task of each step of a run, in the order they ran.
    latest = (
        select(func.max(tasks_t.c.id))
        .where(tasks_t.c.run_id == run_id, tasks_t.c.successful.is_(True))
        .group_by(tasks_t.c.step)
    )
    return select(*TASK_COLUMNS).where(tasks_t.c.id.in_(latest)).order_by(tasks_t.c.id)


# -- steps and tasks ---------------------------------------------------------------


def task_times(run_id: int, step: str, *, latest: bool) -> Select[Any]:
    # (started_at, finished_at) of a step's first or latest task.
    number = tasks_t.c.task_number.desc() if latest else tasks_t.c.task_number
    return (
        select(tasks_t.c.started_at, tasks_t.c.finished_at)
        .where(tasks_t.c.run_id == run_id, tasks_t.c.step == step)
        .order_by(number)
        .limit(1)
    )


def step_tasks(run_id: int, step: str, *, cached_only: bool, limit: int | None) -> Select[Any]:
    # A step's tasks (only its cache hits if cached_only), newest first.
    stmt = select(*TASK_COLUMNS).where(tasks_t.c.run_id == run_id, tasks_t.c.step == step)
    if cached_only:
        stmt = stmt.where(tasks_t.c.cached.is_(True))
    return stmt.order_by(tasks_t.c.task_number.desc()).limit(limit)


def task_row(run_id: int, step: str, number: int) -> Select[Any]:
    return select(*TASK_COLUMNS).where(
        tasks_t.c.run_id == run_id,
        tasks_t.c.step == step,
        tasks_t.c.task_number == number,
    )


def computing_task(artifact_id: str) -> Select[Any]:
    # (flow, run_number, step, task_number) of the first task that computed
    # the artifact rather than serving it from the cache.
    return (
        select(runs_t.c.flow, runs_t.c.run_number, tasks_t.c.step, tasks_t.c.task_number)
        .join(runs_t, runs_t.c.id == tasks_t.c.run_id)
        .where(tasks_t.c.artifact_id == artifact_id, tasks_t.c.cached.is_(False))
        .order_by(tasks_t.c.id)
        .limit(1)
    )
