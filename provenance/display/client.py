"""The cards of the client view's objects: Metaflow, Flow, Run, Step, Task and DataArtifact.

Read through their public attributes, as a user would; children are listed
up to :data:`~.html.MAX_ROWS` (their listings are paged, so a flow of many
runs costs a page, not the flow).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from .html import MAX_ROWS, Row, card, guarded, link, short_id, size, table, text, when

__all__ = ["client_html"]


def _first(children: Iterable[Any]) -> tuple[list[Any], bool]:
    """The first :data:`MAX_ROWS` children, and whether there are more."""
    taken = list(itertools.islice(children, MAX_ROWS + 1))
    return taken[:MAX_ROWS], len(taken) > MAX_ROWS


def _listing(headers: list[str], children: Iterable[Any], cells: Callable[[Any], list[str]]) -> str:
    shown, more = _first(children)
    if not shown:
        return '<span class="prov-note">none</span>'
    return table(headers, [cells(c) for c in shown], more=more)


def _status(obj: Any) -> str:
    if not obj.finished:
        return "running"
    return "successful" if obj.successful else "failed"


def _tags(obj: Any) -> str:
    return text(", ".join(sorted(obj.user_tags))) or "—"


def _metaflow_rows(root: Any) -> list[Row]:
    return [("flows", _listing(["flow", "created"], root, lambda f: [
        f"<b>{text(f.id)}</b>", text(when(f.created_at))]))]  # fmt: skip


def _flow_rows(flow: Any) -> list[Row]:
    def run(r: Any) -> list[str]:
        return [text(r.id), text(_status(r)), text(when(r.created_at)),
                text(when(r.finished_at)), text(r.user or "—"), _tags(r)]  # fmt: skip

    latest = flow.latest_successful_run
    return [
        ("created", text(when(flow.created_at))),
        ("latest successful", text(latest.pathspec) if latest is not None else "—"),
        ("runs", _listing(["run", "status", "started", "finished", "user", "tags"], flow, run)),
    ]


def _run_rows(run: Any) -> list[Row]:
    def step(s: Any) -> list[str]:
        return [f"<b>{text(s.id)}</b>", text(when(s.created_at)), text(when(s.finished_at))]

    return [
        ("status", text(_status(run)) + (" (implicit run)" if run.implicit else "")),
        ("started", text(when(run.created_at))),
        ("finished", text(when(run.finished_at))),
        ("user", text(run.user or "—")),
        ("tags", _tags(run)),
        ("steps", _listing(["step", "started", "finished"], run, step)),
    ]


def _task_cells(task: Any) -> list[str]:
    artifact_id = task.artifact_id
    return [
        text(task.id),
        text(_status(task)) + (" (cached)" if task.cached else ""),
        text(when(task.created_at)),
        link(artifact_id) if artifact_id else "—",
    ]


def _step_rows(step: Any) -> list[Row]:
    return [
        ("started", text(when(step.created_at))),
        ("finished", text(when(step.finished_at))),
        ("tasks", _listing(["task", "status", "started", "artifact"], step, _task_cells)),
    ]


def _output_cells(data: Any) -> list[str]:
    artifact = data.artifact
    return [f"<b>{text(data.id)}</b>", link(artifact.id, artifact.name), text(size(artifact.size))]


def _task_rows(task: Any) -> list[Row]:
    rows: list[Row] = [
        ("status", text(_status(task)) + (f", {task.hits} cache hits" if task.hits > 1 else "")),
        ("started", text(when(task.created_at))),
        ("finished", text(when(task.finished_at))),
    ]
    if task.cached:
        rows.append(("cached from", text(task.origin_pathspec or "an earlier run")))
    exception = task.exception
    if exception is not None:
        rows.append(("exception", f"<code>{text(exception)}</code>"))
    if task.artifact_id is not None:
        rows.append(("artifact", link(task.artifact_id, task.artifact.name)))
        inputs = task.input_artifact_ids
        rows.append(("inputs", ", ".join(link(i) for i in inputs[:MAX_ROWS]) or "—"))
        rows.append(("data", _listing(["name", "artifact", "size"], task, _output_cells)))
    return rows


def _data_rows(data: Any) -> list[Row]:
    artifact = data.artifact
    rows: list[Row] = [
        ("artifact", link(artifact.id, artifact.name)),
        (
            "sha",
            f'<code title="{text(artifact.value_id)}">{text(short_id(artifact.value_id))}</code>',
        ),
        ("size", text(size(artifact.size))),
        ("created", text(when(artifact.computed_at))),
    ]
    origin = data.origin_pathspec
    if origin:
        rows.append(("cached from", text(origin)))
    return rows


_ROWS: dict[str, Callable[[Any], list[Row]]] = {
    "Metaflow": _metaflow_rows,
    "Flow": _flow_rows,
    "Run": _run_rows,
    "Step": _step_rows,
    "Task": _task_rows,
    "DataArtifact": _data_rows,
}


@guarded
def client_html(obj: Any) -> str:
    """The card of a client object, chosen by its class (or the nearest base named above)."""
    kind = next((c.__name__ for c in type(obj).__mro__ if c.__name__ in _ROWS), None)
    if kind is None:
        raise TypeError(f"no card for {type(obj).__name__}")
    title = f"<b>{text(obj.pathspec)}</b>" if obj.pathspec else "<i>all flows</i>"
    return card(kind, title, _ROWS[kind](obj))
