"""The artifact reads written as plain SQL, which both index classes run.

:class:`PlainReads` needs one method of its host, ``read_rows(sql, params)``
(SQL with ``?`` placeholders; values come back as the driver gives them).
The light SQLite index runs them with ``sqlite3``, the full index through
its driver, so a listing or a batch of rows reads the same on every backend
and imports no SQLAlchemy on the light one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ..stored_inputs import InputRef, refs_in_summary
from ..validate import check_lookup
from .layout import COLUMNS, decode_datetime, decode_json, decode_row
from .pages import PAGE_COLUMNS, artifact_page

__all__ = ["PAGE_COLUMNS", "PlainReads"]


_ALL = ", ".join(COLUMNS)
#: Ids per ``IN (...)`` query: below every driver's limit on parameters.
_CHUNK = 500


class PlainReads:
    """Batch reads and listings of artifact rows (see the module)."""

    def read_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _by_ids(self, columns: str, artifact_ids: Iterable[str]) -> list[tuple[Any, ...]]:
        return self._in_chunks(f"SELECT {columns} FROM artifacts", "id", artifact_ids)

    def _in_chunks(self, sql: str, column: str, ids: Iterable[str]) -> list[tuple[Any, ...]]:
        """The rows of ``sql WHERE column IN (...)`` for ``ids``, :data:`_CHUNK` at a time."""
        wanted = list(dict.fromkeys(ids))
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows += self.read_rows(f"{sql} WHERE {column} IN ({marks})", chunk)
        return rows

    def get_many(self, artifact_ids: Iterable[str]) -> dict[str, tuple[Any, ...]]:
        """Whole rows (``COLUMNS`` order, values decoded) of the given ids that exist, by id."""
        return {row[0]: decode_row(row) for row in self._by_ids(_ALL, artifact_ids)}

    def summaries(
        self, *, name: str | None = None, limit: int | None = None
    ) -> list[tuple[str, str, int, int | None, datetime | None]]:
        """``(id, name, version, size, computed_at)`` of artifacts, newest first.

        Only the columns a listing shows are read (no values, no pickled
        inputs), so listing a large index stays one light query.
        """
        check_lookup(name=name)
        sql = "SELECT id, name, version, size, computed_at FROM artifacts"
        params: list[Any] = []
        if name is not None:
            sql += " WHERE name = ?"
            params.append(name)
        sql += " ORDER BY computed_at DESC, id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self.read_rows(sql, params)
        return [(r[0], r[1], r[2], r[3], decode_datetime(r[4])) for r in rows]

    def page(
        self,
        *,
        name: str | None = None,
        contains: str | None = None,
        tag: str | None = None,
        field: tuple[str, Any] | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 50,
    ) -> list[tuple[Any, ...]]:
        """One page of artifacts, newest first: rows of :data:`PAGE_COLUMNS`.

        Keyset pagination: ``after`` is the ``(computed_at, id)`` of the
        last row of the previous page, so a page costs the same at any depth,
        and every filter is served by an index in the page's order (see
        :mod:`.pages`).  ``name`` is exact; ``contains`` is a case-insensitive
        substring of the name or the function's name; ``tag`` must be one of
        the artifact's tags; ``field`` is ``(key, value)``: a top-level key of
        the custom fields holding that JSON scalar (``3`` is not ``"3"``,
        ``1`` is not ``true``).
        """
        check_lookup(name=name, fn_name=contains, tag=tag)
        if not 1 <= int(limit) <= 10_000:
            raise ValueError(f"limit must be between 1 and 10000, got {limit!r}")
        if field is not None:
            _check_field(*field)
        # Checked here, before any query: a search that matches no name reads no page.
        if after is not None and (
            not isinstance(after, tuple) or len(after) != 2
            or not isinstance(after[0], datetime) or not isinstance(after[1], str)
        ):  # fmt: skip
            raise TypeError(f"after must be (datetime, artifact id), got {after!r}")
        dialect = getattr(self, "dialect_name", "sqlite")
        return artifact_page(self, dialect, name=name, contains=contains, tag=tag, field=field,
                             after=after, limit=int(limit))  # fmt: skip

    def usage(
        self, *, name: str | None = None, ids: Sequence[str] | None = None
    ) -> list[tuple[Any, ...]]:
        """What eviction weighs, per artifact (of ``name``, or of ``ids``, or all).

        ``(id, name, blob_id, value in a blob, size, bytes of pickled inputs,
        inputs blob, inputs_json, computed_at, last task, in a saved set)``;
        the last task is the latest start or end of a task that returned the
        artifact (a cache hit writes one), as the driver gives it.
        """
        check_lookup(name=name)
        sql = (
            "SELECT a.id, a.name, a.blob_id, a.value_inline IS NULL, a.size, "
            "length(a.inputs_pickle), a.inputs_blob_id, a.inputs_json, a.computed_at, "
            "(SELECT MAX(COALESCE(t.finished_at, t.started_at)) FROM tasks t "
            "WHERE t.artifact_id = a.id), "
            "EXISTS (SELECT 1 FROM artifact_set_members m WHERE m.artifact_id = a.id) "
            "FROM artifacts a"
        )
        if ids is not None:
            return self._in_chunks(sql, "a.id", ids)
        if name is None:
            return self.read_rows(sql)
        return self.read_rows(sql + " WHERE a.name = ?", [name])

    def held_by_values(self) -> dict[str, set[str]]:
        """The artifacts other artifacts' values hold: holder ids by held id.

        A composite's members (the ids of its member index, kept in its row)
        and the artifacts whose values a value returned (its lineage edges
        named ``<return>...``): loading the holder loads them.
        """
        held: dict[str, set[str]] = {}
        rows = self.read_rows("SELECT id, value_inline FROM artifacts WHERE composite = ?", [True])
        for holder, inline in rows:
            try:
                members = json.loads(bytes(inline)) if inline is not None else {}
            except ValueError:
                continue  # verify reports a damaged index; nothing is known to be held
            for member in members.values() if isinstance(members, dict) else ():
                held.setdefault(str(member), set()).add(holder)
        edges = self.read_rows(
            "SELECT artifact_id, input_artifact_id FROM artifact_lineage WHERE parameter LIKE ?",
            ["<return>%"],
        )
        for holder, member in edges:
            held.setdefault(member, set()).add(holder)
        return held

    def dependents(self, artifact_ids: Iterable[str]) -> set[str]:
        """The artifacts that took any of ``artifact_ids`` as an input, by the lineage edges.

        One query per 500 ids.  The edges of an artifact go with it, but
        those naming it as an input stay with the artifacts computed from
        it: after a removal, this is what was kept of its children.  Edges
        to what a returned value holds (``<return>...``) are not inputs.
        """
        sql = "SELECT artifact_id, parameter FROM artifact_lineage"
        rows = self._in_chunks(sql, "input_artifact_id", artifact_ids)
        return {child for child, parameter in rows if not str(parameter).startswith("<return>")}

    def sets_of(self, artifact_ids: Iterable[str]) -> dict[str, list[tuple[str, str | None]]]:
        """The saved sets each artifact is a member of: ``(set id, name)`` by artifact id."""
        sql = (
            "SELECT m.artifact_id, s.id, s.name FROM artifact_set_members m "
            "JOIN artifact_sets s ON s.id = m.set_id"
        )
        found: dict[str, list[tuple[str, str | None]]] = {}
        for artifact_id, set_id, name in self._in_chunks(sql, "m.artifact_id", artifact_ids):
            found.setdefault(artifact_id, []).append((set_id, name))
        for sets in found.values():
            sets.sort(key=lambda found_set: found_set[0])  # by set id
        return found

    def input_footprints(
        self, artifact_ids: Iterable[str]
    ) -> dict[str, tuple[int, str | None, list[InputRef]]]:
        """What each artifact's inputs take: ``(bytes in the row, inputs blob, stored inputs)``."""
        columns = "id, length(inputs_pickle), inputs_blob_id, inputs_json"
        return {
            artifact_id: (int(inline or 0), blob, list(refs_in_summary(decode_json(inputs_json))))
            for artifact_id, inline, blob, inputs_json in self._by_ids(columns, artifact_ids)
        }


_FIELD_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")


def _check_field(key: Any, value: Any) -> None:
    if not isinstance(key, str) or not _FIELD_KEY.match(key):
        raise ValueError(
            f"a custom field key to filter on is 1 to 64 letters, digits, '_', '.' or '-', "
            f"got {key!r}"
        )
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise TypeError(f"custom field {key!r}: only a JSON scalar can be matched, got {value!r}")
