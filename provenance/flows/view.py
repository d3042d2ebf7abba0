"""What ``self`` is during one task: the artifacts it sees, reads and sets.

A step's instance of the flow class holds a :class:`View` (``_view``):
reading ``self.x`` loads the artifact (and records the read, the lineage of
what the task makes), setting ``self.x`` makes an output of the task.  A
join's ``inputs`` are :class:`Branch` views of the tasks that lead to it.
The runner (:mod:`provenance.flows.execute`) makes the views and stores
what they end with.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..errors import FlowError, HashingError, MergeArtifactsException
from ..hashing import hash_value
from ..storage.artifact import Artifact
from ..storage.proxies import ArtifactProxy
from .spec import Inputs

__all__ = [
    "Branch", "Frame", "Given", "Output", "TaskOutcome", "View", "changed", "reference",
    "value_of",
]  # fmt: skip


@dataclass(frozen=True)
class Frame:
    """An open split or foreach above a task: which branch of it the task is on."""

    step: str
    task: int
    index: int
    count: int
    #: The foreach item (``None`` for a static split): a task is handed a copy.
    value: Any = None
    foreach: bool = False
    #: The item's hash, taken when the foreach opened (before any task could change it).
    value_id: str | None = None


@dataclass
class TaskOutcome:
    """A finished task: what it ends with, and where it sits in the run."""

    step: str
    task_id: int
    pathspec: str
    #: The artifacts it ends with, by name.
    artifacts: dict[str, Artifact]
    frames: tuple[Frame, ...]
    cached: bool
    artifact_id: str | None = None
    origin: str | None = None
    stdout: str = ""
    stderr: str = ""
    exception: BaseException | None = None
    #: The step's traceback, when it raised.
    traceback: str = ""
    #: The tasks it came from, as ``(step, task id)``.
    parents: list[tuple[str, int]] = field(default_factory=list)


class Given:
    """A value a task sees that is not stored yet (a parameter, in ``start``)."""

    __slots__ = ("value", "value_id")

    def __init__(self, value: Any, value_id: str) -> None:
        self.value = value
        self.value_id = value_id


class View:
    """What ``self`` is in one task: the artifacts it sees, reads and sets."""

    def __init__(
        self, runner: Any, step: str, visible: dict[str, Any], frames: tuple[Frame, ...]
    ) -> None:
        self.runner = runner
        self.step = step
        self.visible = visible
        self.frames = frames
        self.writes: dict[str, Any] = {}
        self.deleted: set[str] = set()
        #: What the task read, by path: the lineage of what it makes.
        self.reads: dict[str, Any] = {}
        #: The values handed to the step, by name: plain values, as Metaflow
        #: hands them (a proxy is not a dict to ``json.dumps``).
        self.handed: dict[str, Any] = {}
        #: The artifact of each value handed out, by ``id()``: a value set
        #: again on ``self`` unchanged is that artifact, passed on.
        self.objects: dict[int, Artifact] = {}
        #: The task's copies of its foreach items.
        self.handed_items: dict[tuple[Any, ...], Any] = {}
        self.next: tuple[list[str], str | None] | None = None
        self.merged = False

    def read(self, name: str) -> Any:
        if name in self.writes:
            return self.writes[name]
        if name in self.deleted or name not in self.visible:
            joins = self.runner.graph[self.step].joins
            raise AttributeError(
                f"step {self.step!r} of {self.runner.flow} sees no artifact {name!r}"
                + (
                    ": a join sees its inputs' through `inputs` (or merge_artifacts)"
                    if joins
                    else ""
                )
            )
        if name in self.handed:
            return self.handed[name]
        seen = self.visible[name]
        value = self.handed[name] = value_of(seen)
        if isinstance(seen, Artifact):
            self.reads[name] = reference(seen)
            if type(value) not in _IMMUTABLE:  # small ints and strings are shared objects
                self.objects[id(value)] = seen
        return value

    def write(self, name: str, value: Any) -> None:
        self.deleted.discard(name)
        self.writes[name] = value

    def delete(self, name: str) -> None:
        if (name not in self.writes and name not in self.visible) or name in self.deleted:
            raise AttributeError(f"step {self.step!r} has no artifact {name!r} to delete")
        self.writes.pop(name, None)
        self.deleted.add(name)

    def foreach_input(self) -> Any:
        for frame in reversed(self.frames):
            if frame.foreach:
                return self.item(frame)
        return None

    def item(self, frame: Frame) -> Any:
        """The task's own copy of a foreach item (the same one for every read in the task)."""
        key = ("frame", frame.step, frame.task, frame.index)
        if key not in self.handed_items:
            self.handed_items[key] = copy.deepcopy(frame.value)
        return self.handed_items[key]

    def foreach_index(self) -> int | None:
        for frame in reversed(self.frames):
            if frame.foreach:
                return frame.index
        return None

    def foreach_stack(self) -> list[tuple[int, int, Any]]:
        return [(f.index, f.count, self.item(f)) for f in self.frames if f.foreach]

    def transition(self, names: list[str], foreach: str | None) -> None:
        node = self.runner.graph[self.step]
        if self.next is not None:
            raise FlowError(f"step {self.step!r} called self.next() twice")
        if names != node.out or foreach != node.foreach:
            said = ", ".join(f"self.{n}" for n in names) + (
                f", foreach={foreach!r}" if foreach else ""
            )
            meant = ", ".join(f"self.{n}" for n in node.out) + (
                f", foreach={node.foreach!r}" if node.foreach else ""
            )
            raise FlowError(
                f"step {self.step!r} called self.next({said}), but its source says "
                f"self.next({meant}): the graph is read from the source"
            )
        self.next = (names, foreach)

    def merge(self, inputs: Inputs, exclude: set[str], include: list[str] | None) -> None:
        if not self.runner.graph[self.step].joins:
            raise FlowError(f"merge_artifacts() is called by a join step, not {self.step!r}")
        if self.merged:
            raise FlowError(f"step {self.step!r} called merge_artifacts() twice")
        self.merged = True
        names: dict[str, list[Artifact]] = {}
        for branch in inputs:
            for name, artifact in branch._artifacts.items():
                if not name.startswith("_"):
                    names.setdefault(name, []).append(artifact)
        if include is not None:
            # As Metaflow: a name is missing if no input has it and the join
            # has not set it either.
            missing = [
                n for n in include if n not in names and n not in self.writes
                and n not in self.visible
            ]  # fmt: skip
            if missing:
                raise FlowError(
                    f"step {self.step!r}: merge_artifacts(include=...) names {missing}, which "
                    "no input has"
                )
            chosen = include
        else:
            chosen = [n for n in names if n not in exclude]
        conflicts = []
        merged: dict[str, Artifact] = {}
        for name in chosen:
            if name in self.writes or name in self.visible or name not in names:
                continue  # set by the join itself (or a parameter): the join's wins
            found = names[name]
            if len({a.value_id for a in found}) > 1:
                conflicts.append(name)
            else:
                merged[name] = found[0]
        if conflicts:
            raise MergeArtifactsException(
                f"step {self.step!r} of {self.runner.flow} cannot merge {conflicts}: the "
                "inputs hold different values; set them in the join before "
                "merge_artifacts(), or exclude them",
                conflicts,
            )
        # Nothing is merged unless everything can be, as in Metaflow.
        for name, artifact in merged.items():
            self.visible[name] = artifact
            for i, branch in enumerate(inputs):  # lineage: the join depends on them
                if name in branch._artifacts:
                    self.reads[f"inputs[{i}].{name}"] = reference(branch._artifacts[name])


