"""The client objects, one per pathspec level: Metaflow, Flow, Run, Step, Task, DataArtifact.

Each level says how it loads its row from the index and finds its children
and parent; the common interface is :class:`~.base.MetaflowObject`.  The levels
refer to one another both ways (a run's steps, a step's run), so they live
together here.  :class:`MetaflowData` and :class:`MetaflowArtifacts` are the
by-name views of a task's or run's outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ... import recording as _runs
from ...errors import BlobNotFound, MetaflowNotFound, MetaflowTaggingError
from ...runnames import FLOW_TAG, OUTPUT_MEMBERS
from ...storage import run_queries as q
from ...storage.index import decode_datetime, decode_json
from ...storage.run_queries import read_tags
from ...storage.validate import check_tags
from .base import MetaflowObject
from .data import (
    FlowCode,
    MetaflowArtifacts,
    MetaflowData,
    TaskException,
    composite_members,
    prefetch_artifacts,
)
from .flow_task import FlowTaskParts
from .names import quote_name, unquote_name
from .namespaces import _UNSET, get_metadata, get_namespace
from .tagging import Tagging


class Metaflow(MetaflowObject):
    """Every flow with at least one run in the current namespace."""

    _kind = "metaflow"

    def is_in_namespace(self) -> bool:
        return True

    @property
    def flows(self) -> list[Flow]:
        """The flows in the current namespace, most recently run first."""
        return list(self._children())

    def _children(self, tags: tuple[str, ...] = ()) -> Iterator[Flow]:
        names = [r[0] for r in self._read(q.flow_names(get_namespace()))]
        for name in names:
            yield self._related(Flow, name)

    def _child_by_id(self, child_id: str) -> Flow:
        return Flow(child_id, _repo=self._repo)


class Flow(MetaflowObject):
    """Every run with one flow name."""

    _depth = 1
    _kind = "flow"

    def _load(self) -> Any:
        first = self._first(q.first_run_start(self._components[0]))
        if first is None:
            raise self._not_found()
        return decode_datetime(first[0])

    def is_in_namespace(self) -> bool:
        ns = get_namespace()
        if ns is None:
            return True
        return self._first(q.a_run_in_ns(self._components[0], ns)) is not None

    @property
    def created_at(self) -> datetime | None:
        """When the first run of the flow started."""
        return self._row

    def runs(self, *tags: str) -> Iterator[Run]:
        """The runs of this flow carrying every one of ``tags``, newest first."""
        check_tags(tags, "the tags looked up", error=MetaflowTaggingError)
        _runs.validate_tags(tags)
        return self._children(tags)

    def _children(self, tags: tuple[str, ...] = (), below: int | None = None) -> Iterator[Run]:
        ns = get_namespace()
        wanted = list(tags) + ([ns] if ns is not None else [])
        last = below  # the web view's "older runs" start below the last run shown
        page = 4
        while True:
            # Keyset pagination over the (flow, run_number) index, in pages
            # that grow: the latest run costs one small query whatever the
            # flow's size, and a full listing few queries.
            stmt = q.runs_page(self._components[0], wanted, last, page)
            rows = self._read(stmt)
            for row in rows:
                yield self._related(Run, f"{row[1]}/{row[2]}", _row=row)
            if len(rows) < page:
                return
            last = rows[-1][2]
            page = min(page * 4, q.PAGE)

    def _child_by_id(self, child_id: str) -> Run:
        return Run(f"{self._components[0]}/{child_id}", _repo=self._repo)

    @property
    def latest_run(self) -> Run | None:
        """The newest run in the namespace (running, finished or failed), or ``None``."""
        return next(self._children(), None)

    @property
    def latest_successful_run(self) -> Run | None:
        """The newest run that finished successfully, from the stored status."""
        stmt = q.latest_successful_run(self._components[0], get_namespace())
        row = self._first(stmt)
        if row is None:
            return None
        return self._related(Run, f"{row[1]}/{row[2]}", _row=row)


class _InRun(MetaflowObject):
    """An object that belongs to a run: it shares the run's tags."""

    _run_obj: Run | None  # the run given to MetaflowObject.__init__, or loaded here

    @property
    def _run(self) -> Run:
        if self._run_obj is None:
            self._run_obj = self._related(Run, "/".join(self._components[:2]))
        return self._run_obj

    @property
    def user_tags(self) -> frozenset[str]:
        return self._run.user_tags

    @property
    def system_tags(self) -> frozenset[str]:
        return self._run.system_tags


