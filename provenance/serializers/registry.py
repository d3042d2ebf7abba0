"""The registry of named serializers: register, look up, choose one for a value.

Serialization is kept apart from hashing (a value's id never depends on how it
is stored).  Each artifact records the *name* of the serializer that wrote it,
so it is always read back by the same one.  Like the original library, a
serializer works on file names: ``dump(value, filename, **dump_kwargs)`` and
``load(filename, **load_kwargs)``.

Choosing by type works like :func:`functools.singledispatch`, as in the
original library: the most specific class of the value that some serializer
lists wins, and among serializers listing the same class the one registered
last.  A class may be listed by its dotted name (``"pandas.DataFrame"``), so
that registering a serializer for pandas or numpy values imports neither;
the name is matched against ``f"{cls.__module__}.{cls.__qualname__}"`` of
each class in the value's method resolution order.  The candidates of a
type are computed once and cached, so a choice costs a dictionary look-up
and the candidate's ``accepts`` test.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
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
    classes : tuple of type or str
        Values of these classes (or their subclasses) use this serializer when
        a decorated function does not name one.  A ``str`` is a class's dotted
        name, ``module.qualname``, matched without importing the module.
    loads : callable, optional
        ``loads(data)``: the same as ``load`` from bytes already in memory.
        Small values are read, verified and loaded in one pass through it.
    dump_to : callable, optional
        ``dump_to(value, fileobj, **dump_kwargs)``: the same as ``dump`` into
        a writable file object, which lets the value be hashed while it is
        written and kept in memory when it is small.
    accepts : callable, optional
        ``accepts(value) -> bool``, asked before a value of one of ``classes``
        is given to this serializer by type: it must return ``False`` for any
        value that ``load`` would not give back equal (the next candidate,
        or the default, is used instead), and must not raise.
    requires : callable, optional
        ``requires()``: raise :class:`~provenance.MissingDependency`, with the
        extra to install, if a package the serializer needs is missing.
    safe : bool
        Whether ``load`` and ``loads`` cannot run code, whatever the bytes
        hold: a format of plain data (JSON, npy read without pickle,
        parquet), unlike a pickle.  Only safe serializers load from a repo
        that is not trusted (``trusted: false``), and there without load
        kwargs (the artifact records them, so whoever wrote it chose them).
        False unless declared.
    load_from : callable, optional
        ``load_from(fileobj)``: the same as ``load`` (without load kwargs)
        from a binary file object read front to back with ``read`` and
        ``readinto``, never ``seek``.  The repository hands it a reader that
        hashes what passes, so a value is verified while it is read, in
        one pass; it must read whole buffers with ``readinto`` (straight
        into the value's memory) where it can, and raise if the file ends
        early.
    maps : bool
        Whether ``load(filename, mmap_mode=...)`` maps the file instead of
        reading it (``numpy.load``'s meaning).  A repo's ``mmap_mode``
        setting applies to the values of such serializers.
    """

    name: str
    dump: Callable[..., None]
    load: Callable[..., Any]
    content_type: str | None = None
    classes: tuple[type | str, ...] = field(default_factory=tuple)
    loads: Callable[[bytes], Any] | None = None
    dump_to: Callable[..., None] | None = None
    accepts: Callable[[Any], bool] | None = None
    requires: Callable[[], None] | None = None
    safe: bool = False
    load_from: Callable[[Any], Any] | None = None
    maps: bool = False

    def check(self) -> None:
        """Raise :class:`~provenance.MissingDependency` if this serializer cannot run here.

        Called when a decorated function names the serializer, so that a
        missing optional package is reported before the function runs.
        """
        if self.requires is not None:
            self.requires()


_lock = threading.Lock()
_registry: dict[str, Serializer] = {}
#: The serializers that list a class of each type seen, most specific first.
_candidates: weakref.WeakKeyDictionary[type, tuple[Serializer, ...]] = weakref.WeakKeyDictionary()


def register_serializer(
    name: str,
    dump: Callable[..., None],
    load: Callable[..., Any],
    content_type: str | None = None,
    classes: Iterable[type | str] | None = None,
    loads: Callable[[bytes], Any] | None = None,
    dump_to: Callable[..., None] | None = None,
    accepts: Callable[[Any], bool] | None = None,
    requires: Callable[[], None] | None = None,
    safe: bool = False,
    load_from: Callable[[Any], Any] | None = None,
    maps: bool = False,
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
    classes : iterable of type or str, optional
        Values of these classes are stored with this serializer by default;
        a ``str`` is a dotted class name (``"pandas.DataFrame"``).
    loads : callable, optional
        ``loads(data)`` equivalent to ``load`` on bytes in memory.
    dump_to : callable, optional
        ``dump_to(value, fileobj, **dump_kwargs)`` equivalent to ``dump``
        into a file object.
    accepts : callable, optional
        ``accepts(value) -> bool``: whether a value of one of ``classes``
        round-trips through this serializer; see :class:`Serializer`.
    requires : callable, optional
        ``requires()`` raises :class:`~provenance.MissingDependency` when a
        package the serializer needs is not installed.
    safe : bool
        Declare that loading cannot run code, whatever the stored bytes
        hold (see :class:`Serializer`); values of a safe serializer load from
        repos that are not trusted.  Default False: a pickle-based format
        must keep it.
    load_from : callable, optional
        ``load_from(fileobj)`` equivalent to ``load`` from a file object
        read front to back; see :class:`Serializer`.
    maps : bool
        Whether ``load`` takes ``mmap_mode`` (see :class:`Serializer`).

    Returns
    -------
    Serializer
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"serializer name must be a non-empty string, got {name!r}")
    if not callable(dump) or not callable(load):
        raise TypeError(f"serializer {name!r}: dump and load must be callable")
    listed = tuple(classes or ())
    for cls in listed:
        if not isinstance(cls, (type, str)):
            raise TypeError(
                f"serializer {name!r}: classes must be types or dotted names, got {cls!r}"
            )
    serializer = Serializer(
        name, dump, load, content_type, listed, loads, dump_to, accepts, requires, bool(safe),
        load_from, bool(maps),
    )  # fmt: skip
    with _lock:
        _registry.pop(name, None)  # a replacement counts as registered last
        _registry[name] = serializer
        _candidates.clear()
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

    The candidates are the serializers that list the value's class or one of
    its bases, the most specific class first and, for the same class, the
    last registered first; the first candidate that ``accepts`` the value
    wins, otherwise the default (``joblib``).
    """
    cls = type(value)
    try:
        candidates = _candidates[cls]
    except (KeyError, TypeError):
        candidates = _candidates_of(cls)
    for serializer in candidates:
        if serializer.accepts is None or serializer.accepts(value):
            return serializer.name
    return DEFAULT_SERIALIZER


def _candidates_of(cls: type) -> tuple[Serializer, ...]:
    with _lock:
        newest_first = list(_registry.values())[::-1]
        found: list[Serializer] = []
        for klass in cls.__mro__:
            dotted = f"{klass.__module__}.{klass.__qualname__}"
            found.extend(
                s for s in newest_first
                if s not in found and (klass in s.classes or dotted in s.classes)
            )  # fmt: skip
        candidates = tuple(found)
        with contextlib.suppress(TypeError):  # a type no weak reference can hold
            _candidates[cls] = candidates
    return candidates
