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
import functools
import importlib.metadata
import os
import sys
import sysconfig
import textwrap
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import xxhash

from .errors import HashingError
from .hashing import value_digest
from .hashing.source import _parse_file

__all__ = ["CodeFingerprint", "code_fingerprint", "importable_module_name"]

#: Bump when what a fingerprint covers, or how it is encoded, changes.
FINGERPRINT_SCHEME = "code/1"

_CONSTANT_SCALARS = (int, float, complex, str, bytes, bool, type(None))


@dataclass(frozen=True)
class CodeFingerprint:
    """The fingerprint of a function's code and what it records beside it.

    Attributes
    ----------
    digest : str
        32 hex characters: the hash of every covered part.
    source : str
        The normalized text of every covered part, the function's own first;
        stored once per digest so that a changed fingerprint can be shown as a diff.
    packages : dict
        Top-level installed packages reached, with their versions (recorded, not hashed).
    """

    digest: str
    source: str
    packages: dict[str, str] = field(default_factory=dict)


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
    alike.  A notebook or a REPL stays ``__main__``.
    """
    if module != "__main__":
        return module
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return _main_module_name(getattr(main, "__file__", None), getattr(spec, "name", None))


# -- whose code is it ---------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    dirs = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.realpath(path))
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        dirs.add(os.path.realpath(os.path.join(prefix, "lib")))
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
    top = (module or "").partition(".")[0]
    return top in ("provenance", "builtins") or top in sys.stdlib_module_names


def _is_user_module(module: str | None, filename: str | None = None) -> bool:
    """Whether ``module`` (defined in ``filename``, when known) is the user's own code.

    ``filename`` is the file the code was compiled from; without it the module's
    ``__file__`` is looked up in ``sys.modules``.
    """
    if not module or _library_name(module) or module in sys.builtin_module_names:
        return False
    if filename is None:
        if module == "__main__":
            return True
        filename = getattr(sys.modules.get(module), "__file__", None)
        if not filename:
            return False  # a namespace package or a module built into the interpreter
    if filename.startswith("<"):
        return True  # exec'd code, a REPL or a notebook cell: nobody installed it
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


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            # Decorators of the covered function are its wrapping, not its code;
            # the @provenance line in particular holds the version.
            node.decorator_list = []


# filename -> {first line of the code object: def nodes starting (or decorated) there}
_DEFS: dict[str, tuple[Any, dict[int, list[Any]]]] = {}


def _defs_by_line(filename: str) -> tuple[list[str], str, dict[int, list[Any]]] | None:
    parsed = _parse_file(filename)
    if parsed is None:
        return None
    lines, tree, text = parsed
    cached = _DEFS.get(filename)
    if cached is not None and cached[0] is tree:
        return lines, text, cached[1]
    table: dict[int, list[Any]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            starts = {node.lineno}
            decorators = getattr(node, "decorator_list", None)
            if decorators:
                starts.add(min(d.lineno for d in decorators))
            for line in starts:
                table.setdefault(line, []).append(node)
    if len(_DEFS) >= 16:
        _DEFS.clear()
    _DEFS[filename] = (tree, table)
    return lines, text, table


def _normalized_source(code: types.CodeType) -> str | None:
    """The ``def`` (or lambda) of ``code``, parsed and unparsed, or ``None`` without source."""
    found = _defs_by_line(code.co_filename)
    if found is None:
        return None
    lines, text, table = found
    nodes = [
        n
        for n in table.get(code.co_firstlineno, ())
        if (code.co_name == "<lambda>") == isinstance(n, ast.Lambda)
        and (isinstance(n, ast.Lambda) or n.name == code.co_name)
    ]
    if len(nodes) != 1:
        return None  # ambiguous (several lambdas on one line): the bytecode decides
    node = nodes[0]
    try:
        if isinstance(node, ast.Lambda):
            segment = ast.get_source_segment(text, node) or ""
            tree: ast.AST = ast.parse(segment, mode="eval")
        else:
            segment = "".join(lines[node.lineno - 1 : node.end_lineno])
            tree = ast.parse(textwrap.dedent(segment))
    except (SyntaxError, ValueError):
        return None
    _strip_docstrings(tree)
    return ast.unparse(tree)


def _bytecode_text(code: types.CodeType) -> str:
    # No source (exec'd code): the compiled form, which changes between Python versions.
    consts = [
        _bytecode_text(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts
    ]
    digest = xxhash.xxh3_128_hexdigest(code.co_code + repr((code.co_names, consts)).encode())
    return f"<bytecode of {code.co_name} {digest}>"


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
    return text if len(text) <= 200 else text[:197] + "..."


def _is_constant(value: Any, depth: int = 0) -> bool:
    """Numbers, strings, bytes, None, and tuples and frozensets of them: they cannot change."""
    kind = type(value)
    if kind in _CONSTANT_SCALARS:
        return True
    if kind in (tuple, frozenset) and depth < 4 and len(value) <= 10_000:
        return all(_is_constant(v, depth + 1) for v in value)
    return False


_ASSIGNMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign)


def _assigned_names(node: Any) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _assignments(filename: str | None, name: str) -> str | None:
    """The module-level statements of ``filename`` that assign ``name``, normalized.

    A mutable global (``PARAMS = {...}``, ``registry = []``, ``model = Model(3)``)
    is identified by how the module makes it, not by its value now: its value
    may be state that the program changes as it runs.
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


