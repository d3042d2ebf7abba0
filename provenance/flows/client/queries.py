"""The SELECTs the client objects run, and the index tables and columns they read.

Client objects keep the rows selected with :data:`_RUN_COLUMNS` and
:data:`_TASK_COLUMNS` and read them by position, so those tuples fix the
meaning of ``run._row[i]`` and ``task._row[i]``.  A namespace is a tag, so
:func:`_in_ns` is also the namespace filter.  Each function builds one
statement; the objects run it on their index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, Table, exists, func, select

from ...storage.models import RunRow, RunTag, TaskRow

_runs_t: Table = RunRow.__table__  # type: ignore[assignment]
_tags_t: Table = RunTag.__table__  # type: ignore[assignment]
_tasks_t: Table = TaskRow.__table__  # type: ignore[assignment]

_RUN_COLUMNS = (
    _runs_t.c.id,
    _runs_t.c.flow,
    _runs_t.c.run_number,
    _runs_t.c.user,
    _runs_t.c.status,
    _runs_t.c.implicit,
    _runs_t.c.created_at,
    _runs_t.c.finished_at,
)
_TASK_COLUMNS = (
    _tasks_t.c.id,
    _tasks_t.c.step,
    _tasks_t.c.task_number,
    _tasks_t.c.artifact_id,
    _tasks_t.c.cached,
    _tasks_t.c.successful,
    _tasks_t.c.exception,
    _tasks_t.c.params,
    _tasks_t.c.started_at,
    _tasks_t.c.finished_at,
)
#: The most runs fetched per query while iterating a flow (keyset pagination).
_PAGE = 256

# -- tag filters -------------------------------------------------------------------


def _in_ns(run_id_column: Any, ns: str) -> Any:
    return exists().where(_tags_t.c.run_id == run_id_column, _tags_t.c.tag == ns)


def _has_tags(run_id_column: Any, tags: Iterable[str]) -> list[Any]:
    return [_in_ns(run_id_column, t) for t in tags]


# -- flows -------------------------------------------------------------------------


def _flow_names(ns: str | None) -> Select[Any]:
    # The flows with a run in ns (all if None), most recently run first.
    stmt = select(_runs_t.c.flow, func.max(_runs_t.c.created_at).label("last"))
    if ns is not None:
        stmt = stmt.where(_in_ns(_runs_t.c.id, ns))
    return stmt.group_by(_runs_t.c.flow).order_by(func.max(_runs_t.c.created_at).desc())


def _first_run_start(flow: str) -> Select[Any]:
    # The first run by number: one step down the (flow, run_number) index.
    return (
        select(_runs_t.c.created_at)
        .where(_runs_t.c.flow == flow)
        .order_by(_runs_t.c.run_number)
        .limit(1)
    )


def _a_run_in_ns(flow: str, ns: str) -> Select[Any]:
    return select(_runs_t.c.id).where(_runs_t.c.flow == flow, _in_ns(_runs_t.c.id, ns)).limit(1)


def _runs_page(flow: str, tags: list[str], below: int | None, page: int) -> Select[Any]:
    # The newest `page` runs numbered below `below` carrying every one of
    # `tags`: keyset pagination over the (flow, run_number) index.
    stmt = select(*_RUN_COLUMNS).where(_runs_t.c.flow == flow, *_has_tags(_runs_t.c.id, tags))
    if below is not None:
        stmt = stmt.where(_runs_t.c.run_number < below)
    return stmt.order_by(_runs_t.c.run_number.desc()).limit(page)


def _latest_successful_run(flow: str, ns: str | None) -> Select[Any]:
    stmt = select(*_RUN_COLUMNS).where(
        _runs_t.c.flow == flow,
        _runs_t.c.status == "successful",
        *_has_tags(_runs_t.c.id, [ns] if ns is not None else []),
    )
    return stmt.order_by(_runs_t.c.run_number.desc()).limit(1)


# -- runs --------------------------------------------------------------------------


def _run_row(flow: str, number: int) -> Select[Any]:
    return select(*_RUN_COLUMNS).where(_runs_t.c.flow == flow, _runs_t.c.run_number == number)


def _step_names(run_id: int) -> Select[Any]:
    # The steps of a run, the one with the latest task first.
    return (
        select(_tasks_t.c.step)
        .where(_tasks_t.c.run_id == run_id)
        .group_by(_tasks_t.c.step)
        .order_by(func.max(_tasks_t.c.id).desc())
    )


def _last_task(run_id: int) -> Select[Any]:
    return (
        select(*_TASK_COLUMNS)
        .where(_tasks_t.c.run_id == run_id)
        .order_by(_tasks_t.c.id.desc())
        .limit(1)
    )


def _latest_successful_tasks(run_id: int) -> Select[Any]:
    # The latest successful task of each step of a run, in the order they ran.
    latest = (
        select(func.max(_tasks_t.c.id))
        .where(_tasks_t.c.run_id == run_id, _tasks_t.c.successful.is_(True))
        .group_by(_tasks_t.c.step)
    )
    return select(*_TASK_COLUMNS).where(_tasks_t.c.id.in_(latest)).order_by(_tasks_t.c.id)


# -- steps and tasks ---------------------------------------------------------------


def _task_times(run_id: int, step: str, *, latest: bool) -> Select[Any]:
    # (started_at, finished_at) of a step's first or latest task.
    number = _tasks_t.c.task_number.desc() if latest else _tasks_t.c.task_number
    return (
        select(_tasks_t.c.started_at, _tasks_t.c.finished_at)
        .where(_tasks_t.c.run_id == run_id, _tasks_t.c.step == step)
        .order_by(number)
        .limit(1)
    )


def _step_tasks(run_id: int, step: str, *, cached_only: bool, limit: int | None) -> Select[Any]:
    # A step's tasks (only its cache hits if cached_only), newest first.
    stmt = select(*_TASK_COLUMNS).where(_tasks_t.c.run_id == run_id, _tasks_t.c.step == step)
    if cached_only:
        stmt = stmt.where(_tasks_t.c.cached.is_(True))
    return stmt.order_by(_tasks_t.c.task_number.desc()).limit(limit)


def _task_row(run_id: int, step: str, number: int) -> Select[Any]:
    return select(*_TASK_COLUMNS).where(
        _tasks_t.c.run_id == run_id,
        _tasks_t.c.step == step,
        _tasks_t.c.task_number == number,
    )


def _computing_task(artifact_id: str) -> Select[Any]:
    # (flow, run_number, step, task_number) of the first task that computed
    # the artifact rather than serving it from the cache.
    return (
        select(_runs_t.c.flow, _runs_t.c.run_number, _tasks_t.c.step, _tasks_t.c.task_number)
        .join(_runs_t, _runs_t.c.id == _tasks_t.c.run_id)
        .where(_tasks_t.c.artifact_id == artifact_id, _tasks_t.c.cached.is_(False))
        .order_by(_tasks_t.c.id)
        .limit(1)
    )
