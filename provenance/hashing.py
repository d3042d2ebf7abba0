"""Canonical, stable and fast hashing of Python values.

A value's id depends only on the value: not on dict or set iteration order, on
``PYTHONHASHSEED``, on the pickle protocol, on the process or (for everything
but the bytecode fallback of functions without source) on the Python minor
version.  Ids are 128-bit xxh3 digests, written as 32 lowercase hex characters.

Encoding
--------
Every value is encoded as one message, ``tag + payload``, and its digest is
``xxh3_128`` of that message.  Tags are ASCII words ending in ``:``, so no tag is
a prefix of another and values of different types never share a message.  The
message length is part of the hash input, so variable-length payloads (a
string's UTF-8 bytes, an int's two's-complement bytes) need no length prefix.

Containers are Merkle nodes: their payload is the concatenation of the 16-byte
digests of their elements (fixed size, hence unambiguous).  So any element
contributes exactly its own :func:`value_digest`; in particular an artifact
proxy inside a container contributes the id of the value it stands for, and
``hash_value([proxy]) == hash_value([raw_value])``.

Choices
-------
* ``1``, ``1.0``, ``True``, ``"1"``, ``b"1"``, ``(1,)`` and ``[1]`` all differ, as
  do ``bytes`` and ``bytearray``, ``set`` and ``frozenset``, ``list`` and
  ``tuple``, a Python float and a numpy ``float64``.  Subclasses of built-in
  types (``class Name(str)``) keep their class: they are hashed by reduction.
* ``0.0`` and ``-0.0`` differ; every float NaN (Python or numpy scalar) hashes
  alike.  Inside numpy arrays floats are hashed as raw bytes, so there the sign
  and payload bits of a NaN count.
* ``dict`` ignores insertion order; ``OrderedDict`` does not (it compares
  order-sensitively too).  Sets ignore iteration order.
* ``Decimal("1.0")`` and ``Decimal("1.00")`` differ (their ``str`` differs).
* ``range`` hashes the sequence it denotes (``range(0, 3, 2) == range(0, 4, 2)``),
  paths hash their flavour and posix string (Windows paths case-folded, as they
  compare), tz-aware datetimes hash their ISO form with the UTC offset plus
  ``tzname()``.
* Functions hash module, qualname, source text of the ``def`` (decorators
  excluded; for lambdas just the lambda expression), defaults and closure cell
  values (an unhashable cell value contributes only its type name).  Globals
  and called functions are not followed.  Without source, the code object's
  bytecode, names and constants are used, which change between Python
  versions.  Classes and modules hash by name only.
* Any other object is hashed through ``copyreg``/``__reduce_ex__(4)``: the
  reconstructor by qualified name, its arguments and state recursively.  Objects
  that refuse to pickle (locks, open files, generators, sockets) raise
  :class:`~provenance.errors.HashingError`, naming the type and its path in
  the value.  Classes are named by module and qualname, so a class defined in
  ``__main__`` hashes differently once moved into a module.
* A value that is referred to again while it is being hashed (a reference
  cycle) raises; the same value shared at several places is fine.
* numpy arrays hash ``dtype.str`` (plus ``descr`` for structured dtypes), the
  shape and the contents in logical C order: C-contiguous data is hashed in
  place, anything else is streamed through a small buffer, so a Fortran array,
  a strided view and their copy hash alike.  Object and ``StringDType`` arrays
  hash element by element; structured arrays field by field (padding ignored).
  Subclasses (masked arrays, matrices) are hashed by reduction.
* pandas objects hash their values column by column (numeric columns as numpy
  arrays, object and string columns element by element, exactly: unlike
  ``hash_pandas_object``, ``1`` and ``"1"`` or ``None`` and ``"None"`` differ),
  the dtype of each column, the index, column labels and names.  Index labels
  held with ``object`` or string dtype hash alike (pandas 2 and 3 infer
  different dtypes for the same labels), and a ``RangeIndex`` hashes like the
  ``int64`` Index of its values.  Nullable columns ignore what lies under the
  mask; categoricals hash their categories in order and their codes.
* numpy and pandas handlers are installed the first time a value of a
  not-yet-seen type is hashed while numpy or pandas is imported: importing this
  module imports neither.

Bump the suffix of :data:`HASH_SCHEME` whenever any id changes.
"""

from __future__ import annotations

import copyreg
import functools
import os
import struct
import sys
import threading
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar, overload

import xxhash

from .errors import HashingError

