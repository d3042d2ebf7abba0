"""The parts of Metaflow's ``Task`` a FlowSpec task has beyond a call's record.

Its captured output (``stdout``, ``stderr``, ``loglines``, their sizes),
the tasks before and after it (``parent_tasks``, ``child_tasks``), and the
attempt, runtime and environment Metaflow reports.  A mixin of
:class:`~provenance.flows.client.objects.Task`; for a task of decorated
calls these are empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from ...runnames import OUTPUT_MEMBERS
from ...storage import run_queries as q
from ...storage.index import decode_json
from .data import composite_members
from .names import quote_name

__all__ = ["FlowTaskParts", "Metadata"]


class Metadata(NamedTuple):
    """One entry of ``task.metadata``, as Metaflow's."""

    name: str
    value: Any
    created_at: int | None
    type: str
    task: Any


class FlowTaskParts:
    """Metaflow's task attributes that come from a flow (the class has a Task's attributes)."""

    _row: Any
    _repo: Any
    _run: Any
    _components: Any
    _step_name: str
    artifact_id: Any
    artifact: Any
    pathspec: str
    finished_at: Any
    metadata_dict: Any
    _related: Any
    _read: Any

    def _params(self) -> dict[str, Any]:
        found = decode_json(self._row[7])
        return found if isinstance(found, dict) else {}

    @property
    def stdout(self) -> str:
        """What a flow task printed to stdout (``""`` for other tasks, or when it printed nothing).

        A task served from the cache shows the output of the task that computed
        it; a failed task's is kept with its record (its last 60,000 characters).
        """
        return self._output(OUTPUT_MEMBERS[0], "stdout")

    @property
    def stderr(self) -> str:
        """What a flow task printed to stderr (as :attr:`stdout`)."""
        return self._output(OUTPUT_MEMBERS[1], "stderr")

    def _output(self, member: str, stream: str) -> str:
        if self.artifact_id is None:
            return str(self._params().get(stream) or "")
        artifact = self.artifact
        if not artifact.composite:
            return ""
        member_id = composite_members(artifact).get(member)
        if member_id is None:
            return ""
        return str(self._repo.get_artifact(member_id).value)

    @property
    def stdout_size(self) -> int:
        """The size of :attr:`stdout` in bytes (UTF-8)."""
        return len(self.stdout.encode("utf-8"))

    @property
    def stderr_size(self) -> int:
        """The size of :attr:`stderr` in bytes (UTF-8)."""
        return len(self.stderr.encode("utf-8"))

    def loglines(
        self, stream: str, as_unicode: bool = True, meta_dict: Any = None
    ) -> Iterator[tuple[datetime | None, Any]]:
        """``(time, line)`` for each line of ``stream`` (``"stdout"`` or ``"stderr"``).

        Lines carry no time of their own here: each has the task's end.
        """
        if stream not in ("stdout", "stderr"):
            raise ValueError(f"stream must be 'stdout' or 'stderr', got {stream!r}")
        text = self.stdout if stream == "stdout" else self.stderr
        for line in text.splitlines():
            yield self.finished_at, line if as_unicode else line.encode("utf-8")

    @property
    def current_attempt(self) -> int:
        """The attempt that ran the task: always 0 (tasks are not retried here)."""
        return 0

    @property
    def runtime_name(self) -> str:
        """Where the task ran, as Metaflow names it: ``local``."""
        return "local"

    @property
    def environment_info(self) -> dict[str, Any]:
        """The environment of the run: ``type``, ``platform`` and the Python version."""
        info = self._run._run_info()
        host = info.get("host") or {}
        return {
            "type": "local",
            "platform": host.get("platform"),
            "python_version": info.get("python_version"),
            "provenance_version": info.get("provenance_version"),
        }

    @property
    def metadata(self) -> list[Metadata]:
        """:attr:`metadata_dict` as Metaflow's list of ``Metadata(name, value, ...)``."""
        created = self.finished_at
        stamp = int(created.timestamp() * 1000) if created is not None else None
        return [Metadata(k, v, stamp, k, self) for k, v in self.metadata_dict.items()]

    @property
    def parent_task_pathspecs(self) -> Iterator[str]:
        """The pathspecs of the tasks this flow task came from (none for start)."""
        run = self._run.pathspec
        for step, number in self._params().get("parents") or []:
            yield f"{run}/{quote_name(step)}/{number}"

    @property
    def parent_tasks(self) -> Iterator[Any]:
        """The tasks this flow task came from."""
        for pathspec in self.parent_task_pathspecs:
            yield self._related(type(self), pathspec, _run=self._run)

    @property
    def child_task_pathspecs(self) -> Iterator[str]:
        """The pathspecs of the tasks that came from this flow task."""
        graph = (self._run._flow_info() or {}).get("graph") or {}
        me = [self._step_name, int(self._components[3])]
        run_id = self._run._row[0]
        for step in graph.get(self._step_name, []):
            rows = self._read(q.step_tasks(run_id, step, cached_only=False, limit=None))
            for row in reversed(rows):  # in the order they ran
                params = decode_json(row[7])
                if isinstance(params, dict) and me in (params.get("parents") or []):
                    yield f"{self._run.pathspec}/{quote_name(row[1])}/{row[2]}"

    @property
    def child_tasks(self) -> Iterator[Any]:
        """The tasks that came from this flow task."""
        for pathspec in self.child_task_pathspecs:
            yield self._related(type(self), pathspec, _run=self._run)
