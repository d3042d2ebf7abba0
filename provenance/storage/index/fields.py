"""The rows that index an artifact's custom fields and tags: what a filter finds fast.

A filter "custom field ``k`` holds ``v``" on the JSON column is a scan of
every row; on a million artifacts it takes a second.  So each top-level
scalar of an artifact's custom fields is also written as a row of
``artifact_fields``: its key (``name``) and the hash of the value's canonical JSON,
with the artifact's ``computed_at``, under an index on ``(name, value_hash,
computed_at)``.  A page of matches, newest first, is then one range of that
index.  Tags carry ``computed_at`` for the same reason.

The hash stands for the value only to narrow the search: the page query also
checks the JSON column itself on the rows it finds, so two values that share
a hash can never mix.  Both index classes write these rows (the light one
without SQLAlchemy), and migration 0006 fills them for older artifacts, all
through :func:`field_rows`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import xxhash

__all__ = ["MAX_KEY", "field_hash", "field_rows"]

#: Longer keys are not indexed (the column's width); filters only take 64.
MAX_KEY = 255


def field_hash(value: Any) -> str | None:
    """The hash of a JSON scalar's canonical text, or ``None`` for a value that is not one.

    Equal JSON values hash alike: ``1`` and ``1.0`` are one number (as SQLite
    and PostgreSQL compare them), while ``1``, ``true`` and ``"1"`` differ.
    """
    if value is None or isinstance(value, bool):
        text = json.dumps(value)
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None  # not JSON: never stored, never matched
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        return None
    return xxhash.xxh3_64_hexdigest(text.encode("utf-8", "surrogatepass"))


def field_rows(custom_fields: Any) -> list[tuple[str, str]]:
    """``(key, value hash)`` of each top-level scalar of ``custom_fields`` that is indexed."""
    if not isinstance(custom_fields, Mapping):
        return []
    rows = []
    for key, value in custom_fields.items():
        digest = field_hash(value)
        if digest is not None and isinstance(key, str) and 0 < len(key) <= MAX_KEY:
            rows.append((key, digest))
    return rows