__all__ = [
    "DIGEST_SIZE",
    "HASH_SCHEME",
    "hash_bytes",
    "hash_file",
    "hash_value",
    "new_hasher",
    "register_hasher",
    "value_digest",
]

HASH_SCHEME: str = "xxh3_128/1"
"""Name and version of the value-id scheme; stored with every artifact."""

DIGEST_SIZE: int = 16
"""Size in bytes of a value digest (ids are twice as many hex characters)."""

_T = TypeVar("_T")
_Handler = Callable[[Any], bytes]

_h = xxhash.xxh3_128_digest
_pack_d = struct.Struct("<d").pack
_pack_dd = struct.Struct("<dd").pack
_pack_q = struct.Struct("<q").pack
# Above this size bytes-like values are streamed rather than concatenated with their tag.
_STREAM_MIN = 1 << 16
_CHUNK_ITEMS = 1 << 16  # RangeIndex values materialised per step (512 KiB)
_BLOCK_BYTES = 1 << 20  # buffer for hashing non-contiguous arrays in C order
_TILE_BYTES = 1 << 14  # tile of that buffer filled at once when transposing (L1-sized)
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
_DISPATCH: dict[type, _Handler] = {}
_get = _DISPATCH.get
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


def _resolve(t: type) -> _Handler:
    # The proxy rule comes first and looks at type(obj): wrapt proxies forward __class__
    # (and so isinstance and singledispatch) to the wrapped value.
    if getattr(t, "_provenance_value_id_", None) is not None:
        return _d_proxy
    if _PENDING:
        _load_pending()
    mro = getattr(t, "__mro__", (t,))
    for base in mro:
        if base in _REGISTERED:
            return _REGISTERED[base]
        if base is t and t in _BUILTIN:
            return _BUILTIN[t]
        if base in _LIBRARY:
            return _LIBRARY[base]
    if issubclass(t, type):
        return _d_class
    enum = sys.modules.get("enum")
    if enum is not None and isinstance(t, enum.EnumMeta):
        return _d_flag if issubclass(t, enum.Flag) else _d_enum
    if hasattr(t, "__dataclass_fields__"):
        return _guarded_dataclass
    if issubclass(t, tuple) and isinstance(getattr(t, "_fields", None), tuple):
        return _d_namedtuple
    return _guarded_reduce


def _rebuild_dispatch() -> None:
    with _lock:
        _DISPATCH.clear()
        for t, handler in _BUILTIN.items():
            if not any(base in _REGISTERED for base in t.__mro__):
                _DISPATCH[t] = handler


# --- public API ---------------------------------------------------------------------


def value_digest(obj: object, path: str = "") -> bytes:
    """Return the 16-byte canonical digest of a value.

    Parameters
    ----------
    obj : object
        Any value; see the module docstring for how each kind is encoded.
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


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """Return the xxh3_128 hex digest of raw bytes, with no type tag.

    This addresses stored content (blobs), so ``hash_bytes(b) == hash_file(p)``
    when ``p`` holds ``b``; it is *not* the value id of ``b`` (see :func:`hash_value`).

    Parameters
    ----------
    data : bytes, bytearray or memoryview
        A C-contiguous buffer; it is hashed without copying.
    """
    return xxhash.xxh3_128_hexdigest(data)


def new_hasher() -> xxhash.xxh3_128:
    """Return a streaming xxh3_128 hasher (``update``, ``digest``, ``hexdigest``).

    Feeding it the bytes of a blob piece by piece gives :func:`hash_bytes` of the whole.
    """
    return xxhash.xxh3_128()


def hash_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Return the xxh3_128 hex digest of a file's content, reading it in chunks.

    Parameters
    ----------
    path : str or os.PathLike
        The file to hash.
    chunk_size : int, optional
        Bytes read per system call; one buffer of this size is reused, so memory
        use does not grow with the file.

    Returns
    -------
    str
        Equal to ``hash_bytes(content)``.
    """
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    hasher = xxhash.xxh3_128()
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            hasher.update(view[:n])
    return hasher.hexdigest()


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


# --- scalars ------------------------------------------------------------------------
_NONE = _h(b"none:")
_TRUE = _h(b"bool:\x01")
_FALSE = _h(b"bool:\x00")
_ELLIPSIS = _h(b"ellipsis:")
_NOTIMPLEMENTED = _h(b"notimplemented:")
_NAN = _h(b"float:nan")
_ABSENT = _h(b"absent:")
_EMPTY_CELL = _h(b"empty-cell:")
_CANON_NAN = float("nan")


