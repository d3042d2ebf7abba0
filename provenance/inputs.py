"""How a call's inputs are recorded: pickled (proxies by id), summarized, searched for lineage."""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .artifact import ArtifactProxy, is_proxy
from .hashing import hash_value

if TYPE_CHECKING:
    from .repos import Repository

__all__ = ["dumps_inputs", "iter_proxies", "json_summary", "loads_inputs", "unwrap"]

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
        if kind is str and len(value) > 1000:
            return {"$type": "str", "$hash": hash_value(value), "$len": len(value)}
        return value
    if kind in (list, tuple) and depth < 3 and len(value) <= 100:
        return [json_summary(v, depth + 1) for v in value]
    if kind is dict and depth < 3 and len(value) <= 100 and all(type(k) is str for k in value):
        return {k: json_summary(v, depth + 1) for k, v in value.items()}
    return {"$type": f"{kind.__module__}.{kind.__qualname__}", "$hash": hash_value(value)}


# -- pickled inputs ----------------------------------------------------------
# Inputs are pickled with proxies replaced by a reference to their artifact
# id, so a large input value is never copied into the record.


class _InputsPickler:
    @staticmethod
    def dumps(inputs: Mapping[str, Any]) -> bytes:
        import cloudpickle

        buf = io.BytesIO()
        pickler = cloudpickle.CloudPickler(buf, protocol=5)
        pickler.persistent_id = _persistent_id
        pickler.dump(inputs)
        return buf.getvalue()


def _persistent_id(obj: Any) -> str | None:
    if is_proxy(obj):
        return str(obj.artifact.id)
    return None


def dumps_inputs(inputs: Mapping[str, Any]) -> bytes:
    """Pickle a call's inputs, proxies by artifact id."""
    return _InputsPickler.dumps(inputs)


def loads_inputs(data: bytes, repo: Repository | None) -> dict[str, Any]:
    """Unpickle inputs written by :func:`dumps_inputs`, reloading proxies from ``repo``."""
    unpickler = pickle.Unpickler(io.BytesIO(data))

    def persistent_load(artifact_id: str) -> Any:
        if repo is None:
            raise RuntimeError(f"input artifact {artifact_id} needs a repository to load from")
        return repo.get_artifact(artifact_id).proxy()

    unpickler.persistent_load = persistent_load  # type: ignore[method-assign]
    return unpickler.load()
