"""The guards of a call: what a decorated call refuses or warns about.

A function that changes its arguments in place (:func:`check_impure`), a
cache hit made by other code under an unchanged ``version=``
(:func:`warn_if_code_changed`), and a ``str`` argument that names a file
(:func:`warn_path_arguments`), and an artifact's value changed in place
since it was loaded (:func:`report_changed_proxies`).  Each names the function and the argument.
Two methods of one module that would share a default artifact name are
warned of when decorated.
:func:`ensure_proxies` is the user's own guard: arguments must be proxies.
"""

from __future__ import annotations

import functools
import inspect
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from . import config as _config
from .errors import (
    ArtifactNameWarning,
    CodeChangedWarning,
    HashingError,
    ImpureFunctionError,
    MutatedArtifactValueError,
    MutatedArtifactValueWarning,
    NotAProxyError,
    PathArgumentWarning,
)
from .hashing import hash_value
from .inputs import unwrap
from .storage.artifact import Artifact
from .storage.proxies import CompositeDict, is_proxy

__all__ = [
    "check_impure",
    "ensure_proxies",
    "report_changed_proxies",
    "warn_if_code_changed",
    "warn_path_arguments",
]


def warn_if_code_changed(fn: Any, artifact: Artifact) -> None:
    """Warn once when a hit was computed by other code than the current (same version)."""
    if _config.settings.code_identity != "auto":
        return
    stored = artifact.code_fingerprint
    if stored is None:
        return  # stored before fingerprints were recorded
    current = fn.code_fingerprint().digest
    if stored != current:
        fn._code_warned = True
        other = artifact.fn_name
        if fn._options["name"] is None and other and fn.fn_name and other != fn.fn_name:
            # Default names clash (an explicit shared name= is deliberate).
            warnings.warn(
                f"{fn.name}: the cached artifact {artifact.id} was computed by another "
                f"function, {artifact.fn_module}.{other}, that has the same artifact name "
                f"and version={fn.version}; give one of them its own name=.",
                ArtifactNameWarning,
                stacklevel=3,
            )
            return
        warnings.warn(
            f"{fn.name}: the cached artifact {artifact.id} was computed by other code "
            f"than the current one (code fingerprint {stored[:12]}, now {current[:12]}), "
            f"and is returned because version={fn.version} is unchanged.  Bump version= "
            f"if the change alters results, or drop version= to let the code identify "
            f"results; {fn.name}.why(...) shows the change.",
            CodeChangedWarning,
            stacklevel=3,
        )


def check_impure(fn: Any, inputs: Mapping[str, Any], before: Mapping[str, Any]) -> None:
    # The arguments are hashed again as they were before the call (a
    # proxy by its value id unless its value is mutable, so a value that
    # does not survive serialization exactly is not taken for a change).
    changed = []
    for name, value in inputs["kargs"].items():
        if name in before["kargs"] and _hash_or_none(value) != before["kargs"][name]:
            changed.append(repr(name))
    for i, value in enumerate(inputs["varargs"]):
        if i < len(before["varargs"]) and _hash_or_none(value) != before["varargs"][i]:
            changed.append(f"*args[{i}]")
    if changed:
        raise ImpureFunctionError(
            f"{fn.module_name}.{fn.fn_name}() changed its argument(s) {', '.join(changed)} "
            f"in place, so its result would be recorded against inputs it no longer has; "
            f"nothing was stored.  Copy an argument before changing it."
        )


def warn_path_arguments(fn: Any, inputs: Mapping[str, Any], hashes: Mapping[str, Any]) -> None:
    """Warn once per parameter when a str argument names an existing file or directory.

    Only parameters the id is made from (those in ``hashes``): an ignored one
    cannot give a stale result (``archive_file`` ignores its path).
    """
    identifying = hashes.get("kargs") or {}
    for name, value in inputs["kargs"].items():
        if (
            type(value) is str
            and name in identifying
            and name not in fn._path_warned
            and 0 < len(value) < 4096
            and (os.sep in value or "." in value)
            and "\x00" not in value
            and os.path.exists(value)
        ):
            fn._path_warned.add(name)
            warnings.warn(
                f"{fn.name}(): argument {name!r} is a str naming an existing path "
                f"({value!r}); a str is identified by its text, so an edited file gives "
                f"the old result.  Pass provenance.File({value!r}) to identify it by its "
                f"contents.",
                PathArgumentWarning,
                stacklevel=4,
            )