class _Walk:
    """Collects the covered parts of one decorated function: ``key -> (digest, text)``."""

    def __init__(self) -> None:
        self.parts: dict[str, tuple[bytes, str]] = {}
        self.packages: dict[str, str] = {}
        self.seen: set[int] = set()
        self.order: list[str] = []

    def add(self, key: str, text: str, digest: bytes | None = None) -> None:
        if key not in self.parts:
            self.parts[key] = (digest or xxhash.xxh3_128_digest(text.encode()), text)
            self.order.append(key)

    def package(self, module: str | None) -> None:
        if not module:
            return
        top = module.partition(".")[0]
        if top in sys.stdlib_module_names or top in sys.builtin_module_names or top == "builtins":
            return
        if top not in self.packages:
            self.packages[top] = _package_version(top) or "unknown"

    # -- callables

    def callable(self, obj: Any, where: str) -> None:
        if id(obj) in self.seen:
            return
        self.seen.add(id(obj))
        inner = getattr(obj, "_provenance_function_", None)
        if inner is not None:  # a decorated helper: its own code counts
            self.callable(inner, where)
            return
        if isinstance(obj, functools.partial):
            self.value(f"{where} (partial arguments)", (obj.args, obj.keywords))
            self.callable(obj.func, where)
            return
        if isinstance(obj, (staticmethod, classmethod)):
            self.callable(obj.__func__, where)
            return
        if isinstance(obj, property):
            for f in (obj.fget, obj.fset, obj.fdel):
                if f is not None:
                    self.callable(f, where)
            return
        if isinstance(obj, types.MethodType):
            self.callable(obj.__func__, where)
            return
        if isinstance(obj, type):
            self.klass(obj)
            return
        if isinstance(obj, types.FunctionType):
            self.function(obj)
            return
        # A builtin or a callable instance: its class tells whose code it is.
        module = getattr(obj, "__module__", None) or type(obj).__module__
        kind = type(obj)
        if not isinstance(obj, types.BuiltinFunctionType) and _is_user_module(
            kind.__module__, _class_file(kind)
        ):
            self.klass(kind)
        else:
            self.package(module)

    def function(self, fn: types.FunctionType) -> None:
        module = fn.__module__
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:  # functools.wraps: the wrapped code runs too
            self.callable(wrapped, fn.__qualname__)
        if not _is_user_module(module, fn.__code__.co_filename):
            self.package(module)
            return
        name = f"{importable_module_name(module)}.{fn.__qualname__}"
        code = fn.__code__
        self.add(f"def {name}", _normalized_source(code) or _bytecode_text(code))
        if fn.__defaults__ or fn.__kwdefaults__:
            self.value(f"{name} (defaults)", (fn.__defaults__, fn.__kwdefaults__))
        if fn.__closure__:
            for var, cell in zip(code.co_freevars, fn.__closure__):
                try:
                    captured = cell.cell_contents
                except ValueError:  # not assigned yet
                    continue
                self.reference(f"{name} (closure {var})", captured, set())
        names = _code_names(code)
        self.globals(fn.__globals__, module, names)
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
        if id(cls) in self.seen and f"class {cls.__qualname__}" in self.parts:
            return
        self.seen.add(id(cls))
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
        for attr, member in sorted(vars(cls).items()):
            if attr in ("__dict__", "__weakref__", "__module__", "__qualname__", "__doc__"):
                continue
            if isinstance(
                member,
                (types.FunctionType, staticmethod, classmethod, property, functools.partial),
            ):
                self.callable(member, f"{name}.{attr}")
            elif isinstance(member, type):
                self.klass(member)
            elif _is_constant(member):
                self.value(f"{name}.{attr}", member)

    # -- names

    def globals(self, namespace: dict[str, Any], module: str, names: set[str]) -> None:
        owner = importable_module_name(module)
        filename = namespace.get("__file__")
        for name in sorted(names):
            if name in namespace:
                self.reference(f"{owner}.{name}", namespace[name], names, (filename, name))
            elif name in sys.modules and _is_user_module(name):
                # ``import helpers`` inside the function body.
                self.reference(name, sys.modules[name], names)

    def reference(
        self,
        where: str,
        obj: Any,
        names: set[str],
        assigned: tuple[str | None, str] | None = None,
    ) -> None:
        """Cover what ``obj``, found at ``where``, contributes.

        ``assigned`` is ``(module file, global name)`` when ``obj`` is a global
        of a user module, so that a mutable one can be covered by its assignment.
        """
        if isinstance(obj, types.ModuleType):
            if id(obj) in self.seen:
                return
            self.seen.add(id(obj))
            if not _is_user_module(obj.__name__):
                self.package(obj.__name__)
                return
            # Only the attributes the code names are followed (``helpers.scale``).
            filename = getattr(obj, "__file__", None)
            for attr in sorted(names):
                if attr in vars(obj):
                    self.reference(
                        f"{obj.__name__}.{attr}", vars(obj)[attr], names, (filename, attr)
                    )
            return
        if _is_constant(obj):
            self.value(where, obj)
            return
        if callable(obj) and not isinstance(obj, (dict, list, set)):
            self.callable(obj, where)
            return
        # Mutable data or an instance: covered by the statement that makes it
        # (its value now may be run-time state, a cache or a counter).
        text = _assignments(*assigned) if assigned is not None else None
        if text is not None:
            self.add(f"assignment {where}", text)
        kind = type(obj)
        if _is_user_module(kind.__module__, _class_file(kind)):
            self.klass(kind)  # an instance of a user class: its class's code counts
        else:
            self.package(kind.__module__)

    def value(self, where: str, value: Any) -> None:
        try:
            digest = value_digest(value)
        except HashingError:
            digest = xxhash.xxh3_128_digest(f"unhashable {type(value).__qualname__}".encode())
        self.add(f"value {where}", f"{where} = {_short_repr(value)}", digest)


# CPython's AST constructor keeps a recursion count that concurrent parses in
# several threads can corrupt ("AST constructor recursion depth mismatch",
# seen on 3.11 with 8 threads): one walk at a time.
_WALK_LOCK = threading.RLock()


def code_fingerprint(fn: Callable[..., Any]) -> CodeFingerprint:
    """The fingerprint of ``fn``'s code and of the user code it reaches.

    Parameters
    ----------
    fn : callable
        A function, method, ``functools.partial`` or callable object.

    Returns
    -------
    CodeFingerprint
        Its digest, normalized source text and the packages reached.
    """
    walk = _Walk()
    with _WALK_LOCK:
        walk.callable(fn, getattr(fn, "__qualname__", "function"))
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
    source = "\n\n".join(f"# {k}\n{walk.parts[k][1]}" for k in walk.order)
    return CodeFingerprint(digest, source, dict(sorted(walk.packages.items())))
