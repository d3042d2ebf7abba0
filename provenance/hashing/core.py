"""The dispatch that every handler goes through, and the tracking of cycles.

A handler maps a value to its 16-byte digest.  :data:`_DISPATCH` caches the
handler of every exact type seen so far; a type not in it is resolved once by
:func:`_resolve`, from the tables that the other modules of this package fill
when they are imported:

* ``_BUILTIN``: exact types with a built-in encoding (``int``, ``dict``, ...);
* ``_REGISTERED``: :func:`~provenance.hashing.register_hasher`, along the MRO;
* ``_LIBRARY``: numpy, pandas and pathlib types, along the MRO, below ``_REGISTERED``;
* ``_PENDING``: loaders of the ``_BUILTIN`` / ``_LIBRARY`` entries for a module,
  run the first time a new type is hashed while that module is imported;
* ``_BY_KIND``: the handlers of proxies, classes, enums, dataclasses and
  namedtuples, and reduction for what nothing else matches.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import xxhash

from ..errors import HashingError

HASH_SCHEME: str = "xxh3_128/4"
"""Name and version of the id scheme; stored with every artifact and part of every artifact id.

``/2`` (provenance 0.2): default names are module-qualified and a call's id
holds its code fingerprint; value ids are unchanged from ``/1``.
``/3``: the original library's ``value_repr`` hook decides how the types it
knows are hashed; an archived file's value id holds its preserved extension,
normalized (``.JPEG`` is ``.jpg``); a set hashes as its members and labels.
Other value ids are unchanged.
``/4``: pandas string columns (the ``str`` and ``string`` dtypes, Arrow's string
types) and object columns and Indexes that hold only strings and missing values
hash in bulk (:mod:`.strings`: lengths, UTF-8 bytes and where the missing values
are), so the ids of frames, Series and Indexes with strings change.  Other value
ids are unchanged.
"""

DIGEST_SIZE: int = 16
"""Size in bytes of a value digest (ids are twice as many hex characters)."""

_Handler = Callable[[Any], bytes]

_h = xxhash.xxh3_128_digest
_MAX_CACHED_TYPES = 4096
_HINT = (
    "register a hasher with provenance.hashing.register_hasher(), "
    "or pass a value that can be pickled"
)


class _Unhashable(HashingError):
    """Raised inside the walk; :func:`value_digest` turns it into a plain HashingError.

    ``where`` collects the path to the offending value, innermost step first, as
    each enclosing container re-raises it.
    """

    def __init__(self, tname: str, reason: str = _HINT) -> None:
        super().__init__(tname, reason)
        self.tname = tname
        self.reason = reason
        self.where: list[str] = []

    def message(self, path: str) -> str:
        where = path + "".join(reversed(self.where))
        at = f" at {where}" if where else ""
        return f"cannot hash value of type {self.tname}{at}: {self.reason}"


def _type_name(t: type) -> str:
    mod = getattr(t, "__module__", None)
    name = getattr(t, "__qualname__", None) or getattr(t, "__name__", None) or repr(t)
    return name if mod in (None, "builtins") else f"{mod}.{name}"


def _short(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = f"<{_type_name(type(obj))}>"
    return text if len(text) <= 60 else text[:57] + "..."


# --- dispatch -----------------------------------------------------------------------
# _DISPATCH maps an exact type to its handler: the built-in types up front, every other
# type once resolved.  It is mutated in place, never rebound, because _get is bound to it.
_BUILTIN: dict[type, _Handler] = {}  # exact types with a built-in encoding
_REGISTERED: dict[type, _Handler] = {}  # register_hasher(), looked up along the MRO
_LIBRARY: dict[type, _Handler] = {}  # numpy, pandas, pathlib; along the MRO, below _REGISTERED
# The handlers _resolve picks by what a type is rather than which type it is: proxy, class,
# enum, flag, dataclass, namedtuple, and reduce for anything else.  They are written with
# _digest, so the modules that define them import this one and fill this in.
_BY_KIND: dict[str, _Handler] = {}
_DISPATCH: dict[type, _Handler] = {}
_get = _DISPATCH.get
# The original library's value_repr hook (:mod:`.reprs` fills it in): given a type, the
# handler of its value_repr stand-in, or None.  Consulted below register_hasher.
_REPR_HOOK: list[Callable[[type], _Handler | None]] = []
_lock = threading.RLock()


def _digest(obj: object) -> bytes:
    return _get(type(obj), _rd)(obj)


def _rd(obj: object) -> bytes:
    """Digest a value whose type is not in the dispatch cache yet, and cache the type."""
    t = type(obj)
    with _lock:  # so that a concurrent register_hasher() cannot be undone by a stale entry
        handler = _resolve(t)
        if len(_DISPATCH) < _MAX_CACHED_TYPES:  # bounded, for classes made in a loop
            _DISPATCH[t] = handler
    return handler(obj)


def _resolve(t: type, reprs: bool = True) -> _Handler:
    # The proxy rule comes first and looks at type(obj): wrapt proxies forward __class__
    # (and so isinstance and singledispatch) to the wrapped value.
    if getattr(t, "_provenance_value_id_", None) is not None:
        return _BY_KIND["proxy"]
    if _PENDING:
        _load_pending()
    mro = getattr(t, "__mro__", (t,))
    for base in mro:
        if base in _REGISTERED:
            return _REGISTERED[base]
        if base is t and reprs:
            for hook in _REPR_HOOK:  # value_repr: below a hasher registered for t itself
                by_repr = hook(t)
                if by_repr is not None:
                    return by_repr
        if base is t and t in _BUILTIN:
            return _BUILTIN[t]
        if base in _LIBRARY:
            return _LIBRARY[base]
    if issubclass(t, type):
        return _BY_KIND["class"]
    enum = sys.modules.get("enum")
    if enum is not None and isinstance(t, enum.EnumMeta):
        return _BY_KIND["flag"] if issubclass(t, enum.Flag) else _BY_KIND["enum"]
    if hasattr(t, "__dataclass_fields__"):
        return _BY_KIND["dataclass"]
    if issubclass(t, tuple) and isinstance(getattr(t, "_fields", None), tuple):
        return _BY_KIND["namedtuple"]
    return _BY_KIND["reduce"]


def _rebuild_dispatch() -> None:
    with _lock:
        _DISPATCH.clear()
        for t, handler in _BUILTIN.items():
            if not any(base in _REGISTERED for base in t.__mro__) and not any(
                hook(t) for hook in _REPR_HOOK
            ):
                _DISPATCH[t] = handler


# --- handlers installed when their module is first seen imported -----------------------
# Module name -> loader that fills _BUILTIN / _LIBRARY for it; filled by the modules of
# this package that hold the handlers, so that importing provenance imports neither
# numpy nor pandas.
_PENDING: dict[str, Callable[[], None]] = {}


def _load_pending() -> None:
    with _lock:
        loaded = False
        for name in [n for n in _PENDING if n in sys.modules]:
            try:
                _PENDING[name]()
            except (ImportError, AttributeError):
                continue  # the module is still being imported (another thread): retry later
            del _PENDING[name]
            loaded = True
        if loaded:
            _rebuild_dispatch()


# --- cycle tracking and error paths ----------------------------------------------------


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.active: set[int] = set()  # ids of values being hashed: meeting one again is a cycle
        self.functions: set[int] = set()  # ids of functions being hashed (recursive closures)
        # Proxies met whose value no longer hashes to their value id: see
        # hashing.values.changed_proxies.
        self.changed: list[Any] = []


_tls = _ThreadState()
_CYCLE = (
    "it refers back to a value that contains it (a reference cycle); break the cycle, "
    "or register a hasher for the type that holds the back reference"
)


def _guard(handler: _Handler) -> _Handler:
    """Wrap the handler of a type whose values can be part of a reference cycle.

    Only mutable containers and objects can close a cycle, so tuples, frozensets and
    scalars (the cache-hit hot path) go unguarded.  ``RecursionError`` is no substitute:
    CPython 3.13.0 does not enforce the recursion limit on calls to functions with
    default arguments, so a cycle would recurse until memory runs out.
    """

    def guarded(obj: Any) -> bytes:
        active = _tls.active
        key = id(obj)
        if key in active:
            raise _Unhashable(_type_name(type(obj)), _CYCLE)
        active.add(key)
        try:
            return handler(obj)
        finally:
            active.discard(key)

    guarded.__qualname__ = f"guarded({handler.__qualname__})"
    return guarded


def _blame(exc: _Unhashable, children: Iterable[tuple[str, object]]) -> None:
    """Record in ``exc`` which child failed.  Error path only: it re-hashes children."""
    for label, child in children:
        try:
            _digest(child)
        except _Unhashable:
            exc.where.append(label)
            return
        except RecursionError:
            return


def _indexed(items: Iterable[object], fmt: str = "[{}]") -> Iterator[tuple[str, object]]:
    return ((fmt.format(i), x) for i, x in enumerate(items))