class Run(Tagging, _InRun):
    """One execution: the decorated calls made in ``provenance.run(...)`` or in a process."""

    _depth = 2
    _kind = "run"

    def _load(self) -> Any:
        # The pathspec's numbers were validated and normalised in __init__.
        flow, number = self._components[0], int(self._components[1])
        row = self._first(q.run_row(flow, number))
        if row is None:
            raise self._not_found()
        return row

    @property
    def _run(self) -> Run:
        return self

    _tag_sets: tuple[frozenset[str], frozenset[str]] | None = None

    def _load_tags(self) -> tuple[frozenset[str], frozenset[str]]:
        cached = self._tag_sets
        if cached is None:
            cached = read_tags(self._index, self._row[0])
            self._tag_sets = cached
        return cached

    @property
    def user_tags(self) -> frozenset[str]:
        return self._load_tags()[0]

    @property
    def system_tags(self) -> frozenset[str]:
        return self._load_tags()[1]

    @property
    def parent(self) -> Flow:
        return self._related(Flow, self._components[0])

    @property
    def created_at(self) -> datetime | None:
        """When the run started."""
        return decode_datetime(self._row[6])

    @property
    def finished_at(self) -> datetime | None:
        """When the run ended (``None`` while it runs)."""
        return decode_datetime(self._row[7])

    @property
    def finished(self) -> bool:
        """Whether the run ended (an implicit run ends when its process exits)."""
        return bool(self._row[4] != "running")

    @property
    def successful(self) -> bool:
        """Whether the run ended without an uncaught exception."""
        return bool(self._row[4] == "successful")

    @property
    def user(self) -> str | None:
        """Who started the run."""
        return self._row[3]

    @property
    def implicit(self) -> bool:
        """True for the run a process opened for calls made outside ``provenance.run``."""
        return bool(self._row[5])

    def steps(self, *tags: str) -> Iterator[Step]:
        """The steps of the run (newest first) if the run carries every one of ``tags``."""
        check_tags(tags, "the tags looked up", error=MetaflowTaggingError)
        _runs.validate_tags(tags)
        if not set(tags) <= self.tags:
            return iter(())
        return self._children()

    def _children(self, tags: tuple[str, ...] = ()) -> Iterator[Step]:
        names = [r[0] for r in self._read(q.step_names(self._row[0]))]
        for name in names:
            yield self._related(Step, f"{self.pathspec}/{quote_name(name)}", _run=self)

    def _child_by_id(self, child_id: str) -> Step:
        return self._related(Step, f"{self.pathspec}/{child_id}", _run=self)

    @property
    def end_task(self) -> Task | None:
        """The run's last task, or ``None`` if it has none yet.

        Of a FlowSpec run, as in Metaflow: the task of its ``end`` step, or
        ``None`` while (or if) that step has not run.
        """
        if self._flow_info() is not None:
            rows = self._read(q.step_tasks(self._row[0], "end", cached_only=False, limit=1))
            return self._task(rows[0]) if rows else None
        row = self._first(q.last_task(self._row[0]))
        return None if row is None else self._task(row)

    _info: Any = _UNSET

    def _run_info(self) -> dict[str, Any]:
        """The run's recorded info (host, process, Python; a flow run's flow)."""
        if self._info is _UNSET:
            row = self._first(q.run_info(self._row[0]))
            info = decode_json(row[0]) if row else None
            self._info = info if isinstance(info, dict) else {}
        return self._info

    def _flow_info(self) -> dict[str, Any] | None:
        """What a FlowSpec run recorded of its flow (file, code, graph); ``None`` for others."""
        return self._run_info().get("flow")

    @property
    def code(self) -> FlowCode | None:
        """The flow's source, for a FlowSpec run (stored once per fingerprint); else ``None``."""
        flow = self._flow_info()
        if not flow or not flow.get("code"):
            return None
        found = self._repo.code_source(flow["code"])
        if found is None:
            return None
        return FlowCode(flow.get("file") or "", found["source"], dict(flow))

    @property
    def trigger(self) -> None:
        """Metaflow's event trigger: runs here are never triggered by events, so ``None``."""
        return None

    def _task(self, row: Any) -> Task:
        spec = f"{self.pathspec}/{quote_name(row[1])}/{row[2]}"
        return self._related(Task, spec, _row=row, _run=self)

    @property
    def data(self) -> MetaflowData:
        """Everything the run produced, by name; the latest task of a step wins."""
        return MetaflowData(self._outputs())

    def _outputs(self) -> dict[str, DataArtifact]:
        if FLOW_TAG in self.system_tags:
            # A FlowSpec run, as Metaflow's: its data is what the end step ends
            # with (each task holds every artifact it can see).
            end = self.end_task
            if end is not None and end._components[2] == "end" and end.successful:
                return end._outputs()
        rows = self._read(q.latest_successful_tasks(self._row[0]))
        tasks = [self._task(row) for row in rows]
        prefetch_artifacts(self._repo, tasks)
        outputs: dict[str, DataArtifact] = {}
        for task in tasks:
            try:
                outputs.update(task._outputs())
            except MetaflowNotFound:
                # Its artifact was deleted: the other steps' data stays readable.
                continue
        return outputs


