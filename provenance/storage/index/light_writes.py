"""The artifact write of the light SQLite index: its row, edges, tags and fields, in plain SQL.

What :meth:`SqlIndex.put <provenance.storage.index.sql.SqlIndex.put>` does,
written for :mod:`sqlite3`, so that a process that computes and stores a
value (a miss, a flow task) on a plain SQLite file does not import
SQLAlchemy for it.  Values are written as SQLAlchemy's types write them on
SQLite (JSON as ``json.dumps`` text, ``None`` as JSON ``null``; naive UTC
times; booleans as integers), so that either index reads what the other
wrote: the index contract suite (``tests/storage/test_index.py``) runs on
both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .fields import field_rows
from .layout import COLUMNS, JSON_COLUMNS, sqlite_time

__all__ = ["put_artifact", "put_code"]

_KNOWN = frozenset(COLUMNS)


def _value(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return json.dumps(value)
    if isinstance(value, datetime):
        return sqlite_time(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def put_artifact(
    index: Any,
    row: Mapping[str, Any],
    edges: Sequence[tuple[str, str]],
    tags: Sequence[str],
    replace: bool,
    code: tuple[str, str, Mapping[str, str]] | None,
    code_stored: set[str],
) -> bool:
    """Index one artifact in one transaction of ``index``; whether this call wrote the row."""
    # The Python-side defaults of the table (models.py), which SQLAlchemy fills in.
    row = {"composite": False, **row}
    columns = [c for c in row if c in _KNOWN]
    unknown = set(row) - _KNOWN
    if unknown:  # a column this layout does not know: never dropped silently
        raise ValueError(f"unknown artifact columns {sorted(unknown)}")
    values = [_value(c, row[c]) for c in columns]
    artifact_id = row["id"]
    with index.dbapi_transaction() as conn:
        cur = conn.cursor()
        if code is not None and code[0] not in code_stored:
            _insert_code(cur, *code)
        replaced = False
        if replace:
            sets = ", ".join(f"{c} = ?" for c in columns)
            cur.execute(f"UPDATE artifacts SET {sets} WHERE id = ?", (*values, artifact_id))
            replaced = cur.rowcount > 0
        if replaced:
            # Its tags and fields are written again, with the new computed_at.
            for table in ("artifact_tags", "artifact_fields"):
                cur.execute(f"DELETE FROM {table} WHERE artifact_id = ?", (artifact_id,))
        else:
            marks = ", ".join("?" for _ in columns)
            cur.execute(
                f"INSERT INTO artifacts ({', '.join(columns)}) VALUES ({marks}) "
                "ON CONFLICT DO NOTHING RETURNING id",
                values,
            )
            if cur.fetchone() is None:
                cur.close()
                return False
            edge_rows = [(artifact_id, i, p) for i, p in dict.fromkeys(edges)]
            if edge_rows:
                cur.executemany(
                    "INSERT INTO artifact_lineage (artifact_id, input_artifact_id, parameter) "
                    "VALUES (?, ?, ?)",
                    edge_rows,
                )
        when = _value("computed_at", row.get("computed_at"))
        tag_rows = [(artifact_id, str(t), when) for t in dict.fromkeys(tags)]
        if tag_rows:
            cur.executemany(
                "INSERT INTO artifact_tags (artifact_id, tag, computed_at) VALUES (?, ?, ?)",
                tag_rows,
            )
        field_values = [(artifact_id, k, h, when) for k, h in field_rows(row.get("custom_fields"))]
        if field_values:
            cur.executemany(
                "INSERT INTO artifact_fields (artifact_id, name, value_hash, computed_at) "
                "VALUES (?, ?, ?, ?)",
                field_values,
            )
        cur.close()
    if code is not None:
        code_stored.add(code[0])  # once committed: after a rollback it is written again
    return True


def _insert_code(cur: Any, fingerprint: str, source: str, packages: Mapping[str, str]) -> None:
    cur.execute(
        "INSERT INTO code_sources (fingerprint, source, packages, created_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (fingerprint, source.replace("\x00", "\\x00"), json.dumps(dict(packages)),
         sqlite_time(datetime.now(timezone.utc))),
    )  # fmt: skip


def put_code(
    index: Any,
    fingerprint: str,
    source: str,
    packages: Mapping[str, str],
    code_stored: set[str],
) -> None:
    """Store a source text once per fingerprint, as ``SqlIndex.put_code`` does."""
    if fingerprint in code_stored:
        return
    with index.dbapi_transaction() as conn:
        cur = conn.cursor()
        _insert_code(cur, fingerprint, source, packages)
        cur.close()
    code_stored.add(fingerprint)
