"""The ``json`` serializer: JSON-shaped values of plain types, stored as JSON text.

Chosen by type for a value that JSON gives back *exactly*: built only of
exact ``dict`` (with ``str`` keys), ``list``, ``str``, ``int``, finite
``float``, ``bool`` and ``None``.  Anything else goes to the next candidate
or the default (a pickle), since JSON would change it:

* a tuple would read back as a list, a subclass (``OrderedDict``, an
  ``IntEnum``, a ``str`` subclass, a numpy scalar) as its base type;
* a dict with non-``str`` keys would read back with ``str`` keys;
* NaN and the infinities are not JSON (Python writes them, other readers refuse);
* an int of more than 10,000 bits would trip Python's limit on converting
  long ints to text;
* a container reached twice (shared, or a cycle) would read back as copies;
* nesting deeper than :data:`MAX_DEPTH` would exhaust the recursion of the
  JSON module.

``-0.0`` and large ints round-trip, key order is kept, and the text is ASCII
(non-ASCII characters and lone surrogates escaped), so writing never fails
on a value that was accepted.  Reading JSON runs no code: the serializer is
*safe*, and its values load from repos that are not trusted.
"""

from __future__ import annotations

import json
import math
from itertools import chain
from typing import Any

from .registry import register_serializer

__all__ = ["MAX_DEPTH", "json_exact"]

#: Containers nested deeper than this are not stored as JSON.
MAX_DEPTH = 200
#: Ints longer than this (in bits) are not stored as JSON.
_MAX_INT_BITS = 10_000


def json_exact(value: Any) -> bool:
    """Whether ``json.loads(json.dumps(value))`` gives back ``value`` exactly.

    Exactly: equal, of the same types all the way down, and with no
    container shared between two places.  Never raises.
    """
    # Level by level (no recursion, so a deep value cannot exhaust it), each
    # level checked in bulk: its types, ids and keys are collected at C
    # speed, so a long list of numbers or of small dicts costs no
    # Python-level step per element.
    level: list[Any] = [value]
    seen: set[int] = set()
    depth = 0
    while True:
        kinds = set(map(type, level))
        if not kinds <= _ALLOWED:
            return False
        if int in kinds:
            ints = level if kinds == {int} else [v for v in level if type(v) is int]
            if max(max(ints), -min(ints)).bit_length() > _MAX_INT_BITS:
                return False
        if float in kinds:
            floats = level if kinds == {float} else [v for v in level if type(v) is float]
            if not all(map(math.isfinite, floats)):
                return False
        if kinds.isdisjoint(_CONTAINERS):
            return True
        if depth >= MAX_DEPTH:
            return False
        containers = level if kinds <= _CONTAINERS else [v for v in level if type(v) in _CONTAINERS]
        ids = set(map(id, containers))
        if len(ids) != len(containers) or not ids.isdisjoint(seen):
            return False  # a container shared, or a cycle
        seen |= ids
        if dict not in kinds:
            lists, dicts = containers, []
        elif list not in kinds:
            lists, dicts = [], containers
        else:
            lists = [c for c in containers if type(c) is list]
            dicts = [c for c in containers if type(c) is dict]
        if not set(map(type, chain.from_iterable(dicts))) <= _KEYS:
            return False
        level = [*chain.from_iterable(lists), *chain.from_iterable(map(dict.values, dicts))]
        depth += 1


_CONTAINERS = frozenset({dict, list})
_ALLOWED = _CONTAINERS | {str, int, float, bool, type(None)}
_KEYS = frozenset({str})


def _encode(value: Any, kwargs: dict[str, Any]) -> bytes:
    kwargs.setdefault("separators", (",", ":"))
    kwargs.setdefault("allow_nan", False)
    encoding = "ascii" if kwargs.get("ensure_ascii", True) else "utf-8"
    return json.dumps(value, **kwargs).encode(encoding)


def _dump_to(value: Any, fileobj: Any, **kwargs: Any) -> None:
    fileobj.write(_encode(value, kwargs))


def _dump(value: Any, filename: str, **kwargs: Any) -> None:
    with open(filename, "wb") as f:
        f.write(_encode(value, kwargs))


def _load(filename: str, **kwargs: Any) -> Any:
    with open(filename, "rb") as f:
        return json.loads(f.read(), **kwargs)


def _loads(data: bytes) -> Any:
    return json.loads(data.decode("utf-8"))  # a str skips json.detect_encoding


register_serializer(
    "json",
    _dump,
    _load,
    "application/json",
    classes=[dict, list, str, int, float, bool, type(None)],
    loads=_loads,
    dump_to=_dump_to,
    accepts=json_exact,
    safe=True,
)
