"""How a call's inputs are recorded: pickled (proxies by id), summarized, searched for lineage."""

from __future__ import annotations

import io
import pickle
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .artifact import ArtifactProxy, is_proxy
from .files import File
from .hashing import hash_value

if TYPE_CHECKING:
    from .storage.repos import Repository

__all__ = ["dumps_inputs", "fit", "iter_proxies", "json_summary", "loads_inputs", "unwrap"]

_JSON_SCALARS = (str, int, float, bool, type(None))


def unwrap(value: Any) -> Any:
    """The value inside an :class:`ArtifactProxy` (other values as they are)."""
    return value.__wrapped__ if isinstance(value, ArtifactProxy) else value


def iter_proxies(value: Any, path: str, depth: int = 0) -> Iterable[tuple[str, Any]]:
    """Proxies in an argument, with where they sit (``data``, ``items[2]``)."""
    if is_proxy(value):
        yield path, value
        return
    if depth >= 4:
        return
    kind = type(value)
    if kind in (list, tuple):
        for i, item in enumerate(value):
            yield from iter_proxies(item, f"{path}[{i}]", depth + 1)
    elif kind is dict:
        for key, item in value.items():
            yield from iter_proxies(item, f"{path}[{key!r}]", depth + 1)


def json_summary(value: Any, depth: int = 0) -> Any:
    """A JSON-safe description of an argument, for queries over recorded inputs."""
    if is_proxy(value):
        return {"$artifact": value.artifact.id}
    kind = type(value)
    if kind in _JSON_SCALARS:
        if kind is float and value != value:  # NaN is not JSON
            return {"$type": "float", "$repr": "nan"}
        # Long strings are summarized; NUL cannot be stored in PostgreSQL JSON.
        if kind is str and (len(value) > 1000 or "\x00" in value):
            return {"$type": "str", "$hash": hash_value(value), "$len": len(value)}
        return value
    if kind is File:
        # A file is its contents: the hash identifies it, the path says where it was.
        return {
            "$type": "provenance.File",
            "$path": fit(value.path, 1000),
            "$hash": hash_value(value),
        }
    if kind in (list, tuple) and depth < 3 and len(value) <= 100:
        return [json_summary(v, depth + 1) for v in value]
    if kind is dict and depth < 3 and len(value) <= 100 and all(type(k) is str for k in value):
        return {k: json_summary(v, depth + 1) for k, v in value.items()}
    return {"$type": f"{kind.__module__}.{kind.__qualname__}", "$hash": hash_value(value)}


def fit(text: str, width: int = 255) -> str:
    """``text`` cut to a column's width, keeping it unique with a hash of the whole."""
    if len(text) <= width:
        return text
    return text[: width - 34] + "~" + hash_value(text)


# -- pickled inputs ----------------------------------------------------------
# Inputs are pickled with proxies replaced by a reference to their artifact
# id, so a large input value is never copied into the record.


# Both hooks are methods of subclasses, not attributes set on an instance:
# CPython 3.13.0 made the instance attributes read-only (gh-125631).


def _pickler_class() -> type:
    import cloudpickle

    class InputsPickler(cloudpickle.CloudPickler):
        #: Ids of proxies pickled by value: changed in place, they are no
        #: longer their artifact's value.
        plain: Collection[int] = ()

        def persistent_id(self, obj: Any) -> str | None:
            if is_proxy(obj) and id(obj) not in self.plain:
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
    def __init__(self, file: Any, repo: Repository | None) -> None:
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


def loads_inputs(data: bytes, repo: Repository | None) -> dict[str, Any]:
    """Unpickle inputs written by :func:`dumps_inputs`, reloading proxies from ``repo``."""
    return _InputsUnpickler(io.BytesIO(data), repo).load()
