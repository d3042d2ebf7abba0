"""Metaflow's client API on ours: tag errors, exceptions, deprecated forms, the default user.

On the in-memory, SQLite and PostgreSQL indexes (the ``repo`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest

import provenance as p
from provenance import runinfo
from provenance.client import Run, namespace
from provenance.errors import MetaflowTaggingError


@p.provenance()
def fails(x: int) -> int:
    raise ValueError(f"bad {x}")


@p.provenance()
def works(x: int) -> int:
    return x


def _run_with_failure() -> Any:
    with pytest.raises(ValueError), p.run("Parity", tags=["t0"]) as run:
        works(1)
        fails(2)
    namespace(None)
    return Run(run.pathspec)


def test_replace_tags_with_nothing_to_do_is_metaflow_s_error(repo: Any) -> None:
    run = _run_with_failure()
    with pytest.raises(MetaflowTaggingError, match="^Must add or remove at least one tag$"):
        run.replace_tags([], [])
    run.replace_tags([], ["t1"])
    assert run.user_tags == {"t0", "t1"}


def test_task_exception_has_metaflow_s_attributes_and_ours(repo: Any) -> None:
    task = _run_with_failure()["fails"].task
    error = task.exception
    assert error.type == "builtins.ValueError"
    assert error.exception == "bad 2" == error.message
    assert "ValueError: bad 2" in error.stacktrace and error.stacktrace == error.traceback


def test_the_deprecated_list_forms_of_the_tag_methods_still_work(repo: Any) -> None:
    run = _run_with_failure()
    with pytest.warns(DeprecationWarning, match="add_tag\\(\\) of a list of tags"):
        run.add_tag(["a", "b"])
    assert {"a", "b"} <= run.user_tags
    with pytest.warns(DeprecationWarning, match="replace_tag"):
        run.replace_tag(["a"], ["c"])
    with pytest.warns(DeprecationWarning, match="remove_tag"):
        run.remove_tag(["b", "c"])
    assert run.user_tags == {"t0"}
    # The singular forms of single tags give no warning.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.add_tag("d")
        run.replace_tag("d", "e")
        run.remove_tag("e")


@pytest.mark.parametrize(
    ("env", "user"),
    [
        ({"PROVENANCE_USER": "p", "METAFLOW_USER": "m", "USER": "u"}, "p"),
        ({"METAFLOW_USER": "m", "SUDO_USER": "s", "USER": "u"}, "m"),
        ({"SUDO_USER": "s", "USERNAME": "n", "USER": "u"}, "s"),
        ({"USERNAME": "n", "USER": "u"}, "n"),
        ({"USER": "u"}, "u"),
        ({"METAFLOW_USER": "root", "SUDO_USER": "root", "USER": "alice"}, "alice"),
        ({"PROVENANCE_USER": "root"}, "root"),  # ours is taken as given
    ],
)
def test_the_user_is_found_as_metaflow_finds_it(
    env: dict[str, str], user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("PROVENANCE_USER", *runinfo.METAFLOW_USER_VARS):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert runinfo._user() == user


def test_the_default_namespace_follows_metaflow_s_user(
    repo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.flows.client import namespaces

    for var in ("PROVENANCE_USER", *runinfo.METAFLOW_USER_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("METAFLOW_USER", "mel")
    monkeypatch.setenv("USER", "root")
    namespaces._namespace = namespaces._UNSET
    assert p.client.get_namespace() == "user:mel"


def test_flow_runs_have_metaflow_s_code_index_graph_and_end_task(repo: Any) -> None:
    import io
    import sys

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from test_flow import ForeachFlow

    from provenance.flow import run_flow

    result = run_flow(ForeachFlow, echo=io.StringIO())
    namespace(None)
    run = Run(result.pathspec)
    assert run.end_task.pathspec == f"{run.pathspec}/end/6"
    assert run.trigger is None
    code = run.code
    assert code is not None and code.path == "test_flow.py" and code.tarball is None
    assert "class ForeachFlow(FlowSpec):" in code.flowspec
    assert code.info["graph"]["start"] == ["each"]
    assert run["start"].task.code.flowspec == code.flowspec
    assert sorted(t.index for t in run["each"].tasks()) == [0, 1, 2]
    assert run["start"].task.index is None
    assert [s.id for s in run["each"].parent_steps] == ["start"]
    assert [s.id for s in run["each"].child_steps] == ["join"]
    assert [s.id for s in run["end"].child_steps] == []
    assert run["join"].finished_at >= run["each"].finished_at
    # A run of decorated functions has none of that.
    with p.run("Plain") as plain:
        works(3)
    other = Run(plain.pathspec)
    assert other.code is None and list(other["works"].parent_steps) == []
    assert other.end_task is not None  # its last task


def test_a_failed_flow_run_has_no_end_task(repo: Any) -> None:
    import io
    import sys

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from test_flow import ConflictFlow

    from provenance.flow import run_flow

    result = run_flow(ConflictFlow, echo=io.StringIO())
    namespace(None)
    assert not result.successful and Run(result.pathspec).end_task is None


def test_flow_tasks_have_metaflow_s_task_attributes(repo: Any) -> None:
    import io
    import sys

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from test_flow import FailsInWorker, ForeachFlow

    from provenance.flow import run_flow

    result = run_flow(ForeachFlow, echo=io.StringIO())
    namespace(None)
    run = Run(result.pathspec)
    start = run["start"].task
    each = sorted(run["each"].tasks(), key=lambda t: t.index)
    join = run["join"].task
    assert list(start.parent_task_pathspecs) == []
    assert list(start.child_task_pathspecs) == [t.pathspec for t in each]
    assert [t.pathspec for t in each[1].parent_tasks] == [start.pathspec]
    assert list(each[1].child_task_pathspecs) == [join.pathspec]
    assert sorted(join.parent_task_pathspecs) == sorted(t.pathspec for t in each)
    assert [t.pathspec for t in join.child_tasks] == [run.end_task.pathspec]
    assert (start.current_attempt, start.runtime_name) == (0, "local")
    assert start.environment_info["type"] == "local" and start.environment_info["python_version"]
    assert {m.name for m in start.metadata} >= {"cache", "artifact_id"}
    assert run["start"].control_task is None and list(run["start"].control_tasks()) == []
    assert run["start"].environment_info == start.environment_info
    with run.code.extract() as folder:
        import os

        with open(os.path.join(folder, "test_flow.py")) as f:
            assert "class ForeachFlow" in f.read()

    if not hasattr(repo, "shareable_spec") or repo.shareable_spec() is None:
        return  # the failing flow below needs no workers, but its output must outlive a process
    failed = run_flow(FailsInWorker, echo=io.StringIO())
    bad = [t for t in Run(failed.pathspec)["each"].tasks() if not t.successful]
    assert bad and bad[0].stderr == "" and bad[0].stdout == ""


def test_a_failed_flow_task_keeps_its_output(repo: Any) -> None:
    import io

    from provenance.flow import FlowSpec, run_flow, step

    class Loud(FlowSpec):
        @step
        def start(self):
            print("about to fail")
            if self.start:  # always: the graph still needs its transition
                raise RuntimeError("no")
            self.next(self.end)

        @step
        def end(self):
            pass

    result = run_flow(Loud, echo=io.StringIO())
    namespace(None)
    task = Run(result.pathspec)["start"].task
    assert not task.successful and task.stdout == "about to fail\n"
    assert task.stdout_size == len("about to fail\n")
    assert [line for _, line in task.loglines("stdout")] == ["about to fail"]
