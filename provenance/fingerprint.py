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

A fingerprint is made once per function per process, on first need, and kept
on the decorated function.  Its normalized source text is stored once per
fingerprint in the index (table ``code_sources``), so that a later ``why`` can
show what changed.
"""

from __future__ import annotations

import ast
import contextlib
import enum
import functools
import importlib.metadata
import logging
import os
import re
import sys
import sysconfig
import textwrap
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import xxhash

from .errors import HashingError
from .hashing import value_digest
from .hashing.source import _PARSE_LOCK, _parse_file

__all__ = ["CodeFingerprint", "code_fingerprint", "importable_module_name"]

logger = logging.getLogger(__name__)

#: Bump when what a fingerprint covers, or how it is encoded, changes.
FINGERPRINT_SCHEME = "code/1"

_CONSTANT_SCALARS = (int, float, complex, str, bytes, bool, type(None))


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


# -- naming -----------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _main_module_name(main_file: str | None, spec_name: str | None) -> str:
    if spec_name and spec_name != "__main__":
        # ``python -m package.module``: the module knows its own name.
        return spec_name[: -len(".__main__")] if spec_name.endswith(".__main__") else spec_name
    if not main_file:
        return "__main__"  # a REPL or a notebook
    path = os.path.abspath(main_file)
    directory, base = os.path.split(path)
    stem, ext = os.path.splitext(base)
    if ext not in (".py", ".pyw") or not stem.isidentifier():
        return "__main__"
    parts = [stem]
    # Inside a package, the file is imported under its dotted name.
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        if not package.isidentifier():
            break
        parts.append(package)
    return ".".join(reversed(parts))


def importable_module_name(module: str | None) -> str | None:
    """The name a module is imported under; a script run as ``__main__`` maps to its file's.

    ``python pipeline.py`` and ``import pipeline`` then name the same functions
    alike, and so does a worker process started with ``spawn`` (which runs the
    script as ``__mp_main__``).  A notebook or a REPL stays ``__main__``.
    """
    if module not in ("__main__", "__mp_main__"):
        return module
    main = sys.modules.get(module)
    spec = getattr(main, "__spec__", None)
    return _main_module_name(getattr(main, "__file__", None), getattr(spec, "name", None))


# -- whose code is it ---------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    # The interpreter's own directories only: ``prefix/lib`` would also hold a
    # project's ``lib/`` folder when a virtual environment sits at its root.
    dirs = set()
    for scheme_paths in (sysconfig.get_paths(),):
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            path = scheme_paths.get(key)
            if path:
                dirs.add(os.path.realpath(path))
    try:
        import site

        dirs.update(os.path.realpath(p) for p in site.getsitepackages())
        dirs.add(os.path.realpath(site.getusersitepackages()))
    except Exception:  # a stripped-down site module (embedded interpreters)
        pass
    return tuple(sorted(d.rstrip(os.sep) + os.sep for d in dirs))


@functools.lru_cache(maxsize=4096)
def _is_user_file(filename: str) -> bool:
    path = os.path.realpath(filename)
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not any(path.startswith(d) for d in _library_dirs())


def _library_name(module: str | None) -> bool:
    """For code without a file: whether its module's name is the standard library's."""
    top = (module or "").partition(".")[0]
    return top in ("provenance", "builtins") or top in sys.stdlib_module_names


def _is_user_module(module: str | None, filename: str | None = None) -> bool:
    """Whether ``module`` (defined in ``filename``, when known) is the user's own code.

    Decided by where the code's file lies, so that a project's ``code/`` or
    ``types/`` package is the user's although the standard library has a
    module of that name; the name decides only for code without a file.
    """
    if not module:
        return False
    if module.partition(".")[0] == "provenance":
        return False
    if filename is None:
        if module in ("__main__", "__mp_main__"):
            return True
        filename = getattr(sys.modules.get(module), "__file__", None)
        if not filename:
            # A namespace package or a module built into the interpreter.
            return not _library_name(module) and module not in sys.builtin_module_names
    if filename.startswith("<"):
        # exec'd code, a REPL or a notebook cell: nobody installed it.
        return not _library_name(module)
    return _is_user_file(filename)


def _class_file(cls: type) -> str | None:
    """The file a class was defined in: its module's, or that of one of its methods."""
    filename = getattr(sys.modules.get(cls.__module__), "__file__", None)
    if filename:
        return str(filename)
    for member in vars(cls).values():
        code = getattr(getattr(member, "__func__", member), "__code__", None)
        if isinstance(code, types.CodeType):
            return code.co_filename
    return None


