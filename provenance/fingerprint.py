"""Code fingerprints: what a decorated function's code is, as part of its identity.

A fingerprint covers

* the function's own code, normalized: the ``def`` is parsed and unparsed, so
  comments, docstrings, decorators and formatting do not count;
* the functions and classes it reaches in the user's own modules,
  transitively (globals it names, attributes of user modules it names, the
  methods and bases of user classes, a method's own class);
* the module-level constants it reads (numbers, strings, bytes, tuples and
  frozensets of them) by value; other globals it reads (a dict of parameters,
  a list, an instance) by the module-level statements that assign them, since
  their value may be state the program changes as it runs;
* closures' captured values, defaults of the helpers, ``functools.partial``
  arguments.

Installed packages and the standard library are not followed: the versions of
the packages reached are recorded beside the fingerprint (to show them
later), never hashed.  A module is the user's own when its file lies outside
the interpreter's standard library and ``site-packages`` directories, so a
project installed in editable mode counts as the user's.

Which modules are the user's is decided in :mod:`provenance.codebase`; how a
``def`` is normalized (and checked against the running code) in
:mod:`provenance.codesource`.

A fingerprint is made once per function per process, on first need, and kept
on the decorated function.  Its normalized source text is stored once per
fingerprint in the index (table ``code_sources``), so that a later ``why`` can
show what changed.
"""

from __future__ import annotations

import enum
import functools
import logging
import os
import re
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

import xxhash

from .codebase import (
    class_file,
    importable_module_name,
    is_user_module,
    library_name,
    package_version,
)
from .codesource import assignments, bytecode_text, normalized
from .config import new_generation
from .errors import HashingError
from .hashing import is_immutable, value_digest
from .hashing.source import _PARSE_LOCK

__all__ = ["CodeFingerprint", "code_fingerprint", "importable_module_name"]

logger = logging.getLogger(__name__)

#: Bump when what a fingerprint covers, or how it is encoded, changes.
FINGERPRINT_SCHEME = "code/1"


class CodeFingerprint:
    """The fingerprint of a function's code and what it records beside it.

    Attributes
    ----------
    digest : str
        32 hex characters: the hash of every covered part.
    source : str
        The normalized text of every covered part, the function's own first;
        stored once per digest so that a changed fingerprint can be shown as a
        diff.  Made on first access (unparsing costs more than hashing).
    packages : dict
        Top-level installed packages reached, with their versions (recorded, not hashed).
    """

    __slots__ = ("_make", "_source", "digest", "packages")

    def __init__(
        self,
        digest: str,
        source: str | Callable[[], str],
        packages: dict[str, str] | None = None,
    ) -> None:
        self.digest = digest
        self.packages = dict(packages or {})
        self._source = source if isinstance(source, str) else None
        self._make = None if isinstance(source, str) else source

    @property
    def source(self) -> str:
        if self._source is None:
            assert self._make is not None
            self._source = self._make()
            self._make = None
        return self._source

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CodeFingerprint) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return f"CodeFingerprint({self.digest!r}, packages={self.packages!r})"


# -- the walk ---------------------------------------------------------------------------


