"""The artifact index: artifact metadata, lineage edges and tags in SQL.

Writes go through SQLAlchemy Core as get-or-create inserts (``ON CONFLICT DO
NOTHING``), so concurrent writers of the same artifact never fail.  The
cache-hit lookup is the hot path of the whole library: it runs a statement
compiled once by SQLAlchemy on a DBAPI connection kept per thread, which
costs about as much as a raw driver call (an ORM session per lookup would
cost several times more).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Engine,
    Table,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.pool import StaticPool

from ..errors import ConfigError, SchemaOutdated
from . import postgres as _postgres
from .models import ArtifactRow, CodeSource, LineageEdge, SetMember, SetRow, TagRow
from .schema import ensure_schema
from .schema import upgrade as upgrade_schema

__all__ = ["COLUMNS", "DEFERRED", "DEFERRED_COLUMNS", "SqlIndex"]

_table: Table = ArtifactRow.__table__  # type: ignore[assignment]
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
_edges: Table = LineageEdge.__table__  # type: ignore[assignment]
_tags: Table = TagRow.__table__  # type: ignore[assignment]
_sets: Table = SetRow.__table__  # type: ignore[assignment]
_members: Table = SetMember.__table__  # type: ignore[assignment]
_code: Table = CodeSource.__table__  # type: ignore[assignment]
_HOT = [c for c in _table.columns if c.name not in DEFERRED_COLUMNS]
_HOT_POSITIONS = [COLUMNS.index(c.name) for c in _HOT]
_JSON_COLUMNS = frozenset(
    {
        "load_kwargs", "dump_kwargs", "inputs_json", "input_artifact_ids", "custom_fields",
        "run_info", "input_hashes",
    }
)  # fmt: skip


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The sqlite3 module commits DDL behind SQLAlchemy's back; take over
    # transaction control so schema creation is one atomic transaction
    # (SQLAlchemy's documented recipe, completed by _sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets readers run while a writer commits; busy_timeout makes
    # concurrent writers wait for each other instead of failing.
    cur.execute("PRAGMA busy_timeout = 60000")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    # Reads through a memory map skip a system call per page.
    cur.execute("PRAGMA mmap_size = 268435456")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


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


_open_indexes: weakref.WeakSet[SqlIndex] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for index in list(_open_indexes):
        index._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _dispose_all() -> None:
    # Close connections while the drivers' modules still exist: psycopg
    # complains when its connections are collected during interpreter exit.
    for index in list(_open_indexes):
        with contextlib.suppress(Exception):
            index.dispose()


class SqlIndex:
    """An artifact index in any database SQLAlchemy can reach.

    Parameters
    ----------
    db : str
        An SQLAlchemy URL (``sqlite:///path/provenance.db``,
        ``postgresql+psycopg://...``); ``sqlite://`` is an in-memory index.
    schema : str, optional
        A PostgreSQL schema (namespace) holding the tables.
    create_db : bool
        Create the database if it is missing (for SQLite, the file's
        directory; for PostgreSQL, ``CREATE DATABASE``).
    create_schema : bool
        Create the PostgreSQL ``schema`` if it is missing.
    upgrade_db : bool
        Upgrade an outdated index schema on opening, instead of reporting it.
    engine_kwargs : mapping, optional
        Passed to :func:`sqlalchemy.create_engine`.

    An empty database always gets the tables (through the Alembic migrations).
    """

    def __init__(
        self,
        db: str,
        *,
        schema: str | None = None,
        create_db: bool = True,
        create_schema: bool = True,
        upgrade_db: bool = False,
        engine_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            url = make_url(db)
        except ArgumentError as exc:
            raise ConfigError(f"invalid database URL in 'db': {db!r} ({exc})") from None
        self.url = url
        self.schema = schema
        #: Kept so that worker processes rebuild the same engine (spec()).
        self.engine_kwargs = dict(engine_kwargs or {})
        kwargs = dict(engine_kwargs or {})
        self._memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        if url.get_backend_name() == "sqlite":
            if self._memory:
                # One shared connection: an in-memory SQLite database exists
                # only inside the connection that created it.
                kwargs.setdefault("poolclass", StaticPool)
                kwargs.setdefault("connect_args", {"check_same_thread": False})
            elif create_db and url.database:
                os.makedirs(os.path.dirname(os.path.abspath(url.database)), exist_ok=True)
        postgres = url.get_backend_name() == "postgresql"
        if postgres:
            # Connections of a long-lived repo may be dropped by the server.
            kwargs.setdefault("pool_pre_ping", True)
            if create_db:
                _postgres.ensure_database(url)
        elif schema is not None:
            raise ConfigError(f"'schema' is only supported on PostgreSQL, not {url.drivername}")
        self._connect_args = dict(kwargs.get("connect_args") or {})
        self.engine: Engine = create_engine(url, **kwargs)
        if url.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        if postgres and schema is not None:
            # Every pooled connection must carry the search path, the one
            # that creates the schema included: register it first.
            _postgres.use_schema(self.engine, schema)
            if create_schema:
                _postgres.ensure_pg_schema(self.engine, schema)
        # An outdated schema is reported when the index is used, not here, so
        # that the repo can still be built and upgraded (provenance db upgrade).
        self._schema_error: SchemaOutdated | None = None
        try:
            ensure_schema(self.engine)
        except SchemaOutdated as exc:
            if not upgrade_db:
                self._schema_error = exc
            else:
                upgrade_schema(self.engine)
        self._lock = threading.RLock() if self._memory else None
        self._readers: dict[int | None, Any] = {}
        self._readers_lock = threading.Lock()
        _open_indexes.add(self)
        self._local = threading.local()
        self._pid = os.getpid()
        self._get_sql = self._compile(select(*_HOT).where(_table.c.id == "x"))
        self._deferred_sql = self._compile(
            select(*(_table.c[n] for n in DEFERRED_COLUMNS)).where(_table.c.id == "x")
        )
        self._insert_artifact = self._insert_ignore(_table)
        self._insert_set = self._insert_ignore(_sets)
        self._insert_code = self._insert_ignore(_code)
        #: Fingerprints whose source this process knows to be stored.
        self._code_stored: set[str] = set()
        self._exists_sql = self._compile(select(_table.c.id).where(_table.c.id == "x"))

    # -- the fast read path --------------------------------------------------

    def _compile(self, stmt: Any) -> tuple[str, str | None]:
        """SQL text of a one-parameter statement, and the parameter's name if named."""
        compiled = stmt.compile(dialect=self.engine.dialect)
        names = list(compiled.params)
        named = self.engine.dialect.paramstyle in ("named", "pyformat")
        return str(compiled), (names[0] if named else None)

    def _check_schema(self) -> None:
        if self._schema_error is not None:
            raise self._schema_error

    def upgrade(self) -> None:
        """Create or upgrade the schema to this library's revision."""
        upgrade_schema(self.engine)
        self._schema_error = None

    def _after_fork(self) -> None:
        # A forked child must not use its parent's connections (sockets,
        # SQLite handles): drop them without closing them.
        self.engine.dispose(close=False)
        self._local = threading.local()
        self._pid = os.getpid()

    def _raw(self) -> Any:
        """This thread's DBAPI connection for reads.

        Readers keep a connection of their own per thread, outside the
        engine's pool, so that many reading threads never exhaust the pool
        that writers need.  (An in-memory index has one shared connection.)
        """
        if self._schema_error is not None:
            raise self._schema_error
        if os.getpid() != self._pid:
            self._after_fork()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._memory:
                conn = self.engine.raw_connection()
            else:
                dialect = self.engine.dialect
                cargs, cparams = dialect.create_connect_args(self.url)
                conn = dialect.connect(*cargs, **{**cparams, **self._connect_args})
                if self.engine.dialect.name == "sqlite":
                    _sqlite_pragmas(conn, None)
                elif self.schema is not None:
                    conn.autocommit = True
                    cur = conn.cursor()
                    cur.execute(f'SET search_path TO "{self.schema}"')
                    cur.close()
                if self.engine.dialect.name == "postgresql":
                    conn.autocommit = True
                self._track_reader(conn)
            self._local.conn = conn
        return conn

    def _track_reader(self, conn: Any) -> None:
        """Remember this thread's reader; close those of threads that ended."""
        alive = {t.ident for t in threading.enumerate()}
        with self._readers_lock:
            stale = [i for i in self._readers if i not in alive]
            old = [self._readers.pop(i) for i in stale]
            previous = self._readers.pop(threading.get_ident(), None)
            self._readers[threading.get_ident()] = conn
        for dead in old + ([previous] if previous is not None else []):
            with contextlib.suppress(Exception):
                dead.close()

    def _drop_reader(self, conn: Any) -> None:
        self._local.conn = None
        cur, self._local.cur = getattr(self._local, "cur", None), None
        with contextlib.suppress(Exception):
            if cur is not None:
                cur.close()
        if self._memory:
            return  # the one connection is the database itself: keep it
        with self._readers_lock:
            if self._readers.get(threading.get_ident()) is conn:
                del self._readers[threading.get_ident()]
        with contextlib.suppress(Exception):
            conn.close()

    def _fetch(self, query: tuple[str, str | None], value: Any) -> list[tuple[Any, ...]]:
        sql, name = query
        args: Any = (value,) if name is None else {name: value}
        if self._lock is not None:
            with self._lock:
                return self._fetch_unlocked(sql, args)
        try:
            return self._fetch_unlocked(sql, args)
        except self.engine.dialect.loaded_dbapi.OperationalError:
            # A dropped connection (server restart, idle timeout): retry once
            # on a new one.  A second failure is real.
            return self._fetch_unlocked(sql, args)

    def _fetch_unlocked(self, sql: str, args: Any) -> list[tuple[Any, ...]]:
        conn = self._raw()
        # The reader's cursor is kept with its connection: making one per
        # lookup is a measurable part of a cache hit.
        cur = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._local.cur = conn.cursor()
        try:
            cur.execute(sql, args)
            return cur.fetchall()
        except Exception:
            self._drop_reader(conn)
            raise

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

    def _connect(self) -> Any:
        self._check_schema()
        if os.getpid() != self._pid:
            self._after_fork()
        return _Locked(self._lock, self.engine.connect()) if self._lock else self.engine.connect()

    def _begin(self) -> Any:
        self._check_schema()
        if os.getpid() != self._pid:
            self._after_fork()
        return _Locked(self._lock, self.engine.begin()) if self._lock else self.engine.begin()

    def get_many(self, artifact_ids: Iterable[str]) -> dict[str, tuple[Any, ...]]:
        """Rows of the given ids that exist, keyed by id (one query per 500 ids)."""
        ids = list(dict.fromkeys(artifact_ids))
        found: dict[str, tuple[Any, ...]] = {}
        with self._connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                stmt = select(*_table.columns).where(_table.c.id.in_(chunk))
                for row in conn.execute(stmt):
                    found[row[0]] = tuple(row)
        return found

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
                _table.c.id.in_(select(TagRow.artifact_id).where(TagRow.tag == str(tag)))
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

    def tags_of(self, artifact_id: str) -> list[str]:
        """The tags of one artifact, sorted."""
        stmt = select(TagRow.tag).where(TagRow.artifact_id == artifact_id).order_by(TagRow.tag)
        with self._connect() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def lineage_edges(self, artifact_id: str) -> list[tuple[str, str]]:
        """``(input_artifact_id, parameter)`` edges of one artifact."""
        stmt = (
            select(LineageEdge.input_artifact_id, LineageEdge.parameter)
            .where(LineageEdge.artifact_id == artifact_id)
            .order_by(LineageEdge.parameter)
        )
        with self._connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(stmt)]

    def related(
        self, artifact_ids: Iterable[str], direction: str = "upstream", depth: int | None = None
    ) -> list[str]:
        """Ancestors (``upstream``) or descendants (``downstream``), the given ones first.

        One recursive SQL query over the lineage edges.  ``depth`` bounds how
        many edges away to go.
        """
        start = list(dict.fromkeys(artifact_ids))
        if not start or depth == 0:
            return start
        edges = _edges
        if direction == "upstream":
            near, far = edges.c.artifact_id, edges.c.input_artifact_id
        elif direction == "downstream":
            near, far = edges.c.input_artifact_id, edges.c.artifact_id
        else:
            raise ValueError(f"direction must be 'upstream' or 'downstream', got {direction!r}")
        if depth is None:
            # Ids alone: UNION keeps each artifact once however many paths
            # lead to it, so a wide DAG costs no more than a chain.
            seed = select(far.label("id")).where(near.in_(start))
            walk = seed.cte("walk", recursive=True)
            walk = walk.union(select(far).join(walk, near == walk.c.id))
            stmt = select(walk.c.id)
        else:
            # With a bound the distance must be carried; it is at most
            # ``depth`` rows per artifact.
            seed = select(far.label("id"), literal(1).label("dist")).where(near.in_(start))
            walk = seed.cte("walk", recursive=True)
            step = select(far, walk.c.dist + 1).join(walk, near == walk.c.id)
            walk = walk.union(step.where(walk.c.dist < depth))
            stmt = select(walk.c.id).distinct()
        found = dict.fromkeys(start)
        with self._connect() as conn:
            for (artifact_id,) in conn.execute(stmt):
                found.setdefault(artifact_id)
        return list(found)

    def edges_among(self, artifact_ids: Iterable[str]) -> list[tuple[str, str, str]]:
        """``(artifact_id, input_artifact_id, parameter)`` edges whose artifact is given."""
        ids = list(dict.fromkeys(artifact_ids))
        edges: list[tuple[str, str, str]] = []
        stmt_base = select(
            LineageEdge.artifact_id, LineageEdge.input_artifact_id, LineageEdge.parameter
        )
        with self._connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                stmt = stmt_base.where(LineageEdge.artifact_id.in_(chunk))
                edges.extend((r[0], r[1], r[2]) for r in conn.execute(stmt))
        return sorted(edges)

    def tags_among(self, artifact_ids: Iterable[str]) -> dict[str, list[str]]:
        """The tags of each given artifact that has any."""
        ids = list(dict.fromkeys(artifact_ids))
        tags: dict[str, list[str]] = {}
        with self._connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                stmt = select(TagRow.artifact_id, TagRow.tag).where(TagRow.artifact_id.in_(chunk))
                for artifact_id, tag in conn.execute(stmt):
                    tags.setdefault(artifact_id, []).append(tag)
        return {k: sorted(v) for k, v in tags.items()}

    def referenced_blobs(self) -> set[str]:
        """Every blob key an artifact row refers to (values and pickled inputs)."""
        stored = select(_table.c.blob_id).where(
            _table.c.blob_id.is_not(None), _table.c.value_inline.is_(None)
        )
        inputs = select(_table.c.inputs_blob_id).where(_table.c.inputs_blob_id.is_not(None))
        with self._connect() as conn:
            return {r[0] for r in conn.execute(stored.union(inputs))}

    def blob_referenced(self, blob_id: str) -> bool:
        """Whether any artifact row refers to ``blob_id`` (as value or inputs)."""
        stmt = (
            select(_table.c.id)
            .where(
                ((_table.c.blob_id == blob_id) & _table.c.value_inline.is_(None))
                | (_table.c.inputs_blob_id == blob_id)
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

    def _insert_ignore(self, table: Any) -> Any:
        """A get-or-create INSERT for ``table``, built once and run with parameters.

        Built without values, the statement is compiled once and then served
        from SQLAlchemy's cache.  ``None`` on databases without ``ON CONFLICT``.
        """
        name = self.engine.dialect.name
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        elif name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
        else:
            return None
        stmt: Any = dialect_insert(table).on_conflict_do_nothing()
        if self.engine.dialect.insert_returning:
            # RETURNING tells whether the row was written: rowcount is not
            # reliable for ON CONFLICT DO NOTHING on every driver (psycopg: -1).
            stmt = stmt.returning(*table.primary_key.columns)
        return stmt

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
        row = self._storable(row)
        with self._begin() as conn:
            if code is not None and code[0] not in self._code_stored:
                self._put_code(conn, *code)
            if replace:
                result = conn.execute(
                    update(_table).where(_table.c.id == artifact_id).values(**row)
                )
                if result.rowcount:
                    return True
            if not _insert_new(conn, _table, self._insert_artifact, row):
                return False
            edge_rows = [
                {"artifact_id": artifact_id, "input_artifact_id": i, "parameter": p}
                for i, p in dict.fromkeys(edges)
            ]
            if edge_rows:
                conn.execute(insert(_edges), edge_rows)
            tag_rows = [{"artifact_id": artifact_id, "tag": str(t)} for t in dict.fromkeys(tags)]
            if tag_rows:
                conn.execute(insert(_tags), tag_rows)
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
        _insert_new(conn, _code, self._insert_code, self._storable(row, ("created_at",)))

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

    def _storable(
        self, row: Mapping[str, Any], times: Sequence[str] = ("computed_at",)
    ) -> dict[str, Any]:
        row = dict(row)
        if self.engine.dialect.name == "sqlite":
            # SQLite keeps no time zone: store UTC without one, read back as UTC.
            for key in times:
                value = row.get(key)
                if isinstance(value, datetime) and value.tzinfo is not None:
                    row[key] = value.astimezone(timezone.utc).replace(tzinfo=None)
        return row

    # -- artifact sets ---------------------------------------------------------

    def put_set(self, row: Mapping[str, Any], member_ids: Sequence[str]) -> bool:
        """Store a set and its members in one transaction; whether it was new."""
        row = self._storable(row, ("created_at",))
        with self._begin() as conn:
            if not _insert_new(conn, _sets, self._insert_set, row):
                return False
            members = [{"set_id": row["id"], "artifact_id": a} for a in member_ids]
            for start in range(0, len(members), 10_000):
                conn.execute(insert(_members), members[start : start + 10_000])
        return True

    def get_set(self, set_id: str) -> dict[str, Any] | None:
        """The stored row of a set, or ``None``."""
        with self._connect() as conn:
            stmt = select(*_sets.columns).where(SetRow.id == set_id)
            found = conn.execute(stmt).mappings().first()
        return _set_row(found)

    def set_members(self, set_id: str) -> list[str]:
        """The member artifact ids of a set, in one query."""
        stmt = select(SetMember.artifact_id).where(SetMember.set_id == set_id)
        with self._connect() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def find_sets(
        self,
        *,
        name: str | None = None,
        labels_hash: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Set rows matching the criteria, newest first."""
        stmt = select(*_sets.columns)
        if name is not None:
            stmt = stmt.where(SetRow.name == name)
        if labels_hash is not None:
            stmt = stmt.where(SetRow.labels_hash == labels_hash)
        stmt = stmt.order_by(SetRow.created_at.desc(), SetRow.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._connect() as conn:
            return [_set_row(r) for r in conn.execute(stmt).mappings()]  # type: ignore[misc]

    def delete_set(self, set_id: str) -> bool:
        """Remove a set (its artifacts stay)."""
        with self._begin() as conn:
            conn.execute(delete(SetMember).where(SetMember.set_id == set_id))
            return conn.execute(delete(SetRow).where(SetRow.id == set_id)).rowcount > 0

    def delete(self, artifact_id: str) -> bool:
        """Remove an artifact with its edges and tags; whether it existed."""
        with self._begin() as conn:
            conn.execute(delete(LineageEdge).where(LineageEdge.artifact_id == artifact_id))
            conn.execute(delete(TagRow).where(TagRow.artifact_id == artifact_id))
            return conn.execute(delete(_table).where(_table.c.id == artifact_id)).rowcount > 0

    def dispose(self) -> None:
        """Close every connection, the readers of all threads included."""
        with self._readers_lock:
            readers, self._readers = list(self._readers.values()), {}
        for conn in readers:
            with contextlib.suppress(Exception):
                conn.close()
        if self._memory:
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
        self._local = threading.local()
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"<SqlIndex {self.url.render_as_string(hide_password=True)}>"

    # -- listings for the command line -------------------------------------------

    def summaries(
        self, *, name: str | None = None, limit: int | None = None
    ) -> list[tuple[str, str, int, int | None, datetime | None]]:
        """``(id, name, version, size, computed_at)`` of artifacts, newest first.

        Only the columns a listing shows are read (no values, no pickled
        inputs), so listing a large index stays one light query.
        """
        stmt = select(_table.c.id, _table.c.name, _table.c.version, _table.c.size,
                      _table.c.computed_at)  # fmt: skip
        if name is not None:
            stmt = stmt.where(_table.c.name == name)
        stmt = stmt.order_by(_table.c.computed_at.desc(), _table.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._connect() as conn:
            return [(r[0], r[1], r[2], r[3], decode_datetime(r[4])) for r in conn.execute(stmt)]

    def set_ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Set ids starting with ``prefix`` (at most ``limit``), for git-style short ids."""
        stmt = select(SetRow.id).where(SetRow.id.startswith(prefix)).limit(limit)
        with self._connect() as conn:
            return [r[0] for r in conn.execute(stmt)]


def _insert_new(conn: Any, table: Table, stmt: Any, row: Mapping[str, Any]) -> bool:
    """Insert ``row`` unless a row with its key exists (get-or-create); whether it was written.

    ``stmt`` is :meth:`SqlIndex._insert_ignore`'s statement for ``table``, or
    ``None`` on databases without ``ON CONFLICT``: then a savepoint catches
    the duplicate key.
    """
    if stmt is not None:
        return _wrote(conn.execute(stmt, row))
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(**row))
    except IntegrityError:
        return False
    return True


def _wrote(result: Any) -> bool:
    """Whether a get-or-create INSERT wrote its row."""
    if result.returns_rows:
        return result.first() is not None
    return bool(result.rowcount > 0)  # SQLite before 3.35 has no RETURNING


def _set_row(found: Any) -> dict[str, Any] | None:
    if found is None:
        return None
    out = dict(found)
    out["created_at"] = decode_datetime(out["created_at"])
    return out


class _Locked:
    """Serializes use of the single connection of an in-memory SQLite index."""

    def __init__(self, lock: threading.RLock, ctx: Any) -> None:
        self._lock = lock
        self._ctx = ctx

    def __enter__(self) -> Any:
        self._lock.acquire()
        try:
            return self._ctx.__enter__()
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self._ctx.__exit__(*exc)
        finally:
            self._lock.release()