@functools.lru_cache(maxsize=1024)
def _package_version(top: str) -> str | None:
    module = sys.modules.get(top)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version(top)
    except Exception:
        return None


# -- normalized source ----------------------------------------------------------------


_DEFS_AND_CLASSES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_BLOCKS = ("body", "orelse", "finalbody", "handlers")


def _statements(node: Any) -> list[Any]:
    """The statements directly inside ``node``'s blocks (not inside nested expressions)."""
    out: list[Any] = []
    for block in _BLOCKS:
        statements = getattr(node, block, None)
        if isinstance(statements, list):  # a lambda's body is an expression
            out.extend(statements)
    for case in getattr(node, "cases", ()) or ():  # match statements
        out.extend(case.body)
    return out


@contextlib.contextmanager
def _stripped(node: Any) -> Iterator[None]:
    """``node`` without docstrings (its own and nested) and without its decorators, for a while.

    The parsed tree of a file is shared: it is changed in place and put
    back, under the parse lock, which is cheaper than copying it.
    """
    saved: list[tuple[Any, str, Any]] = []
    if isinstance(node, _DEFS_AND_CLASSES):
        # Decorators are the function's wrapping, not its code; the
        # @provenance line in particular holds the version.  (Decorators that
        # are user code are followed as names the module uses.)
        saved.append((node, "decorator_list", node.decorator_list))
        node.decorator_list = []
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, (*_DEFS_AND_CLASSES, ast.Module)):
            body = current.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                saved.append((current, "body", body))
                current.body = body[1:] or [ast.Pass()]
        pending.extend(_statements(current))
    try:
        yield
    finally:
        for owner, attr, value in reversed(saved):
            setattr(owner, attr, value)


