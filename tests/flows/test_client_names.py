"""Steps and data artifacts named with ``/``, ``%`` or dots: their ids quote their names.

An artifact name may hold any character (``name="models/train"``, as the
original library allowed); the id of its step, a pathspec component, is the
name quoted by :mod:`provenance.flows.client.names`.  The quoting is tested
against its contract (injective, reversible, never a ``/``), then through
the client and the notebook cards on a recorded run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import provenance as p
from provenance import client
from provenance.client import DataArtifact, Flow, Run, Step, Task
from provenance.errors import MetaflowInvalidPathspec, MetaflowNotFound
from provenance.flows.client.names import quote_name, unquote_name

#: Names that a pathspec could not hold as they are, with their ids.
QUOTED = {
    "models/train": "models%2Ftrain",
    "models%2Ftrain": "models%252Ftrain",
    "100%": "100%25",
    "/": "%2F",
    ".": "%2E",
    "..": "%2E%2E",
    "...": "...",
    "a.b": "a.b",
    "plain_name": "plain_name",
}

# Characters the quoting is about, often, among any others.
_names = st.text(st.sampled_from("%/.2Ffe") | st.characters(), min_size=1, max_size=30)


@pytest.fixture(autouse=True)
def client_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PROVENANCE_USER", "tester")
    client.default_namespace()
    yield
    client.default_namespace()
    client.default_metadata()


@pytest.mark.parametrize(("name", "quoted"), QUOTED.items())
def test_a_name_is_quoted_so_it_is_one_component(name: str, quoted: str) -> None:
    assert quote_name(name) == quoted
    assert unquote_name(quoted) == name
    assert client.quote_name is quote_name and client.unquote_name is unquote_name


@given(_names, _names)
def test_quoting_is_injective_reversible_and_never_splits(a: str, b: str) -> None:
    qa, qb = quote_name(a), quote_name(b)
    assert "/" not in qa and qa not in ("", ".", "..")
    assert unquote_name(qa) == a
    assert (qa == qb) == (a == b)


def test_other_percents_stand_for_themselves_and_escapes_read_in_either_case() -> None:
    assert unquote_name("100%") == "100%"
    assert unquote_name("a%41") == "a%41"
    assert unquote_name("models%2ftrain") == "models/train"
    assert unquote_name("%252F") == "%2F"


@p.provenance(name="models/train")
def slashed(x: int) -> int:
    return x + 1


@p.provenance(name="models%2Ftrain")
def percent(x: int) -> int:
    return x * 10


@p.provenance(name="..")
def dots(x: int) -> int:
    return -x


@p.provenance(name="100%", returns_composite=True)
def members(x: int) -> dict[str, int]:
    return {"a/b": x, "c": 2}


def _record(repo: Any) -> Run:
    with p.run("Names"):
        slashed(1)
        percent(1)
        dots(1)
        members(3)
        slashed(1)  # a cache hit: a second task of the step
    run = Flow("Names").latest_run
    assert run is not None
    return run


def test_every_step_of_the_run_is_listed_and_opened_by_its_pathspec(repo: Any) -> None:
    run = _record(repo)
    spec = run.pathspec
    ids = {"models%2Ftrain", "models%252Ftrain", "%2E%2E", "100%25"}
    assert {s.id for s in run} == {s.id for s in run.steps()} == ids
    for step in run:
        assert Step(step.pathspec) == step and run[step.id] == step and step.id in run
        assert step.parent == run
        for task in step:
            assert Task(task.pathspec) == task and task.parent == step
            for data in task:
                assert DataArtifact(data.pathspec) == data and data.parent == task
                assert task[data.id] == data
    assert len(list(run["models%2Ftrain"].tasks())) == 2
    # Two names that differ are two steps, each with its own value.
    assert Step(f"{spec}/models%2Ftrain").task.data["models/train"] == 2
    assert Step(f"{spec}/models%252Ftrain").task.data["models%2Ftrain"] == 10
    assert DataArtifact(f"{spec}/models%2Ftrain/1/models%2Ftrain").data == 2
    assert DataArtifact(f"{spec}/models%252Ftrain/1/models%252Ftrain").data == 10
    assert DataArtifact(f"{spec}/%2E%2E/1/%2E%2E").data == -1
    # A composite's member with '/' is a data artifact of its own.
    assert DataArtifact(f"{spec}/100%25/1/a%2Fb").data == 3
    assert sorted(run["100%25"].task.data) == ["a/b", "c"]
    assert run.data["models/train"] == 2 and run.data["models%2Ftrain"] == 10
    assert run.data[".."] == -1 and run.data["a/b"] == 3


def test_a_pathspec_is_kept_in_its_one_quoted_form(repo: Any) -> None:
    run = _record(repo)
    spec = run.pathspec
    assert Step(f"{spec}/models%2ftrain").pathspec == f"{spec}/models%2Ftrain"
    # Written before the quoting, an id with a lone '%' still finds its step.
    assert Step(f"{spec}/100%") == run["100%25"]
    assert Step(f"{spec}/100%").pathspec == f"{spec}/100%25"
    cached = run["models%2Ftrain"].task
    assert cached.cached and cached.origin_pathspec == f"{spec}/models%2Ftrain/1"
    with pytest.raises(MetaflowInvalidPathspec, match="'%2E%2E'"):
        Step(f"{spec}/..")
    with pytest.raises(MetaflowInvalidPathspec):
        Step(f"{spec}/models/train")  # four components: not a step
    with pytest.raises(MetaflowNotFound):
        Step(f"{spec}/models")
    assert "models/train" not in run  # the name is not the id


def test_the_cards_of_a_run_with_such_names_render_in_full(repo: Any) -> None:
    run = _record(repo)
    html = run._repr_html_()
    assert 'class="prov-kind">Run' in html and "no details" not in html
    for step_id in ("models%2Ftrain", "models%252Ftrain", "%2E%2E", "100%25"):
        assert f"<b>{step_id}</b>" in html
    for step in run:
        for obj in (step, step.task, *step.task):
            card = obj._repr_html_()
            assert "no details" not in card and f"<b>{obj.pathspec}</b>" in card