def _code_names(code: types.CodeType) -> set[str]:
    """Global and attribute names used by ``code`` and the code nested in it."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__qualname__}>"
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", text)  # addresses change between processes
    return text if len(text) <= 200 else text[:197] + "..."


_CONTAINERS = (dict, list, tuple, set, frozenset)


#: Stands for a part that could not be inspected: different in every process,
#: so a result that depends on it is never served to another process.
_OPAQUE = os.urandom(16)


class _Walk:
    """Collects the covered parts of one decorated function: ``key -> (digest, text)``."""

    def __init__(self) -> None:
        #: key -> (digest, text or a function that makes the text)
        self.parts: dict[str, tuple[bytes, str | Callable[[], str]]] = {}
        self.packages: dict[str, str] = {}
        self.seen: set[Any] = set()
        self.order: list[str] = []
        self.opaque: list[str] = []

    def add(self, key: str, text: str | Callable[[], str], digest: bytes | None = None) -> None:
        if key not in self.parts:
            if digest is None:
                assert isinstance(text, str)
                digest = xxhash.xxh3_128_digest(text.encode())
            self.parts[key] = (digest, text)
            self.order.append(key)

    def package(self, module: str | None) -> None:
        if not module:
            return
        top = module.partition(".")[0]
        if top in sys.stdlib_module_names or top in sys.builtin_module_names or top == "builtins":
            return
        if top not in self.packages:
            self.packages[top] = package_version(top) or "unknown"

    def guarded(self, where: str, step: Callable[..., None], *args: Any) -> None:
        """Run one step of the walk; an object that cannot be inspected becomes opaque."""
        try:
            step(*args)
        except RecursionError:
            raise
        except Exception as exc:
            logger.debug("cannot inspect %s for the code fingerprint", where, exc_info=True)
            self.opaque.append(f"{where} ({type(exc).__name__}: {exc})")
            self.add(f"opaque {where}", f"# {where}: could not be inspected ({exc!r})", _OPAQUE)

    # -- callables

    def callable(self, obj: Any, where: str) -> None:
        if ("callable", id(obj)) in self.seen:
            return
        self.seen.add(("callable", id(obj)))
        kind = type(obj)
        # Attributes are looked up on the type first: an object's own
        # __getattr__ (a lazy proxy, say) may do anything.
        if getattr(kind, "_provenance_function_", None) is not None:
            self.callable(obj._provenance_function_, where)  # a decorated helper
            return
        if isinstance(obj, functools.partial):
            self.reference(f"{where} (partial arguments)", (obj.args, obj.keywords), set())
            self.callable(obj.func, where)
            return
        if isinstance(obj, (staticmethod, classmethod, types.MethodType)):
            self.callable(obj.__func__, where)
            if isinstance(obj, types.MethodType) and not isinstance(obj.__self__, type):
                self.reference(f"{where} (bound to)", obj.__self__, set())
            return
        if isinstance(obj, property):
            for f in (obj.fget, obj.fset, obj.fdel):
                if f is not None:
                    self.callable(f, where)
            return
        if isinstance(obj, functools.cached_property):
            self.callable(obj.func, where)
            return
        if isinstance(obj, type):
            self.klass(obj)
            return
        if isinstance(obj, types.FunctionType):
            self.function(obj)
            return
        # Wrappers (functools.lru_cache and cache, numpy.vectorize, ...): the
        # wrapped function is what runs.
        for attr in ("__wrapped__", "pyfunc", "func"):
            inner = getattr(obj, attr, None)
            if inner is not None and callable(inner):
                self.callable(inner, f"{where}.{attr}")
        if not isinstance(obj, types.BuiltinFunctionType) and is_user_module(
            kind.__module__, class_file(kind)
        ):
            self.klass(kind)  # a callable instance of a user class
            self.reference(f"{where} (state)", obj, set(), walk_class=False)
        else:
            self.package(getattr(obj, "__module__", None) or kind.__module__)

    def function(self, fn: types.FunctionType) -> None:
        module = fn.__module__
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:  # functools.wraps: the wrapped code runs too
            self.callable(wrapped, fn.__qualname__)
        if not is_user_module(module, fn.__code__.co_filename):
            if not is_user_module(module):
                self.package(module)
            # else: code a library generated for a user class (a dataclass's
            # __repr__ wrapper): the class's own parts are covered.
            return
        name = f"{importable_module_name(module)}.{fn.__qualname__}"
        code = fn.__code__
        found = normalized(code)
        if found is None:
            self.add(f"def {name}", bytecode_text(code))
        else:
            canonical, show = found
            self.add(f"def {name}", show, xxhash.xxh3_128_digest(canonical.encode()))
        if fn.__defaults__ or fn.__kwdefaults__:
            self.reference(f"{name} (defaults)", (fn.__defaults__, fn.__kwdefaults__), set())
        if fn.__closure__:
            for var, cell in zip(code.co_freevars, fn.__closure__):
                try:
                    captured = cell.cell_contents
                except ValueError:  # not assigned yet
                    continue
                if var == "__class__":
                    continue  # super(): the class is followed below
                self.guarded(f"{name} (closure {var})", self.reference,
                             f"{name} (closure {var})", captured, set())  # fmt: skip
        self.globals(fn.__globals__, module, _code_names(code))
        owner = self.owner_class(fn)
        if owner is not None:
            self.klass(owner)

    def owner_class(self, fn: types.FunctionType) -> type | None:
        qualname = fn.__qualname__
        if "<locals>" in qualname or "." not in qualname:
            return None
        parts = qualname.split(".")[:-1]
        # Through the function's own globals: its module object may have been
        # replaced in sys.modules (a reload) since it was defined.
        obj: Any = fn.__globals__.get(parts[0])
        for part in parts[1:]:
            obj = getattr(obj, part, None)
        return obj if isinstance(obj, type) else None

    def klass(self, cls: type) -> None:
        if ("class", id(cls)) in self.seen:
            return
        self.seen.add(("class", id(cls)))
        module = cls.__module__
        if not is_user_module(module, class_file(cls)):
            self.package(module)
            return
        name = f"{importable_module_name(module)}.{cls.__qualname__}"
        bases = [f"{b.__module__}.{b.__qualname__}" for b in cls.__bases__]
        self.add(f"class {name}", f"class {name}({', '.join(bases)})")
        for base in cls.__bases__:
            if base is not object:
                self.klass(base)
        if isinstance(cls, enum.EnumMeta):
            members = [(m.name, m.value) for m in cls]  # type: ignore[var-annotated]
            self.guarded(f"{name} (members)", self.value, f"{name} (members)", members)
        for attr, member in sorted(vars(cls).items()):
            if attr in _CLASS_BOOKKEEPING:
                continue
            where = f"{name}.{attr}"
            if isinstance(member, type):
                self.guarded(where, self.klass, member)
            elif callable(member) or isinstance(
                member, (staticmethod, classmethod, property, functools.cached_property)
            ):
                self.guarded(where, self.callable, member, where)
            elif isinstance(cls, enum.EnumMeta) and isinstance(member, cls):
                continue  # covered by the members above
            elif getattr(type(member), "_provenance_not_code_", False):
                continue  # a flow's Parameter: its value is in the identity instead
            elif not (attr.startswith("__") and attr.endswith("__")):
                self.guarded(where, self.reference, where, member, set())

    # -- names

    def globals(self, namespace: dict[str, Any], module: str, names: set[str]) -> None:
        owner = importable_module_name(module)
        filename = namespace.get("__file__")
        package = namespace.get("__package__") or ""
        for name in sorted(names):
            where = f"{owner}.{name}"
            if name in namespace:
                self.guarded(where, self.reference, where, namespace[name], names,
                             (filename, name))  # fmt: skip
                continue
            # A module imported inside the function body: ``import helpers``,
            # ``from . import helpers``, ``from .helpers import scale``.
            prefixes = [""]
            parts = package.split(".") if package else []
            prefixes += [".".join(parts[:i]) + "." for i in range(len(parts), 0, -1)]
            for prefix in prefixes:
                candidate = sys.modules.get(prefix + name)
                if candidate is not None and is_user_module(prefix + name):
                    self.guarded(prefix + name, self.reference, prefix + name, candidate, names)
                    break

    def reference(
        self,
        where: str,
        obj: Any,
        names: set[str],
        assigned: tuple[str | None, str] | None = None,
        *,
        walk_class: bool = True,
    ) -> None:
        """Cover what ``obj``, found at ``where``, contributes.

        ``names`` are the names the referring code uses (to follow a module's
        attributes); ``assigned`` is ``(module file, global name)`` for a
        global of a module, to cover a value that cannot be hashed by the
        statements that assign it.
        """
        if isinstance(obj, types.ModuleType):
            if not is_user_module(obj.__name__):
                self.package(obj.__name__)
                return
            # Only the attributes the code names are followed (``helpers.scale``);
            # every function that names the module follows its own names.
            filename = getattr(obj, "__file__", None)
            for attr in sorted(names):
                if attr in vars(obj) and ("module", id(obj), attr) not in self.seen:
                    self.seen.add(("module", id(obj), attr))
                    at = f"{obj.__name__}.{attr}"
                    self.guarded(at, self.reference, at, vars(obj)[attr], names, (filename, attr))
            return
        if is_immutable(obj):
            self.value(where, obj)
            return
        if isinstance(obj, _CONTAINERS):
            # Data, hashed by value as it stands now (before the first call);
            # the functions and classes it holds are followed as code.
            self.value(where, obj, assigned)
            for item in _callables_in(obj):
                self.guarded(where, self.callable, item, where)
            return
        if callable(obj):
            self.callable(obj, where)
            return
        kind = type(obj)
        self.value(where, obj, assigned)
        if walk_class and is_user_module(kind.__module__, class_file(kind)):
            self.klass(kind)  # an instance of a user class: its class's code counts
        else:
            self.package(kind.__module__)

    def value(self, where: str, value: Any, assigned: tuple[str | None, str] | None = None) -> None:
        try:
            digest = value_digest(value)
        except (HashingError, RecursionError):
            # A lock, a client, a connection: identified by the statements
            # that make it, or by its type.
            text = assignments(*assigned) if assigned is not None else None
            kind = f"{type(value).__module__}.{type(value).__qualname__}"
            shown = f"{where}: {kind}, not hashable" + (f", made by\n{text}" if text else "")
            self.add(f"value {where}", shown)
            return
        self.add(f"value {where}", f"{where} = {_short_repr(value)}", digest)


_CLASS_BOOKKEEPING = frozenset(
    {"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__", "__annotations__",
     "__dataclass_fields__", "__dataclass_params__", "__match_args__", "__slots__",
     "__orig_bases__", "__parameters__", "_member_map_", "_member_names_", "_value2member_map_",
     "_member_type_", "_unhashable_values_", "_new_member_", "_use_args_", "__abstractmethods__",
     "_abc_impl"}
)  # fmt: skip


def _callables_in(value: Any, depth: int = 0) -> list[Any]:
    """The functions and classes held in a container (``OPS = {"double": double}``)."""
    if depth > 3:
        return []
    items = list(value.values()) if isinstance(value, dict) else list(value)
    found = []
    for item in items[:10_000]:
        if isinstance(item, _CONTAINERS):
            found.extend(_callables_in(item, depth + 1))
        elif callable(item) and not isinstance(item, type(None)):
            found.append(item)
    return found


# CPython's AST constructor keeps a recursion count that concurrent parses in
# several threads can corrupt ("AST constructor recursion depth mismatch",
# seen on 3.11 with 8 threads): one walk at a time.  It is the lock the value
# hasher takes to parse source files too.
_WALK_LOCK = _PARSE_LOCK


def _watch_interactive_session() -> None:
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if callable(get) else None
    if shell is None or getattr(shell, "_provenance_watched", False):
        return

    def bump(*_args: Any) -> None:
        new_generation()

    shell.events.register("post_run_cell", bump)
    shell._provenance_watched = True


def code_fingerprint(fn: Callable[..., Any], *, skip: Iterable[Any] = ()) -> CodeFingerprint:
    """The fingerprint of ``fn``'s code and of the user code it reaches.

    Parameters
    ----------
    fn : callable
        A function, method, ``functools.partial`` or callable object.
    skip : iterable of callables, optional
        Callables not covered even where reached: a flow step's sibling
        steps, which its ``self.next(self.b)`` names but whose code is not
        what the step computes (each is identified by its own).

    Returns
    -------
    CodeFingerprint
        Its digest, normalized source text and the packages reached.  A part
        that cannot be inspected makes the digest differ in every process
        (with a warning logged), so that it never serves another process a
        result of other code.
    """
    try:
        _watch_interactive_session()
    except Exception:  # an IPython without events: nothing to watch
        logger.debug("cannot watch the IPython session", exc_info=True)
    walk = _Walk()
    walk.seen.update(("callable", id(obj)) for obj in skip)
    with _WALK_LOCK:
        walk.guarded(getattr(fn, "__qualname__", "function"), walk.callable, fn,
                     getattr(fn, "__qualname__", "function"))  # fmt: skip
    if walk.opaque:
        logger.warning(
            "the code fingerprint of %s could not inspect %s: its results are not reused by "
            "other processes; give it version= to identify its code yourself",
            getattr(fn, "__qualname__", fn), "; ".join(walk.opaque),
        )  # fmt: skip
    if not walk.parts:
        # Nothing of the user's: a builtin or a library function.  Its module,
        # its name and its package's version identify it (a new release of the
        # package may compute something else).
        module = getattr(fn, "__module__", None) or type(fn).__module__
        qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        top = str(module).partition(".")[0]
        version = walk.packages.get(top) or (
            f"python {sys.version_info[0]}.{sys.version_info[1]}" if library_name(module) else "?"
        )
        walk.add(
            f"ref {module}.{qualname} {version}",
            f"# {module}.{qualname} (not the user's code), {top} {version}",
        )
    keys = sorted(walk.parts)
    # Which of the covered functions is the entry point counts too: two
    # functions that call each other cover the same parts.
    root = walk.order[0]
    body = "\n".join([root, *(f"{k}\0{walk.parts[k][0].hex()}" for k in keys)])
    digest = xxhash.xxh3_128_hexdigest(f"{FINGERPRINT_SCHEME}\n{body}".encode())
    parts = [(k, walk.parts[k][1]) for k in walk.order]

    def source() -> str:
        return "\n\n".join(f"# {k}\n{t if isinstance(t, str) else t()}" for k, t in parts)

    return CodeFingerprint(digest, source, dict(sorted(walk.packages.items())))
