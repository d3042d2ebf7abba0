"""How a call's inputs are pickled into its record.

Inputs are pickled with proxies replaced by a reference to their artifact
id, so a large input value is never copied into the record; unpickling
turns each reference back into a proxy loaded from the repository.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from .proxies import ArtifactProxy, TransformedProxy, is_proxy

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

        def persistent_id(self, obj: Any) -> str | None:
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


class _InputsUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, repo: ArtifactSource | None) -> None:
        super().__init__(file)
        self._repo = repo

    def persistent_load(self, artifact_id: Any) -> Any:
        if self._repo is None:
            raise RuntimeError(f"input artifact {artifact_id} needs a repository to load from")
        return self._repo.get_artifact(artifact_id).proxy()


_pickler: type | None = None


def dumps_inputs(inputs: Mapping[str, Any], plain: Collection[int] | None = None) -> bytes:
    """Pickle a call's inputs: proxies by artifact id, those whose ids are in ``plain`` by value."""
    global _pickler
    if _pickler is None:
        _pickler = _pickler_class()  # cloudpickle is imported on first use
    buf = io.BytesIO()
    pickler = _pickler(buf, protocol=5)
    if plain:
        pickler.plain = frozenset(plain)
    pickler.dump(inputs)
    return buf.getvalue()


def loads_inputs(data: bytes, repo: ArtifactSource | None) -> dict[str, Any]:
    """Unpickle inputs written by :func:`dumps_inputs`, reloading proxies from ``repo``."""
    return _InputsUnpickler(io.BytesIO(data), repo).load()