class Step(_InRun):
    """A decorated function called in a run: its tasks are the calls."""

    _depth = 3
    _kind = "step"

    def _load(self) -> Any:
        run = self._run
        # The first and the latest task, each one step down the (run, step,
        # task_number) index, whatever the number of tasks.
        run_id, step = run._row[0], self._step_name
        first = self._first(q.task_times(run_id, step, latest=False))
        last = self._first(q.task_times(run_id, step, latest=True))
        if first is None or last is None:
            raise self._not_found()
        return (decode_datetime(first[0]), decode_datetime(last[1]))

    @property
    def parent(self) -> Run:
        return self._run

    @property
    def created_at(self) -> datetime | None:
        """When the step's first task started."""
        return self._row[0]

    @property
    def finished_at(self) -> datetime | None:
        """When the step's latest task finished."""
        return self._row[1]

    @property
    def child_steps(self) -> Iterator[Step]:
        """The steps this one leads to, from a FlowSpec run's graph (none for other runs)."""
        return self._neighbours(lambda name, targets: name == self._step_name, True)

    @property
    def parent_steps(self) -> Iterator[Step]:
        """The steps that lead to this one, from a FlowSpec run's graph (none for other runs)."""
        return self._neighbours(lambda name, targets: self._step_name in targets, False)

    def _neighbours(self, chosen: Any, targets_of_chosen: bool) -> Iterator[Step]:
        graph = (self._run._flow_info() or {}).get("graph") or {}
        names = [t for n, ts in graph.items() if chosen(n, ts) for t in ts] if targets_of_chosen \
            else [n for n, ts in graph.items() if chosen(n, ts)]  # fmt: skip
        spec = self._run.pathspec
        return (self._related(Step, f"{spec}/{quote_name(n)}", _run=self._run) for n in names)

    @property
    def control_task(self) -> None:
        """Metaflow's control task of a ``@parallel`` step: there are none here."""
        return None

    def control_tasks(self, *tags: str) -> Iterator[Task]:
        """Metaflow's control tasks of a ``@parallel`` step: there are none here."""
        return iter(())

    @property
    def environment_info(self) -> dict[str, Any] | None:
        """The environment of its latest task, as Metaflow's (``None`` with no task)."""
        task = self.task
        return None if task is None else task.environment_info

    def tasks(self, *tags: str) -> Iterator[Task]:
        """The tasks carrying every one of ``tags`` (``'cached'``: cache hits), newest first."""
        _runs.validate_tags(tags)
        return self._children(tags)

    def _children(self, tags: tuple[str, ...] = (), limit: int | None = None) -> Iterator[Task]:
        run = self._run
        extra = set(tags) - run.tags
        if extra - {_runs.CACHED_TAG}:
            return
        # A tag the run lacks can only be 'cached', which cache hits carry.
        stmt = q.step_tasks(run._row[0], self._step_name, cached_only=bool(extra), limit=limit)
        rows = self._read(stmt)
        for row in rows:
            yield run._task(row)

    def _child_by_id(self, child_id: str) -> Task:
        return self._related(Task, f"{self.pathspec}/{child_id}", _run=self._run)

    @property
    def task(self) -> Task | None:
        """The step's latest task (its only one, for a function called once)."""
        return next(self._children(limit=1), None)


