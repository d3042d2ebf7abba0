"""How a call's inputs are looked at: summarized for queries, searched for lineage.

How they are pickled into the record (proxies by artifact id) is storage's
business: :mod:`provenance.storage.inputs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .files import File
from .hashing import hash_value
from .storage.artifact import Artifact
from .storage.inputs import _identity  # noqa: F401  (see below)
from .storage.proxies import ArtifactProxy, is_proxy

__all__ = ["artifact_ref", "fit", "iter_proxies", "json_summary", "unwrap"]

# Inputs recorded before the pickling moved to storage name
# ``provenance.inputs._identity`` in their pickles: it stays reachable here.

_JSON_SCALARS = (str, int, float, bool, type(None))


def unwrap(value: Any) -> Any:
    """The value inside an :class:`ArtifactProxy` (other values as they are)."""
    return value.__wrapped__ if isinstance(value, ArtifactProxy) else value


#: The containers searched for proxies (exact types, as the summary's).
_NESTED = (list, tuple, dict)


def _may_hold_proxies(kind: type) -> bool:
    return kind in _NESTED or getattr(kind, "_provenance_value_id_", None) is not None


def iter_proxies(value: Any, path: str, depth: int = 0) -> Iterable[tuple[str, Any]]:
    """Proxies in an argument, with where they sit (``data``, ``items[2]``)."""
    if is_proxy(value):
        yield path, value
        return
    if depth >= 4:
        return
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind in (list, tuple):
        items = value
    else:
        return
    # The member types are gathered at C speed first: a list of a million
    # numbers holds no proxy, and is passed over without a loop in Python.
    if not any(_may_hold_proxies(k) for k in set(map(type, items))):
        return
    members = ((repr(k), v) for k, v in value.items()) if kind is dict else enumerate(value)
    for key, item in members:
        if _may_hold_proxies(type(item)):
            yield from iter_proxies(item, f"{path}[{key}]", depth + 1)


def json_summary(value: Any, depth: int = 0, *, value_hash: str | None = None) -> Any:
    """A JSON-safe description of an argument, for queries over recorded inputs.

    JSON values are themselves; an artifact is the original library's
    ``{"id": ..., "type": "ArtifactProxy", "name": ...}``; other values are
    ``{"$type": ..., "$hash": ...}``.  ``value_hash`` is the value's hash if
    the caller has it already (a big argument is not hashed twice).
    """
    if is_proxy(value):
        artifact = value.artifact
        return {"id": artifact.id, "type": "ArtifactProxy", "name": artifact.name}
    if isinstance(value, Artifact):
        return {"id": value.id, "type": "Artifact", "name": value.name}
    kind = type(value)
    if kind in _JSON_SCALARS:
        if kind is float and not math.isfinite(value):  # NaN and infinities are not JSON
            return {"$type": "float", "$repr": repr(value)}
        # Long strings are summarized, and those no JSON column stores (NUL, lone surrogates).
        if kind is str and (len(value) > 1000 or not _storable(value)):
            return {"$type": "str", "$hash": value_hash or hash_value(value), "$len": len(value)}
        return value
    if kind is File:
        # A file is its contents: the hash identifies it, the path says where it was.
        return {
            "$type": "provenance.File",
            "$path": fit(value.path, 1000),
            "$hash": value_hash or hash_value(value),
        }
    if kind in (list, tuple) and depth < 3 and len(value) <= 100:
        return [json_summary(v, depth + 1) for v in value]
    if (
        kind is dict
        and depth < 3
        and len(value) <= 100
        and all(type(k) is str and len(k) <= 255 and _storable(k) for k in value)
    ):
        return {k: json_summary(v, depth + 1) for k, v in value.items()}
    return {
        "$type": f"{kind.__module__}.{kind.__qualname__}",
        "$hash": value_hash or hash_value(value),
        **_shape(value),
    }


#: The packages whose values' ``shape`` and ``dtype`` are recorded in the
#: summary (for lineage drawings: ``DataFrame 150×5``).  Named, not guessed:
#: reading an attribute of any other object could run its code.
_ARRAY_PACKAGES = frozenset({"numpy", "pandas", "polars", "pyarrow", "torch", "xarray"})


def _shape(value: Any) -> dict[str, Any]:
    """``{"$shape": [...], "$dtype": ...}`` of an array or frame; ``{}`` for anything else."""
    kind = type(value)
    if kind.__module__.partition(".")[0] not in _ARRAY_PACKAGES:
        return {}
    out: dict[str, Any] = {}
    # Looked up on the class first: a frame's missing attribute would be a
    # column of that name.
    try:
        if getattr(kind, "shape", None) is not None:
            out["$shape"] = [int(n) for n in value.shape][:32]
        if getattr(kind, "dtype", None) is not None:
            out["$dtype"] = str(value.dtype)[:64]
    except Exception:  # an unknown size (a lazy frame): no shape
        return {}
    return out


def _storable(text: str) -> bool:
    """Whether a JSON column holds ``text`` on every backend (see storage.validate)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def artifact_ref(summary: Any) -> str | None:
    """The artifact id that a summary of an argument stands for, if it is one.

    Knows the original library's form (``{"type": "ArtifactProxy", "id": ...}``)
    and the ``{"$artifact": id}`` of artifacts stored by provenance 0.2.
    """
    if isinstance(summary, dict):
        if "$artifact" in summary:
            return str(summary["$artifact"])
        if summary.get("type") in ("ArtifactProxy", "Artifact") and isinstance(
            summary.get("id"), str
        ):
            return summary["id"]
    return None


def fit(text: str, width: int = 255) -> str:
    """``text`` cut to a column's width, keeping it unique with a hash of the whole."""
    if len(text) <= width:
        return text
    return text[: width - 34] + "~" + hash_value(text)
