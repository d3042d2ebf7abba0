"""The Metaflow-style client view (``provenance.client``) over recorded runs.

Recording (``provenance.run``, implicit runs, the task buffer) and browsing
(Metaflow, Flow, Run, Step, Task, DataArtifact) are tested together: every
test records with decorated functions and reads back with the client, on the
in-memory, SQLite and PostgreSQL indexes (the ``repo`` fixture).  Processes
are used only where the behaviour is about processes: implicit runs, a store
made by another process, and racing run starts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_config, sqlite_config
from sqlalchemy import event, insert, select

import provenance as p
from provenance import client
from provenance import recording as runs
from provenance.client import (
    DataArtifact,
    Flow,
    Metaflow,
    MetaflowArtifacts,
    MetaflowData,
    Run,
    Step,
    Task,
    TaskException,
)
from provenance.errors import (
    BlobNotFound,
    ClientError,
    ConfigError,
    MetaflowInvalidPathspec,
    MetaflowNamespaceMismatch,
    MetaflowNotFound,
    MetaflowTaggingError,
    ProvenanceError,
    RepoNotFound,
)
from provenance.storage.models import RunRow, RunTag

SCRIPT = str(Path(__file__).resolve().parent / "client_script.py")
USER = "alice"


@pytest.fixture(autouse=True)
def client_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A known user, the default namespace and provider; nothing leaks to the next test."""
    monkeypatch.setenv("PROVENANCE_USER", USER)
    client.default_namespace()
    yield
    runs.flush()
    client.default_namespace()
    client.default_metadata()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_config(request: pytest.FixtureRequest, tmp_path: Any) -> dict[str, Any]:
    """A config (loaded here too) for a repo that other processes share."""
    if request.param == "sqlite":
        cfg = sqlite_config(str(tmp_path / "shared"))
    else:
        cfg = postgres_config(request.getfixturevalue("postgres_url"), str(tmp_path / "shared"))
    p.load_config(cfg)
    return cfg


# -- decorated functions used as steps ------------------------------------------------


@p.provenance()
def start() -> list[int]:
    return [1, 2, 3]


@p.provenance()
def middle(some_data: list[int]) -> list[int]:
    return [*some_data[:-1], 4]


@p.provenance()
def end(some_data: list[int]) -> int:
    return sum(some_data)


def art_flow() -> Any:
    """start -> middle -> end with plain returns: one data artifact per step."""
    return end(middle(start()))


@p.provenance()
def square(x: int) -> int:
    return x * x