class Branch:
    """One input of a join, read-only: ``inputs.a.x`` or ``inputs[0].x``."""

    def __init__(self, view: View, i: int, outcome: TaskOutcome) -> None:
        self._view = view
        self._i = i
        self._step = outcome.step
        self._artifacts = outcome.artifacts
        self._frame = outcome.frames[-1] if outcome.frames else None

    @property
    def input(self) -> Any:
        frame = self._frame
        return self._view.item(frame) if frame is not None and frame.foreach else None

    @property
    def index(self) -> int | None:
        return self._frame.index if self._frame is not None and self._frame.foreach else None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._artifacts:
            raise AttributeError(f"input {self._i} ({self._step!r}) of the join has no {name!r}")
        artifact = self._artifacts[name]
        value = value_of(artifact)
        self._view.reads[f"inputs[{self._i}].{name}"] = reference(artifact)
        if type(value) not in _IMMUTABLE:
            self._view.objects[id(value)] = artifact
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        raise FlowError("a join's inputs are read-only: set the artifact on self")

    def __repr__(self) -> str:
        return f"<input {self._i} of the join: {self._step!r}>"


#: Values of these types cannot be changed in place: one object serves every task.
_IMMUTABLE = (int, float, complex, bool, str, bytes, type(None))


def value_of(artifact: Any) -> Any:
    """The task's own copy of an artifact's value, as Metaflow gives each task its own.

    A task never sees an object another task holds: a value one step
    changes in place is that step's (and stored as its output), never the
    value a later task was identified by.  So a stored value is loaded
    again from the store for each task that reads it, and a parameter is
    copied; a value of an immutable type is shared.
    """
    if isinstance(artifact, Given):
        value = artifact.value
        return value if type(value) in _IMMUTABLE else copy.deepcopy(value)
    if artifact.value_loaded and type(artifact.value) in _IMMUTABLE:
        return artifact.value
    if artifact.repo is None:  # computed but not stored (a read-only repo)
        return copy.deepcopy(artifact.value)
    return artifact.repo.load_value(artifact)


def reference(artifact: Artifact) -> ArtifactProxy:
    """What a task's record lists among its inputs for an artifact it read: its lineage.

    The step itself is handed plain values; its record lists proxies, as a
    decorated call's inputs are, over the value when it is in memory, else
    over nothing (the record needs only the artifact).
    """
    return ArtifactProxy(artifact.value if artifact.value_loaded else None, artifact)


class Output(io.TextIOBase):
    """A task's stdout or stderr: kept, and echoed at once, each line under the task's prefix.

    Echoed as it is written, not a line at a time, so that a prompt without
    a newline (``breakpoint()``'s ``(Pdb)``, ``input()``) shows.
    """

    def __init__(self, echo: TextIO | None, prefix: str) -> None:
        self.echo = echo
        self.prefix = prefix
        self.parts: list[str] = []
        #: Whether the echoed line is open (its prefix written, its newline not yet).
        self.open_line = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.parts.append(text)
        echo = self.echo
        if echo is not None:
            for piece in text.splitlines(keepends=True):
                if not self.open_line:
                    echo.write(f"{self.prefix} ")
                echo.write(piece)
                self.open_line = not piece.endswith(("\n", "\r"))
        return len(text)

    def flush(self) -> None:
        if self.echo is not None:
            self.echo.flush()

    def finish(self) -> str:
        if self.open_line and self.echo is not None:
            self.echo.write("\n")
            self.open_line = False
        return "".join(self.parts)


def changed(value: Any, artifact: Artifact) -> bool:
    """Whether ``value`` (a task's copy of ``artifact``'s) no longer hashes as the artifact."""
    try:
        return hash_value(value) != artifact.value_id
    except HashingError:
        return True
