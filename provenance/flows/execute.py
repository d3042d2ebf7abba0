"""Running a flow: its tasks in order, each one memoized in the repository.

A task's identity is its flow and step, the step's code fingerprint (its
body and the helpers it calls, as for a decorated function), the value ids
of every artifact it can see (its parent's, or each input's for a join),
the foreach items and positions above it, the flow class's other methods
and constants, and ``@step(version=)`` where given.  That identity is the
id of the task's *composite* artifact, whose members are the artifacts the
task ends with: the ones it set (stored, content-addressed) and the ones it
passed on unchanged (the earlier tasks' own, linked by id, not copied).  A
task whose composite is in the repository is a hit: it is not run, its
members become the next task's view, and its stored output is shown again.
A step run again whose outputs come out identical makes the next step a hit
again: content addressing, not timestamps.

The tasks of a run are numbered across the run as Metaflow numbers them
(``start`` is 1), before each starts, so that ``current.task_id`` is known
to the step; each task row is written when the task ends.  Only a task that
succeeded stores its composite, so a failed run leaves the finished tasks
stored, and running the flow again starts where it failed.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from ..config import resolve_repo
from ..decorator import ProvenanceFunction
from ..errors import FlowError, HashingError
from ..fingerprint import CodeFingerprint, code_fingerprint
from ..hashing import hash_value
from ..recording import system_tags, writer_of
from ..runinfo import _user, get_run_info
from ..runnames import FLOW_TAG, OUTPUT_MEMBERS
from ..storage.artifact import Artifact
from ..storage.proxies import ArtifactProxy
from ..storage.run_queries import computing_task
from ..storage.runs import RunRef, create_run, finish_run, insert_tasks
from ..storing import store_members
from .graph import FlowGraph, step_functions
from .spec import FlowSpec, Inputs, _task, parameters
from .view import Branch, Frame, Given, Output, TaskOutcome, View, changed, value_of

__all__ = ["FlowRun", "TaskOutcome", "run_flow", "user_traceback"]

STDOUT, STDERR = OUTPUT_MEMBERS


@dataclass
class _Pending:
    step: str
    parents: list[TaskOutcome]
    frames: tuple[Frame, ...]


@dataclass
class FlowRun:
    """What :func:`run_flow` did: the run, its tasks, and whether it succeeded."""

    flow: str
    run_id: str
    pathspec: str
    tasks: list[TaskOutcome] = field(default_factory=list)
    successful: bool = False
    failed: TaskOutcome | None = None

    @property
    def cached_tasks(self) -> int:
        return sum(t.cached for t in self.tasks)


class _Runner:
    def __init__(
        self,
        cls: type,
        params: Mapping[str, Any],
        *,
        repo: Any,
        tags: list[str],
        use_cache: bool,
        echo: TextIO | None,
        force: frozenset[str] = frozenset(),
        max_workers: int = 1,
    ) -> None:
        self.cls = cls
        self.flow = cls.__name__
        self.graph = FlowGraph(cls)
        self.repo = repo
        self.tags = tags
        self.use_cache = use_cache
        self.force = force
        self.max_workers = max_workers
        self.echo = echo
        self.functions = step_functions(cls)
        self.params = params
        self.steps = {
            name: StepFunction(
                fn,
                [f for other, f in self.functions.items() if other != name],
                name=f"{self.flow}.{name}",
                version=getattr(fn, "step_version", None),
                returns_composite=True,
            )
            for name, fn in self.functions.items()
        }
        self.next_task = 1

    def say(self, text: str) -> None:
        if self.echo is not None:
            self.echo.write(text + "\n")
            self.echo.flush()

    def run(self) -> FlowRun:
        writer = writer_of(self.repo)
        if writer is None:
            raise FlowError(f"cannot run {self.flow}: its repo cannot write")
        self.writer = writer
        self.ref: RunRef = create_run(
            writer.index, self.flow, self.tags, implicit=False,
            created_at=datetime.now(timezone.utc), user=_user(),
            system=[*system_tags(), FLOW_TAG], info=get_run_info(),
        )  # fmt: skip
        result = FlowRun(self.flow, str(self.ref.number), self.ref.pathspec)
        self.say(f"Workflow starting (run-id {self.ref.number}):")
        start_state = {
            name: Given(value, hash_value(value, f"parameter {name!r}"))
            for name, value in self.params.items()
        }
        ready: deque[_Pending] = deque([_Pending("start", [], ())])
        waiting: dict[tuple[Any, ...], list[TaskOutcome | None]] = {}
        status = "failed"
        try:
            while ready:
                pending = ready.popleft()
                outcome = self.task(pending, start_state)
                result.tasks.append(outcome)
                if outcome.exception is not None:
                    result.failed = outcome
                    return result
                self.advance(outcome, ready, waiting)
            status = "successful"
            result.successful = True
            hits = result.cached_tasks
            self.say(f"Done! {len(result.tasks)} tasks, {hits} of them from the cache.")
            return result
        finally:
            finish_run(self.ref, status)

    def advance(
        self,
        outcome: TaskOutcome,
        ready: deque[_Pending],
        waiting: dict[tuple[Any, ...], list[TaskOutcome | None]],
    ) -> None:
        node = self.graph[outcome.step]
        if node.name == "end":
            return
        if node.foreach is not None:
            over = outcome.artifacts.get(node.foreach)
            if over is None:
                raise FlowError(
                    f"step {node.name!r} says foreach={node.foreach!r}, but set no "
                    f"self.{node.foreach}"
                )
            try:
                items = list(value_of(over))
            except TypeError:
                raise FlowError(
                    f"step {node.name!r}: foreach={node.foreach!r} needs a list or another "
                    f"iterable, got {type(value_of(over)).__name__}"
                ) from None
            if not items:
                raise FlowError(
                    f"step {node.name!r}: foreach={node.foreach!r} is empty: a foreach needs "
                    "at least one item"
                )
            for i, item in enumerate(items):
                frame = Frame(node.name, outcome.task_id, i, len(items), item, True)
                ready.append(_Pending(node.out[0], [outcome], (*outcome.frames, frame)))
            return
        if len(node.out) > 1:
            for i, target in enumerate(node.out):
                frame = Frame(node.name, outcome.task_id, i, len(node.out))
                ready.append(_Pending(target, [outcome], (*outcome.frames, frame)))
            return
        target = node.out[0]
        if not self.graph[target].joins:
            ready.append(_Pending(target, [outcome], outcome.frames))
            return
        top = outcome.frames[-1]
        key = (target, top.step, top.task, outcome.frames[:-1])
        slots = waiting.setdefault(key, [None] * top.count)
        slots[top.index] = outcome
        if all(s is not None for s in slots):
            del waiting[key]
            ready.append(_Pending(target, [s for s in slots if s is not None], outcome.frames[:-1]))

    # -- one task -----------------------------------------------------------------

    def task(self, pending: _Pending, start_state: dict[str, Any]) -> TaskOutcome:
        step = pending.step
        node = self.graph[step]
        task_id = self.next_task
        self.next_task += 1
        pathspec = f"{self.ref.pathspec}/{step}/{task_id}"
        began = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        if step == "start":
            visible: dict[str, Any] = dict(start_state)
        elif node.joins:
            first = pending.parents[0].artifacts
            visible = {name: first[name] for name in self.params if name in first}
        else:
            visible = dict(pending.parents[0].artifacts)
        kargs = self.identity(visible, pending)
        fn = self.steps[step]
        input_hashes = {"kargs": kargs, "varargs": []}
        artifact_id = fn._artifact_id(fn.name, input_hashes)
        id_duration = time.perf_counter() - t0
        cache = (
            self.use_cache
            and step not in self.force
            and getattr(self.functions[step], "step_cache", True)
        )
        if cache:
            hit = self.hit(pending, task_id, pathspec, artifact_id, began)
            if hit is not None:
                return hit
        prefix = f"[{self.ref.number}/{step}/{task_id} (pid {os.getpid()})]"
        self.say(f"{prefix} Task is starting.")
        view = View(self, step, visible, pending.frames)
        instance: Any = object.__new__(self.cls)
        object.__setattr__(instance, "_view", view)
        out, err = Output(self.echo, prefix), Output(self.echo, prefix)
        token = _task.set(_TaskInfo(self.flow, str(self.ref.number), step, str(task_id), pathspec))
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        computed_at = datetime.now(timezone.utc)
        t1 = time.perf_counter()
        exception: BaseException | None = None
        try:
            method = getattr(instance, step)
            if node.joins:
                inputs = Inputs([Branch(view, i, p) for i, p in enumerate(pending.parents)])
                method(inputs)
            else:
                method()
            if view.next is None and step != "end":
                raise FlowError(f"step {step!r} ended without calling self.next()")
        except BaseException as exc:  # noqa: BLE001 (a failed task is recorded, then re-raised by the caller)
            exception = exc
        finally:
            duration = time.perf_counter() - t1
            sys.stdout, sys.stderr = saved
            _task.reset(token)
            stdout, stderr = out.finish(), err.finish()
        outcome = TaskOutcome(
            step, task_id, pathspec, {}, pending.frames, False,
            stdout=stdout, stderr=stderr, exception=exception,
        )  # fmt: skip
        if exception is not None:
            if isinstance(exception, KeyboardInterrupt):
                self.record(outcome, began, None, error=exception)
                raise exception
            self.say(f"{prefix} Task failed.")
            self.record(outcome, began, None, error=exception)
            return outcome
        artifacts = self.store(fn, artifact_id, view, outcome, input_hashes,
                               computed_at, duration, id_duration, replace=not cache)  # fmt: skip
        outcome.artifacts = artifacts
        self.say(f"{prefix} Task finished successfully.")
        self.record(outcome, began, artifact_id)
        return outcome

    def identity(self, visible: Mapping[str, Any], pending: _Pending) -> dict[str, str]:
        kargs: dict[str, str] = {}
        for name, artifact in visible.items():
            kargs[f"self.{name}"] = artifact.value_id
        if self.graph[pending.step].joins:
            for i, parent in enumerate(pending.parents):
                kargs[f"inputs[{i}]"] = parent.step
                for name, artifact in parent.artifacts.items():
                    kargs[f"inputs[{i}].{name}"] = artifact.value_id
                if parent.frames and parent.frames[-1].foreach:
                    kargs[f"inputs[{i}].input"] = _item_hash(parent.frames[-1], pending.step)
        for depth, frame in enumerate(pending.frames):
            kargs[f"frame[{depth}]"] = f"{frame.step}:{frame.index}/{frame.count}"
            if frame.foreach:
                kargs[f"frame[{depth}].input"] = _item_hash(frame, pending.step)
        return kargs

    def hit(
        self, pending: _Pending, task_id: int, pathspec: str, artifact_id: str, began: datetime
    ) -> TaskOutcome | None:
        found = self.repo.lookup(artifact_id)
        if found is None or not found.composite:
            return None
        members = dict(found.value.member_ids)
        artifacts = self.repo.get_artifacts(members.values())
        if any(i not in artifacts for i in members.values()):
            return None  # a member was deleted: run it again
        state = {name: artifacts[i] for name, i in members.items() if not name.startswith("_")}
        origin = None
        row = self.writer.index.read_rows(*computing_task(artifact_id))
        if row:
            origin = "/".join(str(c) for c in row[0])
        outcome = TaskOutcome(
            pending.step, task_id, pathspec, state, pending.frames, True, artifact_id, origin
        )
        where = f"[{self.ref.number}/{pending.step}/{task_id}"
        self.say(f"{where} (cached)] Task is cached{f' from {origin}' if origin else ''}.")
        for member, stream in ((STDOUT, "stdout"), (STDERR, "stderr")):
            if member in members:
                text = str(artifacts[members[member]].value)
                setattr(outcome, stream, text)
                if self.echo is not None:
                    for line in text.splitlines():
                        self.echo.write(f"{where} (replayed)] {line}\n")
        self.record(outcome, began, artifact_id)
        return outcome

    def store(
        self,
        fn: StepFunction,
        artifact_id: str,
        view: View,
        outcome: TaskOutcome,
        input_hashes: dict[str, Any],
        computed_at: datetime,
        duration: float,
        id_duration: float,
        replace: bool,
    ) -> dict[str, Artifact]:
        values: dict[str, Any] = {}
        linked: dict[str, Artifact] = {}
        for name, seen in view.visible.items():
            if name in view.deleted or name in view.writes:
                continue
            if isinstance(seen, Given):
                values[name] = seen.value
                continue
            handed = view.handed.get(name)
            if handed is not None and changed(handed, seen):
                # Changed in place: stored as what it holds now, and the
                # other tasks that see the artifact load it again.
                values[name] = handed.__wrapped__
                seen.unload()
            else:
                linked[name] = seen
        for name, value in view.writes.items():
            artifact = (
                getattr(value, "artifact", None) if isinstance(value, ArtifactProxy) else None
            )
            if isinstance(artifact, Artifact) and not changed(value, artifact):
                linked[name] = artifact  # another artifact, passed on unchanged
            else:
                values[name] = value
        if outcome.stdout:
            values[STDOUT] = outcome.stdout
        if outcome.stderr:
            values[STDERR] = outcome.stderr
        reads = dict(view.reads)
        record = {
            "code": fn.code_fingerprint(),
            "plain": set(),
            "repair": False,
            "inputs": {"kargs": reads, "varargs": ()},
            "input_hashes": input_hashes,
            "raw_hashes": {"kargs": {}, "varargs": []},
            "computed_at": computed_at,
            "compute_duration": duration,
            "input_id_duration": id_duration,
            "read_only": False,
        }
        composite, members = store_members(
            fn, self.repo, artifact_id, values, record, replace, linked
        )
        outcome.artifact_id = composite.id
        return {k: a for k, a in members.items() if not k.startswith("_")}

    def record(
        self,
        outcome: TaskOutcome,
        began: datetime,
        artifact_id: str | None,
        error: BaseException | None = None,
    ) -> None:
        exception = None
        if error is not None:
            exception = {
                "type": f"{type(error).__module__}.{type(error).__qualname__}",
                "message": str(error)[:10_000],
                "traceback": user_traceback(error)[-60_000:],
            }
        insert_tasks(self.writer.index, [{
            "run_id": self.ref.id, "step": outcome.step, "task_number": outcome.task_id,
            "artifact_id": artifact_id, "cached": outcome.cached,
            "successful": error is None, "exception": exception, "params": None, "hits": 1,
            "started_at": began, "finished_at": datetime.now(timezone.utc),
        }])  # fmt: skip


@dataclass(frozen=True)
class _TaskInfo:
    flow_name: str
    run_id: str
    step_name: str
    task_id: str
    pathspec: str
    origin_run_id: str | None = None


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_traceback(error: BaseException) -> str:
    """The traceback of what a step raised, from the step's own frame (not the runner's)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE):
            break
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def _item_hash(frame: Frame, step: str) -> str:
    value = frame.value
    if isinstance(value, ArtifactProxy):
        return str(value.artifact.value_id)
    try:
        return hash_value(value)
    except HashingError as exc:
        raise FlowError(
            f"item {frame.index} of the foreach at step {frame.step!r} cannot be hashed, so "
            f"step {step!r} cannot be identified: {exc}"
        ) from None