def _hash_or_none(value: Any) -> str | None:
    try:
        return hash_value(value)
    except HashingError:
        return None  # the function made its argument unhashable: a change all the same


def report_changed_proxies(
    fn: Any, proxies: list[Any], value: Any, where: str, plain: set[int] | None
) -> Any:
    """Report ``proxies``, changed in place, found in ``value``; ``value`` without them."""
    if plain is not None:
        plain.update(id(p) for p in proxies)
    for proxy in proxies:
        artifact = proxy.artifact
        message = (
            f"{fn.name}(): argument {where} is the value of artifact {artifact.id} "
            f"({artifact.name}), changed in place since it was made: it no longer "
            f"hashes to its value id {artifact.value_id}."
        )
        if _config.settings.check_mutations:
            raise MutatedArtifactValueError(
                message + " Copy a loaded value before changing it (copy.deepcopy), or "
                "pass the changed value as a plain value."
            )
        warnings.warn(
            message + " The call uses it as a new plain value (a new id, no lineage to "
            "that artifact); copy a loaded value before changing it to keep its lineage.",
            MutatedArtifactValueWarning,
            stacklevel=4,
        )
    # Recorded as the value it holds: a reference to the artifact would
    # bring back the old value when the inputs are loaded.
    return _without_proxies(value, {id(p) for p in proxies})


def _without_proxies(value: Any, ids: set[int]) -> Any:
    """``value`` with the proxies of ``ids`` replaced by their values.

    In lists, tuples, dicts and composites, where the summary and the lineage
    look; elsewhere the pickled inputs hold their values (see ``dumps_inputs``).
    """
    if id(value) in ids:
        return unwrap(value)
    kind = type(value)
    if kind in (list, tuple):
        return kind(_without_proxies(v, ids) for v in value)
    if kind is dict:
        return {k: _without_proxies(v, ids) for k, v in value.items()}
    if isinstance(value, CompositeDict) and any(id(v) in ids for v in value._values.values()):
        # A member changed: the composite is no longer its artifact's value.
        return {k: _without_proxies(value[k], ids) for k in value}
    return value


def ensure_proxies(*parameters: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require that the named arguments (all, when none are named) are artifact proxies.

    Use it on functions whose lineage must be tracked: passing a raw value
    instead of a proxy raises :class:`~provenance.NotAProxyError` (a
    ``ValueError``, as in the original library, and a ``TypeError``) naming
    the parameters, before the function runs.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        unknown = [name for name in parameters if name not in sig.parameters]
        if unknown:
            raise ValueError(
                f"ensure_proxies: {getattr(fn, '__name__', fn)!r} has no parameter(s) "
                f"{', '.join(map(repr, unknown))}"
            )

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            names = parameters or tuple(bound.arguments)
            not_proxies = [
                name
                for name in names
                if name in bound.arguments and not is_proxy(bound.arguments[name])
            ]
            if not_proxies:
                # The original library's message, word for word.
                raise NotAProxyError(
                    f"Arguments must be `ArtifactProxy`s but were not: [{', '.join(not_proxies)}]"
                )
            return fn(*args, **kwargs)

        return wrapper

    return decorate


#: Default artifact name -> qualified name of the first function that took it here.
_default_names: dict[str, str] = {}


def _claim_default_name(name: str, qualname: str | None) -> None:
    """Warn when two methods of one module would share a default artifact name.

    The default name uses ``__name__``, as the original library's did, so
    ``CsvReader.load`` and ``JsonReader.load`` are both ``module.load``; with
    ``version=`` their results would be taken for each other's.
    """
    if not qualname or "<locals>" in qualname:
        return  # redefinitions (notebooks, tests) are not collisions
    first = _default_names.setdefault(name, qualname)
    if first != qualname and "." in qualname + first:
        warnings.warn(
            f"{qualname} and {first} share the default artifact name {name!r}: give one of "
            f"them name=, or they may be served each other's results",
            ArtifactNameWarning,
            stacklevel=4,
        )
