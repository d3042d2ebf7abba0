"""One task of a flow run: its step run on a view of its artifacts, and what it ends with stored.

The runner (:mod:`provenance.flows.execute`) decides which tasks run and
whether each is a hit; a task that must run is a :class:`Job`, run here by
:func:`run_task` in the runner's process, or by :func:`run_remote` in a
worker process (loky, or a Dask worker), which rebuilds the repo from its
spec and loads the artifacts the task sees by id.  Either way the task's
composite artifact is stored before the result comes back, so a worker
that dies leaves nothing half-written behind a task row.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

from ..decorator import ProvenanceFunction
from ..errors import FlowError, HashingError, SerializationError
from ..fingerprint import CodeFingerprint, code_fingerprint
from ..hashing import hash_value
from ..runnames import OUTPUT_MEMBERS
from ..storage.artifact import Artifact
from ..storage.proxies import ArtifactProxy
from ..storing import store_members
from .graph import FlowGraph, step_functions
from .spec import Inputs, _task
from .view import Branch, Frame, Given, Output, View, changed

__all__ = [
    "Done",
    "Job",
    "StepFunction",
    "run_remote",
    "run_task",
    "step_function",
    "user_traceback",
]

STDOUT, STDERR = OUTPUT_MEMBERS


class StepFunction(ProvenanceFunction):
    """A step as a decorated function: its code is the step's and its helpers', not its siblings'.

    The fingerprint of a method covers its class, and so every other step
    that ``self.next(self.b)`` names; a step's identity leaves those out
    (each step is identified by its own code), while the class's helper
    methods and constants stay covered.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        siblings: list[Any],
        code: CodeFingerprint | None = None,
        **options: Any,
    ) -> None:
        super().__init__(fn, **options)
        self._siblings = siblings
        if code is not None:  # made by the runner: a worker does not walk the code again
            self._code = code

    def _fingerprint(self) -> CodeFingerprint:
        return code_fingerprint(self._fn, skip=self._siblings)


def step_function(cls: type, step: str, code: CodeFingerprint | None = None) -> StepFunction:
    """The :class:`StepFunction` of ``step`` of flow ``cls``."""
    functions = step_functions(cls)
    fn = functions[step]
    return StepFunction(
        fn,
        [f for other, f in functions.items() if other != step],
        code,
        name=f"{cls.__name__}.{step}",
        version=getattr(fn, "step_version", None),
        returns_composite=True,
    )


@dataclass
class TaskInfo:
    """What ``current`` says during a task; ``volatile`` is set when it is read for what varies."""

    flow_name: str
    run_id: str
    step_name: str
    task_id: str
    pathspec: str
    origin_run_id: str | None = None
    volatile: bool = False


@dataclass
class Job:
    """A task to run: everything it needs, picklable for a worker process.

    ``visible`` and each parent's artifacts are :class:`Artifact` objects in
    the runner's process, and artifact ids once sent to a worker.
    """

    cls: type
    graph: FlowGraph
    step: str
    task_id: int
    run_number: int
    pathspec: str
    visible: dict[str, Any]
    #: A join's inputs: (step, artifacts by name, its innermost frame).
    parents: list[tuple[str, dict[str, Any], Frame | None]]
    frames: tuple[Frame, ...]
    artifact_id: str
    input_hashes: dict[str, Any]
    id_duration: float
    replace: bool
    code: CodeFingerprint | None = None
    #: Whether a worker runs it (set by the runner; a shipped job is remote).
    remote: bool = False
    #: The tasks it comes from, as ``(step, task id)``.
    came_from: list[tuple[str, int]] = field(default_factory=list)
    #: The run a ``resume`` resumes.
    origin_run_id: str | None = None

    @property
    def flow(self) -> str:
        return self.graph.name

    def shipped(self) -> Job:
        """This job with artifacts named by id, to send to a worker."""

        def ids(artifacts: Mapping[str, Any]) -> dict[str, Any]:
            return {k: a.id if isinstance(a, Artifact) else a for k, a in artifacts.items()}

        code = self.code
        if code is not None:  # its text made now: the function that makes it does not pickle
            code = CodeFingerprint(code.digest, code.source, code.packages)
        return Job(
            self.cls, self.graph, self.step, self.task_id, self.run_number, self.pathspec,
            ids(self.visible), [(s, ids(a), f) for s, a, f in self.parents], self.frames,
            self.artifact_id, self.input_hashes, self.id_duration, self.replace, code, True,
            self.came_from, self.origin_run_id,
        )  # fmt: skip