class Task(FlowTaskParts, _InRun):
    """One call of a decorated function in a run (computed, cached, or failed)."""

    _depth = 4
    _kind = "task"

    def _load(self) -> Any:
        run = self._run
        number = int(self._components[3])
        row = self._first(q.task_row(run._row[0], self._step_name, number))
        if row is None:
            raise self._not_found()
        return row

    @property
    def parent(self) -> Step:
        return self._related(Step, "/".join(self._components[:3]), _run=self._run)

    @property
    def system_tags(self) -> frozenset[str]:
        tags = self._run.system_tags
        return tags | {_runs.CACHED_TAG} if self.cached else tags

    @property
    def created_at(self) -> datetime | None:
        """When the call began (of a task counting several cache hits: the first)."""
        return decode_datetime(self._row[8])

    @property
    def finished_at(self) -> datetime | None:
        """When the call returned or raised (of several counted cache hits: the last)."""
        return decode_datetime(self._row[9])

    @property
    def hits(self) -> int:
        """How many calls this task stands for.

        The cache hits of one artifact by one step of a run are recorded as
        one task that counts them; any other task is one call.
        """
        return int(self._row[10] or 1)

    @property
    def finished(self) -> bool:
        """Always true: a task is recorded when its call ends."""
        return self._row[9] is not None

    @property
    def successful(self) -> bool:
        """Whether the call returned (from the cache or by running)."""
        return bool(self._row[5])

    @property
    def cached(self) -> bool:
        """Whether the value was served from the repo instead of computed."""
        return bool(self._row[4])

    @property
    def exception(self) -> TaskException | None:
        """What the call raised, or ``None``."""
        data = decode_json(self._row[6])
        return TaskException(data) if data else None

    @property
    def artifact_id(self) -> str | None:
        """The id of the artifact the call returned (``None`` if it raised)."""
        return self._row[3]

    @property
    def artifact(self) -> Any:
        """The :class:`~provenance.Artifact` the call returned, or ``None``."""
        if self.artifact_id is None:
            return None
        found = getattr(self, "_artifact", _UNSET)
        if found is _UNSET:
            found = self._repo.lookup(self.artifact_id)
            self._artifact = found
        if found is None:
            raise MetaflowNotFound(
                f"task {self.pathspec} returned artifact {self.artifact_id}, which is no longer "
                f"in {get_metadata()} (deleted by gc?)"
            )
        return found

    @property
    def input_artifact_ids(self) -> list[str]:
        """Ids of the artifacts passed in (lineage parents)."""
        return list(self.artifact.input_artifact_ids) if self.artifact_id else []

    @property
    def parameters(self) -> dict[str, Any]:
        """A JSON summary of the arguments, ``{'kargs': {...}, 'varargs': [...]}``."""
        if self.artifact_id is None:
            return decode_json(self._row[7]) or {"kargs": {}, "varargs": []}
        return self.artifact.inputs_summary

    @property
    def index(self) -> int | None:
        """In a FlowSpec run, the task's position in its innermost foreach; else ``None``."""
        params = decode_json(self._row[7])
        found = params.get("foreach_index") if isinstance(params, dict) else None
        return None if found is None else int(found)

    @property
    def code(self) -> FlowCode | None:
        """The code of its run (a FlowSpec run's flow file), as in Metaflow; else ``None``."""
        return self._run.code

    @property
    def origin_pathspec(self) -> str | None:
        """For a cache hit, the task that first computed the artifact (when recorded)."""
        if not self.cached or self.artifact_id is None:
            return None
        row = self._first(q.computing_task(self.artifact_id))
        return None if row is None else f"{row[0]}/{row[1]}/{quote_name(row[2])}/{row[3]}"

    @property
    def metadata_dict(self) -> dict[str, Any]:
        """Run info, timings and cache status of the call.

        ``run_info`` is the process that computed the value (for a cache hit,
        another run's: see ``origin_pathspec``); ``task_run_info`` is this
        task's own run's process (host, pid, command line, git state).
        """
        meta: dict[str, Any] = {
            "cache": "hit" if self.cached else "miss",
            "origin_pathspec": self.origin_pathspec,
            "task_run_info": {k: v for k, v in self._run._run_info().items() if k != "flow"},
            "hits": self.hits,
            "successful": self.successful,
            "started_at": self.created_at,
            "finished_at": self.finished_at,
            "artifact_id": self.artifact_id,
        }
        if self.artifact_id is not None:
            artifact = self.artifact
            meta.update(
                value_id=artifact.value_id,
                name=artifact.name,
                version=artifact.version,
                computed_at=artifact.computed_at,
                compute_duration=artifact.compute_duration,
                hash_duration=artifact.hash_duration,
                input_id_duration=artifact.input_id_duration,
                serializer=artifact.serializer,
                size=artifact.size,
                run_info=artifact.run_info,
            )
        return meta

    def _outputs(self) -> dict[str, DataArtifact]:
        if self.artifact_id is None:
            return {}
        artifact = self.artifact
        if artifact.composite:
            members = composite_members(artifact)
            for hidden in OUTPUT_MEMBERS:
                members.pop(hidden, None)
        else:
            members = {self._step_name: self.artifact_id}
        spec = self.pathspec
        return {  # by name, as .data gives them; a DataArtifact's id quotes its name
            name: self._related(DataArtifact, f"{spec}/{quote_name(name)}", _row=i, _run=self._run)
            for name, i in members.items()
        }

    def _children(self, tags: tuple[str, ...] = ()) -> Iterator[DataArtifact]:
        return iter(list(self._outputs().values()))

    def _child_by_id(self, child_id: str) -> DataArtifact:
        found = self._outputs().get(unquote_name(child_id))
        if found is None:
            raise MetaflowNotFound(f"task {self.pathspec} has no data artifact {child_id!r}")
        return found

    @property
    def data(self) -> MetaflowData:
        """The values the call produced, by name (``task.data.train``)."""
        return MetaflowData(self._outputs())

    @property
    def artifacts(self) -> MetaflowArtifacts:
        """The :class:`DataArtifact` objects the call produced, by name."""
        return MetaflowArtifacts(self._outputs())


