"""One page of the artifact listing, newest first, found through an index whatever the filter.

A page is ``ORDER BY computed_at DESC, id`` with a keyset (the last row of
the previous page), so its cost must not grow with the depth of the page nor
with the size of the index.  Each filter is therefore served by an index
whose order is the page's:

- no filter, or an exact ``name``: ``artifacts (computed_at)`` or ``(name,
  computed_at)``;
- a ``field`` (custom field ``key`` holding a JSON scalar): ``artifact_fields
  (name, value_hash, computed_at)``, then the JSON column itself is checked
  on the rows found (the hash only narrows, see :mod:`.fields`);
- a ``tag``: ``artifact_tags (tag, computed_at)``;
- ``contains`` (a case-insensitive part of the name or the function's name):
  the distinct names and function names are read by skipping through their
  indexes (a recursive query, one index step per distinct value), matched
  here, and each match gives its newest rows through ``(name,
  computed_at)`` or ``(fn_name, computed_at)``.  A repo with more distinct
  names than :data:`MAX_NAMES` is scanned instead, newest first.

When several filters are given, the first of field, tag and name drives and
the others are checked on its rows.  The SQL is plain, with ``?``
placeholders, for both index classes (see :mod:`.plain`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from .fields import field_hash
from .layout import decode_datetime, sqlite_time

__all__ = ["MAX_NAMES", "PAGE_COLUMNS", "artifact_page"]

#: The columns of a page's rows, in order.
PAGE_COLUMNS = ("id", "name", "version", "size", "computed_at", "fn_module", "fn_name")
#: Distinct names (or function names) read for a search before it scans instead.
MAX_NAMES = 5000
#: How far the ranges of a tag and a field are counted to pick the smaller.
_COUNT_BOUND = 10_000
#: Names searched per query, each its own small ordered range.
_NAMES_PER_QUERY = 100

_A_COLUMNS = ", ".join(f"a.{c}" for c in PAGE_COLUMNS)


class _Reads(Protocol):
    def read_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def artifact_page(
    reads: _Reads,
    dialect: str,
    *,
    name: str | None,
    contains: str | None,
    tag: str | None,
    field: tuple[str, Any] | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """The rows of one page (see the module); arguments as ``PlainReads.page``, checked."""
    digest = field_hash(field[1]) if field is not None else None
    if field is not None and digest is None:
        return []
    matched = _matching_names(reads, contains) if contains else None
    if contains and matched == []:
        return []  # no name holds it: nothing to scan for
    if contains and matched is not None and name is None and field is None and tag is None:
        return _by_names(reads, dialect, matched, after, limit)

    where: list[str] = []
    params: list[Any] = []
    source = "artifacts a"
    order = ("a.computed_at", "a.id")
    drivers: list[tuple[str, tuple[str, ...], list[Any]]] = []  # (table, columns, values)
    if field is not None:
        drivers.append(("artifact_fields", ("name", "value_hash"), [field[0], digest]))
    if tag is not None:
        drivers.append(("artifact_tags", ("tag",), [tag]))
    if len(drivers) == 2 and _count_upto(reads, *drivers[1]) < _count_upto(reads, *drivers[0]):
        drivers.reverse()  # the smaller range drives: the other is checked on its rows
    if drivers:
        table, columns, values = drivers[0]
        joined = "CROSS JOIN" if dialect == "sqlite" else "JOIN"  # CROSS: SQLite keeps the order
        source = f"{table} d {joined} artifacts a ON a.id = d.artifact_id"
        order = ("d.computed_at", "d.artifact_id")
        where.append(_equal("d", columns))
        params += values
        for table, columns, values in drivers[1:]:
            # On d's id: checked before the artifact's row is read.
            where.append(f"EXISTS (SELECT 1 FROM {table} t WHERE t.artifact_id = d.artifact_id "
                         f"AND {_equal('t', columns)})")  # fmt: skip
            params += values
    if field is not None:
        where.append(_field_clause(dialect, *field, params))
    if name is not None:
        where.append("a.name = ?")
        params.append(name)
    if contains:
        where.append(_like_clause(contains, params))
    if after is not None:
        where.append(_keyset(dialect, order, after, params))
    sql = f"SELECT {_A_COLUMNS} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {order[0]} DESC, {order[1]} LIMIT ?"
    params.append(int(limit))
    return _decoded(reads.read_rows(sql, params))


def _equal(alias: str, columns: Sequence[str]) -> str:
    return " AND ".join(f"{alias}.{column} = ?" for column in columns)


def _count_upto(reads: _Reads, table: str, columns: Sequence[str], values: list[Any]) -> int:
    """The rows of ``table`` holding ``values`` in ``columns``, up to :data:`_COUNT_BOUND`."""
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} c WHERE {_equal('c', columns)} LIMIT ?) q"
    return int(reads.read_rows(sql, [*values, _COUNT_BOUND])[0][0])


def _decoded(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(r[0], r[1], r[2], r[3], decode_datetime(r[4]), r[5], r[6]) for r in rows]


def _keyset(dialect: str, order: tuple[str, str], after: Any, params: list[Any]) -> str:
    when, last = after
    # Compared as stored: SQLite keeps text, the others a timestamp.
    stored = sqlite_time(when) if dialect == "sqlite" else when
    params += [stored, stored, last]
    # The first term is a range the index can start from; an OR alone is not
    # one, and SQLite then walked the index from the newest row to the cursor.
    return f"({order[0]} <= ? AND ({order[0]} < ? OR {order[1]} > ?))"


def _like_clause(contains: str, params: list[Any]) -> str:
    # LIKE's own wildcards in the text are matched as themselves.
    pattern = "%" + contains.lower().replace("\\", "\\\\").replace("%", "\\%")
    pattern = pattern.replace("_", "\\_") + "%"
    params += [pattern, pattern]
    return "(lower(a.name) LIKE ? ESCAPE '\\' OR lower(a.fn_name) LIKE ? ESCAPE '\\')"


def _distinct(reads: _Reads, column: str) -> list[str] | None:
    """Every distinct value of an indexed column, one index step each; None past MAX_NAMES."""
    sql = (
        f"WITH RECURSIVE v(x) AS (SELECT MIN({column}) FROM artifacts UNION ALL "
        f"SELECT (SELECT MIN({column}) FROM artifacts WHERE {column} > v.x) FROM v "
        f"WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL LIMIT ?"
    )
    values = [row[0] for row in reads.read_rows(sql, [MAX_NAMES + 1])]
    return None if len(values) > MAX_NAMES else values


def _matching_names(reads: _Reads, contains: str) -> list[tuple[str, str]] | None:
    """``(column, value)`` of the names and function names holding ``contains``, or None."""
    wanted = contains.lower()
    matched: list[tuple[str, str]] = []
    for column in ("name", "fn_name"):
        values = _distinct(reads, column)
        if values is None:
            return None
        matched += [(column, v) for v in values if wanted in v.lower()]
    return matched


def _by_names(
    reads: _Reads,
    dialect: str,
    matched: list[tuple[str, str]],
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[Any, ...]]:
    """The newest ``limit`` rows of the matched names, each read from its own index range."""
    found: dict[str, tuple[Any, ...]] = {}
    columns = ", ".join(PAGE_COLUMNS)
    for start in range(0, len(matched), _NAMES_PER_QUERY):
        parts: list[str] = []
        params: list[Any] = []
        for column, value in matched[start : start + _NAMES_PER_QUERY]:
            where = [f"a.{column} = ?"]
            params.append(value)
            if after is not None:
                where.append(_keyset(dialect, ("a.computed_at", "a.id"), after, params))
            parts.append(
                f"SELECT {columns} FROM (SELECT {_A_COLUMNS} FROM artifacts a WHERE "
                f"{' AND '.join(where)} ORDER BY a.computed_at DESC, a.id LIMIT ?) AS q{len(parts)}"
            )
            params.append(int(limit))
        # The same artifact can match by its name and its function's: one row each.
        for row in reads.read_rows(" UNION ALL ".join(parts), params):
            found.setdefault(row[0], row)
    rows = _decoded(list(found.values()))
    # Newest first, then by id, as the SQL orders it (ties on the second).
    rows.sort(key=lambda r: r[0])
    rows.sort(key=lambda r: r[4], reverse=True)
    return rows[:limit]


def _field_clause(dialect: str, key: str, value: Any, params: list[Any]) -> str:
    """The condition "custom field ``key`` holds the JSON scalar ``value``" (adds its params)."""
    if dialect == "sqlite":
        # json_extract gives a scalar its SQL type (a JSON true is 1, "3" and 3
        # compare apart only by type): json_type tells them apart.
        path = f'$."{key}"'
        if value is None or isinstance(value, bool):
            params += [path, json.dumps(value)]
            return "json_type(a.custom_fields, ?) = ?"
        kind = "'text'" if isinstance(value, str) else "'integer', 'real'"
        params += [path, path, value]
        return (
            f"(json_type(a.custom_fields, ?) IN ({kind}) AND json_extract(a.custom_fields, ?) = ?)"
        )
    params += [key, json.dumps(value)]
    return "(a.custom_fields -> ?) = CAST(? AS jsonb)"
