"""The index's rows: its tables, the artifact columns, and values going in and out.

:data:`COLUMNS` is the order in which artifact rows are handed to ``Artifact``;
a cache hit reads only :data:`HOT_COLUMNS` and leaves :data:`DEFERRED` in the
others until they are read.  Values read through the raw DBAPI come back as
the driver gives them (JSON as text and naive timestamps on SQLite):
:func:`decode_json` and :func:`decode_datetime` turn them into Python values,
and :func:`_storable` prepares timestamps for writing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Table

from ..models import ArtifactRow, CodeSource, LineageEdge, SetMember, SetRow, TagRow

_table: Table = ArtifactRow.__table__
#: The artifact columns, in the order rows are handed to ``Artifact``.
COLUMNS: tuple[str, ...] = tuple(c.name for c in _table.columns)
#: What a cache hit reads: enough to load the value and say what it is.
#: The other columns are fetched, in one query, when first read.
HOT_COLUMNS: tuple[str, ...] = (
    "id", "value_id", "blob_id", "name", "version", "serializer",
    "load_kwargs", "composite", "value_inline", "code_fingerprint",
)  # fmt: skip
DEFERRED_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in HOT_COLUMNS)


class _Deferred:
    def __repr__(self) -> str:
        return "<deferred>"


#: Stands in a row for a column that was not fetched yet.
DEFERRED = _Deferred()
_edges: Table = LineageEdge.__table__
_tags: Table = TagRow.__table__
_sets: Table = SetRow.__table__
_members: Table = SetMember.__table__
_code: Table = CodeSource.__table__
_HOT = [c for c in _table.columns if c.name not in DEFERRED_COLUMNS]
_HOT_POSITIONS = [COLUMNS.index(c.name) for c in _HOT]
_JSON_COLUMNS = frozenset(
    {
        "load_kwargs", "dump_kwargs", "inputs_json", "input_artifact_ids", "custom_fields",
        "run_info", "input_hashes",
    }
)  # fmt: skip


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


def _storable(
    dialect: str, row: Mapping[str, Any], times: Sequence[str] = ("computed_at",)
) -> dict[str, Any]:
    """A copy of ``row`` ready to write on ``dialect``, its ``times`` columns converted."""
    row = dict(row)
    if dialect == "sqlite":
        # SQLite keeps no time zone: store UTC without one, read back as UTC.
        for key in times:
            value = row.get(key)
            if isinstance(value, datetime) and value.tzinfo is not None:
                row[key] = value.astimezone(timezone.utc).replace(tzinfo=None)
    return row
