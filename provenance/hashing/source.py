"""The source text a function hashes by: its ``def`` without decorators, or its lambda.

Files are read through ``linecache`` and parsed whole, so that a lambda can be
cut out of the statement that holds it; the last few parsed files are kept.
"""

from __future__ import annotations

import threading
import types
from typing import Any

_PARSED: dict[str, tuple[list[str], Any, str]] = {}  # filename -> (lines, AST, text)
# Parsing in several threads at once can fail inside CPython's AST constructor
# ("recursion depth mismatch"): one parse at a time.
_PARSE_LOCK = threading.RLock()


def _parse_file(filename: str) -> tuple[list[str], Any, str] | None:
    import ast
    import linecache

    lines = linecache.getlines(filename)
    if not lines:
        return None
    cached = _PARSED.get(filename)
    if cached is not None and cached[0] is lines:  # linecache returns the same list if unchanged
        return cached
    text = "".join(lines)
    try:
        with _PARSE_LOCK:
            tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    if len(_PARSED) >= 8:  # ASTs of big files are big
        _PARSED.clear()
    _PARSED[filename] = (lines, tree, text)
    return lines, tree, text


def _function_source(code: types.CodeType) -> str | None:
    """The source of a ``def`` without its decorators, or of a lambda expression alone.

    Like ``inspect.getsource`` it reads the file through ``linecache``, but it parses
    the whole file so that a lambda can be cut out of the statement that holds it.
    """
    import ast
    import textwrap

    parsed = _parse_file(code.co_filename)
    if parsed is None:
        return None
    lines, tree, text = parsed
    first = code.co_firstlineno
    if code.co_name == "<lambda>":
        return _lambda_source(code, tree, text)
    defs = [
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        and n.name == code.co_name
        and first in (n.lineno, min([d.lineno for d in n.decorator_list] + [n.lineno]))
    ]
    if len(defs) != 1:
        return None
    body = "".join(lines[defs[0].lineno - 1 : defs[0].end_lineno])
    return textwrap.dedent(body.replace("\r\n", "\n"))


def _lambda_source(code: types.CodeType, tree: Any, text: str) -> str | None:
    import ast

    nargs = code.co_argcount + code.co_kwonlyargcount
    nargs += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)  # *args, **kwargs
    argnames = code.co_varnames[:nargs]
    candidates = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno:
            a = node.args
            names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
            names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
            if tuple(names) == argnames:
                candidates.append(node)
    spots = []
    if len(candidates) > 1 and hasattr(code, "co_positions"):  # Python 3.11+
        spots = [  # zero-width positions (RESUME, the implicit return) point at column 0
            (line, col)
            for line, end_line, col, end_col in code.co_positions()
            if line is not None and col is not None and (end_line, end_col) != (line, col)
        ]
    if spots:
        # Several lambdas with these parameters on one line: keep the smallest whose
        # span holds every located instruction of this code object.

        def holds(n: Any) -> bool:
            start, end = (n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)
            return all(start <= spot < end for spot in spots)

        candidates = [n for n in candidates if holds(n)]
        # Nested spans that hold the same spots: the innermost ends first and starts last.
        candidates.sort(key=lambda n: (n.end_lineno, n.end_col_offset, -n.lineno, -n.col_offset))
        candidates = candidates[:1]
    elif len(candidates) > 1:  # no positions (3.10): compare what each one compiles to
        candidates = [n for n in candidates if _compiles_alike(code, n, text)]
    if len(candidates) != 1:
        return None  # ambiguous: the caller falls back to the bytecode
    return ast.get_source_segment(text, candidates[0])


def _compiles_alike(code: types.CodeType, node: Any, text: str) -> bool:
    """Whether a lambda's source, compiled alone, has ``code``'s constants and names."""
    import ast

    try:
        with _PARSE_LOCK:
            module = compile(ast.get_source_segment(text, node) or "", "<lambda>", "eval")
    except SyntaxError:
        return False
    alone = next((c for c in module.co_consts if isinstance(c, types.CodeType)), None)
    if alone is None:
        return False
    # Compiled alone, the lambda's free variables become global names.
    return alone.co_consts == code.co_consts and set(alone.co_names) == set(
        code.co_names + code.co_freevars
    )
