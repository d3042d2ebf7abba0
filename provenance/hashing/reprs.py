"""The original library's hashing hooks: :func:`value_repr` and :func:`hash`.

In the original ``provenance``, every object met while hashing was first
replaced by ``value_repr(obj)``: a ``functools.singledispatch`` function that
calls the object's own ``value_repr()`` method when it has one and otherwise
returns the object.  Users taught it their types either way.  Both ways work
here: a type with a ``value_repr`` registration or method hashes as the
stand-in it returns, together with its class (as with
:func:`~provenance.hashing.register_hasher`, so two classes never collide).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .core import (
    _REPR_HOOK,
    _digest,
    _guard,
    _h,
    _Handler,
    _lock,
    _rebuild_dispatch,
    _resolve,
    _type_name,
    _Unhashable,
)
from .functions import _d_class
from .values import hash_value

__all__ = ["hash", "value_repr"]


@functools.singledispatch
def value_repr(obj: Any) -> Any:
    """The stand-in that ``obj`` is hashed as: ``obj.value_repr()`` if it has one, else ``obj``.

    Register a stand-in for a type you cannot change with
    ``@value_repr.register(TheType)`` (or give the type a ``value_repr``
    method).  The stand-in is hashed in the object's place, together with
    its class.

    Parameters
    ----------
    obj : object
        Any value.

    Returns
    -------
    object
        What the hasher hashes for ``obj``.
    """
    method = getattr(obj, "value_repr", None)
    return method() if callable(method) else obj


_default = value_repr.dispatch(object)
_register = value_repr.register


def _register_and_rebuild(cls: Any, func: Callable[..., Any] | None = None) -> Any:
    # singledispatch's register() does not tell the dispatch cache of the hasher,
    # which may hold a handler for the type already.
    if func is None and isinstance(cls, type):
        return lambda f: _register_and_rebuild(cls, f)
    result = _register(cls, func) if func is not None else _register(cls)
    _rebuild_dispatch()
    return result


value_repr.register = _register_and_rebuild  # type: ignore[method-assign]


def _repr_handler(t: type) -> _Handler | None:
    """The handler for a type that has a ``value_repr``, or None."""
    fn = value_repr.dispatch(t)
    if fn is _default:
        method = getattr(t, "value_repr", None)
        if not callable(method):
            return None

    def handler(obj: Any) -> bytes:
        try:
            stand_in = fn(obj)
        except RecursionError:
            raise
        except Exception as exc:
            raise _Unhashable(_type_name(type(obj)), f"its value_repr raised {exc!r}") from exc
        if stand_in is obj:
            raise _Unhashable(_type_name(type(obj)), "its value_repr returned the object itself")
        # A stand-in of the same type (a rounded float) is hashed by the type's own rule.
        inner = _resolve(t, reprs=False)(stand_in) if type(stand_in) is t else _digest(stand_in)
        return _h(b"custom:" + _d_class(type(obj)) + inner)

    return _guard(handler)  # a stand-in may refer back to the object


with _lock:
    _REPR_HOOK.append(_repr_handler)


def hash(  # noqa: A001  (the original library's name)
    obj: object, hasher: Any = None, hash_name: str = "md5", coerce_mmap: bool = True
) -> str:
    """The id of a value, as the original library's ``provenance.hash`` gave it.

    It is :func:`~provenance.hashing.hash_value`: the value id that an
    artifact holding ``obj`` records.

    Parameters
    ----------
    obj : object
        Any value.
    hasher : object, optional
        An object with a ``hash(obj)`` method to use instead.
    hash_name : {'md5', 'sha1'}
        Accepted for compatibility: ids here are always ``xxh3_128``.
    coerce_mmap : bool
        Must be true: a memory-mapped array always hashes like the array it holds.

    Returns
    -------
    str
        32 lowercase hex characters.
    """
    if hasher is not None:
        return hasher.hash(obj)
    if hash_name not in ("md5", "sha1"):
        raise ValueError(f"hash_name must be 'md5' or 'sha1', got {hash_name!r}")
    if not coerce_mmap:
        raise ValueError(
            "coerce_mmap=False is not supported: a memory-mapped array always hashes like "
            "the array it holds"
        )
    return hash_value(obj)
