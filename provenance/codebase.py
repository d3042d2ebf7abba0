"""Whose code is it: the user's own modules, installed packages, and module names.

A module is the user's own when its file lies outside the interpreter's
standard library and ``site-packages`` directories (a project installed in
editable mode included); code without a file (a REPL, ``exec``, a notebook
cell) is the user's unless its module's name is the standard library's.
:func:`importable_module_name` names a script's functions by the module its
file would be imported as, so that running it and importing it agree.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import sys
import sysconfig
import types

__all__ = [
    "class_file",
    "importable_module_name",
    "is_user_file",
    "is_user_module",
    "library_dirs",
    "library_name",
    "package_version",
]


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
def library_dirs() -> tuple[str, ...]:
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
def is_user_file(filename: str) -> bool:
    path = os.path.realpath(filename)
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not any(path.startswith(d) for d in library_dirs())


def library_name(module: str | None) -> bool:
    """For code without a file: whether its module's name is the standard library's."""
    top = (module or "").partition(".")[0]
    return top in ("provenance", "builtins") or top in sys.stdlib_module_names


def is_user_module(module: str | None, filename: str | None = None) -> bool:
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
            return not library_name(module) and module not in sys.builtin_module_names
    if filename.startswith("<"):
        # exec'd code, a REPL or a notebook cell: nobody installed it.
        return not library_name(module)
    return is_user_file(filename)


def class_file(cls: type) -> str | None:
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
def package_version(top: str) -> str | None:
    module = sys.modules.get(top)
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    try:
        return importlib.metadata.version(top)
    except Exception:
        return None