def _d_none(obj: None) -> bytes:
    return _NONE


def _d_bool(obj: bool) -> bytes:
    return _TRUE if obj else _FALSE


def _d_int(n: int) -> bytes:
    if 0 <= n < 1024:  # small ints are the common arguments: skip the encoding
        return _SMALL_INTS[n]
    # Signed little-endian: 8 bytes when they suffice, else the minimal length (always more
    # than 8), so the encoding stays injective; no digit limit, unlike str(n).
    try:
        return _h(b"int:" + _pack_q(n))
    except struct.error:
        return _h(b"int:" + n.to_bytes((n.bit_length() + 8) >> 3, "little", signed=True))


_SMALL_INTS = tuple(_h(b"int:" + _pack_q(i)) for i in range(1024))


def _d_float(x: float) -> bytes:
    if x != x:
        return _NAN
    return _h(b"float:" + _pack_d(x))


def _d_complex(z: complex) -> bytes:
    re, im = z.real, z.imag
    return _h(
        b"complex:" + _pack_dd(re if re == re else _CANON_NAN, im if im == im else _CANON_NAN)
    )


def _d_str(s: str) -> bytes:
    try:
        return _h(b"str:" + s.encode())
    except UnicodeEncodeError:  # lone surrogates, e.g. from os.fsdecode
        return _h(b"str:" + s.encode("utf-8", "surrogatepass"))


def _tagged_buffer(tag: bytes, data: Any) -> bytes:
    if len(data) < _STREAM_MIN:
        return _h(tag + data)
    hasher = xxhash.xxh3_128(tag)  # same digest as one-shot, without copying the data
    hasher.update(data)
    return hasher.digest()


def _d_bytes(b: bytes) -> bytes:
    return _tagged_buffer(b"bytes:", b)


def _d_bytearray(b: bytearray) -> bytes:
    return _tagged_buffer(b"bytearray:", b)


def _d_memoryview(m: memoryview) -> bytes:
    data = m if m.c_contiguous else m.tobytes()
    return _h(b"memoryview:" + _d_str(m.format) + _d_tuple(m.shape or ()) + _h(data))


def _d_ellipsis(obj: object) -> bytes:
    return _ELLIPSIS


def _d_notimplemented(obj: object) -> bytes:
    return _NOTIMPLEMENTED


# --- containers ---------------------------------------------------------------------


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.active: set[int] = set()  # ids of values being hashed: meeting one again is a cycle
        self.functions: set[int] = set()  # ids of functions being hashed (recursive closures)


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


def _d_tuple(t: tuple[Any, ...]) -> bytes:
    try:
        return _h(b"tuple:" + b"".join([_get(type(x), _rd)(x) for x in t]))
    except _Unhashable as exc:
        _blame(exc, _indexed(t))
        raise


def _d_list(t: list[Any]) -> bytes:
    try:
        return _h(b"list:" + b"".join([_get(type(x), _rd)(x) for x in t]))
    except _Unhashable as exc:
        _blame(exc, _indexed(t))
        raise


def _dict_children(d: dict[Any, Any], attrs: bool) -> Iterator[tuple[str, object]]:
    for k, v in d.items():
        yield f"<key {_short(k)}>", k
        yield (f".{k}" if attrs and type(k) is str else f"[{_short(k)}]"), v


def _d_dict(d: dict[Any, Any], attrs: bool = False) -> bytes:
    try:
        try:  # str keys inline (a third faster on big dicts); _d_str gives the same digest
            parts = [
                (_h(b"str:" + k.encode()) if type(k) is str else _get(type(k), _rd)(k))
                + _get(type(v), _rd)(v)
                for k, v in d.items()
            ]
        except UnicodeEncodeError:  # a key with lone surrogates
            parts = [_get(type(k), _rd)(k) + _get(type(v), _rd)(v) for k, v in d.items()]
    except _Unhashable as exc:
        _blame(exc, _dict_children(d, attrs))
        raise
    # Sorting the (key digest + value digest) pairs sorts by key digest: order-independent.
    return _h(b"dict:" + _sorted_join(parts, 32))


def _d_odict(d: OrderedDict[Any, Any]) -> bytes:
    try:
        parts = [_get(type(k), _rd)(k) + _get(type(v), _rd)(v) for k, v in d.items()]
    except _Unhashable as exc:
        _blame(exc, _dict_children(d, False))
        raise
    return _h(b"odict:" + b"".join(parts))


