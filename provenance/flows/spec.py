"""What a flow file is written with: ``FlowSpec``, ``@step``, ``Parameter``, ``current``.

Metaflow's names and meanings.  A :class:`FlowSpec` subclass's ``@step``
methods set artifacts on ``self`` and end with ``self.next(...)``; running
the file (``python flow.py run``) runs the graph, each task memoized in the
repository (:mod:`provenance.flows.execute`).  During a task, ``self`` is a
view of the artifacts the task can see: reading one records it (the
lineage of what the task makes), setting one makes it an output of the
task.  Attributes whose names begin with ``_`` are plain attributes of the
instance, never stored.
"""

from __future__ import annotations

import contextvars
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ..errors import FlowError

__all__ = [
    "FlowSpec",
    "IncludeFile",
    "JSONType",
    "Parameter",
    "current",
    "step",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Names a step cannot set on ``self``: the flow's own.
RESERVED = frozenset({"next", "input", "index", "name", "merge_artifacts", "foreach_stack"})


def step(f: F | None = None, *, cache: bool = True, version: int | None = None) -> Any:
    """Mark a method of a :class:`FlowSpec` as a step.

    Parameters
    ----------
    cache : bool, default True
        ``False`` for a step that must run every time (it has side effects):
        it is never served from the repository.
    version : int, optional
        When given, the version (with the step's inputs) identifies its
        results instead of its code, as ``@provenance(version=)`` does.

    Examples
    --------
    >>> class Hello(FlowSpec):  # doctest: +SKIP
    ...     @step
    ...     def start(self):
    ...         self.greeting = "hi"
    ...         self.next(self.end)
    ...     @step(cache=False)
    ...     def end(self):
    ...         print(self.greeting)
    """
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise TypeError(f"@step(version=) must be an int, got {version!r}")
    if not isinstance(cache, bool):
        raise TypeError(f"@step(cache=) must be True or False, got {cache!r}")

    def mark(fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"@step decorates methods, got {fn!r}")
        fn.is_step = True  # type: ignore[attr-defined]
        fn.step_cache = cache  # type: ignore[attr-defined]
        fn.step_version = version  # type: ignore[attr-defined]
        return fn

    return mark(f) if f is not None else mark


class JSONType:
    """A :class:`Parameter` type: the command-line value is parsed as JSON."""

    name = "JSON"

    def __call__(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return json.loads(text)


class Parameter:
    """A value given to a run on the command line (``--alpha 2``), as Metaflow's.

    Its value is part of every task's identity; the declaration itself (its
    help text, say) is not part of any step's code fingerprint.

    Declared as a class attribute of the flow; ``self.alpha`` reads it in
    every step.  It is recorded as an artifact of the ``start`` task, and it
    is part of the identity of every task.

    Parameters
    ----------
    name : str
        The option name (``--<name>``).
    default : optional
        The value when the option is not given.
    type : type, optional
        ``str``, ``int``, ``float``, ``bool`` or :class:`JSONType`; by
        default the default's type, else ``str``.
    help : str, optional
        Shown by ``python flow.py run --help``.
    required : bool, default False
        Whether the run refuses to start without it.
    show_default : bool, default True
    """

    #: Read by provenance.fingerprint: not part of the code of the class's methods.
    _provenance_not_code_ = True

    def __init__(
        self,
        name: str,
        default: Any = None,
        type: Any = None,  # noqa: A002 (Metaflow's keyword)
        help: str | None = None,  # noqa: A002
        required: bool = False,
        show_default: bool = True,
        **kwargs: Any,
    ) -> None:
        if not isinstance(name, str) or not name.replace("_", "a").replace("-", "a").isalnum():
            raise FlowError(f"Parameter name must be letters, digits, '_' or '-', got {name!r}")
        unknown = set(kwargs) - {"separator"}
        if unknown:
            raise TypeError(f"Parameter {name!r} got unknown keyword(s) {sorted(unknown)}")
        self.name = name
        self.default = default
        if type is None:
            type = builtin_type(default) if default is not None else str
        if isinstance(type, JSONType) or type is JSONType:
            type = JSONType()
        self.type = type
        self.help = help
        self.required = bool(required)
        self.show_default = show_default
        self.separator = kwargs.get("separator")
        #: The class attribute it is bound to (set by the flow class).
        self.attribute = name

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute

    def convert(self, text: Any) -> Any:
        """The value of the option as given on the command line (or as a default)."""
        if text is None:
            return None
        if isinstance(self.type, JSONType) and not isinstance(text, str):
            return text  # a default given as the value itself
        if self.type in (int, float, str) and type(text) is self.type:
            return text
        try:
            if self.type is bool:
                return _to_bool(text)
            value = self.type(text)
        except (ValueError, TypeError) as exc:
            raise FlowError(
                f"parameter --{self.name}: {text!r} is not a valid {_type_name(self.type)} ({exc})"
            ) from None
        if self.separator and isinstance(value, str):
            return value.split(self.separator)
        return value

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._read(self.attribute)

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, default={self.default!r}, type={_type_name(self.type)})"


class Preset:
    """A parameter value that is not converted again (what ``resume`` takes from its origin run)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def IncludeFile(name: str, default: str | None = None, **kwargs: Any) -> Parameter:  # noqa: N802
    """A :class:`Parameter` whose value is the text of the file named on the command line."""
    binary = kwargs.pop("is_text", True) is False
    encoding = kwargs.pop("encoding", "utf-8")

    def read(path: str) -> Any:
        with open(path, "rb") as f:
            data = f.read()
        return data if binary else data.decode(encoding)

    return Parameter(name, default=default, type=read, **kwargs)


def builtin_type(value: Any) -> Any:
    return (
        bool
        if isinstance(value, bool)
        else type(value)
        if isinstance(value, (int, float, str))
        else JSONType()
    )


def _to_bool(text: Any) -> bool:
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in ("1", "true", "yes", "y", "on"):
        return True
    if word in ("0", "false", "no", "n", "off"):
        return False
    raise ValueError("expected true or false")


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", None) or getattr(kind, "name", None) or repr(kind)


def parameters(cls: type) -> dict[str, Parameter]:
    """The parameters of a flow class, by attribute name."""
    found: dict[str, Parameter] = {}
    for klass in reversed(cls.__mro__):
        for attribute, value in vars(klass).items():
            if isinstance(value, Parameter):
                found[attribute] = value
    return found


# -- current ------------------------------------------------------------------------

_task: contextvars.ContextVar[Any] = contextvars.ContextVar("provenance_flow_task", default=None)


class Current:
    """What the running task is (Metaflow's ``current``); empty outside a flow."""

    @property
    def is_running_flow(self) -> bool:
        return _task.get() is not None

    def _get(self, name: str, varies: bool = False) -> Any:
        task = _task.get()
        if task is None:
            return None
        if varies:
            # What differs from run to run, or between users: a task that
            # reads it is never served from the cache.
            task.volatile = True
        return getattr(task, name)

    @property
    def flow_name(self) -> str | None:
        return self._get("flow_name")

    @property
    def run_id(self) -> str | None:
        return self._get("run_id", varies=True)

    @property
    def step_name(self) -> str | None:
        return self._get("step_name")

    @property
    def task_id(self) -> str | None:
        return self._get("task_id", varies=True)

    @property
    def pathspec(self) -> str | None:
        return self._get("pathspec", varies=True)

    @property
    def username(self) -> str | None:
        from ..runinfo import _user

        self._get("flow_name", varies=True)
        return _user()

    @property
    def origin_run_id(self) -> str | None:
        return self._get("origin_run_id", varies=True)

    def __repr__(self) -> str:
        if not self.is_running_flow:
            return "<provenance.flow.current: not in a flow>"
        return f"<provenance.flow.current {self.pathspec}>"


current = Current()


# -- FlowSpec -------------------------------------------------------------------------

#: The command line that ``MyFlow()`` runs: :func:`provenance.flows.command.main`,
#: put here when that module is imported (``provenance.flow`` imports it), so
#: that this module, which the runner imports, does not import the runner.
LAUNCHER: list[Callable[[type], int]] = []


class FlowSpec:
    """The base class of a flow, as Metaflow's: its ``@step`` methods are its graph.

    Instantiating the class runs its command line (``python flow.py run``),
    as in Metaflow: the flow file ends with ``if __name__ == "__main__":
    MyFlow()``.  Each step is a task whose identity is the flow, the step,
    its code, and the values it can see; a task that ran before with the
    same identity is not run again (see :mod:`provenance.flows.execute`).
    """

    # Set on the instances the runner makes for each task.
    _view: Any = None

    def __init__(self, use_cli: bool = True) -> None:
        if use_cli:
            if not LAUNCHER:
                raise FlowError("import FlowSpec from provenance.flow to run a flow file")
            sys.exit(LAUNCHER[0](type(self)))

    # -- the artifacts a task sees ---------------------------------------------------

    def _read(self, name: str) -> Any:
        view = self.__dict__.get("_view")
        if view is None:
            raise AttributeError(
                f"{type(self).__name__} has no artifact {name!r} outside a running step"
            )
        return view.read(name)

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: an artifact, or nothing.
        if name.startswith("_"):
            raise AttributeError(name)
        return self._read(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        view = self.__dict__.get("_view")
        if view is None:
            raise FlowError(f"artifact {name!r} can only be set by a running step")
        cls = type(self)
        if isinstance(getattr(cls, name, None), Parameter):
            raise FlowError(f"step {view.step!r} cannot set self.{name}: it is a Parameter")
        if name in RESERVED or hasattr(cls, name):
            # A class attribute would hide the artifact from later reads of
            # self.<name> in the same step.
            raise FlowError(
                f"step {view.step!r} cannot set self.{name}: {name!r} is an attribute of "
                f"the flow class {cls.__name__}; give the artifact another name"
            )
        view.write(name, value)

    def __delattr__(self, name: str) -> None:
        if name.startswith("_"):
            object.__delattr__(self, name)
            return
        view = self.__dict__.get("_view")
        if view is None:
            raise AttributeError(name)
        view.delete(name)

    @property
    def name(self) -> str:
        """The flow's name (its class name)."""
        return type(self).__name__

    @property
    def _provenance_run_pathspec_(self) -> str:
        # Read by provenance.s3: ``S3(run=self)`` in a step addresses the
        # running run's data root, as in Metaflow (the task reads the run id:
        # it runs again in every run).
        if not current.is_running_flow:
            raise FlowError("S3(run=self) is used inside a running step")
        return f"{current.flow_name}/{current.run_id}"

    @property
    def input(self) -> Any:
        """In a foreach task, the item it was given; ``None`` elsewhere."""
        view = self.__dict__.get("_view")
        return None if view is None else view.foreach_input()

    @property
    def index(self) -> int | None:
        """In a foreach task, the item's position; ``None`` elsewhere."""
        view = self.__dict__.get("_view")
        return None if view is None else view.foreach_index()

    def foreach_stack(self) -> list[tuple[int, int, Any]]:
        """``(index, count, item)`` of each enclosing foreach, outermost first."""
        view = self.__dict__.get("_view")
        return [] if view is None else view.foreach_stack()

    def next(self, *steps: Any, foreach: str | None = None, **kwargs: Any) -> None:
        """Say which step or steps run next (the last statement of every step but ``end``)."""
        view = self.__dict__.get("_view")
        if view is None:
            raise FlowError("self.next() is called by a running step")
        if kwargs:
            raise FlowError(
                f"step {view.step!r}: self.next() does not take {sorted(kwargs)} (only foreach=)"
            )
        names = []
        for target in steps:
            fn = getattr(target, "__func__", None)
            if fn is None or not getattr(fn, "is_step", False):
                raise FlowError(
                    f"step {view.step!r}: self.next() takes steps (self.<step>), got {target!r}"
                )
            names.append(fn.__name__)
        view.transition(names, foreach)

    def merge_artifacts(
        self,
        inputs: Inputs,
        exclude: Iterable[str] | None = None,
        include: Iterable[str] | None = None,
    ) -> None:
        """Take over the artifacts of a join's inputs, as Metaflow's ``merge_artifacts``.

        An artifact every input has with the same value is set on ``self``;
        one whose values differ is an error unless the join set it already
        (or it is excluded).  Names beginning with ``_`` are not merged.

        Parameters
        ----------
        inputs : Inputs
            The join's ``inputs``.
        exclude : list of str, optional
            Names not to merge.
        include : list of str, optional
            Merge only these names; each must be in at least one input.
            Not together with ``exclude``.

        Raises
        ------
        MergeArtifactsException
            Naming the artifacts whose values differ.
        """
        view = self.__dict__.get("_view")
        if view is None or not isinstance(inputs, Inputs):
            raise FlowError("merge_artifacts(inputs) is called by a join step with its inputs")
        if exclude and include:
            raise FlowError(
                f"step {view.step!r}: merge_artifacts() takes exclude= or include=, not both"
            )
        view.merge(inputs, set(exclude or ()), None if include is None else list(include))


class Inputs:
    """The ``inputs`` of a join: one read-only view per incoming branch.

    ``inputs[0].x`` and iteration give the branches in order; after a
    static split ``inputs.a.x`` names the branch by its last step.
    """

    def __init__(self, branches: list[Any]) -> None:
        self._branches = branches

    def __len__(self) -> int:
        return len(self._branches)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._branches)

    def __getitem__(self, i: int) -> Any:
        return self._branches[i]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        for branch in self._branches:
            if branch._step == name:
                return branch
        steps = ", ".join(repr(b._step) for b in self._branches)
        raise AttributeError(f"the join's inputs come from {steps}, not {name!r}")

    def __repr__(self) -> str:
        return f"<Inputs of {len(self)} branches: {[b._step for b in self._branches]}>"
