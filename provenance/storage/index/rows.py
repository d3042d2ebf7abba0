"""The index's rows: its tables, the artifact columns, and values going in and out.

The columns and value decoding are :mod:`.layout`'s (plain data, for the
code that reads without SQLAlchemy); this module adds the tables.
:data:`COLUMNS` is the order in which artifact rows are handed to ``Artifact``;
a cache hit reads only :data:`HOT_COLUMNS` and leaves :data:`DEFERRED` in the
others until they are read.  Values read through the raw DBAPI come back as
the driver gives them (JSON as text and naive timestamps on SQLite):
:func:`decode_json` and :func:`decode_datetime` turn them into Python values,
and :func:`_storable` prepares timestamps for writing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Table

from ..models import (
    ArtifactRow,
    CodeSource,
    FieldRow,
    LineageEdge,
    SetMember,
    SetRow,
    TagRow,
)
from .layout import (
    COLUMNS,
    DEFERRED,
    DEFERRED_COLUMNS,
    HOT_COLUMNS,
    HOT_POSITIONS,
    decode_datetime,
    decode_json,
)

__all__ = ["COLUMNS", "DEFERRED", "DEFERRED_COLUMNS", "HOT_COLUMNS", "decode_datetime",
           "decode_json"]  # fmt: skip

_table: Table = ArtifactRow.__table__
_edges: Table = LineageEdge.__table__
_tags: Table = TagRow.__table__
_fields: Table = FieldRow.__table__
_sets: Table = SetRow.__table__
_members: Table = SetMember.__table__
_code: Table = CodeSource.__table__
_HOT = [_table.c[COLUMNS[i]] for i in HOT_POSITIONS]
_HOT_POSITIONS = list(HOT_POSITIONS)


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
