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
