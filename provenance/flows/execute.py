"""Running a flow: its tasks in order, each one memoized in the repository.

A task's identity is its flow and step, the step's code fingerprint (its
body and the helpers it calls, as for a decorated function, but not its
sibling steps), the value ids of every artifact it can see (its parent's,
or each input's for a join), and the foreach items and positions above it,
with ``@step(version=)`` where given.  That identity is the id of the
task's *composite* artifact, whose members are the artifacts the task ends
with: the ones it set (stored, content-addressed) and the ones it passed on
unchanged (the earlier tasks' own, linked by id, not copied).  A task whose
composite is in the repository is a hit: it is not run, its members become
the next task's view, and its stored output is shown again.  A step run
again whose outputs come out identical makes the next step a hit again:
content addressing, not timestamps.

The tasks of a run are numbered across the run as Metaflow numbers them
(``start`` is 1) before each starts, so that ``current.task_id`` is known
to the step; each task row is written when the task ends.  Only a task
that succeeded stores its composite, so a failed run leaves the finished
tasks stored, and running the flow again starts where it failed.

Tasks that must run go to :mod:`provenance.flows.tasks`: in this process,
or with ``max_workers`` above 1 to a pool of worker processes (forked from
a forkserver; loky where there is none), or to a Dask cluster; the
identities, hits and records stay here, so every mode gives the same
artifacts and ids.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import inspect
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TextIO

import cloudpickle

from ..config import resolve_repo
from ..errors import FlowError, HashingError
from ..hashing import hash_bytes, hash_value
from ..recording import system_tags, writer_of
from ..runinfo import _user, get_run_info
from ..runnames import FLOW_TAG
from ..storage.proxies import ArtifactProxy
from ..storage.run_queries import computing_task
from ..storage.runs import RunRef, create_run, finish_run, insert_tasks
from .graph import FlowGraph, step_functions
from .spec import FlowSpec, Preset, parameters
from .tasks import (
    STDERR,
    STDOUT,
    Done,
    Job,
    error_record,
    run_pickled,
    run_remote,
    run_task,
    user_traceback,
)
from .tasks import step_function as _step_function
from .view import Frame, Given, TaskOutcome, value_of

__all__ = ["FlowRun", "TaskOutcome", "run_flow", "user_traceback"]


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
        dask: Any = None,
        max_num_splits: int | None = None,
        origin_run_id: str | None = None,
    ) -> None:
        self.cls = cls
        self.flow = cls.__name__
        self.graph = FlowGraph(cls)
        self.repo = repo
        self.tags = tags
        self.use_cache = use_cache
        self.force = force
        self.echo = echo
        self.functions = step_functions(cls)
        self.params = params
        self.steps = {name: _step_function(cls, name) for name in self.functions}
        self.max_num_splits = max_num_splits
        self.origin_run_id = origin_run_id
        self.next_task = 1
        #: How many branches have reached each waiting join.
        self.arrived: dict[tuple[Any, ...], int] = {}
        self.pool = _pool(repo, max_workers, dask)

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
            system=[*system_tags(), FLOW_TAG], info={**get_run_info(), "flow": self.flow_info()},
        )  # fmt: skip
        result = FlowRun(self.flow, str(self.ref.number), self.ref.pathspec)
        self.say(f"Workflow starting (run-id {self.ref.number}):")
        self.start_state = {
            name: Given(value, hash_value(value, f"parameter {name!r}"))
            for name, value in self.params.items()
        }
        ready: deque[_Pending] = deque([_Pending("start", [], ())])
        waiting: dict[tuple[Any, ...], list[TaskOutcome | None]] = {}
        running: dict[Any, tuple[Job, datetime]] = {}
        status = "failed"
        try:
            while ready or running:
                while ready:
                    pending = ready.popleft()
                    began = datetime.now(timezone.utc)
                    job_or_hit = self.prepare(pending, began)
                    if isinstance(job_or_hit, TaskOutcome):
                        outcome = job_or_hit
                    elif job_or_hit.remote and self.pool is not None:
                        future = self.pool.submit(job_or_hit.shipped(), self.spec)
                        running[future] = (job_or_hit, began)
                        continue
                    else:
                        fn = self.steps[pending.step]
                        done = run_task(job_or_hit, self.repo, self.echo, fn)
                        outcome = self.finish(job_or_hit, done, began)
                    result.tasks.append(outcome)
                    if outcome.exception is not None:
                        result.failed = outcome
                        return result
                    self.advance(outcome, ready, waiting)
                if running and self.pool is not None:
                    for future in self.pool.wait(list(running)):
                        job, began = running.pop(future)
                        outcome = self.finish(job, self.pool.result(future, job), began)
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
            pool = self.pool
            if pool is not None:
                for future in running:
                    pool.cancel(future)
                pool.close()
            finish_run(self.ref, status)

    def flow_info(self) -> dict[str, Any]:
        """What the run records of its flow: its file, its source (stored once), its graph."""
        info: dict[str, Any] = {"graph": {node.name: node.out for node in self.graph}}
        try:
            path = inspect.getsourcefile(self.cls)
            with open(path or "", encoding="utf-8") as f:
                source = f.read()
        except (OSError, TypeError):  # a class made in a REPL: no file to keep
            return info
        fingerprint = hash_bytes(source.encode("utf-8"))
        self.writer.index.put_code(fingerprint, source, {})
        info.update(file=os.path.basename(path or ""), code=fingerprint)
        return info

    @property
    def spec(self) -> Any:
        return self.repo.shareable_spec()

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
            if self.max_num_splits is not None and len(items) > self.max_num_splits:
                raise FlowError(
                    f"step {node.name!r}: foreach={node.foreach!r} has {len(items)} items, "
                    f"more than --max-num-splits {self.max_num_splits}"
                )
            if not items:
                raise FlowError(
                    f"step {node.name!r}: foreach={node.foreach!r} is empty: a foreach needs "
                    "at least one item"
                )
            for i, item in enumerate(items):
                frame = Frame(node.name, outcome.task_id, i, len(items), item, True)
                # Hashed now, before a task can change it in place.
                frame = dataclasses.replace(frame, value_id=_item_hash(frame, node.out[0]))
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
        # The frames by position, not value: a foreach item need not be hashable.
        outer = tuple((f.step, f.task, f.index) for f in outcome.frames[:-1])
        key = (target, top.step, top.task, outer)
        slots = waiting.setdefault(key, [None] * top.count)
        slots[top.index] = outcome
        # Counted, not scanned: a foreach of n items would cost n^2 checks.
        arrived = self.arrived[key] = self.arrived.get(key, 0) + 1
        if arrived == top.count:
            del self.arrived[key]
            del waiting[key]
            ready.append(_Pending(target, [s for s in slots if s is not None], outcome.frames[:-1]))

    # -- one task -----------------------------------------------------------------

    def prepare(self, pending: _Pending, began: datetime) -> Job | TaskOutcome:
        """The task's identity: its outcome if it is a hit, else the job that runs it."""
        step = pending.step
        node = self.graph[step]
        task_id = self.next_task
        self.next_task += 1
        pathspec = f"{self.ref.pathspec}/{step}/{task_id}"
        t0 = time.perf_counter()
        if step == "start":
            visible: dict[str, Any] = dict(self.start_state)
        elif node.joins:
            first = pending.parents[0].artifacts
            visible = {name: first[name] for name in self.params if name in first}
        else:
            visible = dict(pending.parents[0].artifacts)
        fn = self.steps[step]
        input_hashes = {"kargs": self.identity(visible, pending), "varargs": []}
        artifact_id = fn._artifact_id(fn.name, input_hashes)
        cache = (
            self.use_cache
            and step not in self.force
            and getattr(self.functions[step], "step_cache", True)
        )
        if cache:
            hit = self.hit(pending, task_id, pathspec, artifact_id, began)
            if hit is not None:
                return hit
        parents = []
        if node.joins:
            parents = [
                (p.step, p.artifacts, p.frames[-1] if p.frames else None) for p in pending.parents
            ]
        # Only the tasks that can run beside others go to the workers: one
        # outside every split and foreach (start, a final join, end) runs
        # here, while the workers start up.
        remote = self.pool is not None and bool(pending.frames)
        if not remote:
            self.say(f"[{self.ref.number}/{step}/{task_id} (pid {os.getpid()})] Task is starting.")
        job = Job(
            self.cls, self.graph, step, task_id, self.ref.number, pathspec, visible, parents,
            pending.frames, artifact_id, input_hashes, time.perf_counter() - t0,
            replace=not cache, code=fn.code_fingerprint(),
        )  # fmt: skip
        job.remote = remote
        job.came_from = [(p.step, p.task_id) for p in pending.parents]
        job.origin_run_id = self.origin_run_id
        return job

    def finish(self, job: Job, done: Done, began: datetime) -> TaskOutcome:
        """Record a job's task, and say how it ended."""
        prefix = f"[{self.ref.number}/{job.step}/{job.task_id} (pid {done.pid})]"
        if job.remote:
            # A worker's output, shown when its task ends.
            self.say(f"{prefix} Task is starting.")
            for text in (done.stdout, done.stderr):
                for line in text.splitlines():
                    self.say(f"{prefix} {line}")
        members = done.members
        if members and not all(hasattr(a, "value_id") for a in members.values()):
            found = self.repo.get_artifacts(list(members.values()))
            members = {k: found[i] for k, i in members.items()}
        outcome = TaskOutcome(
            job.step, job.task_id, job.pathspec, members, job.frames, False, done.artifact_id,
            stdout=done.stdout, stderr=done.stderr, parents=job.came_from,
        )  # fmt: skip
        if done.error is not None:
            outcome.exception = done.exception or _RemoteError(done.error)
            outcome.traceback = done.error["traceback"]
            self.say(f"{prefix} Task failed.")
        else:
            self.say(f"{prefix} Task finished successfully.")
        self.record(outcome, began, done.artifact_id, done.error)
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
            pending.step, task_id, pathspec, state, pending.frames, True, artifact_id, origin,
            parents=[(p.step, p.task_id) for p in pending.parents],
        )  # fmt: skip
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

    def record(
        self,
        outcome: TaskOutcome,
        began: datetime,
        artifact_id: str | None,
        error: dict[str, str] | None = None,
    ) -> None:
        insert_tasks(self.writer.index, [{
            "run_id": self.ref.id, "step": outcome.step, "task_number": outcome.task_id,
            "artifact_id": None if error else artifact_id, "cached": outcome.cached,
            "successful": error is None, "exception": error,
            "params": _task_params(outcome, error is not None),
            "hits": 1,
            "started_at": began, "finished_at": datetime.now(timezone.utc),
        }])  # fmt: skip


