"""Value ids: :func:`value_digest`, :func:`hash_value` and :func:`register_hasher`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from ..errors import HashingError
from .core import (
    _REGISTERED,
    _digest,
    _get,
    _guard,
    _h,
    _lock,
    _rd,
    _rebuild_dispatch,
    _short,
    _tls,
    _type_name,
    _Unhashable,
)
from .functions import _d_class

_T = TypeVar("_T")


def value_digest(obj: object, path: str = "") -> bytes:
    """Return the 16-byte canonical digest of a value.

    Parameters
    ----------
    obj : object
        Any value; see the :mod:`provenance.hashing` docstring for how each kind
        is encoded.
    path : str, optional
        How the caller refers to ``obj`` (e.g. a parameter name), used only to
        prefix the location in error messages.

    Returns
    -------
    bytes
        ``xxh3_128`` of the value's canonical encoding.

    Raises
    ------
    HashingError
        If the value, or something inside it, cannot be hashed canonically; the
        message names the type and where it sits, e.g. ``at ['config']['lock']``.
    """
    try:
        return _get(type(obj), _rd)(obj)
    except _Unhashable as exc:
        raise HashingError(exc.message(path)) from exc.__cause__
    except RecursionError:
        raise _recursion_error(obj, path) from None


def hash_value(obj: object, path: str = "") -> str:
    """Return the id of a value: :func:`value_digest` as 32 lowercase hex characters.

    Parameters
    ----------
    obj : object
        Any value.
    path : str, optional
        Prefix for the location in error messages (e.g. a parameter name).

    Returns
    -------
    str
        ``value_digest(obj).hex()``.

    Raises
    ------
    HashingError
        If the value cannot be hashed canonically.
    """
    # Duplicates value_digest rather than calling it: this is on the cache-hit path.
    try:
        return _get(type(obj), _rd)(obj).hex()
    except _Unhashable as exc:
        raise HashingError(exc.message(path)) from exc.__cause__
    except RecursionError:
        raise _recursion_error(obj, path) from None


def changed_proxies() -> list[Any]:
    """This thread's list of artifact proxies hashed while changed in place.

    Hashing a proxy whose value no longer hashes to its recorded value id
    appends the proxy here; such a proxy is always hashed as the value it
    holds now, this list only tells a caller (the decorator clears it, hashes
    a call's arguments, then reads it).  Unread, it keeps the last 10,000 or so.
    """
    return _tls.changed


def proxies_changed_in(value: object) -> list[Any]:
    """The artifact proxies in ``value`` whose values were changed in place.

    ``value`` is hashed again to find them (see :func:`changed_proxies`).

    Raises
    ------
    HashingError
        If ``value`` cannot be hashed.
    """
    changed = _tls.changed
    changed.clear()
    hash_value(value)
    found = list(changed)
    changed.clear()
    return found


def _recursion_error(obj: object, path: str) -> HashingError:
    # Cycles are caught by _guard; this is a value nested deeper than the recursion limit.
    return HashingError(
        f"cannot hash value of type {_type_name(type(obj))}"
        + (f" at {path}" if path else "")
        + ": it is nested too deeply (raise sys.setrecursionlimit(), or register a "
        "hasher for the type that nests)"
    )


@overload
def register_hasher(cls: type[_T], fn: Callable[[_T], object]) -> Callable[[_T], object]: ...


@overload
def register_hasher(
    cls: type[_T], fn: None = None
) -> Callable[[Callable[[_T], object]], Callable[[_T], object]]: ...


def register_hasher(cls: type[_T], fn: Callable[[_T], object] | None = None) -> Any:
    """Teach the hasher a type: ``fn(obj)`` returns a hashable stand-in for ``obj``.

    The stand-in (a tuple of fields, a bytes digest, ...) is hashed recursively
    together with the qualified name of ``type(obj)``, so different classes never
    collide.  The registration applies to subclasses too (nearest class in the
    MRO wins) and takes precedence over every built-in rule except the proxy
    rule; registering a built-in type therefore changes the ids of its values.
    Can be used as a decorator: ``@register_hasher(MyType)``.

    Parameters
    ----------
    cls : type
        The class to register.
    fn : callable, optional
        ``fn(obj) -> object``; it must be deterministic and must not return ``obj``.

    Returns
    -------
    callable
        ``fn``, or a decorator that registers its argument.
    """
    if not isinstance(cls, type):
        raise TypeError(f"register_hasher() needs a class, got {_short(cls)}")
    if fn is None:
        return functools.partial(register_hasher, cls)
    reduce_fn = fn

    def handler(obj: Any) -> bytes:
        try:
            stand_in = reduce_fn(obj)
        except RecursionError:
            raise
        except Exception as exc:
            name = getattr(reduce_fn, "__qualname__", repr(reduce_fn))
            raise _Unhashable(
                _type_name(type(obj)), f"the hasher {name} registered for it raised {exc!r}"
            ) from exc
        return _h(b"custom:" + _d_class(type(obj)) + _digest(stand_in))

    with _lock:
        _REGISTERED[cls] = _guard(handler)
        _rebuild_dispatch()
    return fn
