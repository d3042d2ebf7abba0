"""Metaflow's FlowSpec over the store (``provenance.flow``): graphs, artifacts, memoization.

Flows are run in this process through :func:`provenance.flow.run_flow` and
the flow command line (:func:`provenance.flows.command.main`), and read back
with the client view; the tutorial runs as a file, in its own processes, as
a Metaflow user runs it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import sqlite_config

import provenance as p
from provenance.client import Flow, Run, namespace
from provenance.errors import FlowError, MergeArtifactsException, MetaflowNotFound
from provenance.flow import (
    FlowSpec,
    IncludeFile,
    JSONType,
    Parameter,
    current,
    run_flow,
    step,
)
from provenance.flows.command import main


def _run(cls: type, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    out = io.StringIO()
    result = run_flow(cls, params, echo=out, **kwargs)
    result.output = out.getvalue()
    return result


def _computed(result: Any) -> list[str]:
    return [t.step for t in result.tasks if not t.cached]


# -- the tutorial, as a file ---------------------------------------------------------

TUTORIAL = """
from provenance.flow import FlowSpec, step

class ArtFlow(FlowSpec):

    @step
    def start(self):
        self.some_data = [1,2,3] # define artifact state
        self.next(self.middle)

    @step
    def middle(self):
        print(f'the data artifact is: {self.some_data}')
        self.some_data = [1,2,4] # update artifact state
        self.next(self.end)

    @step
    def end(self):
        print(f'the data artifact is: {self.some_data}')

if __name__ == '__main__':
    ArtFlow()
"""

READ_BACK = """
from provenance.client import Run, Flow
run_id = open('artifacts-run.txt').read()
some_data = Run(f'ArtFlow/{run_id}').data.some_data
print(some_data)
print(Flow('ArtFlow').latest_run.data.some_data)
"""


def _env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "provenance.yaml"
    config.write_text(json.dumps(sqlite_config(str(tmp_path / "repo"))))
    return {**os.environ, "PROVENANCE_CONFIG": str(config)}


def _python(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=_env(tmp_path),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_tutorial_runs_verbatim_and_reads_back_with_the_client(tmp_path: Path) -> None:
    (tmp_path / "artflow.py").write_text(TUTORIAL)
    (tmp_path / "read.py").write_text(READ_BACK)
    first = _python(tmp_path, "artflow.py", "run", "--run-id-file", "artifacts-run.txt")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    printed = [line.split("] ", 1)[1] for line in lines if "the data artifact is" in line]
    assert printed == ["the data artifact is: [1, 2, 3]", "the data artifact is: [1, 2, 4]"]
    assert any(line.startswith("[1/middle/2 (pid ") for line in lines)
    assert (tmp_path / "artifacts-run.txt").read_text() == "1"
    read = _python(tmp_path, "read.py")
    assert read.returncode == 0, read.stderr
    assert read.stdout.split("\n")[:2] == ["[1, 2, 4]", "[1, 2, 4]"]

    # The second run runs nothing: every task is a hit, its output replayed.
    second = _python(tmp_path, "artflow.py", "run", "--run-id-file", "artifacts-run.txt")
    assert second.returncode == 0, second.stderr
    assert "Task is starting" not in second.stdout
    assert "[2/middle/2 (replayed)] the data artifact is: [1, 2, 3]" in second.stdout
    assert "cached from ArtFlow/1/middle/2" in second.stdout
    assert (tmp_path / "artifacts-run.txt").read_text() == "2"
    read = _python(tmp_path, "read.py")
    assert read.stdout.split("\n")[:2] == ["[1, 2, 4]", "[1, 2, 4]"]


def test_a_failing_step_exits_non_zero_with_its_traceback_and_a_fix_resumes(
    tmp_path: Path,
) -> None:
    broken = TUTORIAL.replace(
        "self.some_data = [1,2,4]", "self.some_data = [1,2,4]\n        raise ValueError('boom')"
    )
    (tmp_path / "artflow.py").write_text(broken)
    failed = _python(tmp_path, "artflow.py", "run")
    assert failed.returncode == 1
    assert "Step failure: task ArtFlow/1/middle/2 failed" in failed.stderr
    assert "ValueError: boom" in failed.stderr
    assert 'artflow.py", line 15, in middle' in failed.stderr
    assert "provenance/flows" not in failed.stderr  # the step's frames, not the runner's
    (tmp_path / "artflow.py").write_text(TUTORIAL)
    fixed = _python(tmp_path, "artflow.py", "run")
    assert fixed.returncode == 0, fixed.stderr
    assert "[2/start/1 (cached)]" in fixed.stdout  # start succeeded before: a hit
    assert "[2/middle/2 (pid " in fixed.stdout  # the fixed step runs


# -- in-process flows -----------------------------------------------------------------


class ArtFlow(FlowSpec):
    """Metaflow's artifacts tutorial."""

    @step
    def start(self):
        """Set the data."""
        self.some_data = [1, 2, 3]
        self.next(self.middle)

    @step
    def middle(self):
        print(f"the data artifact is: {self.some_data}")
        self.some_data = [1, 2, 4]
        self.next(self.end)

    @step
    def end(self):
        print(f"the data artifact is: {self.some_data}")