class _RemoteError(Exception):
    """What a step raised in a worker process, as its type name, message and traceback."""

    def __init__(self, error: dict[str, str]) -> None:
        super().__init__(f"{error['type']}: {error['message']}")
        self.error = error


def _task_params(outcome: TaskOutcome, failed: bool) -> dict[str, Any]:
    """What a flow task's row keeps of it: the tasks it came from, its foreach
    position (``Task.index``), and a failed task's output (no composite holds it)."""
    params: dict[str, Any] = {"parents": [list(p) for p in outcome.parents]}
    stack = [[f.index, f.count] for f in outcome.frames if f.foreach]
    if stack:
        params.update(foreach_index=stack[-1][0], foreach_stack=stack)
    if failed:
        params.update(stdout=outcome.stdout[-60_000:], stderr=outcome.stderr[-60_000:])
    return params


def _item_hash(frame: Frame, step: str) -> str:
    if frame.value_id is not None:
        return frame.value_id
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


class _Pool:
    """Worker processes for the tasks that run beside others, or a Dask cluster's."""

    def __init__(self, executor: Any, dask: Any = None) -> None:
        self.executor = executor
        self.dask = dask

    def submit(self, job: Job, spec: Any) -> Any:
        if self.dask is not None:
            return self.dask.submit(run_remote, job, spec, pure=False)
        # Pickled here with cloudpickle: a flow class defined in the flow
        # file (``__main__``) travels by value.
        return self.executor.submit(run_pickled, cloudpickle.dumps((job, spec)))

    def wait(self, futures: list[Any]) -> list[Any]:
        if self.dask is not None:
            import distributed

            done, _ = distributed.wait(futures, return_when="FIRST_COMPLETED")
        else:
            done, _ = concurrent.futures.wait(
                futures, return_when=concurrent.futures.FIRST_COMPLETED
            )
        return [f for f in futures if f in done]  # in submission order

    def result(self, future: Any, job: Job) -> Done:
        """The job's outcome; a worker that died, or a job it could not run, fails the task."""
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 (reported as the task's failure)
            error = FlowError(
                f"task {job.pathspec} did not complete in its worker process: "
                f"{type(exc).__name__}: {exc or 'the process ended'}"
            )
            return Done(error=error_record(error), exception=error)

    def cancel(self, future: Any) -> None:
        future.cancel()

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)


