"""The registry of named serializers: register, look up, choose one for a value.

Serialization is kept apart from hashing (a value's id never depends on how it
is stored).  Each artifact records the *name* of the serializer that wrote it,
so it is always read back by the same one.  Like the original library, a
serializer works on file names: ``dump(value, filename, **dump_kwargs)`` and
``load(filename, **load_kwargs)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnknownSerializer

__all__ = [
    "DEFAULT_SERIALIZER",
    "Serializer",
    "available_serializers",
    "get_serializer",
    "register_serializer",
    "serializer_for",
]

DEFAULT_SERIALIZER = "joblib"


@dataclass(frozen=True)
class Serializer:
    """A named pair of functions that write a value to a file and read it back.

    Parameters
    ----------
    name : str
        The name recorded on every artifact written with it.
    dump : callable
        ``dump(value, filename, **dump_kwargs)``; must write the whole value to
        ``filename`` (which does not exist yet) or raise.
    load : callable
        ``load(filename, **load_kwargs)``; must return a value equal to the one
        dumped.
    content_type : str, optional
        A MIME type for stores that keep one (S3).
    classes : tuple of type
        Values of these classes use this serializer when a decorated function
        does not name one.
    loads : callable, optional
        ``loads(data)``: the same as ``load`` from bytes already in memory.
        Small values are read, verified and loaded in one pass through it.
    dump_to : callable, optional
        ``dump_to(value, fileobj, **dump_kwargs)``: the same as ``dump`` into
        a writable file object, which lets the value be hashed while it is
        written and kept in memory when it is small.
    """

    name: str
    dump: Callable[..., None]
    load: Callable[..., Any]
    content_type: str | None = None
    classes: tuple[type, ...] = field(default_factory=tuple)
    loads: Callable[[bytes], Any] | None = None
    dump_to: Callable[..., None] | None = None


_lock = threading.Lock()
_registry: dict[str, Serializer] = {}


def register_serializer(
    name: str,
    dump: Callable[..., None],
    load: Callable[..., Any],
    content_type: str | None = None,
    classes: Iterable[type] | None = None,
    loads: Callable[[bytes], Any] | None = None,
    dump_to: Callable[..., None] | None = None,
) -> Serializer:
    """Register a serializer under ``name`` (replacing one of the same name).

    Parameters
    ----------
    name : str
        The name to use in ``@provenance(serializer=name)``.
    dump, load : callable
        See :class:`Serializer`.
    content_type : str, optional
        A MIME type for the stored object.
    classes : iterable of type, optional
        Values of these classes are stored with this serializer by default.
    loads : callable, optional
        ``loads(data)`` equivalent to ``load`` on bytes in memory.
    dump_to : callable, optional
        ``dump_to(value, fileobj, **dump_kwargs)`` equivalent to ``dump``
        into a file object.

    Returns
    -------
    Serializer
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"serializer name must be a non-empty string, got {name!r}")
    if not callable(dump) or not callable(load):
        raise TypeError(f"serializer {name!r}: dump and load must be callable")
    serializer = Serializer(name, dump, load, content_type, tuple(classes or ()), loads, dump_to)
    with _lock:
        _registry[name] = serializer
    return serializer


def get_serializer(name: str) -> Serializer:
    """Return the serializer registered as ``name``.

    Raises
    ------
    UnknownSerializer
        If no serializer has that name; the message lists those that exist.
    """
    try:
        return _registry[name]
    except KeyError:
        raise UnknownSerializer(
            f"unknown serializer {name!r}; registered serializers: {', '.join(sorted(_registry))}"
        ) from None


def available_serializers() -> list[str]:
    """The names of all registered serializers, sorted."""
    return sorted(_registry)


def serializer_for(value: Any) -> str:
    """The serializer to use for ``value`` when none was named.

    The first registered serializer that lists one of the value's classes
    wins; otherwise the default (``joblib``).
    """
    for serializer in list(_registry.values()):
        if serializer.classes and isinstance(value, serializer.classes):
            return serializer.name
    return DEFAULT_SERIALIZER