def _sorted_digests(s: Iterable[Any]) -> bytes:
    try:
        parts = [_get(type(x), _rd)(x) for x in s]
    except _Unhashable as exc:
        _blame(exc, (("{" + _short(x) + "}", x) for x in s))
        raise
    return _sorted_join(parts, 16)


def _sorted_join(parts: list[bytes], size: int) -> bytes:
    """``b"".join(sorted(parts))`` for digests of ``size`` bytes each."""
    np = sys.modules.get("numpy") if len(parts) >= 512 else None
    if np is not None:
        # Same bytes, 2-4x sooner: numpy compares fixed-width "S" items like memcmp.
        try:
            return bytes(np.sort(np.frombuffer(b"".join(parts), dtype=f"S{size}")).tobytes())
        except Exception:  # numpy half-imported by another thread: sort in Python
            pass
    parts.sort()
    return b"".join(parts)


def _d_set(s: set[Any]) -> bytes:
    return _h(b"set:" + _sorted_digests(s))


def _d_frozenset(s: frozenset[Any]) -> bytes:
    return _h(b"frozenset:" + _sorted_digests(s))


def _d_range(r: range) -> bytes:
    # Hash the sequence denoted, as range equality does: range(0, 3, 2) == range(0, 4, 2).
    if not r:
        return _h(b"range:")
    last = r[-1]
    step = r.step if last != r.start else 0
    return _h(b"range:" + _d_int(r.start) + _d_int(last) + _d_int(step))


def _d_slice(s: slice) -> bytes:
    return _h(b"slice:" + _d_tuple((s.start, s.stop, s.step)))


# --- classes, functions, modules ----------------------------------------------------


def _d_class(cls: type) -> bytes:
    return _h(
        b"class:"
        + _digest(getattr(cls, "__module__", None))
        + _d_str(getattr(cls, "__qualname__", None) or cls.__name__)
    )


def _ref(f: Any) -> bytes:
    """Digest a reconstructor or builtin by qualified name, never by its code."""
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None)
    if not isinstance(name, str):
        return _digest(f)
    owner = getattr(f, "__self__", None)
    bound = b"" if owner is None or type(owner) is types.ModuleType else _digest(owner)
    return _h(b"ref:" + _digest(getattr(f, "__module__", None)) + _d_str(name) + bound)


def _d_module(m: types.ModuleType) -> bytes:
    return _h(b"module:" + _d_str(m.__name__))


def _d_builtin(f: types.BuiltinFunctionType) -> bytes:
    return _h(b"builtin:" + _ref(f))


def _d_method(m: types.MethodType) -> bytes:
    try:
        return _h(b"method:" + _digest(m.__func__) + _digest(m.__self__))
    except _Unhashable as exc:
        _blame(exc, [(".__func__", m.__func__), (".__self__", m.__self__)])
        raise


def _d_partial(p: functools.partial[Any]) -> bytes:
    extra = vars(p)
    children = [(".func", p.func), (".args", p.args), (".keywords", p.keywords)]
    if extra:
        children.append((".__dict__", extra))
    try:
        return _h(b"partial:" + b"".join([_digest(x) for _, x in children]))
    except _Unhashable as exc:
        _blame(exc, children)
        raise


def _d_function(fn: types.FunctionType) -> bytes:
    active = _tls.functions
    name = _digest(fn.__module__) + _d_str(fn.__qualname__)
    if id(fn) in active:  # a recursive closure: refer back by name, deterministically
        return _h(b"function-ref:" + name)
    active.add(id(fn))
    try:
        return _h(
            b"function:"
            + name
            + _code_fingerprint(fn.__code__)
            + _digest(fn.__defaults__)
            + _digest(fn.__kwdefaults__)
            + _closure_digest(fn)
        )
    except _Unhashable as exc:
        _blame(exc, [(".__defaults__", fn.__defaults__), (".__kwdefaults__", fn.__kwdefaults__)])
        raise
    finally:
        active.discard(id(fn))


def _closure_digest(fn: types.FunctionType) -> bytes:
    if not fn.__closure__:
        return _NONE
    parts = []
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__):
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not assigned yet
            parts.append(_d_str(name) + _EMPTY_CELL)
            continue
        try:
            d = _digest(value)
        except (_Unhashable, RecursionError):
            # A captured lock, logger or connection must not make the function unhashable.
            d = _h(b"unhashable:" + _d_str(_type_name(type(value))))
        parts.append(_d_str(name) + d)
    return _h(b"closure:" + b"".join(parts))