def _pool(repo: Any, max_workers: int, dask: Any) -> _Pool | None:
    if max_workers == 1 and dask is None:
        return None
    spec = repo.shareable_spec() if hasattr(repo, "shareable_spec") else None
    if spec is None:
        raise FlowError(
            f"{repo!r} cannot be shared with worker processes (a repo in memory): run with "
            "max_workers=1, or configure an SQL repo"
        )
    if dask is not None:
        if isinstance(dask, str):
            from ..errors import require

            distributed = require("distributed", "dask", "running a flow on a Dask cluster")
            return _Pool(None, distributed.Client(dask))
        return _Pool(None, dask)
    if "forkserver" not in multiprocessing.get_all_start_methods():  # pragma: no cover (Windows)
        from joblib.externals.loky import get_reusable_executor

        return _Pool(get_reusable_executor(max_workers=max_workers))
    # Workers forked from a server process that has imported the task
    # machinery: two are ready in about 0.1 s, where loky's, each a new
    # interpreter importing joblib, take about 0.45 s; and unlike a plain
    # fork they inherit no threads or BLAS state of this process.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["provenance.flows.tasks"])
    executor = concurrent.futures.ProcessPoolExecutor(max_workers, mp_context=context)
    # They start now, beside the run's first steps.
    for _ in range(max_workers):
        executor.submit(_warm)
    return _Pool(executor)


