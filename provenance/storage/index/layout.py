"""The index as code that does not import SQLAlchemy sees it: its revision, columns and values.

A process that only reads artifacts and records runs in an SQLite file
(:mod:`.light`) never imports SQLAlchemy, whose import alone costs more than
the whole cache hit it serves.  What such a process must know of the tables
is written here as plain data: the schema revision it expects
(``SCHEMA_HEAD``, from :mod:`..revisions`), the artifact columns in the order rows are handed to
``Artifact`` (:data:`COLUMNS`), which of them a cache hit reads
(:data:`HOT_COLUMNS`), and how the values read through a DBAPI driver
become Python values and back.  ``tests/storage/test_index_layout.py``
checks all of it against the tables of :mod:`..models` and the migrations.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ..revisions import SCHEMA_HEAD

__all__ = [
    "SCHEMA_HEAD",
    "COLUMNS",
    "DEFERRED",
    "DEFERRED_COLUMNS",
    "HOT_COLUMNS",
    "decode_datetime",
    "decode_json",
    "decode_row",
    "sqlite_time",
]

#: The artifact columns, in the order rows are handed to ``Artifact``.
COLUMNS: tuple[str, ...] = (
    "id", "value_id", "blob_id", "hash_scheme", "name", "version", "fn_module", "fn_name",
    "serializer", "load_kwargs", "dump_kwargs", "composite", "size", "value_inline",
    "inputs_json", "inputs_pickle", "inputs_blob_id", "input_artifact_ids", "custom_fields",
    "run_info", "computed_at", "compute_duration", "hash_duration", "input_id_duration",
    "code_fingerprint", "input_hashes",
)  # fmt: skip
#: What a cache hit reads: enough to load the value and say what it is.
#: The other columns are fetched, in one query, when first read.
HOT_COLUMNS: tuple[str, ...] = (
    "id", "value_id", "blob_id", "name", "version", "serializer",
    "load_kwargs", "composite", "value_inline", "code_fingerprint",
)  # fmt: skip
DEFERRED_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in HOT_COLUMNS)
#: Where each hot column goes in a row of :data:`COLUMNS`, in table order.
HOT_POSITIONS: tuple[int, ...] = tuple(i for i, c in enumerate(COLUMNS) if c in HOT_COLUMNS)


#: The artifact columns stored as JSON (text on SQLite).
JSON_COLUMNS = frozenset(
    {
        "load_kwargs", "dump_kwargs", "inputs_json", "input_artifact_ids", "custom_fields",
        "run_info", "input_hashes",
    }
)  # fmt: skip
_JSON_POSITIONS = tuple(i for i, c in enumerate(COLUMNS) if c in JSON_COLUMNS)
_COMPUTED_AT = COLUMNS.index("computed_at")
_COMPOSITE = COLUMNS.index("composite")


def decode_row(row: Any) -> tuple[Any, ...]:
    """A whole artifact row as read through a driver, its values as Python's.

    JSON columns decoded, ``computed_at`` an aware UTC datetime and
    ``composite`` a bool, whichever driver read it: what SQLAlchemy's column
    types give.
    """
    values = list(row)
    for i in _JSON_POSITIONS:
        values[i] = decode_json(values[i])
    values[_COMPUTED_AT] = decode_datetime(values[_COMPUTED_AT])
    values[_COMPOSITE] = bool(values[_COMPOSITE])
    return tuple(values)


class _Deferred:
    def __repr__(self) -> str:
        return "<deferred>"


#: Stands in a row for a column that was not fetched yet.
DEFERRED = _Deferred()


def decode_json(value: Any) -> Any:
    """Decode a JSON column as read through the raw DBAPI (a str on SQLite)."""
    if value is None or value == "null":
        return None
    if isinstance(value, (str, bytes)):
        return json.loads(value)
    return value


def decode_datetime(value: Any) -> datetime | None:
    """Turn a stored timestamp into an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def sqlite_time(value: datetime | None) -> str | None:
    """A timestamp as SQLAlchemy's SQLite ``DateTime`` stores it: naive UTC text.

    SQLite keeps no time zone; every timestamp is stored in UTC, and
    :func:`decode_datetime` reads it back as UTC.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")