@dataclass
class Done:
    """What a task ended with: its composite's members, its output, or what it raised."""

    members: dict[str, Any] = field(default_factory=dict)
    artifact_id: str | None = None
    stdout: str = ""
    stderr: str = ""
    #: ``{"type", "message", "traceback"}`` of what the step raised.
    error: dict[str, str] | None = None
    exception: BaseException | None = None
    pid: int = field(default_factory=os.getpid)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def user_traceback(error: BaseException) -> str:
    """The traceback of what a step raised, from the step's own frame (not the runner's)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE):
            break
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def error_record(error: BaseException) -> dict[str, str]:
    """What a task row keeps of an exception (as a failed decorated call's)."""
    return {
        "type": f"{type(error).__module__}.{type(error).__qualname__}",
        "message": str(error)[:10_000],
        "traceback": user_traceback(error)[-60_000:],
    }


class _Parent:
    """A join's input as :class:`Branch` reads it."""

    def __init__(self, step: str, artifacts: dict[str, Any], frame: Frame | None) -> None:
        self.step = step
        self.artifacts = artifacts
        self.frames = () if frame is None else (frame,)


def run_task(job: Job, repo: Any, echo: TextIO | None, fn: StepFunction | None = None) -> Done:
    """Run ``job``'s step and store what it ends with; a step that raises is reported, not raised.

    ``KeyboardInterrupt`` and ``SystemExit`` propagate (the task is not
    recorded as run).
    """
    fn = fn or step_function(job.cls, job.step, job.code)
    node = job.graph[job.step]
    prefix = f"[{job.run_number}/{job.step}/{job.task_id} (pid {os.getpid()})]"
    view = View(job, job.step, dict(job.visible), job.frames)
    instance: Any = object.__new__(job.cls)
    object.__setattr__(instance, "_view", view)
    out, err = Output(echo, prefix), Output(echo, prefix)
    info = TaskInfo(
        job.flow, str(job.run_number), job.step, str(job.task_id), job.pathspec, job.origin_run_id
    )
    token = _task.set(info)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    computed_at = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    exception: BaseException | None = None
    try:
        method = getattr(instance, job.step)
        if node.joins:
            branches = [
                Branch(view, i, _Parent(step, artifacts, frame))  # type: ignore[arg-type]
                for i, (step, artifacts, frame) in enumerate(job.parents)
            ]
            method(Inputs(branches))
        else:
            method()
        if view.next is None and job.step != "end":
            raise FlowError(f"step {job.step!r} ended without calling self.next()")
        if node.foreach is not None:  # before anything is stored: a failed task, not a hit
            _check_foreach(view, job.step, node.foreach)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 (the task failed: recorded by the runner)
        exception = exc
    finally:
        duration = time.perf_counter() - t0
        sys.stdout, sys.stderr = saved
        _task.reset(token)
        stdout, stderr = out.finish(), err.finish()
    done = Done(stdout=stdout, stderr=stderr)
    if exception is not None:
        done.error, done.exception = error_record(exception), exception
        return done
    values, linked = _outputs(view)
    if stdout:
        values[STDOUT] = stdout
    if stderr:
        values[STDERR] = stderr
    input_hashes, artifact_id = job.input_hashes, job.artifact_id
    if info.volatile:
        # It read what differs in every run: stored under an identity of
        # this task alone, so the next run finds nothing and runs it again.
        kargs = {**input_hashes["kargs"], "current.pathspec": job.pathspec}
        input_hashes = {"kargs": kargs, "varargs": []}
        artifact_id = fn._artifact_id(fn.name, input_hashes)
    record = {
        "code": fn.code_fingerprint(),
        "plain": set(),
        "repair": False,
        "inputs": {"kargs": dict(view.reads), "varargs": ()},
        "input_hashes": input_hashes,
        "raw_hashes": {"kargs": {}, "varargs": []},
        "computed_at": computed_at,
        "compute_duration": duration,
        "input_id_duration": job.id_duration,
        "read_only": False,
    }
    try:
        composite, members = store_members(
            fn, repo, artifact_id, values, record, job.replace, linked
        )
    except (HashingError, SerializationError, TypeError, ValueError) as exc:
        # The step ran, but what it set cannot be stored: a failed task that
        # names the artifact (found by hashing each: only on this path).
        culprit = next((n for n, v in values.items() if not _hashable(v)), None)
        what = f"self.{culprit}" if culprit else "an artifact it set"
        error = FlowError(f"step {job.step!r}: {what} cannot be stored: {exc}")
        done.error, done.exception = error_record(error), error
        return done
    done.artifact_id = composite.id
    done.members = {k: a for k, a in members.items() if not k.startswith("_")}
    return done


def _check_foreach(view: View, step: str, name: str) -> None:
    """That the attribute a foreach iterates over is set, iterable and not empty."""
    if name in view.writes:
        value = view.writes[name]
    elif name in view.visible and name not in view.deleted:
        value = view.read(name)
    else:
        raise FlowError(f"step {step!r} says foreach={name!r}, but set no self.{name}")
    try:
        count = len(value) if hasattr(value, "__len__") else len(list(value))
    except TypeError:
        raise FlowError(
            f"step {step!r}: foreach={name!r} needs a list or another iterable, got "
            f"{type(value).__name__}"
        ) from None
    if count == 0:
        raise FlowError(
            f"step {step!r}: foreach={name!r} is empty: a foreach needs at least one item"
        )


def _hashable(value: Any) -> bool:
    try:
        hash_value(value)
    except (HashingError, TypeError, ValueError):
        return False
    return True


def _outputs(view: View) -> tuple[dict[str, Any], dict[str, Artifact]]:
    """What the task stores anew, and what it passes on as stored (by member name)."""
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
            # Changed in place: stored as what it holds now (it was this
            # task's own copy: no other task saw the change).
            values[name] = handed
        else:
            linked[name] = seen
    for name, value in view.writes.items():
        artifact = view.objects.get(id(value))
        if artifact is None and isinstance(value, ArtifactProxy):
            artifact = value.artifact  # a decorated call's result, say
        if isinstance(artifact, Artifact) and not changed(value, artifact):
            linked[name] = artifact  # another artifact, passed on unchanged
        else:
            values[name] = value
    return values, linked


def run_remote(job: Job, spec: Mapping[str, Any]) -> Done:
    """:func:`run_task` in a worker process: the repo from its spec, the artifacts by id."""
    from ..storage.repos import repo_from_spec

    repo = repo_from_spec(spec)
    wanted = [a for a in job.visible.values() if isinstance(a, str)]
    wanted += [a for _, artifacts, _ in job.parents for a in artifacts.values()]
    found = repo.get_artifacts(wanted) if wanted else {}
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise FlowError(f"task {job.pathspec}: artifacts {missing} are not in the repo")

    def load(artifacts: Mapping[str, Any]) -> dict[str, Any]:
        return {k: found[a] if isinstance(a, str) else a for k, a in artifacts.items()}

    job.visible = load(job.visible)
    job.parents = [(s, load(a), f) for s, a, f in job.parents]
    done = run_task(job, repo, None)
    # Members go back by id (the runner loads the records it needs), and
    # the exception as text only: a traceback does not pickle.
    done.members = {k: a.id for k, a in done.members.items()}
    done.exception = None
    return done


def run_pickled(payload: bytes) -> Done:
    """:func:`run_remote` of a ``(job, spec)`` pickled with cloudpickle (a process pool's task)."""
    import cloudpickle

    job, spec = cloudpickle.loads(payload)
    return run_remote(job, spec)