#: Fields left out of the canonical text: implied by the position in the tree
#: (``ctx``), or not code (``type_comment``, a string's ``u`` prefix).
_NOT_CODE_FIELDS = frozenset({"ctx", "type_comment", "kind"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _canonical(node: Any) -> str:
    """A text of ``node``'s structure: no positions, no empty fields (stable across versions).

    ``ast.dump`` shows fields that newer Pythons add (``type_params=[]``);
    leaving out empty ones keeps the same code's text the same on 3.10 to 3.13.
    """
    out: list[str] = []
    append = out.append
    AST = ast.AST
    fields = _FIELDS

    def visit(value: Any) -> None:
        kind = value.__class__
        names = fields.get(kind)
        if names is None:
            names = fields[kind] = tuple(f for f in kind._fields if f not in _NOT_CODE_FIELDS)
        append(kind.__name__)
        append("(")
        for name in names:
            item = getattr(value, name, None)
            if item is None:
                continue
            if item.__class__ is list:
                if not item:
                    continue
                append(name)
                append("=[")
                for element in item:
                    if isinstance(element, AST):
                        visit(element)
                    else:
                        append(repr(element))
                    append(",")
                append("]")
            else:
                append(name)
                append("=")
                if isinstance(item, AST):
                    visit(item)
                else:
                    append(repr(item))
            append(",")
        append(")")

    visit(node)
    return "".join(out)


# filename -> (tree, {first line of a code object: def nodes starting or decorated there})
_DEFS: dict[str, tuple[Any, dict[int, list[Any]]]] = {}


def _defs_by_line(filename: str) -> tuple[list[str], str, Any, dict[int, list[Any]]] | None:
    parsed = _parse_file(filename)
    if parsed is None:
        return None
    lines, tree, text = parsed
    cached = _DEFS.get(filename)
    if cached is not None and cached[0] is tree:
        return lines, text, tree, cached[1]
    table: dict[int, list[Any]] = {}
    pending = list(tree.body)
    while pending:  # statements only: lambdas are looked for when one is asked for
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            table.setdefault(node.lineno, []).append(node)
            if node.decorator_list:
                first = min(d.lineno for d in node.decorator_list)
                if first != node.lineno:
                    table.setdefault(first, []).append(node)
        pending.extend(_statements(node))
    if len(_DEFS) >= 16:
        _DEFS.clear()
    _DEFS[filename] = (tree, table)
    return lines, text, tree, table


def _lambda_node(code: types.CodeType, tree: Any) -> Any:
    found = [
        n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno
    ]
    return found[0] if len(found) == 1 else None


#: When this module was imported: a file modified later may not be what runs.
_IMPORTED_AT = time.time()


@functools.lru_cache(maxsize=4096)
def _edited_since_start(filename: str, mtime: float) -> bool:
    return mtime > _IMPORTED_AT


def _runs_this_source(code: types.CodeType, node: Any, lines: list[str]) -> bool:
    """Whether the parsed ``def`` compiles to the code that runs.

    Asked only of files modified after this process started to fingerprint:
    the file may have been edited since the module was imported, and then
    fingerprinting the text on disk would give the old code's results to the
    new text.  Compiled alone, the ``def`` differs from the running code in
    ways that are not edits (names of an enclosing scope read as globals,
    private names not mangled, module attributes loaded as methods), so what
    is compared is the operations, the constants and the other names.
    """
    try:
        segment = textwrap.dedent("".join(lines[node.lineno - 1 : node.end_lineno]))
        module = compile(segment, code.co_filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    codes = [c for c in module.co_consts if isinstance(c, types.CodeType)]
    alone = next((c for c in codes if c.co_name == code.co_name), None)
    if alone is None:
        return False
    free = _free_names(code)
    return _shape(alone, free) == _shape(code, free)


def _free_names(code: types.CodeType) -> frozenset[str]:
    names = set(code.co_freevars) | set(code.co_cellvars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _free_names(const)
    return frozenset(names)


_MANGLED = re.compile(r"^_[A-Za-z0-9_]*?[A-Za-z0-9](__\w+)$")
#: Operations whose argument is what they do (``+`` or ``-``, ``<`` or ``>``).
_OPERATOR_OPS = frozenset({"BINARY_OP", "COMPARE_OP", "IS_OP", "CONTAINS_OP"})
_SAME_OP = {"LOAD_METHOD": "LOAD_ATTR", "CALL_METHOD": "CALL_FUNCTION"}


def _shape(code: types.CodeType, free: frozenset[str]) -> tuple[Any, ...]:
    """The operations, constants and global names of ``code`` and its nested code."""
    import dis

    consts = tuple(
        _shape(c, free) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
        for c in code.co_consts
    )
    names = tuple(_MANGLED.sub(r"\1", n) for n in code.co_names if n not in free)
    ops = tuple(
        (_SAME_OP.get(i.opname, i.opname), i.arg if i.opname in _OPERATOR_OPS else None)
        for i in dis.get_instructions(code)
        if i.opname not in ("EXTENDED_ARG", "NOP", "CACHE")
    )
    return consts, names, ops


def _normalized(code: types.CodeType) -> tuple[str, Callable[[], str]] | None:
    """What identifies the ``def`` (or lambda) of ``code``, and how to show it.

    Returns the canonical text of its syntax tree without docstrings and
    decorators (hashed), and a function that unparses it (shown), or ``None``
    without source, or when the source on disk is not what runs (an edited file).
    """
    filename = code.co_filename
    found = _defs_by_line(filename)
    if found is None:
        return None
    lines, text, tree, table = found
    if code.co_name == "<lambda>":
        node = _lambda_node(code, tree)
    else:
        nodes = [n for n in table.get(code.co_firstlineno, ()) if n.name == code.co_name]
        node = nodes[0] if len(nodes) == 1 else None
        if node is not None and not filename.startswith("<"):
            try:
                mtime = os.stat(filename).st_mtime
            except OSError:
                mtime = 0.0
            if _edited_since_start(filename, mtime) and not _runs_this_source(code, node, lines):
                return None
    if node is None:
        return None  # ambiguous (several lambdas on one line): the bytecode decides
    with _PARSE_LOCK, _stripped(node):
        canonical = _canonical(node)

    def show() -> str:
        with _PARSE_LOCK, _stripped(node):
            return ast.unparse(node)

    return canonical, show


def _bytecode_text(code: types.CodeType) -> str:
    # No source (exec'd code, an edited file): the compiled form, which
    # changes between Python versions.  Constants are hashed canonically (a
    # frozenset's repr depends on PYTHONHASHSEED).
    from .hashing.functions import _bytecode_fingerprint

    return f"<bytecode of {code.co_name} {_bytecode_fingerprint(code).hex()}>"


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


def _is_constant(value: Any, depth: int = 0) -> bool:
    """Numbers, strings, bytes, None, and tuples and frozensets of them: they cannot change."""
    kind = type(value)
    if kind in _CONSTANT_SCALARS:
        return True
    if kind in (tuple, frozenset) and depth < 4 and len(value) <= 10_000:
        return all(_is_constant(v, depth + 1) for v in value)
    return False


_CONTAINERS = (dict, list, tuple, set, frozenset)
_ASSIGNMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign)


def _assigned_names(node: Any) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _assignments(filename: str | None, name: str) -> str | None:
    """The module-level statements of ``filename`` that assign ``name``, normalized.

    What identifies a global whose value cannot be hashed (a lock, a client,
    a connection): how the module makes it.
    """
    if not filename:
        return None
    parsed = _parse_file(filename)
    if parsed is None:
        return None
    found = []
    pending = list(parsed[1].body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, _ASSIGNMENTS) and name in _assigned_names(node):
            found.append(ast.unparse(node))
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            # ``if TYPE_CHECKING:``, ``try: import x`` ... at module level.
            for block in ("body", "orelse", "finalbody"):
                pending.extend(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
    return "\n".join(found) if found else None


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
            self.packages[top] = _package_version(top) or "unknown"

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
        if not isinstance(obj, types.BuiltinFunctionType) and _is_user_module(
            kind.__module__, _class_file(kind)
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
        if not _is_user_module(module, fn.__code__.co_filename):
            if not _is_user_module(module):
                self.package(module)
            # else: code a library generated for a user class (a dataclass's
            # __repr__ wrapper): the class's own parts are covered.
            return
        name = f"{importable_module_name(module)}.{fn.__qualname__}"
        code = fn.__code__
        normalized = _normalized(code)
        if normalized is None:
            self.add(f"def {name}", _bytecode_text(code))
        else:
            canonical, show = normalized
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
        if not _is_user_module(module, _class_file(cls)):
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
                if candidate is not None and _is_user_module(prefix + name):
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
            if not _is_user_module(obj.__name__):
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
        if _is_constant(obj):
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
        if walk_class and _is_user_module(kind.__module__, _class_file(kind)):
            self.klass(kind)  # an instance of a user class: its class's code counts
        else:
            self.package(kind.__module__)

    def value(self, where: str, value: Any, assigned: tuple[str | None, str] | None = None) -> None:
        try:
            digest = value_digest(value)
        except (HashingError, RecursionError):
            # A lock, a client, a connection: identified by the statements
            # that make it, or by its type.
            text = _assignments(*assigned) if assigned is not None else None
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

#: Bumped after each cell of an IPython session or notebook: redefined
#: helpers and %autoreload are then seen by the next call.
_generation = [0]


def generation() -> int:
    """A counter that changes whenever ids must be made again.

    After a notebook cell ran (code may have been redefined) or
    ``set_code_identity`` was called.
    """
    return _generation[0]


def new_generation() -> None:
    """Make decorated functions make their code fingerprints and id prefixes again."""
    _generation[0] += 1


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


def code_fingerprint(fn: Callable[..., Any]) -> CodeFingerprint:
    """The fingerprint of ``fn``'s code and of the user code it reaches.

    Parameters
    ----------
    fn : callable
        A function, method, ``functools.partial`` or callable object.

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
            f"python {sys.version_info[0]}.{sys.version_info[1]}" if _library_name(module) else "?"
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