class StepFunction(ProvenanceFunction):
    """A step as a decorated function: its code is the step's and its helpers', not its siblings'.

    The fingerprint of a method covers its class, and so every other step
    that ``self.next(self.b)`` names; a step's identity leaves those out
    (each step is identified by its own code), while the class's helper
    methods and constants stay covered.
    """

    def __init__(self, fn: Callable[..., Any], siblings: list[Any], **options: Any) -> None:
        super().__init__(fn, **options)
        self._siblings = siblings

    def _fingerprint(self) -> CodeFingerprint:
        return code_fingerprint(self._fn, skip=self._siblings)


def run_flow(
    cls: type,
    params: Mapping[str, Any] | None = None,
    *,
    repo: Any = None,
    tags: list[str] | None = None,
    use_cache: bool = True,
    echo: TextIO | None = None,
    max_workers: int = 1,
    force: frozenset[str] | set[str] = frozenset(),
) -> FlowRun:
    """Run a flow class's graph in this process, each task memoized.

    Parameters
    ----------
    cls : type
        A :class:`~provenance.flow.FlowSpec` subclass.
    params : dict, optional
        Parameter values by attribute name; missing ones take their default.
    repo : Repository or str, optional
        Where the run is recorded; the default repo when omitted.
    tags : list of str, optional
        User tags of the run.
    use_cache : bool, default True
        ``False`` runs every step (``--no-cache``).
    echo : file, optional
        Where the tasks' output and progress lines go (``None``: nowhere).
    max_workers : int, default 1
        Up to this many tasks (branches, foreach items) at once, in worker processes.
    force : set of str, optional
        Steps run whatever the cache holds (``resume STEP``).

    Returns
    -------
    FlowRun
        With ``successful`` False and ``failed`` set when a step raised.
    """
    if not (isinstance(cls, type) and issubclass(cls, FlowSpec)):
        raise TypeError(f"run_flow() takes a FlowSpec subclass, got {cls!r}")
    declared = parameters(cls)
    given = dict(params or {})
    unknown = set(given) - set(declared)
    if unknown:
        raise FlowError(f"{cls.__name__} has no parameter(s) {sorted(unknown)}")
    values: dict[str, Any] = {}
    for attribute, param in declared.items():
        if attribute in given:
            values[attribute] = given[attribute]
        elif param.required:
            raise FlowError(f"parameter --{param.name} of {cls.__name__} is required")
        elif isinstance(param.default, str):
            # As click does for Metaflow: a text default goes through the type.
            values[attribute] = param.convert(param.default)
        else:
            values[attribute] = param.default
    if not isinstance(max_workers, int) or max_workers < 1:
        raise FlowError(f"max_workers must be an int of at least 1, got {max_workers!r}")
    if max_workers > 1:
        # Not built yet: refused rather than run one task at a time unasked.
        raise FlowError("running tasks in parallel (--max-workers above 1) is not supported yet")
    unknown_steps = set(force) - set(step_functions(cls))
    if unknown_steps:
        raise FlowError(f"{cls.__name__} has no step(s) {sorted(unknown_steps)}")
    runner = _Runner(
        cls, values, repo=resolve_repo(repo), tags=list(tags or []), use_cache=use_cache,
        echo=echo, force=frozenset(force), max_workers=max_workers,
    )  # fmt: skip
    return runner.run()
