"""The index's engine and connections, which every query of the index goes through.

:class:`_Connections` opens the database (URL checks, SQLite pragmas, the
PostgreSQL database and schema, the schema revision) and hands out its
connections: a DBAPI connection kept per thread for the cache-hit lookup,
which runs a statement compiled once by SQLAlchemy and so costs about as much
as a raw driver call (an ORM session per lookup would cost several times
more), and pooled SQLAlchemy connections for everything else.  Open indexes
drop their connections in a forked child, close them when they are garbage
collected, and close them at exit.

An in-memory SQLite index is its one connection: the database exists only
inside it.  Every use of it is serialized by a lock, and once that connection
is closed (:meth:`_Connections.dispose`, the engine's own ``dispose()``, or
exit) the index is :attr:`~_Connections.gone`: what it held no longer exists.

A SQLite file this process cannot write (a read-only mount, another user's
files) or one of a repo configured ``write: false`` is opened read-only, as
an immutable database if its WAL files cannot be made; :attr:`read_only`
says why.  A zero-length file is not taken for a new index until the
repository has checked that its blobstore is empty (:meth:`adopt_empty_file`).
Errors of the database that say it is damaged, unreachable or full are
raised as :class:`~provenance.errors.StorageError` subclasses naming the file
or server, chained to the driver's exception (:func:`_translate`).

Writes are get-or-create inserts: :meth:`_Connections._insert_ignore` builds
the dialect's ``ON CONFLICT DO NOTHING`` statement once and :func:`_insert_new`
runs it, so concurrent writers of the same row never fail.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import sys
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.pool import StaticPool

from ...errors import (
    ConfigError,
    SchemaError,
    SchemaOutdated,
    is_installed,
)
from .. import postgres as _postgres
from ..schema import current_revision, ensure_schema
from ..schema import upgrade as upgrade_schema
from .drivers import (
    _follow_umask,
    _sqlite_begin,
    _sqlite_pragmas,
    _sqlite_read_only_pragmas,
    _sqlite_read_only_query,
    _sqlite_unwritable,
    _translate,
)

_open_indexes: weakref.WeakSet[_Connections] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for index in list(_open_indexes):
        index._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _dispose_all() -> None:
    """Close every open index's connections (at exit, after the last task records)."""
    # While the drivers' modules still exist: psycopg complains when its
    # connections are collected during interpreter exit.
    for index in list(_open_indexes):
        with contextlib.suppress(Exception):
            index._close_at_exit()


@atexit.register
def _dispose_all_at_exit() -> None:
    # This module is imported when a full index is first needed, often after
    # the recorder registered its exit hook, so this hook runs before that
    # one.  A process that records runs leaves the closing to the recorder,
    # which calls _dispose_all once its last task records are written.
    if "provenance.recording" not in sys.modules:
        _dispose_all()


def _close(engine: Engine, readers: dict[int | None, Any]) -> None:
    # The finalizer of a collected index: no thread can reach its connections.
    for conn in list(readers.values()):
        with contextlib.suppress(Exception):
            conn.close()
    readers.clear()
    with contextlib.suppress(Exception):
        engine.dispose()


def _handle_error(url: Any, context: Any) -> Any:
    # SQLAlchemy raises what this returns, chained to the driver's error.
    return _translate(url, context.original_exception)


def _on_close(index: weakref.ref[_Connections]) -> Any:
    def closed(_dbapi_conn: Any, _record: Any) -> None:
        conns = index()
        if conns is not None:
            conns._memory_conn = None
            conns.gone = True

    return closed


