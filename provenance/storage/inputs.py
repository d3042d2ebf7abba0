"""How a call's inputs are pickled into its record.

Inputs are pickled with proxies replaced by a reference to their artifact
id, so a large input value is never copied into the record; unpickling
turns each reference back into a proxy loaded from the repository.  A big
argument stored once per value (:mod:`.stored_inputs`) is replaced the same
way, by a tuple ``("input", parameter, key, serializer, value hash)``, and
one too big to store by ``("not_stored", parameter, size, limit, value hash,
type)``; records written before either existed hold only artifact ids, and
load as they always did.

An artifact argument that is no longer in the repository (removed, or
evicted: its children usually outlive it) loads as an
:class:`~.stored_inputs.InputArtifactGone` naming the parameter, read from
the lineage edges of the artifact whose inputs these are; a transformed
value of it (``proxy.transform_value(...)``, pickled whole) loads as that
value alone, without its lineage.
"""

from __future__ import annotations

import functools
import io
import pickle
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ArtifactNotFound
from .proxies import ArtifactProxy, TransformedProxy, is_proxy
from .stored_inputs import InputArtifactGone, InputNotStored, load_stored_input

if TYPE_CHECKING:
    from .artifact import ArtifactSource

__all__ = ["dumps_inputs", "loads_inputs"]

# Both hooks are methods of subclasses, not attributes set on an instance:
# CPython 3.13.0 made the instance attributes read-only (gh-125631).


def _pickler_class() -> type:
    import cloudpickle

    class InputsPickler(cloudpickle.CloudPickler):
        #: Ids of proxies pickled by value: changed in place, they are no
        #: longer their artifact's value.
        plain: Collection[int] = ()
        #: Persistent ids of the arguments stored apart, by ``id()``.
        refs: Mapping[int, tuple[Any, ...]] = {}

        def persistent_id(self, obj: Any) -> str | tuple[Any, ...] | None:
            if self.refs:
                ref = self.refs.get(id(obj))
                if ref is not None:
                    return ref
            # A transformed value is not its artifact's: it is kept as itself
            # (its reduction still refers to the artifact, for lineage).
            if (
                is_proxy(obj)
                and id(obj) not in self.plain
                and not isinstance(obj, TransformedProxy)
            ):
                return str(obj.artifact.id)
            return None

        def reducer_override(self, obj: Any) -> Any:
            if self.plain and id(obj) in self.plain:
                if isinstance(obj, ArtifactProxy):
                    return (_identity, (obj.__wrapped__,))
                return (dict, (dict(obj.items()),))  # a composite
            return super().reducer_override(obj)

    return InputsPickler


def _identity(value: Any) -> Any:
    return value


def _transformed(value: Any, artifact: Any) -> Any:
    """A transformed proxy as unpickled: its value alone if its artifact is gone."""
    if isinstance(artifact, InputArtifactGone):
        return value
    return TransformedProxy._base(value, artifact)


class _InputsUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, repo: ArtifactSource | None, owner: str | None) -> None:
        super().__init__(file)
        self._repo = repo
        self._owner = owner
        self._parameters: dict[str, list[str]] | None = None

    def persistent_load(self, pid: Any) -> Any:
        if isinstance(pid, tuple) and pid and pid[0] == "not_stored":
            return InputNotStored(*pid[1:6])
        if self._repo is None:
            raise RuntimeError(f"input {pid!r} needs a repository to load from")
        if isinstance(pid, tuple) and pid and pid[0] == "input":
            return load_stored_input(self._repo, *pid[1:5])
        try:
            artifact = self._repo.get_artifact(pid)
        except ArtifactNotFound:
            return InputArtifactGone(self._parameter_of(pid), pid)
        return artifact.proxy()

    def find_class(self, module: str, name: str) -> Any:
        found = super().find_class(module, name)
        # A transformed proxy is pickled with its value and a reference to its
        # artifact (by repo spec and id): its value stays good once the
        # artifact is gone, and comes back plain, without the lineage.
        if module.startswith("provenance.") and name == "artifact_from_spec":
            return functools.partial(self._artifact_or_gone, found)
        if found is TransformedProxy:
            return _transformed
        return found

    def _artifact_or_gone(self, load: Callable[..., Any], spec: Any, artifact_id: str) -> Any:
        try:
            return load(spec, artifact_id)
        except ArtifactNotFound:
            return InputArtifactGone(self._parameter_of(artifact_id), artifact_id)

    def _parameter_of(self, artifact_id: str) -> str:
        # The pickle refers to the artifact by id alone; where it was passed
        # is in the lineage edges, read once, only when an artifact is gone.
        if self._repo is None:
            return "?"
        if self._parameters is None:
            self._parameters = {}
            edges = self._repo.index.lineage_edges(self._owner) if self._owner else []
            for parent, parameter in edges:
                if not parameter.startswith("<return>"):  # found in the value, not an input
                    self._parameters.setdefault(parent, []).append(parameter)
        return ", ".join(self._parameters.get(artifact_id, [])) or "?"


_pickler: type | None = None


def dumps_inputs(
    inputs: Mapping[str, Any],
    plain: Collection[int] | None = None,
    refs: Mapping[int, tuple[Any, ...]] | None = None,
) -> bytes:
    """Pickle a call's inputs: proxies by artifact id, those whose ids are in ``plain`` by value.

    ``refs`` maps the ``id()`` of arguments stored apart to the persistent id
    that stands for them (see the module's docstring).
    """
    global _pickler
    if _pickler is None:
        _pickler = _pickler_class()  # cloudpickle is imported on first use
    buf = io.BytesIO()
    pickler = _pickler(buf, protocol=5)
    if plain:
        pickler.plain = frozenset(plain)
    if refs:
        pickler.refs = refs
    pickler.dump(inputs)
    return buf.getvalue()


def loads_inputs(
    data: bytes, repo: ArtifactSource | None, owner: str | None = None
) -> dict[str, Any]:
    """Unpickle inputs written by :func:`dumps_inputs`, reloading proxies from ``repo``.

    ``owner`` is the id of the artifact whose inputs these are: it names the
    parameter of an :class:`~.stored_inputs.InputArtifactGone`.
    """
    return _InputsUnpickler(io.BytesIO(data), repo, owner).load()
