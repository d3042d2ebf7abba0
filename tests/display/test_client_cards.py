"""The notebook cards of the client view: Metaflow, Flow, Run, Step, Task, DataArtifact.

Runs are recorded with ``provenance.run`` and decorated calls in the test's
SQLite repository, then read back with the client, as in a notebook.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import provenance as p
from provenance.client import DataArtifact, Flow, Metaflow, Run, Step, Task
from provenance.display.html import MAX_ROWS


@p.provenance()
def prepare(n: int) -> list[int]:
    return list(range(n))


@p.provenance(returns_composite=True)
def train(xs: list[int]) -> dict[str, Any]:
    return {"model": sum(xs), "score": len(xs)}


@p.provenance()
def fails(x: int) -> int:
    raise ValueError(f"no <b>{x}</b>")


def _record(flow: str = "Cards", tags: tuple[str, ...] = ("exp<1>",)) -> Run:
    with p.run(flow, tags=list(tags)):
        train(prepare(4))
        prepare(4)  # a cache hit
        with pytest.raises(ValueError):
            fails(1)
    return Flow(flow).latest_run


def _one_line(obj: Any) -> None:
    text = repr(obj)
    assert "\n" not in text and "object at 0x" not in text, text


def test_a_run_card_shows_its_status_tags_and_steps() -> None:
    run = _record()
    html = run._repr_html_()
    assert 'class="prov-kind">Run' in html and f"<b>{run.pathspec}</b>" in html
    assert "<td>successful</td>" in html  # the block returned (a task in it failed)
    for step in ("prepare", "train", "fails"):
        assert f"<b>{step}</b>" in html
    assert "exp&lt;1&gt;" in html and "exp<1>" not in html
    _one_line(run)


def test_a_flow_card_lists_its_newest_runs_and_counts_none_past_the_page() -> None:
    for _ in range(2):
        _record("Many")
    html = Flow("Many")._repr_html_()
    assert re.search(r"<td>2</td><td>\w+</td>", html) and "<td>1</td>" in html
    assert "and more" not in html
    _one_line(Flow("Many"))


def test_a_flow_of_many_runs_shows_a_page_and_says_there_are_more() -> None:
    for _ in range(MAX_ROWS + 1):
        with p.run("Busy"):
            prepare(1)
    html = Flow("Busy")._repr_html_()
    assert "and more" in html
    assert html.count("<tr><td>") == MAX_ROWS


def test_a_step_card_lists_its_tasks_with_their_artifacts() -> None:
    run = _record()
    step = run["prepare"]
    html = step._repr_html_()
    assert 'class="prov-kind">Step' in html
    assert "successful (cached)" in html  # the second call of prepare
    artifact_id = step.task.artifact_id
    assert f'href="#prov-{artifact_id[:8]}"' in html
    _one_line(step)


def test_a_task_card_shows_its_artifact_inputs_and_data() -> None:
    run = _record()
    task = run["train"].task
    html = task._repr_html_()
    assert 'class="prov-kind">Task' in html
    assert f'href="#prov-{task.artifact_id[:8]}"' in html
    for name in ("model", "score"):
        assert f"<b>{name}</b>" in html
    (parent,) = task.input_artifact_ids
    assert f'href="#prov-{parent[:8]}"' in html
    _one_line(task)


def test_a_failed_task_card_shows_its_exception_escaped() -> None:
    run = _record()
    html = run["fails"].task._repr_html_()
    assert "failed" in html and "ValueError" in html
    assert "no &lt;b&gt;1&lt;/b&gt;" in html and "<b>1</b>" not in html


def test_a_cached_task_card_names_the_task_it_came_from() -> None:
    _record("First")
    run = _record("Second")
    cached = next(t for t in run["prepare"] if t.cached)
    html = cached._repr_html_()
    assert "cached from" in html and "First/" in html


def test_a_data_artifact_card_shows_its_artifact_sha_and_size() -> None:
    run = _record()
    data = run["train"].task["model"]
    assert isinstance(data, DataArtifact)
    html = data._repr_html_()
    assert f'href="#prov-{data.artifact_id[:8]}"' in html
    assert f'title="{data.sha}">{data.sha[:8]}<' in html
    assert re.search(r"size</th><td>\d+ B", html)
    _one_line(data)


def test_the_root_card_lists_the_flows() -> None:
    _record("Alpha")
    html = Metaflow()._repr_html_()
    assert "<b>Alpha</b>" in html and "all flows" in html


@pytest.mark.parametrize("cls", [Flow, Run, Step, Task])
def test_every_level_shows_as_a_card(cls: type) -> None:
    run = _record("Levels")
    obj = {
        Flow: run.parent,
        Run: run,
        Step: run["prepare"],
        Task: run["prepare"].task,
    }[cls]
    assert f'class="prov-kind">{cls.__name__}<' in obj._repr_html_()