def _warm() -> None:
    """A worker's first job: nothing (it starts the worker)."""


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
    dask: Any = None,
    max_num_splits: int | None = None,
    origin_run_id: str | None = None,
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
        Up to this many tasks (branches, foreach items) at once, in worker
        processes.  The repo must be one that other processes can open (not
        in memory).
    dask : str or distributed.Client, optional
        Run the tasks on this Dask cluster (a scheduler address, or a client).
    origin_run_id : str, optional
        The run this one resumes (``current.origin_run_id`` in its steps).
    max_num_splits : int, optional
        Refuse a foreach of more items (Metaflow's ``--max-num-splits``,
        whose default is 100; here there is no limit unless given).
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
            value = given[attribute]
        elif param.required:
            raise FlowError(f"parameter --{param.name} of {cls.__name__} is required")
        else:
            value = param.default
        # Given or default, through the type, as click does for Metaflow:
        # Parameter("alpha", type=float, default=1) is 1.0, as --alpha 1 is.
        values[attribute] = value.value if isinstance(value, Preset) else param.convert(value)
    if not isinstance(max_workers, int) or max_workers < 1:
        raise FlowError(f"max_workers must be an int of at least 1, got {max_workers!r}")
    unknown_steps = set(force) - set(step_functions(cls))
    if unknown_steps:
        raise FlowError(f"{cls.__name__} has no step(s) {sorted(unknown_steps)}")
    runner = _Runner(
        cls, values, repo=resolve_repo(repo), tags=list(tags or []), use_cache=use_cache,
        echo=echo, force=frozenset(force), max_workers=max_workers, dask=dask,
        max_num_splits=max_num_splits, origin_run_id=origin_run_id,
    )  # fmt: skip
    return runner.run()
