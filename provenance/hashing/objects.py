"""Handlers chosen by what a type is: enums, dataclasses, namedtuples, artifact proxies.

:func:`~.core._resolve` picks them (through ``_BY_KIND``) for types that no
table holds, before falling back on reduction.
"""

from __future__ import annotations

import sys
from typing import Any

from .containers import _d_tuple
from .core import (
    _BUILTIN,
    _BY_KIND,
    DIGEST_SIZE,
    _blame,
    _digest,
    _guard,
    _h,
    _short,
    _tls,
    _type_name,
    _Unhashable,
)
from .functions import _d_class
from .scalars import _d_str

_ABSENT = _h(b"absent:")


def _d_enum(member: Any) -> bytes:
    return _h(b"enum:" + _d_class(type(member)) + _d_str(member._name_))


def _d_flag(member: Any) -> bytes:
    # Composite flags have no stable name across Python versions; their value is an int.
    return _h(b"flag:" + _d_class(type(member)) + _digest(member._value_))


def _d_dataclass(obj: Any) -> bytes:
    fields = sys.modules["dataclasses"].fields(obj)
    children = [(f".{f.name}", getattr(obj, f.name, _Absent)) for f in fields]
    try:
        body = b"".join([_d_str(f.name) + _digest(v) for f, (_, v) in zip(fields, children)])
    except _Unhashable as exc:
        _blame(exc, children)
        raise
    return _h(b"dataclass:" + _d_class(type(obj)) + body)


def _d_namedtuple(t: Any) -> bytes:
    children = [(f".{name}", v) for name, v in zip(t._fields, t)]
    try:
        body = b"".join([_digest(v) for v in t])
    except _Unhashable as exc:
        _blame(exc, children)
        raise
    return _h(b"namedtuple:" + _d_class(type(t)) + _d_tuple(t._fields) + body)


class _AbsentType:
    """Marks a dataclass field that has no value (``init=False`` without a default)."""


_Absent = _AbsentType()
_BUILTIN[_AbsentType] = lambda obj: _ABSENT


_IMMUTABLE_SCALARS = frozenset({int, float, complex, bool, str, bytes, type(None), range})


def is_immutable(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` cannot change in place: scalars, and tuples/frozensets of them.

    Containers of more than 64 items are not looked into (``False``): the
    check runs each time a proxy is hashed.
    """
    kind = type(value)
    if kind in _IMMUTABLE_SCALARS:
        return True
    if (kind is tuple or kind is frozenset) and depth < 3 and len(value) <= 64:
        scalars = _IMMUTABLE_SCALARS
        # One pass over the types first: a tuple of numbers is the common case.
        return all(type(v) in scalars for v in value) or all(
            is_immutable(v, depth + 1) for v in value
        )
    return False


def _d_proxy(obj: Any) -> bytes:
    value_id = obj._provenance_value_id_
    try:
        digest = bytes.fromhex(value_id)
    except (TypeError, ValueError):
        digest = b""
    if len(digest) != DIGEST_SIZE:
        raise _Unhashable(
            _type_name(type(obj)),
            f"its _provenance_value_id_ {_short(value_id)} is not a 32-character hex id",
        )
    digest_of = getattr(type(obj), "_provenance_digest_", None)
    if digest_of is not None:
        return digest_of(obj)  # a composite: see artifact.CompositeDict
    if getattr(type(obj), "_provenance_rehash_", False):
        # A proxy's value can be changed in place (``xs[0] += 10``): then its
        # value id no longer describes it, and an id made from the value id
        # would be stale.  Mutable values are hashed again (at memory speed
        # for arrays); immutable ones cannot have changed.
        value = obj.__wrapped__
        if not is_immutable(value):
            # A value hashed when it was stored that cannot be hashed now was
            # changed in place: its error is raised like a plain value's.
            current = _digest(value)
            if current != digest:
                changed = _tls.changed
                if len(changed) >= 10_000:  # nobody reads them: keep the last ones
                    del changed[:5_000]
                changed.append(obj)
                return current
    return digest


_BY_KIND.update(
    {
        "proxy": _d_proxy,
        "enum": _d_enum,
        "flag": _d_flag,
        "dataclass": _guard(_d_dataclass),  # objects can refer back to themselves
        "namedtuple": _d_namedtuple,
    }
)
