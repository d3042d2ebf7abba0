"""The fallback for every other object: its ``copyreg`` / ``__reduce_ex__(4)`` reduction.

The reconstructor is hashed by qualified name, its arguments and state
recursively.  Objects that refuse to pickle (locks, open files, generators,
sockets) raise :class:`~provenance.errors.HashingError`, naming the type and its
path in the value.
"""

from __future__ import annotations

import copyreg
from typing import Any

from .containers import _d_dict
from .core import _BY_KIND, _blame, _digest, _guard, _h, _indexed, _short, _type_name, _Unhashable
from .functions import _ref
from .scalars import _NONE, _d_str


def _d_reduce(obj: Any) -> bytes:
    t = type(obj)
    try:
        reducer = copyreg.dispatch_table.get(t)
        rv = reducer(obj) if reducer is not None else obj.__reduce_ex__(4)
    except RecursionError:
        raise
    except Exception as exc:
        raise _Unhashable(_type_name(t)) from exc
    if isinstance(rv, str):  # a global singleton, named
        return _h(b"global:" + _digest(getattr(obj, "__module__", None)) + _d_str(rv))
    if not isinstance(rv, tuple) or not 2 <= len(rv) <= 6:
        raise _Unhashable(_type_name(t), f"its __reduce_ex__ returned {_short(rv)}")
    func, args, state, items, pairs, setter = rv + (None,) * (6 - len(rv))
    if not isinstance(args, tuple):
        raise _Unhashable(_type_name(t), f"its __reduce_ex__ returned arguments {_short(args)}")
    items = None if items is None else list(items)
    pairs = None if pairs is None else dict(pairs)
    state_digest = _state_digest(state)
    try:
        body = _ref(func) + _digest(args) + _digest(items) + _digest(pairs)
    except _Unhashable as exc:
        children: list[tuple[str, object]] = [(f"<reduce arg {i}>", a) for i, a in enumerate(args)]
        children += [] if items is None else list(_indexed(items))
        children += [] if pairs is None else [(f"[{_short(k)}]", v) for k, v in pairs.items()]
        _blame(exc, children)
        raise
    setter_digest = _NONE if setter is None else _ref(setter)
    return _h(b"reduce:" + body + state_digest + setter_digest)


def _state_digest(state: object) -> bytes:
    """Digest of a reduction's state; a ``__dict__`` (or ``(__dict__, slots)``) is
    labelled as attributes in error paths, anything else as ``.__getstate__()``."""
    if type(state) is dict:
        return _d_dict(state, attrs=True)
    if (
        type(state) is tuple
        and len(state) == 2
        and all(d is None or type(d) is dict for d in state)
    ):
        return _h(b"tuple:" + b"".join([_NONE if d is None else _d_dict(d, True) for d in state]))
    try:
        return _digest(state)
    except _Unhashable as exc:
        exc.where.append(".__getstate__()")
        raise


# Objects can refer back to themselves through their state.
_BY_KIND["reduce"] = _guard(_d_reduce)