# id(code) -> (weak reference to the code object, fingerprint).  Keyed by id because code
# objects compare equal across files; the weak reference detects a reused id.
_CODE_FP: dict[int, tuple[weakref.ref[types.CodeType], bytes]] = {}


def _code_fingerprint(code: types.CodeType) -> bytes:
    key = id(code)
    entry = _CODE_FP.get(key)
    if entry is not None and entry[0]() is code:
        return entry[1]
    source = _function_source(code)
    fp = _h(b"source:" + _d_str(source)) if source is not None else _bytecode_fingerprint(code)

    def forget(ref: weakref.ref[types.CodeType], key: int = key) -> None:
        if _CODE_FP.get(key, (None,))[0] is ref:
            del _CODE_FP[key]

    _CODE_FP[key] = (weakref.ref(code, forget), fp)
    return fp


_PARSED: dict[str, tuple[list[str], Any, str]] = {}  # filename -> (lines, AST, text)


def _parse_file(filename: str) -> tuple[list[str], Any, str] | None:
    import ast
    import linecache

    lines = linecache.getlines(filename)
    if not lines:
        return None
    cached = _PARSED.get(filename)
    if cached is not None and cached[0] is lines:  # linecache returns the same list if unchanged
        return cached
    text = "".join(lines)
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    if len(_PARSED) >= 8:  # ASTs of big files are big
        _PARSED.clear()
    _PARSED[filename] = (lines, tree, text)
    return lines, tree, text


def _function_source(code: types.CodeType) -> str | None:
    """The source of a ``def`` without its decorators, or of a lambda expression alone.

    Like ``inspect.getsource`` it reads the file through ``linecache``, but it parses
    the whole file so that a lambda can be cut out of the statement that holds it.
    """
    import ast
    import textwrap

    parsed = _parse_file(code.co_filename)
    if parsed is None:
        return None
    lines, tree, text = parsed
    first = code.co_firstlineno
    if code.co_name == "<lambda>":
        return _lambda_source(code, tree, text)
    defs = [
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        and n.name == code.co_name
        and first in (n.lineno, min([d.lineno for d in n.decorator_list] + [n.lineno]))
    ]
    if len(defs) != 1:
        return None
    body = "".join(lines[defs[0].lineno - 1 : defs[0].end_lineno])
    return textwrap.dedent(body.replace("\r\n", "\n"))


def _lambda_source(code: types.CodeType, tree: Any, text: str) -> str | None:
    import ast

    nargs = code.co_argcount + code.co_kwonlyargcount
    nargs += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
    argnames = code.co_varnames[:nargs]
    candidates = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
            a = node.args
            names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
            names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
            if tuple(names) == argnames:
                candidates.append(node)
    spots = []
    if len(candidates) > 1 and hasattr(code, "co_positions"):  # Python 3.11+
        spots = [  # zero-width positions (RESUME, the implicit return) point at column 0
            (line, col)
            for line, end_line, col, end_col in code.co_positions()
            if line is not None and col is not None and (end_line, end_col) != (line, col)
        ]
    if spots:
        # Several lambdas with these parameters on one line: keep the smallest whose
        # span holds every located instruction of this code object.

        def holds(n: Any) -> bool:
            start, end = (n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)
            return all(start <= spot < end for spot in spots)

        candidates = [n for n in candidates if holds(n)]
        # Nested spans that hold the same spots: the innermost ends first and starts last.
        candidates.sort(key=lambda n: (n.end_lineno, n.end_col_offset, -n.lineno, -n.col_offset))
        candidates = candidates[:1]
    elif len(candidates) > 1:  # no positions (3.10): compare what each one compiles to
        candidates = [n for n in candidates if _compiles_alike(code, n, text)]
    if len(candidates) != 1:
        return None  # ambiguous: the caller falls back to the bytecode
    return ast.get_source_segment(text, candidates[0])


def _compiles_alike(code: types.CodeType, node: Any, text: str) -> bool:
    """Whether a lambda's source, compiled alone, has ``code``'s constants and names."""
    import ast

    try:
        module = compile(ast.get_source_segment(text, node) or "", "<lambda>", "eval")
    except SyntaxError:
        return False
    alone = next((c for c in module.co_consts if isinstance(c, types.CodeType)), None)
    if alone is None:
        return False
    # Compiled alone, the lambda's free variables become global names.
    return alone.co_consts == code.co_consts and set(alone.co_names) == set(
        code.co_names + code.co_freevars
    )


