"""An SQLite index file served by the standard library's ``sqlite3`` until more is needed.

The default repository is an SQLite file, and the commonest process is short:
it loads the config, finds a few cached values and records them as tasks of
its run.  Importing SQLAlchemy (and building an engine) costs more than all of
that together, about 120 ms on our machines, so :class:`SqliteFileIndex` does
without it: it checks the schema revision with one query, answers the
cache-hit reads (:meth:`get`, :meth:`get_deferred`, :meth:`exists`) with
statements of its own, and those of a listing and of batches of rows with
the full index's (:class:`~.plain.PlainReads`), and gives the run and task writes of
:mod:`..runs` a DBAPI transaction (:meth:`dbapi_transaction`).  Anything else
(storing an artifact, sets, lineage, searches, the client's queries) builds
the full :class:`~provenance.storage.index.sql.SqlIndex` on the same file the
first time it is asked for, and is served by it from then on.

:func:`open_sqlite_file` returns ``None`` whenever the file needs what only
the full index does: it is missing or empty (the schema is created), its
revision is not this library's (an upgrade, or the error that asks for one),
or it cannot be read.  The full index then opens it and reports what is wrong.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .drivers import (
    _sqlite_pragmas,
    _sqlite_read_only_query,
    _sqlite_unwritable,
    sqlite_uri,
    translate_sqlite,
)
from .layout import (
    COLUMNS,
    DEFERRED,
    DEFERRED_COLUMNS,
    HOT_COLUMNS,
    HOT_POSITIONS,
    SCHEMA_HEAD,
)
from .light_writes import put_artifact, put_code
from .plain import PlainReads

__all__ = ["SqliteFileIndex", "open_sqlite_file", "sqlite_file_path"]

#: What the full index offers beyond this class: its public names, and the
#: connections the run and client queries use.  A test checks it against
#: SqlIndex (static, so that asking for a name imports nothing).
FULL_NAMES = frozenset(
    {
        "adopt_empty_file", "blob_referenced", "blobs_referenced", "code_source", "count",
        "delete", "delete_many", "delete_set",
        "edges_among", "engine", "find", "find_sets", "get_set", "ids_with_prefix",
        "input_blob_users", "iter_ids", "lineage_edges", "put_set",
        "referenced_blobs", "related", "set_ids_with_prefix", "set_members", "storage_rows",
        "stored_inputs", "tags_among", "tags_of", "upgrade", "url",
        "_begin", "_connect",
    }
)  # fmt: skip

_GET = f"SELECT {', '.join(HOT_COLUMNS)} FROM artifacts WHERE id = ?"
_GET_DEFERRED = f"SELECT {', '.join(DEFERRED_COLUMNS)} FROM artifacts WHERE id = ?"
_EXISTS = "SELECT id FROM artifacts WHERE id = ?"
_REVISION = "SELECT version_num FROM alembic_version"


_open_files: weakref.WeakSet[SqliteFileIndex] = weakref.WeakSet()
#: In a forked child, the connections it inherited: never used, never closed.
_inherited: list[sqlite3.Connection] = []


def _after_fork_in_child() -> None:
    for index in list(_open_files):
        index._after_fork()


if hasattr(os, "register_at_fork"):
    # Instead of comparing the pid at every query: the cache-hit read is
    # the hot path of the library.
    os.register_at_fork(after_in_child=_after_fork_in_child)


def sqlite_file_path(db: str) -> str | None:
    """The absolute path of the SQLite file a plain ``sqlite:///PATH`` URL names, else ``None``.

    Only URLs whose meaning needs no SQLAlchemy to read: no query string, no
    driver, no escapes, not in memory.
    """
    prefix = "sqlite:///"
    if not db.startswith(prefix) or any(c in db for c in "?%#"):
        return None
    path = db[len(prefix) :]
    if not path or path == ":memory:":
        return None
    return os.path.abspath(path)


def open_sqlite_file(
    db: str, *, create_db: bool = True, upgrade_db: bool = False, read_only: bool = False
) -> SqliteFileIndex | None:
    """A :class:`SqliteFileIndex` on the file of ``db``; ``None`` if the full index must open it."""
    path = sqlite_file_path(db)
    if path is not None and create_db and not os.path.lexists(path):
        # A new index: made with sqlite3 from the schema's DDL, not Alembic.
        from .fresh import create_sqlite_file

        try:
            create_sqlite_file(path)
        except (OSError, sqlite3.Error):
            return None  # the full index tries, and says why it cannot
    if path is None or not os.path.isfile(path) or os.path.getsize(path) == 0:
        return None
    index = SqliteFileIndex(db, path, create_db=create_db, upgrade_db=upgrade_db,
                            read_only=read_only)  # fmt: skip
    try:
        revision = index._revision()
    except sqlite3.Error:
        return None
    return index if revision == SCHEMA_HEAD else None


class SqliteFileIndex(PlainReads):
    """The index in an SQLite file whose schema is this library's; see the module.

    Parameters are :class:`~provenance.storage.index.sql.SqlIndex`'s, for the
    full index it builds when needed; open one with :func:`open_sqlite_file`.
    """

    #: Never an in-memory database, nor one that can be gone.
    _memory = False
    gone = False
    schema = None
    empty_file = None

    def __init__(
        self, db: str, path: str, *, create_db: bool, upgrade_db: bool, read_only: bool
    ) -> None:
        self.db = db
        self.path = path
        self._options: dict[str, Any] = {
            "create_db": create_db, "upgrade_db": upgrade_db, "read_only": read_only,
        }  # fmt: skip
        self.engine_kwargs: dict[str, Any] = {}
        #: Why the index cannot be written (``None``: it can), as SqlIndex says it.
        self.read_only: str | None = "write: false" if read_only else None
        unwritable = _sqlite_unwritable(path)
        if unwritable is not None:
            self.read_only = unwritable
        self._uri = None
        if self.read_only is not None:
            self._uri = sqlite_uri(path, _sqlite_read_only_query(path))
        self._local = threading.local()
        self._full_lock = threading.Lock()
        self._full: Any = None
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        #: The code fingerprints whose source this process has written.
        self._code_stored: set[str] = set()
        _open_files.add(self)

    def __repr__(self) -> str:
        return f"<SqlIndex {self.db}>"

    # -- connections -----------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            self._local.cur = conn.cursor()
        return conn

    def _after_fork(self) -> None:
        # A forked child never uses, nor closes, its parent's handles (SQLite
        # forbids both): they are kept referenced for the child's lifetime.
        # Locks another thread held at the fork are made anew.
        _inherited.extend(c for c in (getattr(self._local, "conn", None), self._writer) if c)
        self._local = threading.local()
        self._writer = None
        self._write_lock = threading.Lock()
        self._full_lock = threading.Lock()

    def _open(self, check_same_thread: bool = True) -> sqlite3.Connection:
        if self._uri is not None:
            conn = sqlite3.connect(self._uri, uri=True, check_same_thread=check_same_thread)
        else:
            conn = sqlite3.connect(self.path, check_same_thread=check_same_thread)
        _sqlite_pragmas(conn, None, read_only=self.read_only is not None)
        return conn

    def _fetch(self, sql: str, value: Any) -> list[Any]:
        return self._query(sql, (value,))

    def _query(self, sql: str, params: Sequence[Any]) -> list[Any]:
        try:
            cur = getattr(self._local, "cur", None)
            if cur is None:  # this thread's first query
                self._conn()
                cur = self._local.cur
            rows: list[Any] = cur.execute(sql, params).fetchall()
            return rows
        except sqlite3.Error as exc:
            self._drop()
            translated = translate_sqlite(self.path, exc)
            if translated is None:
                raise
            raise translated from exc

    def _drop(self) -> None:
        """Close this thread's connection (the next query opens another)."""
        conn = getattr(self._local, "conn", None)
        for name in ("conn", "cur"):
            with contextlib.suppress(AttributeError):
                delattr(self._local, name)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _revision(self) -> str | None:
        rows = self._conn().execute(_REVISION).fetchall()
        return rows[0][0] if rows else None

    # -- the reads of a cache hit ------------------------------------------------

    def get(self, artifact_id: str) -> list[Any] | None:
        """The row of ``artifact_id`` in ``COLUMNS`` order, or ``None`` (as ``SqlIndex.get``)."""
        rows = self._fetch(_GET, artifact_id)
        if not rows:
            return None
        row: list[Any] = [DEFERRED] * len(COLUMNS)
        for position, value in zip(HOT_POSITIONS, rows[0]):
            row[position] = value
        return row

    def get_deferred(self, artifact_id: str) -> dict[str, Any]:
        """The deferred columns of one artifact."""
        rows = self._fetch(_GET_DEFERRED, artifact_id)
        if not rows:
            return dict.fromkeys(DEFERRED_COLUMNS)
        return dict(zip(DEFERRED_COLUMNS, rows[0]))

    def exists(self, artifact_id: str) -> bool:
        """Whether ``artifact_id`` is indexed."""
        return bool(self._fetch(_EXISTS, artifact_id))

    def read_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one SELECT in plain SQL with ``?`` placeholders (see PlainReads)."""
        return self._query(sql, params)

    # -- run and task writes (storage/runs.py) -------------------------------------

    #: What :mod:`..runs` writes for: the dialect of the SQL it runs here.
    dialect_name = "sqlite"

    def put(
        self,
        row: Mapping[str, Any],
        edges: Sequence[tuple[str, str]] = (),
        tags: Sequence[str] = (),
        *,
        replace: bool = False,
        code: tuple[str, str, Mapping[str, str]] | None = None,
    ) -> bool:
        """Index one artifact with its lineage edges and tags, as ``SqlIndex.put`` does."""
        if self.read_only is not None:
            return bool(self.full.put(row, edges, tags, replace=replace, code=code))
        return put_artifact(self, row, edges, tags, replace, code, self._code_stored)

    def put_code(self, fingerprint: str, source: str, packages: Mapping[str, str]) -> None:
        """Store a source text once per fingerprint, as ``SqlIndex.put_code`` does."""
        if self.read_only is not None:
            self.full.put_code(fingerprint, source, packages)
            return
        put_code(self, fingerprint, source, packages, self._code_stored)

    @contextlib.contextmanager
    def dbapi_transaction(self) -> Iterator[sqlite3.Connection]:
        """The write connection in a transaction, committed if the block ends well.

        One connection serves every thread's writes, in turn (as a pool
        would): the background writer, the exit hook and the caller write
        through the same handle, and nothing is reopened per thread.
        """
        with self._write_lock:
            conn = self._writer
            try:
                if conn is None:
                    conn = self._writer = self._open(check_same_thread=False)
                conn.execute("BEGIN")
                try:
                    yield conn
                    conn.commit()
                except BaseException:
                    self._abandon(conn)
                    raise
            except sqlite3.Error as exc:
                translated = translate_sqlite(self.path, exc)
                if translated is None:
                    raise
                raise translated from exc

    def _abandon(self, conn: sqlite3.Connection) -> None:
        """Roll back a failed write; a connection left in a transaction is closed.

        A commit that failed (busy, I/O) or an interrupt after ``BEGIN`` must
        not leave the shared writer in a transaction: it would hold the
        write lock and refuse every later write of this process.
        """
        try:
            conn.rollback()
            if not conn.in_transaction:
                return
        except sqlite3.Error:
            pass
        self._writer = None
        with contextlib.suppress(Exception):
            conn.close()

    # -- everything else: the full index ------------------------------------------

    @property
    def full(self) -> Any:
        """The full :class:`~provenance.storage.index.sql.SqlIndex` on this file, built once."""
        if self._full is None:
            with self._full_lock:
                if self._full is None:
                    from .sql import SqlIndex

                    self._full = SqlIndex(self.db, **self._options)
        return self._full

    def __getattr__(self, name: str) -> Any:
        # Only for what this class lacks, and only for what SqlIndex has: an
        # attribute probed with getattr(index, "x", default) must not build
        # an engine (nor dunders, for copying, pickling and introspection).
        if name not in FULL_NAMES:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.full, name)

    def dispose(self) -> None:
        """Close this thread's reader, the writer, and every connection of the full index."""
        self._drop()
        with self._write_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        if self._full is not None:
            self._full.dispose()