class _Connections:
    """The engine and connections of an index; the parameters are :class:`SqlIndex`'s."""

    def __init__(
        self,
        db: str,
        *,
        schema: str | None = None,
        create_db: bool = True,
        create_schema: bool = True,
        upgrade_db: bool = False,
        engine_kwargs: Mapping[str, Any] | None = None,
        read_only: bool = False,
    ) -> None:
        try:
            url = make_url(db)
        except ArgumentError as exc:
            raise ConfigError(f"invalid database URL in 'db': {db!r} ({exc})") from None
        if (
            url.drivername == "postgresql"
            and not is_installed("psycopg2")
            and is_installed("psycopg")
        ):
            # A URL that names no driver (the original library's) means psycopg2 to
            # SQLAlchemy; the postgres extra installs psycopg 3.
            url = url.set(drivername="postgresql+psycopg")
        self.url = url
        #: The URL as text, password included: what rebuilds this index elsewhere.
        self.db = url.render_as_string(hide_password=False)
        #: Why the index cannot be written (``None``: it can).
        self.read_only: str | None = "write: false" if read_only else None
        #: The path of a zero-length SQLite file not yet taken for a new index.
        self.empty_file: str | None = None
        connect_url = url
        self._new_file: str | None = None
        self.schema = schema
        #: Kept so that worker processes rebuild the same engine (spec()).
        self.engine_kwargs = dict(engine_kwargs or {})
        kwargs = dict(engine_kwargs or {})
        self._memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        if url.get_backend_name() == "sqlite":
            path = os.path.abspath(url.database) if url.database else None
            if self._memory:
                # One shared connection: an in-memory SQLite database exists
                # only inside the connection that created it.
                kwargs.setdefault("poolclass", StaticPool)
                kwargs.setdefault("connect_args", {"check_same_thread": False})
                self.read_only = None
            elif path is not None and url.query.get("uri") is None:
                unwritable = _sqlite_unwritable(path)
                if unwritable is not None:
                    self.read_only = unwritable
                if self.read_only is not None and os.path.exists(path):
                    connect_url = url.set(
                        database="file:" + path,
                        query={**url.query, **_sqlite_read_only_query(path), "uri": "true"},
                    )
                else:
                    # A write: false repo whose index does not exist yet
                    # gets an empty one, as any repo does.
                    self.read_only = None
                if os.path.isfile(path) and os.path.getsize(path) == 0:
                    self.empty_file = path
                if not os.path.exists(path):
                    self._new_file = path
                    if create_db:
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                    elif not os.path.isdir(os.path.dirname(path)):
                        # Else SQLite's own "unable to open database file".
                        raise ConfigError(
                            f"the directory of the SQLite index {path} does not exist, and "
                            "create_db is false: create it, or set create_db: true"
                        )
        else:
            self.read_only = None  # a server's permissions are the server's to enforce
        postgres = url.get_backend_name() == "postgresql"
        if postgres:
            # Connections of a long-lived repo may be dropped by the server.
            kwargs.setdefault("pool_pre_ping", True)
            if create_db:
                _postgres.ensure_database(url)
        elif schema is not None:
            raise ConfigError(f"'schema' is only supported on PostgreSQL, not {url.drivername}")
        self._connect_args = dict(kwargs.get("connect_args") or {})
        self._connect_url = connect_url
        self.engine: Engine = create_engine(connect_url, **kwargs)
        # A function of the URL, not a bound method: the engine must not keep
        # the index alive (a dropped index closes its connections when collected).
        event.listen(self.engine, "handle_error", functools.partial(_handle_error, self.url))
        #: True once the one connection of an in-memory index was closed: the
        #: database it held is gone, and nothing written to it can be read.
        self.gone = False
        #: The DBAPI connection of an in-memory index (its pool's only one),
        #: used directly by the reads.  A pooled handle kept per thread
        #: outlived the connection (an engine disposed, exit) and was then
        #: reset by the pool's finalizer on a closed database ("Exception
        #: during reset or similar ... Cannot operate on a closed database").
        self._memory_conn: Any = None
        if url.get_backend_name() == "sqlite":
            pragmas = _sqlite_read_only_pragmas if self.read_only else _sqlite_pragmas
            event.listen(self.engine, "connect", pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
            if self._memory:
                event.listen(self.engine, "close", _on_close(weakref.ref(self)))
        if postgres and schema is not None:
            # Every pooled connection must carry the search path, the one
            # that creates the schema included: register it first.
            _postgres.use_schema(self.engine, schema)
            if create_schema:
                _postgres.ensure_pg_schema(self.engine, schema)
        # An outdated schema is reported when the index is used, not here, so
        # that the repo can still be built and upgraded (provenance db upgrade).
        self._schema_error: SchemaError | None = None
        self._upgrade_db = upgrade_db
        #: Whether the schema is still to be checked (a zero-length file waits
        #: for :meth:`adopt_empty_file`, and its first use).
        self._unchecked = self.empty_file is not None
        if not self._unchecked:
            self._open_schema()
        self._lock = threading.RLock() if self._memory else None
        self._readers: dict[int | None, Any] = {}
        #: Held by each thread while it runs a statement on its reader, so
        #: that the exit hook never closes a reader under a statement.
        self._reader_locks: dict[int | None, threading.Lock] = {}
        self._readers_lock = threading.Lock()
        _open_indexes.add(self)
        # A dropped index (a repo replaced by another load_config, one made in
        # a function) closes its connections when collected.  Not at exit:
        # _dispose_all does that, after the last task records are written.
        finalizer = weakref.finalize(self, _close, self.engine, self._readers)
        finalizer.atexit = False
        self._local = threading.local()
        self._pid = os.getpid()

    # -- the fast read path --------------------------------------------------

    def _compile(self, stmt: Any) -> tuple[str, str | None]:
        """SQL text of a one-parameter statement, and the parameter's name if named."""
        compiled = stmt.compile(dialect=self.engine.dialect)
        names = list(compiled.params)
        named = self.engine.dialect.paramstyle in ("named", "pyformat")
        return str(compiled), (names[0] if named else None)

    def _open_schema(self) -> None:
        self._unchecked = False
        if self.read_only is not None:
            revision = current_revision(self.engine)
            if revision is None:
                self._schema_error = SchemaError(
                    f"the read-only index {self.url.database} has no provenance schema "
                    f"({self.read_only}): it cannot be created here"
                )
                return
        try:
            ensure_schema(self.engine)
        except SchemaOutdated as exc:
            if not self._upgrade_db or self.read_only is not None:
                self._schema_error = exc
            else:
                upgrade_schema(self.engine)
        if self._new_file is not None:
            _follow_umask(self._new_file)
            self._new_file = None

    def adopt_empty_file(self) -> None:
        """Take a zero-length SQLite file for a new, empty index (its schema is created).

        A repository calls this once it has found its blobstore empty; a
        zero-length file beside stored blobs is a damaged index
        (:class:`~provenance.errors.IndexDamaged`).
        """
        if self._unchecked:
            self._open_schema()
        self.empty_file = None

    def _check_schema(self) -> None:
        if self._unchecked:
            self._open_schema()
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
        self._memory_conn = None
        self._local = threading.local()
        self._pid = os.getpid()

    def _raw(self) -> Any:
        """This thread's DBAPI connection for reads.

        Readers keep a connection of their own per thread, outside the
        engine's pool, so that many reading threads never exhaust the pool
        that writers need.  (An in-memory index has one shared connection.)
        """
        if self._schema_error is not None or self._unchecked:
            self._check_schema()
        if os.getpid() != self._pid:
            self._after_fork()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._memory:
                conn = self._memory_conn
                if conn is None:
                    # Checked out and in at once: the pool keeps the one
                    # connection, and the reads use it under self._lock.
                    handle = self.engine.raw_connection()
                    conn = self._memory_conn = handle.dbapi_connection
                    handle.close()
            else:
                dialect = self.engine.dialect
                cargs, cparams = dialect.create_connect_args(self._connect_url)
                conn = dialect.connect(*cargs, **{**cparams, **self._connect_args})
                if self.engine.dialect.name == "sqlite":
                    _sqlite_pragmas(conn, None, read_only=self.read_only is not None)
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
            for i in [i for i in self._reader_locks if i not in alive]:
                del self._reader_locks[i]
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
        dbapi = self.engine.dialect.loaded_dbapi
        try:
            if self._lock is not None:
                with self._lock:
                    return self._fetch_unlocked(sql, args)
            lock = getattr(self._local, "lock", None)
            if lock is None:
                lock = self._local.lock = threading.Lock()
                with self._readers_lock:
                    self._reader_locks[threading.get_ident()] = lock
            with lock:
                try:
                    return self._fetch_unlocked(sql, args)
                except dbapi.OperationalError:
                    # A dropped connection (server restart, idle timeout): retry
                    # once on a new one.  A second failure is real.
                    return self._fetch_unlocked(sql, args)
        except dbapi.Error as exc:
            translated = _translate(self.url, exc)
            if translated is None:
                raise
            raise translated from exc

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

    def read_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one SELECT in plain SQL with ``?`` placeholders (the client's queries).

        Run through the driver, as the light index runs them: values come
        back as the driver gives them.
        """
        if self.engine.dialect.paramstyle != "qmark":
            sql = sql.replace("?", "%s")
        with self._connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(sql, tuple(params))]

    @property
    def dialect_name(self) -> str:
        """The database's dialect (``sqlite``, ``postgresql``): the SQL that raw writes use."""
        return str(self.engine.dialect.name)

    @contextlib.contextmanager
    def dbapi_transaction(self) -> Iterator[Any]:
        """A pooled DBAPI connection in a transaction, committed if the block ends well.

        For the writes that go straight to the driver (:mod:`..runs`): one
        SQL text for SQLite, whether this index or the light one runs it.
        The driver's errors that mean damage, a full disk or a lost server
        are raised as :class:`~provenance.errors.StorageError` subclasses, as
        the engine's own are.
        """
        self._check_schema()
        if os.getpid() != self._pid:
            self._after_fork()
        dbapi = self.engine.dialect.loaded_dbapi
        with self._lock if self._lock is not None else contextlib.nullcontext():
            # Checked out of the pool (pre-pinged on PostgreSQL).  A failure to
            # connect comes wrapped by SQLAlchemy, but no engine event sees it.
            try:
                handle = self.engine.raw_connection()
            except Exception as exc:
                translated = _translate(self.url, exc)
                if translated is None:
                    raise
                raise translated from exc
            try:
                conn: Any = handle.dbapi_connection
                if self.engine.dialect.name == "sqlite":
                    conn.execute("BEGIN")
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            except dbapi.Error as exc:
                translated = _translate(self.url, exc)
                if translated is None:
                    raise
                # A lost connection is not given back to the pool to be reset.
                handle.invalidate(exc)
                raise translated from exc
            finally:
                handle.close()

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

    def dispose(self) -> None:
        """Close every connection, the readers of all threads included.

        An in-memory index is then :attr:`gone`.
        """
        if self._lock is None:
            self._dispose()
            return
        # Not while another thread runs a statement on the connection:
        # closing it under a running statement crashes the interpreter.
        with self._lock:
            self._dispose()

    def _dispose(self, keep_locked: bool = False) -> None:
        # Another thread may be running a statement on its reader: closing a
        # SQLite connection under it crashes the interpreter.  Each reader is
        # closed once its thread's lock is taken (and left open if that takes
        # longer than a statement should).
        me = threading.get_ident()
        with self._readers_lock:
            readers = list(self._readers.items())
            locks = dict(self._reader_locks)
            self._readers.clear()
            self._reader_locks.clear()
        for ident, conn in readers:
            lock = locks.get(ident) if ident != me else None
            if lock is not None and not lock.acquire(timeout=1.0):
                continue
            with contextlib.suppress(Exception):
                conn.close()
            if lock is not None and not keep_locked:
                lock.release()
        self._local = threading.local()
        self.engine.dispose()

    def _close_at_exit(self) -> None:
        # The locks are taken for good: a daemon thread still calling waits at
        # its next use of the index until the interpreter stops it, instead of
        # finding its connection closed (or its in-memory database gone).
        if self._lock is not None:
            self._lock.acquire()
        self._dispose(keep_locked=True)


def _insert_new(conn: Any, table: Table, stmt: Any, row: Mapping[str, Any]) -> bool:
    """Insert ``row`` unless a row with its key exists (get-or-create); whether it was written.

    ``stmt`` is :meth:`_Connections._insert_ignore`'s statement for ``table``,
    or ``None`` on databases without ``ON CONFLICT``: then a savepoint catches
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
