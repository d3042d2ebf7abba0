"""Validation of the strings and JSON values that the index stores or looks up.

Names, labels, tags, custom fields and pathspecs are checked here before
anything runs: a decorator's options when it decorates, a set's labels when
the set is made, a run's flow and tags before its block, a lookup before its
query.  The rules are those of the strictest backend, so every backend
refuses the same values:

* no NUL character (PostgreSQL text and JSON cannot hold one) and no lone
  surrogate (it is not UTF-8, so no driver can send it);
* no longer than the column that holds it (PostgreSQL refuses a longer
  value, SQLite would store it);
* JSON values are what a JSON column stores and gives back equal: dicts,
  lists, strings, finite numbers, booleans and ``None`` (PostgreSQL refuses
  ``NaN``), at most :data:`MAX_JSON_BYTES` once encoded.

Each check raises :class:`~provenance.errors.InvalidValue` (or the subclass
it is given) naming the field, and quotes at most :data:`QUOTE` characters
of the value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidValue

__all__ = [
    "FLOW_NAME",
    "MAX_JSON_BYTES",
    "MAX_NAME",
    "MAX_TAG",
    "QUOTE",
    "check_json",
    "check_lookup",
    "check_name",
    "check_tags",
    "check_text",
    "quote",
]

#: Artifact, set, flow and step names, function names: ``String(255)`` columns.
MAX_NAME = 255
#: Artifact and run tags: ``String(500)`` columns (Metaflow's limit too).
MAX_TAG = 500
#: A JSON document (custom fields, set labels, serializer arguments, run info),
#: encoded.  The columns have no width, but every row carries its document:
#: a megabyte is far more than a query needs and keeps a row cheap to read.
MAX_JSON_BYTES = 1 << 20
#: At most this many characters of a refused value are quoted in a message.
QUOTE = 100
#: What a flow name may hold: it is the first part of a pathspec and of S3 keys.
FLOW_NAME = re.compile(r"[A-Za-z0-9_.\-]+\Z")

ErrorType = type[InvalidValue]


def quote(value: object) -> str:
    """``repr`` of at most the first :data:`QUOTE` characters of ``value``."""
    if isinstance(value, str) and len(value) > QUOTE:
        return f"{value[:QUOTE]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= QUOTE + 2 else f"{text[:QUOTE]}... ({len(text)} characters)"


def _fail(error: ErrorType, field: str, problem: str) -> InvalidValue:
    return error(f"{field} {problem}", field=field)


def _check_chars(value: str, field: str, error: ErrorType) -> None:
    if "\x00" in value:
        raise _fail(
            error,
            field,
            f"contains a NUL character (\\x00), which no database stores: {quote(value)}",
        )
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _fail(
                error,
                field,
                f"contains a lone surrogate {value[exc.start]!r} at position {exc.start}, "
                f"which is not UTF-8: {quote(value)}",
            ) from None


def check_text(
    value: Any,
    field: str,
    max_len: int = MAX_NAME,
    *,
    empty: bool = False,
    error: ErrorType = InvalidValue,
) -> str:
    """Return ``value`` if it is a string the index can store or look up.

    Parameters
    ----------
    value : object
        The string to check.
    field : str
        What it was given as, for the message and ``error.field``.
    max_len : int
        The most characters it may have (the width of its column).
    empty : bool
        Whether the empty string is allowed.
    error : type
        The :class:`~provenance.errors.InvalidValue` subclass to raise.
    """
    if not isinstance(value, str):
        raise _fail(error, field, f"must be a string, got {type(value).__name__}: {quote(value)}")
    if not value and not empty:
        raise _fail(error, field, "must not be empty")
    if len(value) > max_len:
        raise _fail(
            error,
            field,
            f"is {len(value)} characters long; the limit is {max_len}: {quote(value)}",
        )
    _check_chars(value, field, error)
    return value


def check_name(value: Any, field: str, *, error: ErrorType = InvalidValue) -> str:
    """Return ``value`` if it can be a flow name: 1-255 of ``A-Za-z0-9_.-``, not ``.`` or ``..``."""
    check_text(value, field, MAX_NAME, error=error)
    if not FLOW_NAME.match(value) or value in (".", ".."):
        raise _fail(
            error,
            field,
            f"must be letters, digits, '_', '-' or '.' and not '.' or '..' "
            f"(it is the first part of a pathspec), got {quote(value)}",
        )
    return value


def check_tags(
    tags: Iterable[Any] | None, field: str, *, error: ErrorType = InvalidValue
) -> list[str]:
    """Check a collection of tags (1-500 characters each); a lone string is refused."""
    if tags is None:
        return []
    if isinstance(tags, (str, bytes)):
        raise _fail(error, field, f"must be a collection of strings, not one string: {quote(tags)}")
    return [check_text(t, f"a tag in {field}", MAX_TAG, error=error) for t in tags]


def check_json(
    value: Any, field: str, *, max_bytes: int = MAX_JSON_BYTES, error: ErrorType = InvalidValue
) -> Any:
    """Return ``value`` if a JSON column stores it on every backend and gives it back equal.

    Dicts (with string keys), lists, tuples, strings, finite numbers, booleans
    and ``None``; the strings (keys included) as :func:`check_text` wants
    them, and at most ``max_bytes`` once encoded.  The message names the
    path of a refused member (``custom_fields['a'][2]``).
    """
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        _walk(value, field, error, 0)  # names the member at fault
        raise _fail(error, field, f"is not JSON: {quote(value)}") from None
    if size > max_bytes:
        raise _fail(error, field, f"is {size} bytes as JSON; the limit is {max_bytes}")
    _walk(value, field, error, 0)
    return value


def _walk(value: Any, path: str, error: ErrorType, depth: int) -> None:
    if depth > 100:
        raise _fail(error, path, "is nested more than 100 levels deep (or holds itself)")
    if isinstance(value, str):
        _check_chars(value, path, error)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(error, path, f"is {value!r}, which JSON columns cannot hold")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _fail(
                    error, path, f"has a key that is not a string: {quote(key)} (JSON keys are)"
                )
            _check_chars(key, f"a key of {path}", error)
            _walk(item, f"{path}[{quote(key)}]", error, depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]", error, depth + 1)
    elif value is not None and not isinstance(value, (bool, int)):
        raise _fail(
            error,
            path,
            f"has type {type(value).__name__}, which is not JSON "
            "(dict, list, str, number, bool, None)",
        )


def check_lookup(**criteria: str | None) -> None:
    """Refuse a looked-up ``name``, ``value_id`` or ``fn_name`` that its column could not hold."""
    # Such a string matches nothing on SQLite and is an error on PostgreSQL:
    # refused on both, naming the criterion.
    for field, value in criteria.items():
        if value is not None:
            check_text(value, f"the {field} looked up", 255 if field != "value_id" else 128)