class DataArtifact(_InRun):
    """One output of a task: its value (loaded on demand) and its identity."""

    _depth = 5
    _kind = "data artifact"

    def _load(self) -> Any:
        found = self.parent._outputs().get(self._data_name)
        if found is None:
            raise self._not_found()
        return found._row

    @property
    def artifact_id(self) -> str:
        """The id of the provenance artifact holding the value."""
        return str(self._row)

    @property
    def artifact(self) -> Any:
        """The :class:`~provenance.Artifact` holding the value."""
        found = getattr(self, "_artifact", None)
        if found is None:
            found = self._repo.lookup(self.artifact_id)
            if found is None:
                raise MetaflowNotFound(
                    f"data artifact {self.pathspec} refers to artifact {self.artifact_id}, "
                    f"which is no longer in {get_metadata()} (deleted by gc?)"
                )
            self._artifact = found
        return found

    @property
    def parent(self) -> Task:
        return self._related(Task, "/".join(self._components[:4]), _run=self._run)

    @property
    def data(self) -> Any:
        """The value, as an :class:`~provenance.ArtifactProxy` (it carries lineage)."""
        try:
            return self.artifact.proxy()
        except BlobNotFound as exc:
            if not self._repo.write and type(self._repo.blobstore).__name__ == "MemoryStore":
                raise BlobNotFound(
                    f"{self.pathspec}: the value is in a blobstore, and the metadata provider "
                    f"{get_metadata()} is a bare database URL; select a configured repo with "
                    "provenance.client.metadata('<repo name>') to read values"
                ) from exc
            raise

    @property
    def origin_pathspec(self) -> str | None:
        """For an output of a cache hit, the same output of the task that computed it."""
        origin = self.parent.origin_pathspec
        return f"{origin}/{self._components[4]}" if origin else None

    @property
    def sha(self) -> str:
        """The content hash of the value (the artifact's value id)."""
        return str(self.artifact.value_id)

    @property
    def size(self) -> int:
        """The stored (serialized) size of the value in bytes."""
        return int(self.artifact.size or 0)

    @property
    def created_at(self) -> datetime | None:
        """When the value was computed."""
        return self.artifact.computed_at

    @property
    def finished_at(self) -> datetime | None:
        """Alias of :attr:`created_at`."""
        return self.created_at