def _bytecode_fingerprint(code: types.CodeType) -> bytes:
    consts = b"".join(
        [
            _bytecode_fingerprint(c) if isinstance(c, types.CodeType) else _digest(c)
            for c in code.co_consts
        ]
    )
    return _h(
        b"bytecode:"
        + _h(code.co_code)
        + _d_tuple(code.co_names)
        + _d_tuple(code.co_varnames)
        + _d_tuple(code.co_freevars)
        + _h(consts)
    )


# --- enums, dataclasses, namedtuples --------------------------------------------------


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


# --- fallback: reduction ------------------------------------------------------------


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


# --- reduce and dataclass handlers, guarded against cycles ---------------------------
_guarded_reduce = _guard(_d_reduce)
_guarded_dataclass = _guard(_d_dataclass)


def _recursion_error(obj: object, path: str) -> HashingError:
    # Cycles are caught by _guard; this is a value nested deeper than the recursion limit.
    return HashingError(
        f"cannot hash value of type {_type_name(type(obj))}"
        + (f" at {path}" if path else "")
        + ": it is nested too deeply (raise sys.setrecursionlimit(), or register a "
        "hasher for the type that nests)"
    )


# --- handlers installed when their module is first seen imported -----------------------


def _load_datetime() -> None:
    import datetime as dt

    def d_datetime(x: dt.datetime) -> bytes:
        return _h(b"datetime:" + _d_str(x.isoformat()) + _digest(x.tzname()))

    def d_date(x: dt.date) -> bytes:
        return _h(b"date:" + _d_str(x.isoformat()))

    def d_time(x: dt.time) -> bytes:
        return _h(b"time:" + _d_str(x.isoformat()) + _digest(x.tzname()))

    def d_timedelta(x: dt.timedelta) -> bytes:
        return _h(b"timedelta:" + _d_int(x.days) + _d_int(x.seconds) + _d_int(x.microseconds))

    _BUILTIN.update(
        {dt.datetime: d_datetime, dt.date: d_date, dt.time: d_time, dt.timedelta: d_timedelta}
    )


def _load_decimal() -> None:
    import decimal

    _BUILTIN[decimal.Decimal] = lambda x: _h(b"decimal:" + _d_str(str(x)))


def _load_fractions() -> None:
    import fractions

    _BUILTIN[fractions.Fraction] = lambda x: _h(
        b"fraction:" + _d_int(x.numerator) + _d_int(x.denominator)
    )


def _load_uuid() -> None:
    import uuid

    _BUILTIN[uuid.UUID] = lambda x: _h(b"uuid:" + x.bytes)


def _load_pathlib() -> None:
    import pathlib

    # Pure and concrete paths of one flavour compare equal, so they hash alike.
    _LIBRARY[pathlib.PurePosixPath] = lambda p: _h(b"path-posix:" + _d_str(p.as_posix()))
    _LIBRARY[pathlib.PureWindowsPath] = lambda p: _h(
        b"path-windows:" + _d_str(p.as_posix().lower())
    )


def _load_numpy() -> None:
    global _np
    import numpy

    _np = numpy
    _LIBRARY[numpy.ndarray] = _guard(_d_ndarray)  # object arrays can hold themselves
    _LIBRARY[numpy.generic] = _d_npscalar
    _LIBRARY[numpy.dtype] = _dtype_digest


def _load_pandas() -> None:
    global _pd
    import pandas

    _pd = pandas
    _LIBRARY[pandas.DataFrame] = _guard(_d_dataframe)
    _LIBRARY[pandas.Series] = _guard(_d_series)
    _LIBRARY[pandas.Index] = _d_index
    _LIBRARY[pandas.api.extensions.ExtensionArray] = _d_extension_array


_PENDING: dict[str, Callable[[], None]] = {
    "datetime": _load_datetime,
    "decimal": _load_decimal,
    "fractions": _load_fractions,
    "uuid": _load_uuid,
    "pathlib": _load_pathlib,
    "numpy": _load_numpy,
    "pandas": _load_pandas,
}


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


# --- numpy ------------------------------------------------------------------------------
_np: Any = None
_pd: Any = None


