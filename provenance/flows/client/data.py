"""What tasks and runs give back besides client objects.

:class:`MetaflowData` and :class:`MetaflowArtifacts` are the by-name views of
the outputs (data artifacts) of a task or run, and :class:`TaskException` is
what a failed task raised.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from ...errors import MetaflowNotFound


class _Output(Protocol):
    # What the views need of an output: its value.  The outputs are the
    # DataArtifact objects of .objects, which builds the views, so that
    # module comes above this one.
    @property
    def data(self) -> Any: ...


class TaskException:
    """What a failed task raised, as recorded (the exception object itself is not kept).

    Metaflow's attributes (``type``, ``exception``, ``stacktrace``), with
    ``message`` and ``traceback`` as aliases.

    Attributes
    ----------
    type : str
        The qualified exception class, e.g. ``builtins.ValueError``.
    exception : str
        ``str(exception)``, the message (alias ``message``).
    stacktrace : str
        The formatted traceback (alias ``traceback``).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.type = str(data.get("type", ""))
        self.exception = str(data.get("message", ""))
        self.stacktrace = str(data.get("traceback", ""))

    @property
    def message(self) -> str:
        """Alias of :attr:`exception`."""
        return self.exception

    @property
    def traceback(self) -> str:
        """Alias of :attr:`stacktrace`."""
        return self.stacktrace

    def __str__(self) -> str:
        name = self.type.rsplit(".", 1)[-1]
        return f"{name}: {self.message}" if self.message else name

    def __repr__(self) -> str:
        return f"<TaskException {self}>"


class FlowCode:
    """The code of a FlowSpec run, as Metaflow's ``MetaflowCode``: its flow file's source.

    Attributes
    ----------
    script_name : str
        The flow file's name (also as ``path``).
    flowspec : str
        Its source text, as it was when the run started.
    info : dict
        What the run recorded of its flow: ``file``, ``code`` (the source's
        fingerprint) and ``graph`` (each step's next steps).
    tarball : None
        Metaflow's code package: none is made here.
    """

    def __init__(self, path: str, source: str, info: dict[str, Any]) -> None:
        self.path = self.script_name = path
        self.flowspec = source
        self.info = info
        self.tarball = None

    def extract(self) -> Any:
        """The flow file written into a new temporary directory (Metaflow's ``extract``).

        Returns
        -------
        tempfile.TemporaryDirectory
            Holding the flow file; removed when it is cleaned up.
        """
        import os
        import tempfile

        folder = tempfile.TemporaryDirectory(prefix="provenance-code-")
        with open(os.path.join(folder.name, self.path or "flow.py"), "w", encoding="utf-8") as f:
            f.write(self.flowspec)
        return folder

    def __repr__(self) -> str:
        return f"<FlowCode {self.path} ({len(self.flowspec)} characters)>"


#: Metaflow's name for it.
MetaflowCode = FlowCode


class MetaflowData:
    """The values of data artifacts by name: ``run.data.model``, ``'model' in run.data``.

    Values are loaded when an attribute is read, one at a time.
    """

    def __init__(self, artifacts: Mapping[str, _Output]) -> None:
        self._artifacts = artifacts

    def _get(self, name: str) -> Any:
        return self._artifacts[name].data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._artifacts:
            raise AttributeError(f"no data artifact {name!r}; available: {sorted(self._artifacts)}")
        return self._get(name)

    def __getitem__(self, name: str) -> Any:
        if name not in self._artifacts:
            raise MetaflowNotFound(
                f"no data artifact {name!r}; available: {sorted(self._artifacts)}"
            )
        return self._get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._artifacts

    def __iter__(self) -> Iterator[str]:
        return iter(self._artifacts)

    def __len__(self) -> int:
        return len(self._artifacts)

    def keys(self) -> list[str]:
        """The names of the data artifacts."""
        return list(self._artifacts)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {', '.join(self._artifacts)}>"


class MetaflowArtifacts(MetaflowData):
    """Like :class:`MetaflowData`, but gives :class:`DataArtifact` objects, not values."""

    def _get(self, name: str) -> Any:
        return self._artifacts[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._artifacts.values())


def composite_members(artifact: Any) -> dict[str, str]:
    # The composite's value is a CompositeDict over its members: their ids,
    # not their values, are wanted here.
    return {str(k): str(v) for k, v in artifact.value.member_ids.items()}


def prefetch_artifacts(repo: Any, tasks: list[Any]) -> None:
    # One query for the artifacts of many tasks instead of one per task.
    ids = [t.artifact_id for t in tasks if t.artifact_id is not None]
    found = repo.get_artifacts(ids) if hasattr(repo, "get_artifacts") else {}
    for task in tasks:
        if task.artifact_id in found:
            task._artifact = found[task.artifact_id]