@p.provenance()
def fragile(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative input: {x}")
    return x


@p.provenance()
def big(n: int) -> bytes:
    return b"x" * n  # well over the 4 KiB kept inline in the index


@p.provenance(returns_composite=True)
def split(n: int) -> dict[str, Any]:
    return {"low": list(range(n)), "high": n * 10}


def run_script(*args: str, cwd: Any, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def ids(objects: Any) -> list[str]:
    return [o.id for o in objects]


# -- the tutorial ---------------------------------------------------------------------


def test_tutorial_flow_updated_artifact_is_read_back_from_run_and_latest_run(repo: Any) -> None:
    @p.provenance(returns_composite=True)
    def start() -> dict[str, Any]:
        return {"some_data": [1, 2, 3]}

    @p.provenance(returns_composite=True)
    def middle(some_data: list[int]) -> dict[str, Any]:
        return {"some_data": [*some_data[:-1], 4]}

    @p.provenance()
    def end(some_data: list[int]) -> list[int]:
        return list(some_data)

    with p.run("ArtFlow") as r:
        end(middle(start()["some_data"])["some_data"])

    assert r.pathspec == "ArtFlow/1"
    assert Run(r.pathspec).data.some_data == [1, 2, 4]
    assert Flow("ArtFlow").latest_run.data.some_data == [1, 2, 4]
    assert Run(r.pathspec)["start"].task.data.some_data == [1, 2, 3]
    assert Run(r.pathspec).data.end == [1, 2, 4]


def test_second_run_gets_the_next_id_and_its_tasks_are_cached_from_the_first(repo: Any) -> None:
    with p.run("ArtFlow") as first:
        assert art_flow() == 7
    with p.run("ArtFlow") as second:
        assert art_flow() == 7
    with p.run("OtherFlow") as other:
        square(3)

    assert (first.id, second.id, other.id) == ("1", "2", "1")
    assert (first.pathspec, second.pathspec) == ("ArtFlow/1", "ArtFlow/2")
    assert ids(Flow("ArtFlow")) == ["2", "1"]
    assert Run("ArtFlow/2").data.middle == [1, 2, 4]
    assert Flow("ArtFlow").latest_run.data.middle == [1, 2, 4]
    assert Flow("ArtFlow").latest_run.data.end == 7
    for step in ("start", "middle", "end"):
        computed = Task(f"ArtFlow/1/{step}/1")
        cached = Task(f"ArtFlow/2/{step}/1")
        assert not computed.cached and "cached" not in computed.system_tags
        assert computed.origin_pathspec is None
        assert cached.cached and "cached" in cached.system_tags and "cached" in cached.tags
        assert cached.origin_pathspec == f"ArtFlow/1/{step}/1"
        assert cached.metadata_dict["cache"] == "hit"
        assert computed.metadata_dict["cache"] == "miss"
        assert cached.artifact_id == computed.artifact_id
        assert cached.successful and cached.finished
        assert cached[step].origin_pathspec == f"ArtFlow/1/{step}/1/{step}"
        assert computed[step].origin_pathspec is None


def test_active_run_client_is_the_run_while_it_is_running(repo: Any) -> None:
    with p.run("Live", tags=["wip"]) as r:
        square(2)
        assert p.current_run() == r.pathspec
        live = r.client
        assert live.pathspec == r.pathspec
        assert not live.finished and not live.successful and live.finished_at is None
        assert live["square"].task.data.square == 4  # buffered tasks are flushed first
    assert p.current_run() is None
    done = Run(r.pathspec)
    assert done.finished and done.successful and done.finished_at >= done.created_at


# -- objects, hierarchy, iteration ----------------------------------------------------


def test_pathspecs_path_components_and_parents_walk_the_hierarchy(repo: Any) -> None:
    with p.run("ArtFlow") as r:
        art_flow()

    artifact = DataArtifact("ArtFlow/1/middle/1/middle")
    assert artifact.pathspec == "ArtFlow/1/middle/1/middle"
    assert artifact.path_components == ["ArtFlow", "1", "middle", "1", "middle"]
    task = artifact.parent
    assert isinstance(task, Task) and task.pathspec == "ArtFlow/1/middle/1"
    assert task.path_components == ["ArtFlow", "1", "middle", "1"]
    step = task.parent
    assert isinstance(step, Step) and step.pathspec == "ArtFlow/1/middle"
    run = step.parent
    assert isinstance(run, Run) and run.pathspec == r.pathspec == "ArtFlow/1"
    assert run.path_components == ["ArtFlow", "1"]
    flow = run.parent
    assert isinstance(flow, Flow) and flow.pathspec == "ArtFlow"
    assert flow.path_components == ["ArtFlow"]
    assert flow.parent is None
    assert Metaflow().pathspec is None and Metaflow().path_components == []
    assert (flow.id, run.id, step.id, task.id, artifact.id) == (
        "ArtFlow",
        "1",
        "middle",
        "1",
        "middle",
    )
    assert run == Run("ArtFlow/1") and hash(run) == hash(Run("ArtFlow/1"))


def test_children_iterate_newest_first_and_support_getitem_and_in(repo: Any) -> None:
    with p.run("Older"):
        square(1)
    with p.run("ArtFlow"):
        art_flow()
    with p.run("ArtFlow"):
        square(1)
        square(2)
        square(3)

    assert ids(Metaflow()) == ["ArtFlow", "Older"]
    assert ids(Metaflow().flows) == ["ArtFlow", "Older"]
    assert "ArtFlow" in Metaflow() and "Nope" not in Metaflow()
    assert isinstance(Metaflow()["Older"], Flow)

    flow = Flow("ArtFlow")
    assert ids(flow) == ["2", "1"]
    assert "1" in flow and "3" not in flow and "x" not in flow
    assert flow["1"] == Run("ArtFlow/1")

    run = flow["1"]
    assert ids(run) == ["end", "middle", "start"]
    assert "middle" in run and "square" not in run
    assert isinstance(run["start"], Step)

    step = Run("ArtFlow/2")["square"]
    assert ids(step) == ["3", "2", "1"]
    assert [t.data.square for t in step] == [9, 4, 1]
    assert step.task == step["3"]
    assert "2" in step and "4" not in step

    task = run["end"]["1"]
    assert ids(task) == ["end"]
    assert "end" in task and "start" not in task
    assert isinstance(task["end"], DataArtifact)


def test_created_at_and_finished_at_follow_the_recorded_times(repo: Any) -> None:
    before = datetime.now(timezone.utc)
    with p.run("Timed") as r:
        first = square(5)
        time.sleep(0.01)
        square(6)
    after = datetime.now(timezone.utc)
    with p.run("Timed"):
        pass

    run = Run(r.pathspec)
    assert before <= run.created_at <= run.finished_at <= after
    assert Flow("Timed").created_at == run.created_at
    step = run["square"]
    t1, t2 = step["1"], step["2"]
    assert run.created_at <= t1.created_at <= t1.finished_at <= t2.created_at
    assert t2.finished_at <= run.finished_at
    assert step.created_at == t1.created_at and step.finished_at == t2.finished_at
    artifact = t1["square"]
    assert artifact.created_at == first.artifact.computed_at
    assert artifact.finished_at == artifact.created_at


def test_tags_of_steps_tasks_and_artifacts_are_those_of_their_run(repo: Any) -> None:
    with p.run("Tagged", tags=["exp-1", "team"]) as r:
        square(7)

    run = Run(r.pathspec)
    assert run.user_tags == {"exp-1", "team"}
    assert run.tags == run.user_tags | run.system_tags
    for obj in (
        run["square"],
        Task(f"{r.pathspec}/square/1"),
        DataArtifact(f"{r.pathspec}/square/1/square"),
    ):
        assert obj.user_tags == run.user_tags
        assert obj.system_tags == run.system_tags
        assert obj.tags == run.tags
        assert obj.origin_pathspec is None


def test_flow_runs_run_steps_and_step_tasks_filter_by_tags(repo: Any) -> None:
    with p.run("Filter", tags=["a"]):
        square(1)
    with p.run("Filter", tags=["a", "b"]):
        square(1)
        square(2)
    with p.run("Filter"):
        square(3)

    flow = Flow("Filter")
    assert ids(flow.runs()) == ["3", "2", "1"]
    assert ids(flow.runs("a")) == ["2", "1"]
    assert ids(flow.runs("a", "b")) == ["2"]
    assert ids(flow.runs("nope")) == []
    assert ids(flow.runs(f"user:{USER}")) == ["3", "2", "1"]

    run = Run("Filter/2")
    assert ids(run.steps()) == ["square"]
    assert ids(run.steps("b")) == ["square"]
    assert ids(run.steps("c")) == []
    step = run["square"]
    assert ids(step.tasks()) == ["2", "1"]
    assert ids(step.tasks("cached")) == ["1"]
    assert ids(step.tasks("cached", "a")) == ["1"]
    assert ids(step.tasks("c")) == []
    assert ids(Run("Filter/1")["square"].tasks("cached")) == []
    with pytest.raises(MetaflowTaggingError):
        list(flow.runs(""))


def test_latest_successful_run_skips_a_later_failed_run(repo: Any) -> None:
    with p.run("Fails") as ok:
        square(1)
    with pytest.raises(RuntimeError, match="escaped"), p.run("Fails") as bad:
        square(2)
        raise RuntimeError("escaped the run")

    flow = Flow("Fails")
    assert flow.latest_run == Run(bad.pathspec) == Run("Fails/2")
    assert flow.latest_successful_run == Run(ok.pathspec) == Run("Fails/1")
    failed = Run(bad.pathspec)
    assert failed.finished and not failed.successful and failed.finished_at is not None
    assert failed.data.square == 4  # what it computed before failing is still there
    assert Flow("Fails")["1"].successful


def test_latest_runs_are_none_without_a_matching_run(repo: Any) -> None:
    with pytest.raises(ValueError), p.run("OnlyFailed"):
        raise ValueError("no luck")
    assert Flow("OnlyFailed").latest_run.id == "1"
    assert Flow("OnlyFailed").latest_successful_run is None
    assert Run("OnlyFailed/1").end_task is None
    assert ids(Run("OnlyFailed/1")) == []


def test_end_task_is_the_last_task_of_the_run(repo: Any) -> None:
    with p.run("Ends") as r:
        art_flow()
        square(4)
    assert Run(r.pathspec).end_task == Task(f"{r.pathspec}/square/1")
    assert Run(r.pathspec).end_task.data.square == 16


def test_task_exposes_data_artifacts_metadata_parameters_and_inputs(repo: Any) -> None:
    with p.run("Inspect") as r:
        upstream = start()
        result = middle(upstream)

    task = Task(f"{r.pathspec}/middle/1")
    assert task.successful and task.finished and task.exception is None
    assert task.created_at <= task.finished_at
    assert isinstance(task.data, MetaflowData)
    assert task.data.middle == [1, 2, 4]
    assert "middle" in task.data and "start" not in task.data
    assert task.data.keys() == ["middle"]
    assert isinstance(task.artifacts, MetaflowArtifacts)
    assert task.artifacts.middle == task["middle"] == DataArtifact(f"{r.pathspec}/middle/1/middle")
    assert "middle" in task.artifacts
    assert [a.id for a in task.artifacts] == ["middle"]
    assert task.input_artifact_ids == [upstream.artifact.id]
    assert task.parameters == {
        "kargs": {
            "some_data": {
                "id": upstream.artifact.id,
                "type": "ArtifactProxy",
                "name": upstream.artifact.name,
            }
        },
        "varargs": [],
    }
    assert Task(f"{r.pathspec}/start/1").input_artifact_ids == []
    meta = task.metadata_dict
    assert meta["cache"] == "miss" and meta["successful"] is True
    assert meta["artifact_id"] == result.artifact.id == task.artifact_id
    assert meta["value_id"] == result.artifact.value_id
    assert meta["started_at"] == task.created_at and meta["finished_at"] == task.finished_at
    assert meta["run_info"]["user"] == USER
    with pytest.raises(AttributeError, match="no data artifact"):
        _ = task.data.nope
    with pytest.raises(MetaflowNotFound):
        task.data["nope"]


def test_data_artifact_sha_is_the_value_id_and_data_is_the_value(repo: Any) -> None:
    with p.run("Values") as r:
        result = big(10_000)
    artifact = DataArtifact(f"{r.pathspec}/big/1/big")
    assert artifact.sha == result.artifact.value_id != result.artifact.id
    assert artifact.data == b"x" * 10_000
    assert artifact.data.artifact.id == result.artifact.id  # a proxy carrying lineage
    assert artifact.size == result.artifact.size >= 10_000
    assert artifact.created_at == artifact.finished_at == result.artifact.computed_at


def test_run_data_maps_names_to_values_and_the_latest_task_of_a_step_wins(repo: Any) -> None:
    with p.run("Latest") as r:
        art_flow()
        square(2)
        square(3)
    data = Run(r.pathspec).data
    assert isinstance(data, MetaflowData)
    assert sorted(data) == ["end", "middle", "square", "start"]
    assert len(data) == 4
    assert data.square == 9 and data["square"] == 9
    assert data.start == [1, 2, 3] and data.middle == [1, 2, 4] and data.end == 7
    assert "square" in data and "cube" not in data
    with pytest.raises(AttributeError):
        _ = data.cube


def test_composite_return_gives_one_data_artifact_per_key(repo: Any) -> None:
    with p.run("Composite") as r:
        result = split(3)
    task = Task(f"{r.pathspec}/split/1")
    assert sorted(ids(task)) == ["high", "low"]
    assert task.data.low == [0, 1, 2] and task.data.high == 30
    assert task["low"].sha == result["low"].artifact.value_id
    assert DataArtifact(f"{r.pathspec}/split/1/high").data == 30
    assert Run(r.pathspec).data.low == [0, 1, 2]


def test_failed_call_is_a_failed_task_and_a_caught_error_leaves_the_run_successful(
    repo: Any,
) -> None:
    with p.run("Failing") as r:
        assert fragile(1) == 1
        with pytest.raises(ValueError, match="negative input"):
            fragile(-3)

    run = Run(r.pathspec)
    assert run.finished and run.successful
    step = run["fragile"]
    assert ids(step) == ["2", "1"]
    failed = step["2"]
    assert not failed.successful and failed.finished
    assert failed.created_at <= failed.finished_at
    assert failed.artifact_id is None
    exc = failed.exception
    assert isinstance(exc, TaskException)
    assert exc.type == "builtins.ValueError"
    assert exc.message == "negative input: -3"
    assert "in fragile" in exc.traceback and "ValueError: negative input: -3" in exc.traceback
    assert str(exc) == "ValueError: negative input: -3"
    assert failed.parameters == {"kargs": {"x": -3}, "varargs": []}
    assert failed.input_artifact_ids == []
    assert ids(failed) == [] and len(failed.data) == 0
    assert failed.metadata_dict["successful"] is False
    assert step["1"].successful and step["1"].exception is None
    assert run.data.fragile == 1  # the failed call produced nothing


def test_error_escaping_the_with_block_fails_the_run(repo: Any) -> None:
    with pytest.raises(ValueError), p.run("Escapes") as r:
        fragile(-1)
    run = Run(r.pathspec)
    assert run.finished and not run.successful
    assert not run["fragile"].task.successful
    assert run.end_task.exception.message == "negative input: -1"


# -- tags -----------------------------------------------------------------------------


def test_runs_get_system_tags_for_user_python_and_provenance_versions(repo: Any) -> None:
    with p.run("Sys", tags=["mine"]) as r:
        pass
    run = Run(r.pathspec)
    v = sys.version_info
    assert run.system_tags == {
        f"user:{USER}",
        f"python_version:{v.major}.{v.minor}.{v.micro}",
        f"provenance_version:{p.__version__}",
    }
    assert run.user_tags == {"mine"}
    assert run.user == USER and not run.implicit and run.code is None


def test_add_remove_and_replace_tags_persist(repo: Any) -> None:
    with p.run("Tags", tags=["keep", "old"]) as r:
        pass
    run = Run(r.pathspec)
    run.add_tag("one")
    run.add_tags(["two", "three", "one"])
    assert run.user_tags == {"keep", "old", "one", "two", "three"}
    run.remove_tag("one")
    run.remove_tags(["two", "three"])
    assert run.user_tags == {"keep", "old"}
    run.replace_tag("old", "new")
    assert run.user_tags == {"keep", "new"}
    run.replace_tags(["keep", "new"], ["x", "y"])
    assert run.user_tags == {"x", "y"}
    assert Run(r.pathspec).user_tags == {"x", "y"}
    assert ids(Flow("Tags").runs("x", "y")) == ["1"]
    assert ids(Flow("Tags").runs("keep")) == []


def test_replace_removes_before_it_adds(repo: Any) -> None:
    with p.run("Order", tags=["same"]) as r:
        pass
    run = Run(r.pathspec)
    run.replace_tag("same", "same")
    run.replace_tags(["other"], ["other"])
    assert Run(r.pathspec).user_tags == {"same", "other"}


def test_adding_a_system_tag_is_a_no_op_and_removing_a_missing_tag_too(repo: Any) -> None:
    with p.run("NoOp", tags=["u"]) as r:
        pass
    run = Run(r.pathspec)
    system = run.system_tags
    run.add_tag(f"user:{USER}")
    run.add_tags([f"provenance_version:{p.__version__}"])
    run.remove_tag("never-there")
    fresh = Run(r.pathspec)
    assert fresh.user_tags == {"u"} and fresh.system_tags == system


def test_removing_a_system_tag_raises_and_changes_nothing(repo: Any) -> None:
    with p.run("Guard", tags=["u1", "u2"]) as r:
        pass
    run = Run(r.pathspec)
    before = (run.user_tags, run.system_tags)
    with pytest.raises(MetaflowTaggingError, match="system"):
        run.remove_tag(f"user:{USER}")
    with pytest.raises(MetaflowTaggingError, match="system"):
        run.remove_tags(["u1", f"user:{USER}"])
    with pytest.raises(MetaflowTaggingError, match="system"):
        run.replace_tags(["u2", f"user:{USER}"], ["added"])
    fresh = Run(r.pathspec)
    assert (fresh.user_tags, fresh.system_tags) == before


@pytest.mark.parametrize("bad", ["", 5, None, "x" * 501], ids=["empty", "int", "none", "long"])
def test_invalid_tags_are_refused(disk_repo: Any, bad: Any) -> None:
    with pytest.raises(MetaflowTaggingError):
        p.run("Bad", tags=[bad])
    with p.run("Bad", tags=["ok", "y" * 500]) as r:
        pass
    run = Run(r.pathspec)
    for change in (
        lambda: run.add_tag(bad),
        lambda: run.add_tags(["fine", bad]),
        lambda: run.remove_tag(bad),
        lambda: run.replace_tag("ok", bad),
        lambda: run.replace_tags([bad], ["fine"]),
    ):
        with pytest.raises(MetaflowTaggingError):
            change()
    assert Run(r.pathspec).user_tags == {"ok", "y" * 500}


def test_tag_changes_keep_created_at_and_run_order(repo: Any) -> None:
    with p.run("Stable") as r1:
        pass
    with p.run("Stable"):
        pass
    created = Run(r1.pathspec).created_at
    Run(r1.pathspec).add_tags(["late", "later"])
    Run(r1.pathspec).replace_tag("late", "latest")
    assert Run(r1.pathspec).created_at == created
    assert ids(Flow("Stable")) == ["2", "1"]
    assert Flow("Stable").latest_run.id == "2"
    assert Flow("Stable").latest_successful_run.id == "2"


# -- namespaces -----------------------------------------------------------------------


def test_default_namespace_is_the_user_and_is_reread(monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get_namespace() == f"user:{USER}"
    monkeypatch.setenv("PROVENANCE_USER", "carol")
    assert client.get_namespace() == f"user:{USER}"  # until asked to re-read
    assert client.default_namespace() == "user:carol"
    assert client.get_namespace() == "user:carol"
    assert client.namespace(None) is None and client.get_namespace() is None
    assert client.namespace("exp") == "exp" and client.get_namespace() == "exp"
    with pytest.raises(MetaflowTaggingError):
        client.namespace("")
    assert client.get_namespace() == "exp"


def test_runs_of_another_user_are_outside_the_default_namespace(
    repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_USER", "bob")
    with p.run("Shared"):
        square(1)
    with p.run("BobsOwn"):
        square(2)
    monkeypatch.setenv("PROVENANCE_USER", USER)
    with p.run("Shared", tags=["exp"]):
        square(3)
    with p.run("Mine"):
        square(4)

    assert client.get_namespace() == f"user:{USER}"
    assert ids(Flow("Shared")) == ["2"]
    assert ids(Flow("Shared").runs()) == ["2"]
    assert Flow("Shared").latest_run.id == "2"
    assert Flow("Shared").latest_successful_run.id == "2"
    assert sorted(ids(Metaflow().flows)) == ["Mine", "Shared"]
    assert "1" not in Flow("Shared") and "BobsOwn" not in Metaflow()
    for make in (
        lambda: Flow("BobsOwn"),
        lambda: Run("Shared/1"),
        lambda: Step("Shared/1/square"),
        lambda: Task("Shared/1/square/1"),
        lambda: DataArtifact("Shared/1/square/1/square"),
        lambda: Flow("Shared")["1"],
    ):
        with pytest.raises(MetaflowNamespaceMismatch, match="namespace"):
            make()

    client.namespace(None)
    assert ids(Flow("Shared")) == ["2", "1"]
    assert sorted(ids(Metaflow())) == ["BobsOwn", "Mine", "Shared"]
    assert Run("Shared/1").user == "bob" and "user:bob" in Run("Shared/1").system_tags
    assert Task("Shared/1/square/1").data.square == 1

    client.namespace("exp")
    assert ids(Flow("Shared")) == ["2"]
    assert ids(Metaflow()) == ["Shared"]
    with pytest.raises(MetaflowNamespaceMismatch):
        Run("Mine/1")

    client.namespace("user:bob")
    assert Flow("Shared").latest_run.id == "1"
    assert Flow("BobsOwn").latest_run.data.square == 4


# -- errors ---------------------------------------------------------------------------


def test_missing_objects_raise_metaflow_not_found(repo: Any) -> None:
    with p.run("Here"):
        square(2)
    for make in (
        lambda: Flow("Nowhere"),
        lambda: Run("Here/2"),
        lambda: Run("Nowhere/1"),
        lambda: Step("Here/1/nostep"),
        lambda: Task("Here/1/square/2"),
        lambda: DataArtifact("Here/1/square/1/nothing"),
        lambda: Flow("Here")["7"],
        lambda: Task("Here/1/square/1")["nothing"],
        lambda: Metaflow()["Nowhere"],
    ):
        with pytest.raises(MetaflowNotFound) as info:
            make()
        assert isinstance(info.value, KeyError)
        assert isinstance(info.value, ProvenanceError)
    with pytest.raises(KeyError, match="does not exist"):
        Run("Here/99")


@pytest.mark.parametrize(
    ("cls", "pathspec"),
    [
        (Flow, "A/1"),
        (Flow, ""),
        (Run, "A"),
        (Run, "A/1/step"),
        (Run, "A/"),
        (Run, "/1"),
        (Run, "A/one"),
        (Run, "A/-1"),
        (Step, "A/1"),
        (Step, "A//s"),
        (Task, "A/1/s"),
        (Task, "A/1/s/x"),
        (Task, "A/x/s/1"),
        (DataArtifact, "A/1/s/1"),
        (DataArtifact, "A/1/s/1/"),
        (Run, None),
    ],
)
def test_malformed_pathspecs_raise_invalid_pathspec(
    disk_repo: Any, cls: Any, pathspec: Any
) -> None:
    with p.run("A"):
        square(1)
    with pytest.raises(MetaflowInvalidPathspec):
        cls(pathspec)


def test_client_errors_are_part_of_the_hierarchy() -> None:
    for error in (
        MetaflowNotFound,
        MetaflowInvalidPathspec,
        MetaflowNamespaceMismatch,
        MetaflowTaggingError,
    ):
        assert issubclass(error, ProvenanceError)
    assert issubclass(MetaflowNotFound, KeyError)
    assert issubclass(MetaflowInvalidPathspec, ClientError)
    assert issubclass(MetaflowNamespaceMismatch, ClientError)
    assert issubclass(MetaflowTaggingError, ClientError)


# -- implicit runs --------------------------------------------------------------------


def test_calls_outside_a_run_form_an_implicit_run_finished_at_exit(tmp_path: Any) -> None:
    done = run_script(SCRIPT, "implicit", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [flow] = Metaflow().flows  # its name is checked on its own below
    assert ids(flow) == ["1"]
    run = flow.latest_run
    assert run.implicit and run.finished and run.successful
    assert run.finished_at >= run.created_at
    assert run.user == USER and f"user:{USER}" in run.system_tags
    assert ids(run) == ["double"]
    assert ids(run["double"]) == ["2", "1"]
    assert run.data.double == 4
    assert flow.latest_successful_run == run


def test_implicit_run_flow_is_named_after_the_script(tmp_path: Any) -> None:
    done = run_script(SCRIPT, "implicit", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ids(Metaflow()) == ["client_script"]


def test_a_script_dying_of_an_uncaught_error_leaves_a_failed_implicit_run(
    tmp_path: Any,
) -> None:
    died = run_script(SCRIPT, "die", cwd=tmp_path)
    assert died.returncode != 0 and "the script died" in died.stderr
    [flow] = Metaflow().flows
    run = flow.latest_run
    assert run.implicit and run.finished
    assert run.data.double == 6
    assert not run.successful
    assert flow.latest_successful_run is None


def test_python_dash_c_records_into_the_interactive_flow(tmp_path: Any) -> None:
    code = "import provenance as p\n@p.provenance()\ndef triple(x):\n    return 3 * x\ntriple(2)\n"
    done = run_script("-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = Flow("interactive").latest_run
    assert run.implicit and run.successful
    assert run.data.triple == 6


# -- metadata providers ---------------------------------------------------------------


def test_metadata_selects_a_configured_repo_and_default_metadata_goes_back(tmp_path: Any) -> None:
    cfg = sqlite_config(str(tmp_path / "a"))
    cfg["artifact_repos"]["other"] = {
        **sqlite_config(str(tmp_path / "b"))["artifact_repos"]["local"]
    }
    p.load_config(cfg)
    with p.using_repo("other"), p.run("Elsewhere"):
        square(5)

    assert client.get_metadata() == "repo@local"
    assert "Elsewhere" not in Metaflow()
    assert client.metadata("other") == "repo@other" == client.get_metadata()
    assert Flow("Elsewhere").latest_run.data.square == 25
    assert client.metadata("repo@other") == "repo@other"
    assert client.default_metadata() == "repo@local" == client.get_metadata()
    with pytest.raises(MetaflowNotFound):
        Flow("Elsewhere")


def test_metadata_follows_set_default_repo_and_using_repo(tmp_path: Any) -> None:
    first = p.load_config(sqlite_config(str(tmp_path / "a"))).repos["local"]
    second = p.load_config(sqlite_config(str(tmp_path / "b"))).repos["local"]
    p.set_default_repo(first)
    with p.run("InFirst"):
        square(1)
    with p.using_repo(second):
        with p.run("InSecond"):
            square(2)
        assert ids(Metaflow()) == ["InSecond"]
    assert ids(Metaflow()) == ["InFirst"]


def test_metadata_reads_a_database_url(shared_config: dict[str, Any], tmp_path: Any) -> None:
    url = shared_config["artifact_repos"]["local"]["db"]
    with p.run("ByUrl") as r:
        square(6)
        big(20_000)

    # Configured: the URL brings the repo's blobstore along.
    assert client.metadata(url).startswith("sql@")
    assert Run(r.pathspec).data.big == b"x" * 20_000

    # Not configured: the index alone; inline values read, blob values explain.
    p.load_config(sqlite_config(str(tmp_path / "unrelated")))
    described = client.metadata(url)
    assert described == client.get_metadata() and described.startswith("sql@")
    run = Run(r.pathspec)
    assert run.data.square == 36
    with pytest.raises(BlobNotFound, match="metadata"):
        _ = run.data.big
    assert client.default_metadata() == "repo@local"
    assert "ByUrl" not in Metaflow()


def test_metadata_local_reads_the_store_of_a_directory(tmp_path: Any, monkeypatch: Any) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PROVENANCE_HOME"}
    done = run_script(SCRIPT, "run", "LocalFlow", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "LocalFlow/1"
    assert (project / ".provenance").is_dir()

    described = client.metadata(f"local@{project}")
    assert described == client.get_metadata() == f"local@{project / '.provenance'}"
    run = Flow("LocalFlow").latest_run
    assert run.successful and run["double"].task.data.double % 2 == 0
    assert client.metadata(str(project)) == described


def test_bad_metadata_providers_raise_clear_errors(tmp_path: Any) -> None:
    p.load_config(sqlite_config(str(tmp_path / "a")))
    with pytest.raises(RepoNotFound, match="no-such-repo"):
        client.metadata("no-such-repo")
    with pytest.raises(ConfigError, match="no provenance store"):
        client.metadata(f"local@{tmp_path / 'empty'}")
    for bad in ("", 42, None):
        with pytest.raises(ConfigError):
            client.metadata(bad)
    assert client.get_metadata() == "repo@local"


# -- scale ----------------------------------------------------------------------------


def _bulk_runs(repo: Any, flow: str, count: int, every: int) -> None:
    """``count`` runs of ``flow``, every ``every``-th tagged 'rare'; only the last still runs."""
    created = datetime(2024, 1, 1, tzinfo=timezone.utc)
    runs_t, tags_t = RunRow.__table__, RunTag.__table__
    with repo.index.engine.begin() as conn:
        conn.execute(
            insert(runs_t),
            [
                {
                    "flow": flow,
                    "run_number": n,
                    "user": USER,
                    "status": "running" if n == count else "successful",
                    "implicit": False,
                    "created_at": created + timedelta(seconds=n),
                    "finished_at": None if n == count else created + timedelta(seconds=n + 1),
                    "info": None,
                }
                for n in range(1, count + 1)
            ],
        )
        numbers = dict(
            conn.execute(
                select(runs_t.c.run_number, runs_t.c.id).where(runs_t.c.flow == flow)
            ).all()
        )
        tags = [{"run_id": i, "tag": f"user:{USER}", "system": True} for i in numbers.values()]
        rare = [i for n, i in numbers.items() if n % every == 0]
        tags += [{"run_id": i, "tag": "rare", "system": False} for i in rare]
        conn.execute(insert(tags_t), tags)


def test_latest_run_and_tag_filter_with_ten_thousand_runs_use_indexes(repo: Any) -> None:
    _bulk_runs(repo, "Big", 10_000, every=1_000)
    with p.run("Small"):
        square(1)

    engine = repo.index.engine
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    if hasattr(repo.index, "_conn"):
        # The light SQLite index reads with sqlite3: its statements, values inlined.
        repo.index._conn().set_trace_callback(
            lambda sql: (
                statements.append((sql, ())) if sql.lstrip().upper().startswith("SELECT") else None
            )
        )
    try:
        latest = Flow("Big").latest_run
        rare = list(Flow("Big").runs("rare"))
        # Past two pages of the keyset pagination (200 runs a page).
        first_450 = list(islice(Flow("Big").runs(), 450))
        successful = Flow("Big").latest_successful_run
    finally:
        event.remove(engine, "before_cursor_execute", capture)
        if hasattr(repo.index, "_conn"):
            repo.index._conn().set_trace_callback(None)

    assert latest.id == "10000" and not latest.finished
    assert ids(rare) == [str(n) for n in range(10_000, 0, -1_000)]
    assert successful.id == "9999"
    assert ids(first_450) == [str(n) for n in range(10_000, 9_550, -1)]
    assert ids(Flow("Small")) == ["1"]

    if engine.dialect.name != "sqlite":
        return
    run_queries = [(s, params) for s, params in statements if re.search(r"\bruns\b", s)]
    assert run_queries
    with engine.connect() as conn:
        for statement, params in run_queries:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            details = [row[-1] for row in plan]
            # SEARCH (an index lookup) only: no SCAN of a table or a whole
            # index, and no sort of the flow's runs in a temporary b-tree.
            assert any(re.match(r"SEARCH runs USING", d) for d in details), (statement, details)
            bad = [d for d in details if re.match(r"SCAN (runs|run_tags)\b", d) or "TEMP" in d]
            assert not bad, (statement, details)


# -- concurrency ----------------------------------------------------------------------


def test_processes_starting_runs_at_once_get_distinct_consecutive_numbers(
    shared_config: dict[str, Any], tmp_path: Any
) -> None:
    env = {**os.environ, "CLIENT_SCRIPT_CONFIG": json.dumps(shared_config)}
    procs = [
        subprocess.Popen(
            [sys.executable, SCRIPT, "race", "Race"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for proc in procs:  # every process is set up before any starts its run
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs]
    assert sorted(out.strip() for out, _ in outputs) == ["Race/1", "Race/2", "Race/3"]
    assert ids(Flow("Race")) == ["3", "2", "1"]
    assert all(run.successful and len(list(run["double"])) == 1 for run in Flow("Race"))


def test_threads_starting_runs_at_once_get_distinct_consecutive_numbers(repo: Any) -> None:
    barrier = threading.Barrier(6)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def start_run() -> None:
        try:
            barrier.wait()
            with p.run("ThreadRace") as r:
                pass
            numbers.append(r.id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start_run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(numbers, key=int) == [str(n) for n in range(1, 7)]


def test_tasks_recorded_from_several_threads_get_distinct_task_numbers(
    repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "FLUSH_COUNT", 3)  # many small concurrent flushes
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(15):
                square(k * 100 + i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    with p.run("Threads") as r:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    step = Run(r.pathspec)["square"]
    assert sorted(int(t.id) for t in step) == list(range(1, 61))
    assert sorted(t.data.square for t in step) == sorted(
        (k * 100 + i) ** 2 for k in range(4) for i in range(15)
    )


def test_threads_in_runs_of_their_own_record_into_their_own_run(repo: Any) -> None:
    barrier = threading.Barrier(2)
    pathspecs: dict[int, str] = {}

    def work(k: int) -> None:
        with p.run(f"Own{k}") as r:
            barrier.wait()  # both runs are active at once
            for i in range(5):
                square(k * 10 + i)
            barrier.wait()
        pathspecs[k] = r.pathspec

    threads = [threading.Thread(target=work, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in (1, 2):
        tasks = list(Run(pathspecs[k])["square"])
        assert sorted(t.data.square for t in tasks) == [(k * 10 + i) ** 2 for i in range(5)]


def test_a_run_given_a_repo_records_there_and_its_calls_use_it(repo: Any, tmp_path: Any) -> None:
    other = p.from_config(sqlite_config(str(tmp_path / "other")))["repos"]["local"]
    with p.run("Elsewhere", repo=other) as r:
        value = square(7)
    assert value.artifact.repo is other
    assert not repo.index.exists(value.artifact.id)
    run = r.client
    assert run.data.square == 49
    with pytest.raises(MetaflowNotFound):
        Run(r.pathspec)  # the default repo has no such run


def _pool_square(x: int) -> int:
    return int(square(x))


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_a_forked_pool_records_its_tasks_into_the_run(disk_repo: Any) -> None:
    import multiprocessing

    with (
        p.using_repo(disk_repo),
        p.run("PoolFlow") as r,
        multiprocessing.get_context("fork").Pool(2) as pool,
    ):
        assert pool.map(_pool_square, range(6)) == [i * i for i in range(6)]
    # Forked children leave through os._exit: their tasks were written at once.
    with p.using_repo(disk_repo):
        tasks = list(Run(r.pathspec)["square"])
    assert sorted(t.data.square for t in tasks) == [i * i for i in range(6)]


def test_pathspec_numbers_are_normalised_and_validated(repo: Any) -> None:
    with p.run("Norm") as r:
        square(2)
    assert Run("Norm/01") == Run(r.pathspec) and Run("Norm/01").pathspec == "Norm/1"
    assert Task("Norm/1/square/001").pathspec == "Norm/1/square/1"
    for bad in ("Norm/²", "Norm/-1", "Norm/1" + "0" * 12):
        with pytest.raises(MetaflowInvalidPathspec):
            Run(bad)


def test_run_data_skips_a_deleted_artifact_and_keeps_the_rest(repo: Any) -> None:
    with p.run("Deleted") as r:
        kept = start()
        gone = square(5)
    repo.delete_artifact(gone.artifact.id)
    data = Run(r.pathspec).data
    assert "square" not in data and data.start == kept == [1, 2, 3]


def test_flush_waits_for_a_batch_another_thread_is_writing(
    repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runs._write
    writing = threading.Event()

    def slow_write(group: Any) -> None:
        writing.set()
        time.sleep(0.3)
        real(group)

    monkeypatch.setattr(runs, "_write", slow_write)
    with p.run("Slow") as r:
        square(11)
        other = threading.Thread(target=runs.flush)
        other.start()
        assert writing.wait(5)
    # The run's exit flushed too: it waited for the other thread's batch.
    assert [t.data.square for t in Run(r.pathspec)["square"]] == [121]
    other.join()


def test_a_cached_task_s_metadata_shows_the_computing_run_and_its_own(repo: Any) -> None:
    with p.run("ArtFlow") as first:
        square(4)
    # The second run's process says something the first did not.
    p.set_run_info_fn(lambda info: {**info, "build": "second"})
    with p.run("ArtFlow") as second:
        square(4)
    computed = Task(f"{first.pathspec}/square/1").metadata_dict
    cached = Task(f"{second.pathspec}/square/1").metadata_dict
    assert computed["cache"] == "miss" and computed["origin_pathspec"] is None
    assert cached["cache"] == "hit" and cached["origin_pathspec"] == f"{first.pathspec}/square/1"
    # run_info: the process that computed the value; task_run_info: this run's own.
    assert "build" not in cached["run_info"] and cached["task_run_info"]["build"] == "second"
    assert "build" not in computed["task_run_info"]
    assert cached["task_run_info"]["process"]["pid"] == os.getpid()
