"""Normalizing the arguments of a call by the function's signature."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CallSignature", "fn_info", "remove_inputs_fn", "with_merged_defaults"]


class CallSignature:
    """Normalizes call arguments: ``f(1, b=2)``, ``f(1, 2)`` and ``f(1)`` (b=2 default) agree."""

    def __init__(self, fn: Callable[..., Any], merge_defaults: Any) -> None:
        # A partial's fixed arguments are part of the call: bind against the
        # wrapped function so they are hashed and recorded like the others.
        self.fixed_args: tuple[Any, ...] = ()
        self.fixed_kwargs: dict[str, Any] = {}
        while isinstance(fn, functools.partial):
            self.fixed_args = fn.args + self.fixed_args
            self.fixed_kwargs = {**fn.keywords, **self.fixed_kwargs}
            fn = fn.func
        self.target = fn
        self.signature = inspect.signature(fn)
        params = list(self.signature.parameters.values())
        self.var_positional = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
        self.var_keyword = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
        dict_defaults = {p.name: p.default for p in params if isinstance(p.default, Mapping)}
        if merge_defaults is True:
            self.merge = dict_defaults
        elif merge_defaults:
            names = [merge_defaults] if isinstance(merge_defaults, str) else list(merge_defaults)
            missing = [n for n in names if n not in dict_defaults]
            if missing:
                raise ValueError(
                    f"merge_defaults names {missing}, which are not parameters with a dict default"
                )
            self.merge = {n: dict_defaults[n] for n in names}
        else:
            self.merge = {}
        # Most functions take plain parameters: bind those without
        # inspect.Signature.bind, which costs more than the rest of a cache hit.
        simple = all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params)
        self.simple = simple and not self.merge and not self.fixed_args and not self.fixed_kwargs
        self.names = tuple(p.name for p in params)
        self.defaults = {p.name: p.default for p in params if p.default is not p.empty}

    def names_in(self, parameter: str, names: Any) -> frozenset[str]:
        """The parameter names given to ``ignore=`` or ``remove=``, checked against the signature.

        A single string is one name (``ignore="verbose"``), not its letters.

        Raises
        ------
        TypeError
            If ``names`` is not a string or a collection of strings.
        ValueError
            If a name is not a parameter of the function (any keyword is, for a
            function taking ``**kwargs``), or names its ``*args``.
        """
        if names is None:
            return frozenset()
        listed = [names] if isinstance(names, str) else names
        try:
            listed = list(listed)
        except TypeError:
            raise TypeError(
                f"{parameter} must be a parameter name or a list of them, got {names!r}"
            ) from None
        bad = [n for n in listed if not isinstance(n, str)]
        if bad:
            raise TypeError(f"{parameter} must hold parameter names (str), got {bad[0]!r}")
        own = [n for n in self.names if n not in (self.var_positional, self.var_keyword)]
        if self.var_positional in listed:
            raise ValueError(
                f"{parameter} names *{self.var_positional} of {self.target.__qualname__}: "
                "positional extras cannot be left out by name"
            )
        unknown = [n for n in listed if n not in own and n != self.var_keyword]
        if unknown and self.var_keyword is None:
            raise ValueError(
                f"{parameter} names {', '.join(map(repr, unknown))}, not a parameter of "
                f"{self.target.__qualname__}{self.signature}; its parameters: {', '.join(own)}"
            )
        return frozenset(listed)

    def bind(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[list[Any], dict[str, Any], tuple[Any, ...], dict[str, Any]]:
        """``(varargs, kargs, call_args, call_kwargs)``: the call as hashed, and as made."""
        if self.simple and len(args) <= len(self.names):
            kargs = dict(zip(self.names, args))
            ok = True
            for key, value in kwargs.items():
                if key in kargs or key not in self.defaults and key not in self.names:
                    ok = False  # let the full binder raise the proper TypeError
                    break
                kargs[key] = value
            if ok and len(kargs) < len(self.names):
                for name in self.names:
                    if name not in kargs:
                        if name not in self.defaults:
                            ok = False
                            break
                        kargs[name] = self.defaults[name]
            if ok:
                return [], kargs, args, dict(kwargs)
        return self._bind_full(args, kwargs)

    def _bind_full(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> tuple[list[Any], dict[str, Any], tuple[Any, ...], dict[str, Any]]:
        if self.fixed_args or self.fixed_kwargs:
            args = self.fixed_args + tuple(args)
            kwargs = {**self.fixed_kwargs, **kwargs}
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        for name, default in self.merge.items():
            given = bound.arguments.get(name)
            if isinstance(given, Mapping) and given is not default:
                bound.arguments[name] = {**default, **given}
        varargs: list[Any] = []
        kargs: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name == self.var_positional:
                varargs = list(value)
            elif name == self.var_keyword:
                kargs.update(value)
            else:
                kargs[name] = value
        return varargs, kargs, bound.args, bound.kwargs


def remove_inputs_fn(names: frozenset[str]) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """An ``input_process_fn`` / ``input_hash_fn`` that drops the named parameters.

    ``None`` for no names: the caller's own function (or none) applies.
    """
    if not names:
        return None

    def remove(inputs: dict[str, Any]) -> dict[str, Any]:
        kargs = {k: v for k, v in inputs["kargs"].items() if k not in names}
        return {"kargs": kargs, "varargs": inputs["varargs"]}

    return remove


def with_merged_defaults(*parameters: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Merge dict arguments into the parameter's default dict (the original's ``utils`` helper).

    ``f(config={"lr": 0.1})`` calls ``f`` with the default ``config`` updated
    by the keys given.  With no names, every parameter whose default is a dict
    merges; with names, those.  A decorated function wrapping the result
    (``@provenance()``) merges the same way, so equal merged calls share an id.
    """
    merge: Any = list(parameters) or True

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = CallSignature(fn, merge)

        @functools.wraps(fn)
        def merged(*args: Any, **kwargs: Any) -> Any:
            _, _, call_args, call_kwargs = signature._bind_full(args, kwargs)
            return fn(*call_args, **call_kwargs)

        merged.__merge_defaults__ = merge  # type: ignore[attr-defined]
        return merged

    return decorate


def fn_info(fn: Callable[..., Any]) -> dict[str, Any]:
    """``{'name', 'module', 'varargs', 'kargs'}`` of a function or a partial (the original's)."""
    signature = CallSignature(fn, None)
    target = signature.target
    if signature.fixed_args or signature.fixed_kwargs:
        names = [n for n in signature.names if n not in signature.fixed_kwargs]
        kargs = dict(zip(names, signature.fixed_args))
        varargs = tuple(signature.fixed_args[len(names) :])
        kargs.update(signature.fixed_kwargs)
    else:
        kargs, varargs = {}, ()
    return {
        "name": getattr(target, "__name__", repr(target)),
        "module": getattr(target, "__module__", None),
        "varargs": varargs,
        "kargs": kargs,
    }