def test_the_client_reads_a_flow_run_as_metaflow_does(repo: Any) -> None:
    result = _run(ArtFlow)
    assert result.successful and _computed(result) == ["start", "middle", "end"]
    namespace(None)
    run = Run(result.pathspec)
    assert run.successful and run.data.some_data == [1, 2, 4]
    assert "runtime:flowspec" in run.system_tags
    assert {s.id for s in run.steps()} == {"start", "middle", "end"}
    assert run.end_task.pathspec == f"{result.pathspec}/end/3"
    middle = run["middle"].task
    assert middle.data.some_data == [1, 2, 4]
    assert middle.stdout == "the data artifact is: [1, 2, 3]\n" and middle.stderr == ""
    assert run["start"].task.data.some_data == [1, 2, 3]
    assert [a.id for a in middle.artifacts] == ["some_data"]  # the output is not an artifact
    # Lineage: middle's value was made from start's, which it read.
    start_member = run["start"].task.artifact.value.member_ids["some_data"]
    made = p.load_artifact(middle.artifact.value.member_ids["some_data"])
    assert made.input_artifact_ids == [start_member]
    assert start_member in middle.input_artifact_ids
    # end read some_data and set nothing: it passes middle's artifact on, not a copy.
    end_member = run.end_task.artifact.value.member_ids["some_data"]
    assert end_member == made.id

    again = _run(ArtFlow)
    assert again.successful and _computed(again) == [] and again.cached_tasks == 3
    assert "(replayed)] the data artifact is: [1, 2, 3]" in again.output
    cached = Run(again.pathspec)["middle"].task
    assert cached.cached and cached.origin_pathspec == f"{result.pathspec}/middle/2"
    assert cached.stdout == "the data artifact is: [1, 2, 3]\n"
    assert Run(again.pathspec).data.some_data == [1, 2, 4]
    assert Flow("ArtFlow").latest_run.pathspec == again.pathspec


class BranchFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.shared = "same"
        self.next(self.a, self.b)

    @step
    def a(self):
        self.x = self.x + 1
        self.only_a = "a"
        self.next(self.join)

    @step
    def b(self):
        self.x = self.x + 10
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = inputs.a.x + inputs.b.x
        self.seen = sorted(i.x for i in inputs)
        self.merge_artifacts(inputs, exclude=["x"])
        self.next(self.end)

    @step
    def end(self):
        self.done = (self.total, self.shared, self.only_a)


def test_a_static_split_joins_with_inputs_by_name_and_merged_artifacts(disk_repo: Any) -> None:
    result = _run(BranchFlow)
    assert result.successful, result.failed and result.failed.exception
    namespace(None)
    data = Run(result.pathspec).data
    assert data.total == 13 and data.seen == [2, 11]
    assert data.done == (13, "same", "a")
    assert "x" not in data  # excluded from the merge, and differs between the branches
    assert [t.task_id for t in result.tasks] == [1, 2, 3, 4, 5]
    assert _computed(_run(BranchFlow)) == []


class ConflictFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.x, self.y = 1, 1
        self.next(self.join)

    @step
    def b(self):
        self.x, self.y = 2, 1
        self.next(self.join)

    @step
    def join(self, inputs):
        self.merge_artifacts(inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


class ResolvedFlow(ConflictFlow):
    @step
    def join(self, inputs):
        self.x = max(i.x for i in inputs)  # set before the merge: the join's wins
        self.merge_artifacts(inputs)
        self.next(self.end)


class IncludeFlow(ConflictFlow):
    @step
    def join(self, inputs):
        self.merge_artifacts(inputs, include=["y", "z"])
        self.next(self.end)


def test_merge_artifacts_follows_metaflow_s_conflict_rules(disk_repo: Any) -> None:
    failed = _run(ConflictFlow)
    assert not failed.successful
    error = failed.failed.exception
    assert isinstance(error, MergeArtifactsException) and error.artifact_names == ["x"]
    assert "'join'" in str(error) and "['x']" in str(error)
    resolved = _run(ResolvedFlow)
    assert resolved.successful
    namespace(None)
    assert Run(resolved.pathspec).data.x == 2 and Run(resolved.pathspec).data.y == 1
    included = _run(IncludeFlow)
    assert isinstance(included.failed.exception, FlowError)
    assert "['z']" in str(included.failed.exception)


class ForeachFlow(FlowSpec):
    @step
    def start(self):
        self.items = ["a", "b", "c"]
        self.next(self.each, foreach="items")

    @step
    def each(self):
        self.out = f"{self.index}:{self.input}"
        self.next(self.join)

    @step
    def join(self, inputs):
        self.outs = [i.out for i in inputs]
        self.inputs_seen = [i.input for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


def test_foreach_runs_a_task_per_item_and_joins_them_in_order(disk_repo: Any) -> None:
    result = _run(ForeachFlow)
    assert result.successful, result.failed and result.failed.exception
    namespace(None)
    run = Run(result.pathspec)
    assert run.data.outs == ["0:a", "1:b", "2:c"]
    assert run.data.inputs_seen == ["a", "b", "c"]
    assert sorted(t.data.out for t in run["each"].tasks()) == ["0:a", "1:b", "2:c"]
    assert [t.step for t in result.tasks] == ["start", "each", "each", "each", "join", "end"]
    assert _computed(_run(ForeachFlow)) == []


class NestedFlow(FlowSpec):
    @step
    def start(self):
        self.rows = [[1], [2]]  # items need not be hashable
        self.next(self.outer, foreach="rows")

    @step
    def outer(self):
        self.row = self.input[0]
        self.cols = [10, 20]
        self.next(self.inner, foreach="cols")

    @step
    def inner(self):
        self.cell = self.row * self.input
        self.stack = [(i, n) for i, n, _ in self.foreach_stack()]
        self.next(self.join_inner)

    @step
    def join_inner(self, inputs):
        self.cells = [i.cell for i in inputs]
        self.next(self.join_outer)

    @step
    def join_outer(self, inputs):
        self.table = [i.cells for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


def test_nested_foreach(disk_repo: Any) -> None:
    result = _run(NestedFlow)
    assert result.successful, result.failed and result.failed.exception
    namespace(None)
    run = Run(result.pathspec)
    assert run.data.table == [[10, 20], [20, 40]]
    stacks = sorted(t.data.stack for t in run["inner"].tasks())
    assert stacks == [[(0, 2), (0, 2)], [(0, 2), (1, 2)], [(1, 2), (0, 2)], [(1, 2), (1, 2)]]


class RepeatedItems(ForeachFlow):
    @step
    def start(self):
        self.items = ["x", "x"]
        self.next(self.each, foreach="items")


def test_equal_foreach_items_at_different_positions_are_different_tasks(disk_repo: Any) -> None:
    # self.index is visible to the step: it is part of the task's identity.
    result = _run(RepeatedItems)
    namespace(None)
    assert Run(result.pathspec).data.outs == ["0:x", "1:x"]


class ParamFlow(FlowSpec):
    alpha = Parameter("alpha", help="the learning rate", default=0.5)
    count = Parameter("count", type=int, required=True)
    config = Parameter("config", type=JSONType, default='{"k": 1}')

    @step
    def start(self):
        self.where = (current.flow_name, current.step_name, current.is_running_flow)
        self.pathspec = current.pathspec
        self.task_id = current.task_id
        self.next(self.a, self.b)

    @step
    def a(self):
        self.value = self.alpha * self.count
        self.next(self.join)

    @step
    def b(self):
        self.value = 0
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = [i.value for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        self.after_join = (self.alpha, self.count, self.config)


def test_parameters_from_the_command_line_typed_and_recorded_in_start(
    disk_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(ParamFlow, ["run", "--count", "3", "--alpha", "2"]) == 0
    namespace(None)
    run = Flow("ParamFlow").latest_run
    start = run["start"].task
    assert start.data.alpha == 2.0 and start.data.count == 3  # typed: float, int
    assert start.data.config == {"k": 1}  # the default, parsed as JSON
    assert start.data.where == ("ParamFlow", "start", True)
    assert start.data.pathspec == f"{run.pathspec}/start/1" and start.data.task_id == "1"
    assert run.data.values == [6.0, 0]
    assert run.data.after_join == (2.0, 3, {"k": 1})  # parameters are seen after a join
    assert not current.is_running_flow and current.step_name is None

    # A different parameter value is a different start: everything runs again.
    assert main(ParamFlow, ["run", "--count", "4"]) == 0
    assert Flow("ParamFlow").latest_run.data.values == [2.0, 0]
    capsys.readouterr()
    assert main(ParamFlow, ["run"]) == 2  # --count is required
    assert "--count" in capsys.readouterr().err
    assert main(ParamFlow, ["run", "--count", "many"]) == 2
    assert "parameter --count: 'many' is not a valid int" in capsys.readouterr().err


def test_show_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(ArtFlow, ["show"]) == 0
    shown = capsys.readouterr().out
    assert "Metaflow's artifacts tutorial." in shown
    assert "Step start\n    Set the data.\n    => middle" in shown
    assert "Step end" in shown
    assert main(ParamFlow, ["run", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--alpha VALUE" in text and "the learning rate (default: 0.5)" in text
    assert "--run-id-file" in text and "--max-workers" in text and "--no-cache" in text


# -- the graph is checked before anything runs -----------------------------------------


def _flow(source: str, tmp_path: Path, name: str = "Bad") -> type:
    path = tmp_path / f"{name.lower()}_flow.py"
    path.write_text("from provenance.flow import FlowSpec, step\n" + textwrap.dedent(source))
    namespace_: dict[str, Any] = {"__name__": f"{name.lower()}_flow"}
    exec(compile(path.read_text(), str(path), "exec"), namespace_)
    return namespace_[name]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("""
        class Bad(FlowSpec):
            @step
            def end(self):
                pass
        """, "flow Bad has no 'start' step"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.next(self.end)
        """, "flow Bad has no 'end' step"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.next(self.nowhere)
            @step
            def end(self):
                pass
        """, "step 'start' of Bad calls self.next(self.nowhere), but 'nowhere' is not a @step"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.next(self.end)
            @step
            def orphan(self):
                self.next(self.end)
            @step
            def end(self):
                pass
        """, "step 'orphan' of Bad is not reachable from 'start'"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.next(self.a, self.b)
            @step
            def a(self):
                self.next(self.join)
            @step
            def b(self):
                self.next(self.join)
            @step
            def join(self):
                self.next(self.end)
            @step
            def end(self):
                pass
        """, "step 'join' of Bad is reached from 'a', 'b': it must be a join"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.next(self.join)
            @step
            def join(self, inputs):
                self.next(self.end)
            @step
            def end(self):
                pass
        """, "step 'join' of Bad takes inputs (a join), but no split or foreach comes before"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.next(self.a, self.b)
            @step
            def a(self):
                self.next(self.end)
            @step
            def b(self):
                self.next(self.end)
            @step
            def end(self):
                pass
        """, "step 'end' of Bad is reached from 'a', 'b': it must be a join"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.next(self.a, foreach='xs')
            @step
            def a(self):
                self.next(self.end)
            @step
            def end(self):
                pass
        """, "the branches opened at step 'start' of Bad are never joined before 'end'"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.next(self.end)
                self.x = 1
            @step
            def end(self):
                pass
        """, "step 'start' of Bad: self.next(...) must be its last statement"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self):
                self.x = 1
            @step
            def end(self):
                pass
        """, "step 'start' of Bad does not call self.next()"),
        ("""
        class Bad(FlowSpec):
            @step
            def start(self, a, b):
                self.next(self.end)
            @step
            def end(self):
                pass
        """, "step 'start' of Bad must take (self) or, for a join, (self, inputs)"),
    ],
)  # fmt: skip
def test_a_graph_that_cannot_run_is_refused_naming_the_step(
    source: str, message: str, tmp_path: Path, disk_repo: Any
) -> None:
    cls = _flow(source, tmp_path)
    with pytest.raises(FlowError) as error:
        run_flow(cls)
    assert message in str(error.value)
    namespace(None)
    with pytest.raises(MetaflowNotFound):
        Flow("Bad")  # refused before a run was recorded


# -- memoization ------------------------------------------------------------------------

EDITABLE = """
from provenance.flow import FlowSpec, step

SCALE = {scale}

def helper(x):
    return x * SCALE

class Edit(FlowSpec):
    @step
    def start(self):
        self.base = [1, 2, 3]
        self.next(self.double)

    @step
    def double(self):
        self.values = [helper(v) for v in self.base]{extra}
        self.next(self.parity)

    @step
    def parity(self):
        self.even = all(v % 2 == 0 for v in self.values)
        self.next(self.end)

    @step
    def end(self):
        self.report = f"even={{self.even}}"
"""


def test_an_edited_step_reruns_with_what_its_change_reaches(tmp_path: Path, disk_repo: Any) -> None:
    first = _run(_flow(EDITABLE.format(scale=2, extra=""), tmp_path, "Edit"))
    assert _computed(first) == ["start", "double", "parity", "end"]
    # The step's body changed: it runs again, and so does what reads its outputs.
    source = EDITABLE.format(scale=2, extra="\n        self.note = 'x'")
    edited = _run(_flow(source, tmp_path, "Edit"))
    assert _computed(edited) == ["double", "parity", "end"]
    # A helper it calls changed: it runs again, and what sees its new outputs.
    helper = _run(_flow(EDITABLE.format(scale=4, extra=""), tmp_path, "Edit"))
    assert _computed(helper) == ["double", "parity", "end"]
    namespace(None)
    assert Run(helper.pathspec).data.values == [4, 8, 12]
    # A refactor whose outputs come out the same: only the edited step runs,
    # the steps after it are hits again (content, not timestamps).
    same = EDITABLE.format(scale=2, extra="").replace(
        "[helper(v) for v in self.base]", "list(map(helper, self.base))"
    )
    refactored = _run(_flow(same, tmp_path, "Edit"))
    assert _computed(refactored) == ["double"]
    assert [t.cached for t in refactored.tasks] == [True, False, True, True]
    assert Run(refactored.pathspec).data.report == "even=True"
    # Back to the first code: every task was stored before.
    assert _computed(_run(_flow(EDITABLE.format(scale=2, extra=""), tmp_path, "Edit"))) == []


CALLS: list[str] = []


class SideEffects(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.next(self.notify)

    @step(cache=False)
    def notify(self):
        CALLS.append("notify")
        self.next(self.end)

    @step
    def end(self):
        pass


def test_cache_false_steps_and_no_cache_runs_always_run(disk_repo: Any) -> None:
    CALLS.clear()
    assert _computed(_run(SideEffects)) == ["start", "notify", "end"]
    assert _computed(_run(SideEffects)) == ["notify"]
    assert _computed(_run(SideEffects, use_cache=False)) == ["start", "notify", "end"]
    assert CALLS == ["notify"] * 3
    assert main(SideEffects, ["--quiet", "run", "--no-cache"]) == 0
    assert CALLS == ["notify"] * 4


class Mutates(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.a, self.b)

    @step
    def a(self):
        self.items.append(3)  # in place: Metaflow would not store this
        self.next(self.join)

    @step
    def b(self):
        self.seen = list(self.items)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.a_items = list(inputs.a.items)
        self.b_seen = inputs.b.seen
        self.next(self.end)

    @step
    def end(self):
        pass


def test_an_artifact_changed_in_place_is_stored_and_other_tasks_see_the_original(
    disk_repo: Any,
) -> None:
    result = _run(Mutates)
    assert result.successful
    namespace(None)
    run = Run(result.pathspec)
    assert run.data.a_items == [1, 2, 3]
    assert run.data.b_seen == [1, 2]  # b, run after a, saw start's value, not a's change
    assert run["start"].task.data.items == [1, 2]
    assert run["a"].task.data.items == [1, 2, 3]


class ClassState(FlowSpec):
    FACTOR = 3

    def scale(self, x):
        return x * self.FACTOR

    @step
    def start(self):
        self.y = self.scale(2)
        self.next(self.end)

    @step
    def end(self):
        pass


def test_class_constants_and_helper_methods_are_part_of_the_identity(disk_repo: Any) -> None:
    assert _computed(_run(ClassState)) == ["start", "end"]
    assert _computed(_run(ClassState)) == []
    ClassState.FACTOR = 4
    try:
        changed = _run(ClassState)
    finally:
        ClassState.FACTOR = 3
    assert _computed(changed) == ["start", "end"]
    namespace(None)
    assert Run(changed.pathspec).data.y == 8


class ResumeFlow(FlowSpec):
    count = Parameter("count", type=int, default=1)

    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.value = self.count * 2
        self.next(self.join)

    @step
    def b(self):
        self.value = 0
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = [i.value for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


def test_resume_reruns_a_step_and_what_follows_with_the_origin_s_parameters(
    disk_repo: Any,
) -> None:
    assert main(ResumeFlow, ["--quiet", "run", "--count", "5"]) == 0
    assert main(ResumeFlow, ["--quiet", "resume", "a"]) == 0
    namespace(None)
    run = Flow("ResumeFlow").latest_run
    assert run.data.values == [10, 0]  # count=5 taken from the run resumed
    assert run["start"].task.data.count == 5
    computed = sorted(s.id for s in run.steps() if not s.task.cached)
    assert computed == ["a", "end", "join"]
    assert main(ResumeFlow, ["--quiet", "resume", "nope"]) == 2


def test_workers_need_a_repo_other_processes_can_open() -> None:
    from conftest import MEMORY_CONFIG

    p.load_config(MEMORY_CONFIG)
    with pytest.raises(FlowError, match="cannot be shared with worker processes"):
        run_flow(ArtFlow, max_workers=2)
    with pytest.raises(FlowError, match="max_workers must be an int of at least 1, got 0"):
        run_flow(ArtFlow, max_workers=0)


class ReadsCurrent(FlowSpec):
    @step
    def start(self):
        self.where = f"{current.flow_name}.{current.step_name}"  # the same in every run
        self.next(self.stamp)

    @step
    def stamp(self):
        self.run = current.run_id  # differs in every run
        self.next(self.end)

    @step
    def end(self):
        pass


def test_a_step_that_reads_the_run_id_runs_every_time(disk_repo: Any) -> None:
    first = _run(ReadsCurrent)
    second = _run(ReadsCurrent)
    assert _computed(second) == ["stamp", "end"]
    namespace(None)
    assert Run(first.pathspec).data.run == first.run_id
    assert Run(second.pathspec).data.run == second.run_id != first.run_id
    assert Run(second.pathspec).data.where == "ReadsCurrent.start"


def test_max_workers_runs_branches_in_worker_processes_with_the_same_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers import this module (its flow classes) by name.
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    p.load_config(sqlite_config(str(tmp_path / "serial")))
    serial = _run(ForeachFlow)
    p.load_config(sqlite_config(str(tmp_path / "parallel")))
    parallel = _run(ForeachFlow, max_workers=2)
    assert parallel.successful, parallel.failed and parallel.failed.traceback
    assert _computed(parallel) == _computed(serial)
    ids = lambda r: sorted(t.artifact_id for t in r.tasks)  # noqa: E731
    assert ids(parallel) == ids(serial)
    lines = [line for line in parallel.output.splitlines() if "/each/" in line and "(pid " in line]
    pids = {line.split("(pid ")[1].split(")")[0] for line in lines}
    assert str(os.getpid()) not in pids and pids
    namespace(None)
    assert Run(parallel.pathspec).data.outs == ["0:a", "1:b", "2:c"]
    assert _computed(_run(ForeachFlow, max_workers=2)) == []


@pytest.mark.slow
def test_a_run_on_a_local_dask_cluster_gives_the_same_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    p.load_config(sqlite_config(str(tmp_path / "serial")))
    serial = _run(BranchFlow)
    p.load_config(sqlite_config(str(tmp_path / "dask")))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = _run(BranchFlow, dask=client)
        assert on_dask.successful, on_dask.failed and on_dask.failed.traceback
        again = _run(BranchFlow, dask=client)
    assert sorted(t.artifact_id for t in on_dask.tasks) == sorted(
        t.artifact_id for t in serial.tasks
    )
    assert _computed(again) == []
    namespace(None)
    assert Run(on_dask.pathspec).data.done == (13, "same", "a")


class FailsInWorker(ForeachFlow):
    @step
    def each(self):
        if self.input == "b":
            raise RuntimeError(f"item {self.index} is bad")
        self.out = self.input
        self.next(self.join)


def test_a_step_failing_in_a_worker_fails_the_run_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    p.load_config(sqlite_config(str(tmp_path / "repo")))
    result = _run(FailsInWorker, max_workers=2)
    assert not result.successful
    assert result.failed.step == "each"
    assert "RuntimeError: item 1 is bad" in result.failed.traceback
    assert "test_flow.py" in result.failed.traceback
    namespace(None)
    run = Run(result.pathspec)
    assert not run.successful
    failed = [t for t in run["each"].tasks() if not t.successful]
    assert len(failed) == 1 and failed[0].exception.message == "item 1 is bad"


def test_lineage_follows_the_reads_of_each_task_across_steps(disk_repo: Any) -> None:
    result = _run(BranchFlow)
    namespace(None)
    run = Run(result.pathspec)
    done = run.data.done  # end read total, shared and only_a
    names = [a.name for a in p.dependencies(done)]
    assert names[-1] == "BranchFlow.end_done"
    # total came from the join's reads of a's and b's x, which came from start's x.
    assert {
        "BranchFlow.join_total",
        "BranchFlow.a_x",
        "BranchFlow.b_x",
        "BranchFlow.start_x",
    } <= set(names)
    # What end did not read is not its lineage, though it could see it.
    assert "BranchFlow.join_seen" not in names
    graph = p.lineage_graph(done)
    assert graph.number_of_nodes() == len(set(names))


def test_max_num_splits_refuses_a_wider_foreach(disk_repo: Any, capsys: Any) -> None:
    assert main(ForeachFlow, ["--quiet", "run", "--max-num-splits", "2"]) == 2
    assert "foreach='items' has 3 items, more than --max-num-splits 2" in capsys.readouterr().err
    assert main(ForeachFlow, ["--quiet", "run", "--max-num-splits", "3"]) == 0


class IncludeFlow2(FlowSpec):
    text = IncludeFile("text", help="a file to read")
    start_count = Parameter("start-count", type=int, default=1)

    @step
    def start(self):
        self.words = len(self.text.split()) + self.start_count
        self.next(self.end)

    @step
    def end(self):
        pass


def test_include_file_reads_the_file_named_on_the_command_line(
    disk_repo: Any, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("three short words")
    assert main(IncludeFlow2, ["--quiet", "run", "--text", str(notes)]) == 0
    namespace(None)
    run = Flow("IncludeFlow2").latest_run
    assert run.data.words == 4 and run.data.text == "three short words"
    # The file's contents are the parameter's value: a changed file is a new start.
    notes.write_text("now four short words")
    assert main(IncludeFlow2, ["--quiet", "run", "--text", str(notes), "--start-count", "0"]) == 0
    assert Flow("IncludeFlow2").latest_run.data.words == 4


class Unstorable(FlowSpec):
    @step
    def start(self):
        self.fine = 1
        self.handle = open(__file__)  # noqa: SIM115 (a value no serializer can store)
        self.next(self.end)

    @step
    def end(self):
        pass


def test_an_artifact_that_cannot_be_stored_fails_its_task_naming_it(disk_repo: Any) -> None:
    result = _run(Unstorable)
    assert not result.successful and result.failed.step == "start"
    message = str(result.failed.exception)
    assert "step 'start': self.handle cannot be stored" in message
    namespace(None)
    task = Run(result.pathspec)["start"].task
    assert not task.successful and "self.handle" in task.exception.message


def test_task_output_is_echoed_as_written_under_its_prefix() -> None:
    from provenance.flows.view import Output

    echo = io.StringIO()
    out = Output(echo, "[1/start/1 (pid 7)]")
    out.write("(Pdb) ")
    out.flush()
    assert echo.getvalue() == "[1/start/1 (pid 7)] (Pdb) "  # a prompt shows at once
    out.write("c\nnext line\npartial")
    assert out.finish() == "(Pdb) c\nnext line\npartial"
    assert echo.getvalue().splitlines() == [
        "[1/start/1 (pid 7)] (Pdb) c",
        "[1/start/1 (pid 7)] next line",
        "[1/start/1 (pid 7)] partial",
    ]


def test_breakpoint_in_a_step_works_in_process(tmp_path: Path) -> None:
    source = TUTORIAL.replace(
        "print(f'the data artifact is: {self.some_data}')\n        self.some_data = [1,2,4]",
        "breakpoint()\n        self.some_data = [1,2,4]",
    )
    (tmp_path / "artflow.py").write_text(source)
    done = subprocess.run(
        [sys.executable, "artflow.py", "run"], cwd=tmp_path, env=_env(tmp_path),
        input="p self.some_data\nc\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(Pdb) [1, 2, 3]" in done.stdout
    assert "Done! 3 tasks" in done.stdout


class PlainValues(FlowSpec):
    @step
    def start(self):
        self.config = {"lr": 0.1}
        self.next(self.end)

    @step
    def end(self):
        # What Metaflow hands a step: the values themselves, not wrappers.
        self.text = json.dumps(self.config)
        self.kind = type(self.config).__name__


def test_steps_are_handed_plain_values_as_in_metaflow(disk_repo: Any) -> None:
    result = _run(PlainValues)
    assert result.successful, result.failed and result.failed.traceback
    namespace(None)
    data = Run(result.pathspec).data
    assert data.text == '{"lr": 0.1}' and data.kind == "dict"


# -- every task has its own values (found by review: shared objects gave stale hits) -----


class SharedObjects(FlowSpec):
    @step
    def start(self):
        base = [1]
        self.a = base
        self.b = {"a": base}  # two artifacts over one object
        self.next(self.mid)

    @step
    def mid(self):
        self.a.append(2)  # changes mid's own copy of a, and nothing else
        self.next(self.end)

    @step
    def end(self):
        self.b_seen = self.b


class JoinChangesInputs(FlowSpec):
    @step
    def start(self):
        self.cfg = {"a": 1}
        self.next(self.b1, self.b2)

    @step
    def b1(self):
        self.next(self.join)

    @step
    def b2(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        inputs.b1.cfg.update(b=2)  # the join's own copy
        self.merge_artifacts(inputs, include=["cfg"])
        self.next(self.end)

    @step
    def end(self):
        self.final = self.cfg


class ChangesItsInput(FlowSpec):
    @step
    def start(self):
        self.items = [{"n": 1}, {"n": 2}]
        self.next(self.body, foreach="items")

    @step
    def body(self):
        self.input["n"] += 10  # the task's own copy of the item
        self.got = self.input["n"]
        self.next(self.join)

    @step
    def join(self, inputs):
        self.items_after = [i.input for i in inputs]
        self.got = [i.got for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


@pytest.mark.parametrize("workers", [1, 2])
def test_a_task_never_sees_another_task_s_changes_in_place(
    workers: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    p.load_config(sqlite_config(str(tmp_path / "repo")))
    namespace(None)
    for cls, check in (
        (SharedObjects, lambda d: d.b_seen == {"a": [1]}),
        (JoinChangesInputs, lambda d: d.final == {"a": 1}),
        (ChangesItsInput, lambda d: d.items_after == [{"n": 1}, {"n": 2}] and d.got == [11, 12]),
    ):
        first = _run(cls, max_workers=workers)
        assert first.successful, first.failed and first.failed.traceback
        assert check(Run(first.pathspec).data), cls
        # A second run is all hits, and gives what a run computes.
        again = _run(cls, max_workers=workers)
        assert _computed(again) == [] and check(Run(again.pathspec).data), cls
        forced = _run(cls, max_workers=workers, use_cache=False)
        assert check(Run(forced.pathspec).data), cls


# -- more review findings, each a test --------------------------------------------------


def test_branches_that_go_straight_to_a_join_are_refused(tmp_path: Path) -> None:
    split = """
    class Bad(FlowSpec):
        @step
        def start(self):
            self.next(self.a, self.join)
        @step
        def a(self):
            self.next(self.join)
        @step
        def join(self, inputs):
            self.next(self.end)
        @step
        def end(self):
            pass
    """
    foreach = """
    class Bad(FlowSpec):
        @step
        def start(self):
            self.xs = [1, 2]
            self.next(self.join, foreach='xs')
        @step
        def join(self, inputs):
            self.next(self.end)
        @step
        def end(self):
            pass
    """
    for source in (split, foreach):
        with pytest.raises(FlowError, match="go straight to the join 'join'"):
            run_flow(_flow(source, tmp_path))


class DiesInWorker(ForeachFlow):
    @step
    def each(self):
        if self.input == "b":
            os.kill(os.getpid(), 9)
        self.out = self.input
        self.next(self.join)


def test_a_worker_that_dies_fails_its_task_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    p.load_config(sqlite_config(str(tmp_path / "repo")))
    result = _run(DiesInWorker, max_workers=2)
    assert not result.successful
    assert "did not complete in its worker process" in str(result.failed.exception)
    assert "/each/" in str(result.failed.exception)


class Documented(FlowSpec):
    size = Parameter("size", type=float, default=1, help="{help}")

    @step
    def start(self):
        self.doubled = self.size * 2
        self.kind = type(self.size).__name__
        self.next(self.end)

    @step
    def end(self):
        pass


def test_parameters_are_converted_and_their_help_is_not_code(
    disk_repo: Any, tmp_path: Path
) -> None:
    first = _run(Documented)
    namespace(None)
    assert Run(first.pathspec).data.kind == "float"  # the default went through the type
    Documented.size.help = "another help text"
    try:
        again = _run(Documented)
    finally:
        Documented.size.help = "{help}"
    assert _computed(again) == []  # the help text is not the step's code
    given = _run(Documented, {"size": "1"})
    assert _computed(given) == []  # "1" as typed is 1.0, the same start


class SetsInclude(ConflictFlow):
    @step
    def join(self, inputs):
        self.c = 3
        self.merge_artifacts(inputs, include=["y", "c"])  # c: set by the join, as Metaflow allows
        self.next(self.end)


class ShadowsClass(FlowSpec):
    LIMIT = 3

    @step
    def start(self):
        self.LIMIT = 10
        self.next(self.end)

    @step
    def end(self):
        pass


class EmptyForeach(ForeachFlow):
    @step
    def start(self):
        self.items = []
        self.next(self.each, foreach="items")


def test_merge_include_class_names_and_empty_foreach_as_metaflow(disk_repo: Any) -> None:
    merged = _run(SetsInclude)
    assert merged.successful, merged.failed and merged.failed.traceback
    namespace(None)
    assert Run(merged.pathspec).data.c == 3 and Run(merged.pathspec).data.y == 1
    shadow = _run(ShadowsClass)
    assert "'LIMIT' is an attribute of the flow class ShadowsClass" in str(shadow.failed.exception)
    empty = _run(EmptyForeach)  # a failed task, stored as nothing: it fails again next time
    assert not empty.successful and "foreach='items' is empty" in str(empty.failed.exception)
    assert not _run(EmptyForeach).successful


class ReadsOrigin(FlowSpec):
    @step
    def start(self):
        self.origin = current.origin_run_id
        self.next(self.end)

    @step
    def end(self):
        pass


def test_current_origin_run_id_on_resume(disk_repo: Any) -> None:
    assert main(ReadsOrigin, ["--quiet", "run"]) == 0
    namespace(None)
    first = Flow("ReadsOrigin").latest_run
    assert first.data.origin == None  # noqa: E711 (the client's value is a proxy)
    assert main(ReadsOrigin, ["--quiet", "resume", "--origin-run-id", first.id]) == 0
    assert Flow("ReadsOrigin").latest_run.data.origin == first.id