def _dtype_digest(dt: Any) -> bytes:
    parts = _d_str(dt.str)
    if dt.fields is not None:
        parts += _digest(dt.descr)  # names, offsets (as padding) and subarray shapes
    elif dt.subdtype is not None:
        parts += _dtype_digest(dt.subdtype[0]) + _d_tuple(dt.subdtype[1])
    elif dt.kind == "T":
        parts += _d_str(repr(dt))  # StringDType options such as na_object
    return _h(b"dtype:" + parts)


def _data_digest(a: Any) -> bytes:
    """Digest of an array's contents in logical C order; copies only if not C-contiguous."""
    if a.dtype.fields is not None:
        # Field by field: padding bytes between fields hold arbitrary garbage.
        return _h(b"".join([_data_digest(a[name]) for name in a.dtype.names]))
    if a.nbytes == 0:
        return _h(b"")
    if not a.flags.c_contiguous:
        return _strided_digest(a)
    return _h(a.reshape(-1).view(_np.uint8))


def _strided_digest(a: Any) -> bytes:
    """Stream a non-C-contiguous array in C order through a small reused buffer.

    One ``np.ascontiguousarray`` would allocate a full copy, and transposing a Fortran
    array in one go runs at a fraction of memory speed; copying blocks of rows, in
    tiles along the last axis when that axis is the slow one, keeps the reads local.
    """
    hasher = xxhash.xxh3_128()  # streaming gives the same digest as one-shot hashing
    n = a.shape[0]
    row_bytes = a.nbytes // n
    transposed = a.ndim > 1 and abs(a.strides[0]) < abs(a.strides[-1])
    rows = min(n, max(64 if transposed else 1, _BLOCK_BYTES // row_bytes))
    width = max(1, _TILE_BYTES // (rows * (row_bytes // a.shape[-1]))) if transposed else 0
    buf = _np.empty((rows,) + a.shape[1:], dtype=a.dtype)
    for i in range(0, n, rows):
        block = a[i : i + rows]
        out = buf[: len(block)]
        if transposed:
            for j in range(0, a.shape[-1], width):
                out[..., j : j + width] = block[..., j : j + width]
        else:
            out[...] = block
        hasher.update(out.reshape(-1).view(_np.uint8))
    return hasher.digest()


def _array_digest(dt: Any, shape: tuple[int, ...], data: bytes) -> bytes:
    return _h(b"ndarray:" + _dtype_digest(dt) + _d_tuple(shape) + data)


def _d_ndarray(a: Any) -> bytes:
    if type(a) is not _np.ndarray:
        return _d_reduce(a)  # subclasses (masked arrays, matrices) carry more than data
    dt = a.dtype
    if dt.hasobject:  # object and StringDType: memory holds pointers, hash the elements
        items = a.ravel().tolist()
        try:
            body = b"".join([_get(type(x), _rd)(x) for x in items])
        except _Unhashable as exc:
            _blame(exc, _indexed(items, "[{}]" if a.ndim == 1 else ".flat[{}]"))
            raise
        return _h(b"ndarray-items:" + _dtype_digest(dt) + _d_tuple(a.shape) + _h(body))
    return _array_digest(dt, a.shape, _data_digest(a))


def _d_npscalar(x: Any) -> bytes:
    dt = x.dtype
    if dt.kind in "fc" and x != x:
        data = b"nan" + _d_complex(complex(x)) if dt.kind == "c" else b"nan"
    elif dt.hasobject or dt.fields is not None:
        data = _d_ndarray(_np.asarray(x))
    else:
        data = x.tobytes()
    return _h(b"npscalar:" + _dtype_digest(dt) + data)


# --- pandas -----------------------------------------------------------------------------


def _pd_values(values: Any) -> bytes:
    """Digest of the values of a Series, an Index or an ExtensionArray, with their dtype."""
    dt = values.dtype
    if isinstance(dt, _np.dtype):
        return _d_ndarray(_np.asarray(values))  # numpy-backed: a view, no copy
    pd = _pd
    arr = values if isinstance(values, pd.api.extensions.ExtensionArray) else values.array
    if isinstance(dt, pd.CategoricalDtype):
        data = _d_index(dt.categories) + _d_bool(bool(dt.ordered)) + _d_ndarray(arr.codes)
    elif isinstance(dt, pd.DatetimeTZDtype):
        data = _d_ndarray(_np.asarray(arr.tz_convert(None)))  # UTC instants; tz in str(dt)
    elif isinstance(arr, (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)):
        # Masked arrays: what lies under the mask is arbitrary, so fill it first.
        mask = _np.asarray(arr.isna())
        fill = False if dt.kind == "b" else 0
        data = _d_ndarray(mask) + _d_ndarray(arr.to_numpy(dtype=dt.numpy_dtype, na_value=fill))
    else:  # strings, periods, intervals, sparse...: element by element, exactly
        data = _d_ndarray(_np.asarray(arr.to_numpy(dtype=object)))
    return _h(b"pandas-values:" + _d_str(str(dt)) + data)


def _range_index_values(idx: Any) -> bytes:
    # Same digest as the equivalent int64 Index (pandas treats them as equal), without
    # materialising a huge range: xxh3 streaming equals one-shot hashing.
    r = range(idx.start, idx.stop, idx.step)
    hasher = xxhash.xxh3_128()
    for i in range(0, len(r), _CHUNK_ITEMS):
        sub = r[i : i + _CHUNK_ITEMS]
        hasher.update(_np.arange(sub.start, sub.stop, sub.step, dtype=_np.int64))
    return _array_digest(_np.dtype(_np.int64), (len(r),), hasher.digest())


def _index_values(idx: Any) -> bytes:
    pd = _pd
    if isinstance(idx, pd.RangeIndex):
        return _range_index_values(idx)
    dt = idx.dtype
    if (isinstance(dt, _np.dtype) and dt.kind == "O") or isinstance(dt, pd.StringDtype):
        # Labels, not data: pandas 3 infers the "str" dtype where pandas 2 made object
        # Indexes, and either holds the same labels; hash them element by element.
        labels = idx.to_numpy(dtype=object)
        try:
            body = b"".join([_get(type(x), _rd)(x) for x in labels])
        except _Unhashable as exc:
            _blame(exc, _indexed(labels))
            raise
        return _h(b"pandas-labels:" + body)
    return _pd_values(idx)


def _d_index(idx: Any) -> bytes:
    try:
        if isinstance(idx, _pd.MultiIndex):
            levels = [_index_values(idx.get_level_values(i)) for i in range(idx.nlevels)]
            return _h(b"pandas-multiindex:" + _d_tuple(tuple(idx.names)) + b"".join(levels))
        return _h(b"pandas-index:" + _digest(idx.name) + _index_values(idx))
    except _Unhashable as exc:
        _blame(exc, [(".name", idx.name), (".names", tuple(idx.names))])
        raise


def _pd_kind(obj: Any) -> bytes:
    # By qualname only: pandas moves its classes between private modules across versions.
    return _d_str(type(obj).__qualname__)


def _d_series(s: Any) -> bytes:
    try:
        return _h(
            b"pandas-series:" + _pd_kind(s) + _digest(s.name) + _d_index(s.index) + _pd_values(s)
        )
    except _Unhashable as exc:
        _blame(exc, [(".name", s.name), (".index", s.index)])
        raise


def _d_dataframe(df: Any) -> bytes:
    try:
        head = _pd_kind(df) + _d_index(df.columns) + _d_index(df.index)
    except _Unhashable as exc:
        _blame(exc, [(".columns", df.columns), (".index", df.index)])
        raise
    columns = []
    for label, column in df.items():
        try:
            columns.append(_pd_values(column))
        except _Unhashable as exc:
            exc.where.append(f"[{_short(label)}]")
            raise
    return _h(b"pandas-dataframe:" + head + _h(b"".join(columns)))


def _d_extension_array(arr: Any) -> bytes:
    return _h(b"pandas-array:" + _pd_kind(arr) + _pd_values(arr))


# --- the built-in table -----------------------------------------------------------------
_BUILTIN.update(
    {
        type(None): _d_none,
        bool: _d_bool,
        int: _d_int,
        float: _d_float,
        complex: _d_complex,
        str: _d_str,
        bytes: _d_bytes,
        bytearray: _d_bytearray,
        memoryview: _d_memoryview,
        tuple: _d_tuple,
        list: _guard(_d_list),
        dict: _guard(_d_dict),
        OrderedDict: _guard(_d_odict),
        set: _d_set,
        frozenset: _d_frozenset,
        range: _d_range,
        slice: _d_slice,
        type(...): _d_ellipsis,
        type(NotImplemented): _d_notimplemented,
        type: _d_class,
        types.FunctionType: _d_function,
        types.MethodType: _d_method,
        types.BuiltinFunctionType: _d_builtin,
        types.ModuleType: _d_module,
        functools.partial: _d_partial,
    }
)
_rebuild_dispatch()
