"""Why a computed value cannot be stored, said in terms its author can act on.

A function has run and its value cannot be hashed or written (it holds a lock,
a generator, a module, an open file...).  The value is correct, so it is
handed back unstored, with an :class:`~provenance.errors.UnstorableValueWarning`
that names the function and the place inside the value that is to blame
(:func:`unstorable_warning`).  Finding that place pickles the value's parts
one by one, which is slow on a big value but happens only on this path.
"""

from __future__ import annotations

import os
import pickle
import sys
import types
from collections.abc import Iterator, Mapping
from typing import Any

import cloudpickle

from .errors import HashingError, SerializationError, UnstorableValueWarning
from .hashing import hash_value
from .inputs import unwrap

__all__ = [
    "UNSTORABLE",
    "caller_stacklevel",
    "qualified_name",
    "unpicklable_part",
    "unstorable_keys",
    "unstorable_warning",
]

#: The errors that say the value itself cannot be written, as opposed to the
#: store failing (``OSError`` and the storage errors, which are raised).
UNSTORABLE = (TypeError, ValueError, AttributeError, pickle.PicklingError, SerializationError)

#: How many parts :func:`unpicklable_part` tries before it settles for what it found.
_MAX_TRIES = 10_000


def _parts(value: Any) -> Iterator[tuple[str, Any]]:
    """The direct parts of ``value`` that pickling visits, with their path step.

    A module, class or function is a whole: its namespace is not what failed.
    """
    if isinstance(value, (types.ModuleType, type, types.FunctionType)):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield f"[{key!r}]", item
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield f"[{i}]", item
    elif isinstance(value, (set, frozenset)):
        for item in value:
            yield f"{{{item!r}}}", item
    else:
        state = getattr(value, "__dict__", None)
        if isinstance(state, dict):
            for name, item in state.items():
                yield f".{name}", item


def unpicklable_part(value: Any, serializer: str = "joblib") -> tuple[str, Any] | None:
    """The path to the innermost part of ``value`` that cannot be pickled, and that part.

    ``serializer`` says which pickler to ask: cloudpickle for ``"cloudpickle"``
    (it writes modules and local functions by value), the standard one
    otherwise, as joblib's is.  ``None`` if ``value`` pickles (the serializer
    refused it for another reason), or if no part is to blame alone.
    """
    dumps = cloudpickle.dumps if serializer == "cloudpickle" else pickle.dumps

    def _pickles(part: Any) -> bool:
        try:
            dumps(part)
        except Exception:
            return False
        return True

    if _pickles(value):
        return None
    path, tries = "", 0
    while True:
        for step, part in _parts(value):
            tries += 1
            if tries > _MAX_TRIES:
                return path, value
            if not _pickles(part):
                path, value = path + step, part
                break
        else:
            return path, value


def unstorable_warning(
    fn_name: str, name: str, serializer: str, exc: BaseException, value: Any
) -> UnstorableValueWarning:
    """The warning for a value of ``fn_name`` that could not be hashed or written.

    Parameters
    ----------
    fn_name : str
        The function's qualified name, as its author knows it.
    name : str
        The artifact's name.
    serializer : str
        The serializer that failed to write it.
    exc : BaseException
        What hashing or writing raised.
    value : Any
        The value returned.
    """
    if isinstance(exc, HashingError):
        # The hasher names the path itself ("... at ['a'][1]['lock']").
        why = f"it cannot be hashed: {exc}"
    else:
        found = unpicklable_part(value, serializer)
        where = ""
        if found is not None:
            path, part = found
            kind = f"{type(part).__module__}.{type(part).__qualname__}"
            where = f" at {path or 'the top level'} (a {kind})"
        why = f"the {serializer} serializer cannot write it: {type(exc).__name__}: {exc}{where}"
    return UnstorableValueWarning(
        f"{fn_name} returned a value that cannot be stored as artifact {name!r}, because {why}. "
        "The computed value is returned unstored, and the function will run again on the next "
        "call: return a value without such parts, or give the function a serializer= that can "
        "write it"
    )


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package.

    The user's call, however many of the library's frames (a composite's
    members, a flow's step) lie between it and the warning.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def qualified_name(fn: Any, name: str) -> str:
    """``module.qualname`` of a decorated function, for messages (its artifact name if unknown)."""
    target = getattr(fn, "__wrapped__", None)
    where = getattr(target, "__module__", None)
    what = getattr(target, "__qualname__", None)
    return f"{where}.{what}" if where and what else name


def unstorable_keys(values: Mapping[str, Any], serializer: Any) -> list[str]:
    """The keys of a composite whose values cannot be hashed or pickled (for the warning)."""
    named = serializer if isinstance(serializer, Mapping) else {}
    keys = []
    for key, item in values.items():
        try:
            hash_value(item)
        except HashingError:
            keys.append(key)
            continue
        if unpicklable_part(unwrap(item), named.get(key) or "joblib") is not None:
            keys.append(key)
    return keys
