"""The artifact queries of the index: artifact rows, their tags and their code sources.

:class:`_Artifacts` holds the cache-hit lookup (:meth:`~_Artifacts.get`, one
compiled statement on the thread's DBAPI connection), the other reads of
artifact rows (by criteria, the blobs they refer to; batches by id and
listings are :mod:`.plain`'s), the tags of artifacts, and the writes: an
artifact with its lineage edges, tags and code source in one transaction,
and its removal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Text, cast, delete, func, insert, or_, select, update

from ..models import artifact_lineage, artifact_tags
from ..stored_inputs import INPUT_KEY, InputRef, refs_in_summary
from ..validate import MAX_JSON_BYTES, check_lookup, check_tags, check_text, quote
from .engine import _Connections, _insert_new
from .fields import field_rows
from .rows import (
    _HOT,
    _HOT_POSITIONS,
    COLUMNS,
    DEFERRED,
    DEFERRED_COLUMNS,
    _code,
    _edges,
    _fields,
    _storable,
    _table,
    _tags,
    decode_datetime,
    decode_json,
)


class _Artifacts(_Connections):
    """Reads and writes of artifact rows, their tags and their code sources."""

    def _prepare_artifacts(self) -> None:
        """Compile the artifact statements run with parameters, once per index."""
        self._get_sql = self._compile(select(*_HOT).where(_table.c.id == "x"))
        self._deferred_sql = self._compile(
            select(*(_table.c[n] for n in DEFERRED_COLUMNS)).where(_table.c.id == "x")
        )
        self._insert_artifact = self._insert_ignore(_table)
        self._insert_code = self._insert_ignore(_code)
        #: Fingerprints whose source this process knows to be stored.
        self._code_stored: set[str] = set()
        self._exists_sql = self._compile(select(_table.c.id).where(_table.c.id == "x"))

    # -- the fast read path --------------------------------------------------

    def get(self, artifact_id: str) -> list[Any] | None:
        """The row of ``artifact_id`` in :data:`COLUMNS` order, or ``None``.

        The :data:`DEFERRED_COLUMNS` hold :data:`DEFERRED`; fetch them with
        :meth:`get_deferred` when needed.
        """
        rows = self._fetch(self._get_sql, artifact_id)
        if not rows:
            return None
        row: list[Any] = [DEFERRED] * len(COLUMNS)
        for position, value in zip(_HOT_POSITIONS, rows[0]):
            row[position] = value
        return row

    def get_deferred(self, artifact_id: str) -> dict[str, Any]:
        """The :data:`DEFERRED_COLUMNS` of one artifact."""
        rows = self._fetch(self._deferred_sql, artifact_id)
        if not rows:
            return dict.fromkeys(DEFERRED_COLUMNS)
        return dict(zip(DEFERRED_COLUMNS, rows[0]))

    def exists(self, artifact_id: str) -> bool:
        """Whether ``artifact_id`` is indexed."""
        return bool(self._fetch(self._exists_sql, artifact_id))

    # -- general queries -------------------------------------------------------

    def find(
        self,
        *,
        name: str | None = None,
        version: int | None = None,
        value_id: str | None = None,
        fn_name: str | None = None,
        tags: Sequence[str] | None = None,
        custom_fields: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows matching every given criterion, newest first.

        ``custom_fields`` matches top-level keys of the JSON column by value
        (strings, numbers, booleans); ``tags`` requires every tag listed.
        """
        check_lookup(name=name, value_id=value_id, fn_name=fn_name)
        tags = check_tags(tags, "tags") if tags is not None else None
        for key, value in (custom_fields or {}).items():
            check_text(key, "a key of custom_fields")
            if isinstance(value, str):
                check_text(value, f"custom_fields[{quote(key)}]", MAX_JSON_BYTES, empty=True)
        stmt = select(*_table.columns)
        if name is not None:
            stmt = stmt.where(_table.c.name == name)
        if version is not None:
            stmt = stmt.where(_table.c.version == version)
        if value_id is not None:
            stmt = stmt.where(_table.c.value_id == value_id)
        if fn_name is not None:
            stmt = stmt.where(_table.c.fn_name == fn_name)
        for tag in tags or ():
            stmt = stmt.where(
                _table.c.id.in_(
                    select(artifact_tags.c.artifact_id).where(artifact_tags.c.tag == str(tag))
                )
            )
        for key, value in (custom_fields or {}).items():
            field = _table.c.custom_fields[key]
            if isinstance(value, bool):
                stmt = stmt.where(field.as_boolean() == value)
            elif isinstance(value, int):
                stmt = stmt.where(field.as_integer() == value)
            elif isinstance(value, float):
                stmt = stmt.where(field.as_float() == value)
            elif isinstance(value, str):
                stmt = stmt.where(field.as_string() == value)
            else:
                raise TypeError(
                    f"custom_fields[{key!r}]: only str, int, float and bool values can be "
                    f"matched, got {type(value).__name__}"
                )
        stmt = stmt.order_by(_table.c.computed_at.desc(), _table.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Ids starting with ``prefix`` (at most ``limit``), for git-style short ids."""
        stmt = select(_table.c.id).where(_table.c.id.startswith(prefix)).limit(limit)
        with self._connect() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def count(self) -> int:
        """How many artifacts are indexed."""
        with self._connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_table)).scalar_one())

    def iter_ids(self) -> Iterator[str]:
        """Every artifact id."""
        with self._connect() as conn:
            ids = [r[0] for r in conn.execute(select(_table.c.id))]
        return iter(ids)

    # -- tags --------------------------------------------------------------------

    def tags_of(self, artifact_id: str) -> list[str]:
        """The tags of one artifact, sorted."""
        stmt = (
            select(artifact_tags.c.tag)
            .where(artifact_tags.c.artifact_id == artifact_id)
            .order_by(artifact_tags.c.tag)
        )
        with self._connect() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def tags_among(self, artifact_ids: Iterable[str]) -> dict[str, list[str]]:
        """The tags of each given artifact that has any."""
        ids = list(dict.fromkeys(artifact_ids))
        tags: dict[str, list[str]] = {}
        with self._connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                stmt = select(artifact_tags.c.artifact_id, artifact_tags.c.tag).where(
                    artifact_tags.c.artifact_id.in_(chunk)
                )
                for artifact_id, tag in conn.execute(stmt):
                    tags.setdefault(artifact_id, []).append(tag)
        return {k: sorted(v) for k, v in tags.items()}

    # -- the blobs that rows refer to ----------------------------------------------

    def referenced_blobs(self) -> set[str]:
        """Every blob key an artifact row refers to (values, pickled and stored inputs)."""
        stored = select(_table.c.blob_id).where(
            _table.c.blob_id.is_not(None), _table.c.value_inline.is_(None)
        )
        inputs = select(_table.c.inputs_blob_id).where(_table.c.inputs_blob_id.is_not(None))
        with self._connect() as conn:
            keys = {r[0] for r in conn.execute(stored.union(inputs))}
        keys.update(ref.blob for _, _, ref in self.stored_inputs())
        return keys

    def stored_inputs(self) -> Iterator[tuple[str, str, InputRef]]:
        """``(artifact id, name, reference)`` of every input stored apart, in batches.

        The references live in ``inputs_json`` (see
        :mod:`~provenance.storage.stored_inputs`); only the rows whose text
        names one are read and parsed.
        """
        text = cast(_table.c.inputs_json, Text)
        last = ""
        while True:
            stmt = (
                select(_table.c.id, _table.c.name, _table.c.inputs_json)
                .where(_table.c.id > last, text.like(f"%{INPUT_KEY}%"))
                .order_by(_table.c.id)
                .limit(1000)
            )
            with self._connect() as conn:
                batch = [tuple(r) for r in conn.execute(stmt)]
            if not batch:
                return
            for artifact_id, name, inputs_json in batch:
                for ref in refs_in_summary(decode_json(inputs_json)):
                    yield artifact_id, name, ref
            last = batch[-1][0]

    def input_blob_users(self, key: str) -> int:
        """How many artifacts refer to ``key`` as a stored input."""
        stmt = select(func.count()).where(cast(_table.c.inputs_json, Text).like(f'%"{key}"%'))
        with self._connect() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    def blob_referenced(self, blob_id: str) -> bool:
        """Whether any artifact row refers to ``blob_id`` (as value, inputs or stored input)."""
        stmt = (
            select(_table.c.id)
            .where(
                ((_table.c.blob_id == blob_id) & _table.c.value_inline.is_(None))
                | (_table.c.inputs_blob_id == blob_id)
                # A stored input: its key is quoted in the row's inputs_json.
                | cast(_table.c.inputs_json, Text).like(f'%"{blob_id}"%')
            )
            .limit(1)
        )
        with self._connect() as conn:
            return conn.execute(stmt).first() is not None

    def storage_rows(self) -> Iterator[tuple[str, str, str | None, str, bytes | None]]:
        """``(id, name, blob_id, serializer, value_inline)`` of every artifact, in batches."""
        columns = (_table.c.id, _table.c.name, _table.c.blob_id, _table.c.serializer,
                   _table.c.value_inline)  # fmt: skip
        last = ""
        while True:
            stmt = select(*columns).where(_table.c.id > last).order_by(_table.c.id).limit(1000)
            with self._connect() as conn:
                batch = [tuple(r) for r in conn.execute(stmt)]
            if not batch:
                return
            yield from batch
            last = batch[-1][0]

    # -- writes ----------------------------------------------------------------

    def put(
        self,
        row: Mapping[str, Any],
        edges: Sequence[tuple[str, str]] = (),
        tags: Sequence[str] = (),
        *,
        replace: bool = False,
        code: tuple[str, str, Mapping[str, str]] | None = None,
    ) -> bool:
        """Index one artifact with its lineage edges and tags, in one transaction.

        Parameters
        ----------
        row : mapping
            Column values of the artifact.
        edges : sequence of (input_artifact_id, parameter)
        tags : sequence of str
        replace : bool
            Overwrite an existing row of the same id (``use_cache=False``
            recomputations); otherwise an existing row wins.
        code : (fingerprint, source, packages), optional
            The normalized source of the row's ``code_fingerprint``, stored
            once per fingerprint.

        Returns
        -------
        bool
            Whether this call wrote the row (False if it already existed).
        """
        written = self._put(row, edges, tags, replace, code)
        if code is not None:
            # Remembered once the transaction has committed: after a rollback
            # the source must be written again with the next artifact.
            self._code_stored.add(code[0])
        return written

    def _put(
        self,
        row: Mapping[str, Any],
        edges: Sequence[tuple[str, str]],
        tags: Sequence[str],
        replace: bool,
        code: tuple[str, str, Mapping[str, str]] | None,
    ) -> bool:
        artifact_id = row["id"]
        row = _storable(self.engine.dialect.name, row)
        with self._begin() as conn:
            if code is not None and code[0] not in self._code_stored:
                self._put_code(conn, *code)
            replaced = False
            if replace:
                result = conn.execute(
                    update(_table).where(_table.c.id == artifact_id).values(**row)
                )
                replaced = result.rowcount > 0
            if replaced:
                # Its tags and fields are written again, with the new computed_at.
                for table in (_tags, _fields):
                    conn.execute(delete(table).where(table.c.artifact_id == artifact_id))
            elif not _insert_new(conn, _table, self._insert_artifact, row):
                return False
            else:
                edge_rows = [
                    {"artifact_id": artifact_id, "input_artifact_id": i, "parameter": p}
                    for i, p in dict.fromkeys(edges)
                ]
                if edge_rows:
                    conn.execute(insert(_edges), edge_rows)
            when = row.get("computed_at")
            tag_rows = [
                {"artifact_id": artifact_id, "tag": str(t), "computed_at": when}
                for t in dict.fromkeys(tags)
            ]
            if tag_rows:
                conn.execute(insert(_tags), tag_rows)
            field_values = [
                {"artifact_id": artifact_id, "name": k, "value_hash": h, "computed_at": when}
                for k, h in field_rows(row.get("custom_fields"))
            ]
            if field_values:
                conn.execute(insert(_fields), field_values)
        return True

    def _put_code(
        self, conn: Any, fingerprint: str, source: str, packages: Mapping[str, str]
    ) -> None:
        row = {
            "fingerprint": fingerprint,
            "source": source.replace("\x00", "\\x00"),  # PostgreSQL text holds no NUL
            "packages": dict(packages),
            "created_at": datetime.now(timezone.utc),
        }
        storable = _storable(self.engine.dialect.name, row, ("created_at",))
        _insert_new(conn, _code, self._insert_code, storable)

    def put_code(self, fingerprint: str, source: str, packages: Mapping[str, str]) -> None:
        """Store a source text once per fingerprint (a flow file's), apart from any artifact."""
        if fingerprint in self._code_stored:
            return
        with self._begin() as conn:
            self._put_code(conn, fingerprint, source, packages)
        self._code_stored.add(fingerprint)

    def code_source(self, fingerprint: str) -> dict[str, Any] | None:
        """``{"source", "packages", "created_at"}`` of a stored fingerprint, or ``None``."""
        with self._connect() as conn:
            found = conn.execute(
                select(_code.c.source, _code.c.packages, _code.c.created_at).where(
                    _code.c.fingerprint == fingerprint
                )
            ).first()
        if found is None:
            return None
        return {
            "source": found[0],
            "packages": decode_json(found[1]) or {},
            "created_at": decode_datetime(found[2]),
        }

    def delete_many(self, artifact_ids: Sequence[str]) -> list[str]:
        """Remove artifacts with their edges, tags and fields, 500 a transaction; the ids removed.

        An id another process removed first is not among those returned.
        """
        removed: list[str] = []
        ids = list(dict.fromkeys(artifact_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            with self._begin() as conn:
                conn.execute(
                    delete(artifact_lineage).where(artifact_lineage.c.artifact_id.in_(chunk))
                )
                for table in (artifact_tags, _fields):
                    conn.execute(delete(table).where(table.c.artifact_id.in_(chunk)))
                stmt = delete(_table).where(_table.c.id.in_(chunk)).returning(_table.c.id)
                removed += [r[0] for r in conn.execute(stmt)]
        return removed

    def blobs_referenced(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` that an artifact row refers to (see :meth:`blob_referenced`).

        A hundred keys to a query, each one scan of the rows.
        """
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        for start in range(0, len(wanted), 100):
            chunk = wanted[start : start + 100]
            text = cast(_table.c.inputs_json, Text)
            columns = (_table.c.blob_id, _table.c.value_inline.is_(None), _table.c.inputs_blob_id,
                       _table.c.inputs_json)  # fmt: skip
            stmt = select(*columns).where(
                (_table.c.blob_id.in_(chunk) & _table.c.value_inline.is_(None))
                | _table.c.inputs_blob_id.in_(chunk)
                | or_(*(text.like(f'%"{key}"%') for key in chunk))
            )
            with self._connect() as conn:
                for blob_id, in_blob, inputs_blob, inputs_json in conn.execute(stmt):
                    found.update(k for k in (blob_id if in_blob else None, inputs_blob) if k)
                    found.update(ref.blob for ref in refs_in_summary(decode_json(inputs_json)))
        return found & set(wanted)

    def delete(self, artifact_id: str) -> bool:
        """Remove an artifact with its edges, tags and fields; whether it existed."""
        with self._begin() as conn:
            conn.execute(
                delete(artifact_lineage).where(artifact_lineage.c.artifact_id == artifact_id)
            )
            for table in (artifact_tags, _fields):
                conn.execute(delete(table).where(table.c.artifact_id == artifact_id))
            return conn.execute(delete(_table).where(_table.c.id == artifact_id)).rowcount > 0
