"""The web view's pages of flows: flow → runs → a run's step graph → tasks.

Read through the client view (:mod:`provenance.flows.client`), on the
repository being served, in the namespace in effect (``provenance ui``
shows every namespace unless given ``--namespace``).  A pathspec from the
URL is checked by the client objects themselves: a malformed one is a
``400`` page, a missing one a ``404``.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..errors import InvalidValue
from ..flows.client import DataArtifact, Flow, Metaflow, Run, Step, Task
from . import views

__all__ = ["flow_page", "flows_page", "run_page", "status", "step_page", "task_page", "took"]

#: Runs per page of a flow, tasks per page of a step.
RUNS_PER_PAGE = 50
TASKS_PER_PAGE = 100


def _repo(request: Any) -> Any:
    served = request.app.state.repo
    # Runs and tasks are recorded in a chained repo's first writable member.
    members = getattr(served, "repos", None)
    if members:
        return next((m for m in members if getattr(m, "write", False)), members[0])
    return served


def took(obj: Any) -> float | None:
    """Seconds from a run's or task's start to its finish (``None`` while it runs)."""
    start, end = obj.created_at, obj.finished_at
    return (end - start).total_seconds() if start is not None and end is not None else None


def status(run_or_task: Any) -> str:
    """``successful``, ``failed`` or ``running``."""
    if run_or_task.successful:
        return "successful"
    return "failed" if run_or_task.finished else "running"


def _tags(request: Any) -> list[str]:
    return [t for t in request.query_params.getlist("tag") if t.strip()]


def _before(request: Any) -> int | None:
    text = request.query_params.get("before", "")
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise InvalidValue(f"the before parameter must be a run number, got {text!r}")
    return int(text)


async def flows_page(request: Any) -> Any:
    """Every flow with its latest run."""
    rows = []
    for flow in Metaflow(_repo=_repo(request)).flows:
        latest = flow.latest_run
        if latest is not None:
            rows.append((flow, latest, status(latest)))
    return views.render(request, "flows.html", rows=rows)


async def flow_page(request: Any) -> Any:
    """The runs of one flow, newest first, filtered by tags as ``Flow.runs(*tags)``."""
    flow = Flow(request.path_params["flow"], _repo=_repo(request))
    tags, before = _tags(request), _before(request)
    flow.runs(*tags)  # checks the tags as the client does
    # Keyset pages: the older runs are those numbered below the last one shown.
    runs = list(itertools.islice(flow._children(tuple(tags), before), RUNS_PER_PAGE + 1))
    shown = runs[:RUNS_PER_PAGE]
    return views.render(
        request, "flow.html", flow=flow, tags=tags,
        runs=[(r, status(r), took(r)) for r in shown],
        more=shown[-1].id if len(runs) > RUNS_PER_PAGE else None,
    )  # fmt: skip


def _step_row(step: Any) -> tuple[Any, str, int, int]:
    tasks = list(itertools.islice(step.tasks(), TASKS_PER_PAGE))
    states = {status(t) for t in tasks}
    state = next((s for s in ("failed", "running") if s in states), "successful")
    return step, state, len(tasks), sum(1 for t in tasks if t.cached)


def _graph_order(graph: dict[str, list[str]]) -> dict[str, int]:
    """Each step's place in a breadth-first walk of a FlowSpec graph from ``start``."""
    order: dict[str, int] = {}
    todo = ["start"] if "start" in graph else list(graph)[:1]
    while todo:
        name = todo.pop(0)
        if name not in order:
            order[name] = len(order)
            todo += graph.get(name, [])
    return order


async def run_page(request: Any) -> Any:
    """A run: its status, tags and step graph, coloured by status and by cached or computed."""
    from .drawing import steps_svg

    run = Run(f"{request.path_params['flow']}/{request.path_params['run']}", _repo=_repo(request))
    order = _graph_order((run._flow_info() or {}).get("graph") or {})
    steps = sorted((_step_row(s) for s in run.steps()), key=lambda row: order.get(row[0].id, 1e9))
    svg = steps_svg(run, steps) if steps else ""
    return views.render(request, "run.html", run=run, state=status(run), steps=steps, svg=svg,
                        took=took(run))  # fmt: skip


async def step_page(request: Any) -> Any:
    """The tasks of one step."""
    spec = "/".join(request.path_params[k] for k in ("flow", "run", "step"))
    step = Step(spec, _repo=_repo(request))
    tasks = [(t, status(t), took(t)) for t in itertools.islice(step.tasks(), TASKS_PER_PAGE)]
    return views.render(request, "step.html", step=step, tasks=tasks)


async def task_page(request: Any) -> Any:
    """One task: its artifacts, stdout and stderr, exception."""
    spec = "/".join(request.path_params[k] for k in ("flow", "run", "step", "task"))
    task = Task(spec, _repo=_repo(request))
    artifacts: list[DataArtifact] = list(task.artifacts)
    return views.render(
        request, "task.html", task=task, state=status(task), artifacts=artifacts,
        stdout=task.stdout, stderr=task.stderr, exception=task.exception,
    )  # fmt: skip
