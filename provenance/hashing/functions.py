"""Handlers of classes, modules, functions, methods and partials.

Classes and modules hash by name only.  Functions hash module, qualname, source
text of the ``def`` (see :mod:`.source`), defaults and closure cell values;
globals and called functions are not followed.  Without source, the code
object's bytecode, names and constants are used, which change between Python
versions.
"""

from __future__ import annotations

import functools
import types
import weakref
from typing import Any

from .containers import _d_tuple
from .core import _BUILTIN, _BY_KIND, _blame, _digest, _h, _tls, _type_name, _Unhashable
from .scalars import _NONE, _d_str
from .source import _function_source

_EMPTY_CELL = _h(b"empty-cell:")


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


_BUILTIN.update(
    {
        type: _d_class,
        types.FunctionType: _d_function,
        types.MethodType: _d_method,
        types.BuiltinFunctionType: _d_builtin,
        types.ModuleType: _d_module,
        functools.partial: _d_partial,
    }
)
_BY_KIND["class"] = _d_class
