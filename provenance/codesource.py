"""The normalized source of a function: what its code fingerprint hashes, and shows.

A ``def`` (or lambda) is found in its file's syntax tree (parsed once per
file, see :mod:`provenance.hashing.source`), stripped of docstrings and
decorators, and written as a canonical text of its tree (hashed; the same on
Python 3.10 to 3.13) and, when shown, unparsed.  Code without source, or
whose file was edited after it was imported, is described by its bytecode.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import os
import re
import textwrap
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

from .hashing.source import _PARSE_LOCK, _parse_file

__all__ = ["assignments", "bytecode_text", "normalized"]


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


def normalized(code: types.CodeType) -> tuple[str, Callable[[], str]] | None:
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


def bytecode_text(code: types.CodeType) -> str:
    # No source (exec'd code, an edited file): the compiled form, which
    # changes between Python versions.  Constants are hashed canonically (a
    # frozenset's repr depends on PYTHONHASHSEED).
    from .hashing.functions import _bytecode_fingerprint

    return f"<bytecode of {code.co_name} {_bytecode_fingerprint(code).hex()}>"


_ASSIGNMENTS = (ast.Assign, ast.AnnAssign, ast.AugAssign)


def _assigned_names(node: Any) -> set[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def assignments(filename: str | None, name: str) -> str | None:
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
