"""What the database drivers need and say: SQLite's pragmas, opening, modes, and errors.

The SQLite half configures each new connection (WAL, or read-only for a file
this process cannot write), and makes new index files follow the umask.
:func:`_translate` turns the drivers' exceptions that mean damage, a full
disk or an unreachable server into :class:`~provenance.errors.StorageError`
subclasses that name the file or the server (without its password).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from typing import Any

from ...errors import IndexDamaged, IndexUnavailable, StorageError, StorageFull
from ..modes import current_umask


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, read_only: bool = False) -> None:
    # The sqlite3 module commits DDL behind SQLAlchemy's back; take over
    # transaction control so schema creation is one atomic transaction
    # (SQLAlchemy's documented recipe, completed by _sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets readers run while a writer commits; busy_timeout makes
    # concurrent writers wait for each other instead of failing.
    cur.execute("PRAGMA busy_timeout = 60000")
    cur.execute("PRAGMA foreign_keys = ON")
    if not read_only:
        # Setting the journal mode writes to the file: a read-only index
        # keeps the mode it has.
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
    # Reads through a memory map skip a system call per page.
    cur.execute("PRAGMA mmap_size = 268435456")
    cur.close()


def _sqlite_read_only_pragmas(dbapi_conn: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_conn, record, read_only=True)


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def _sqlite_unwritable(path: str) -> str | None:
    """Why this process cannot write the SQLite file at ``path``, or ``None``.

    Writing needs the file, and the directory for the WAL files unless both
    exist and are writable.  (``os.access`` sees read-only mounts too.)
    """
    if not os.path.exists(path):
        return None
    if not os.access(path, os.W_OK):
        return f"the file {path} is read-only for this user or mount"
    wal = [path + "-wal", path + "-shm"]
    if not os.access(os.path.dirname(path) or ".", os.W_OK) and not all(
        os.access(f, os.W_OK) for f in wal
    ):
        return f"the directory of {path} is read-only for this user or mount"
    return None


def sqlite_uri(path: str, params: dict[str, str]) -> str:
    """The ``file:`` URI that opens ``path`` with ``params`` (for ``sqlite3.connect(uri=True)``)."""
    return "file:" + path + "?" + "&".join(f"{k}={v}" for k, v in params.items())


def _sqlite_read_only_query(path: str) -> dict[str, str]:
    """The URI parameters that open ``path`` read-only.

    ``mode=ro`` sees other processes' commits, but a WAL-mode file needs its
    ``-shm`` file, which SQLite cannot make beside a file on a read-only
    mount: then the file is opened ``immutable`` (nobody can write it there).
    """
    probe_query = "SELECT count(*) FROM sqlite_master"
    for params in ({"mode": "ro"}, {"mode": "ro", "immutable": "1"}):
        uri = sqlite_uri(path, params)
        try:
            conn = sqlite3.connect(uri, uri=True)
            try:
                conn.execute(probe_query).fetchall()
            finally:
                conn.close()
        except sqlite3.OperationalError:
            continue
        except sqlite3.DatabaseError:
            return params  # a malformed file: reported when it is used
        return params
    return {"mode": "ro"}


def _follow_umask(path: str) -> None:
    """Give a new SQLite file (and its WAL files) the umask's permissions, as ``cp`` would.

    SQLite makes its files 0644 whatever the umask allows (0664 for a group
    sharing the index under ``umask 002``).
    """
    mode = 0o666 & ~current_umask()
    for name in (path, path + "-wal", path + "-shm"):
        with contextlib.suppress(OSError):
            if os.stat(name).st_uid == os.getuid():
                os.chmod(name, mode)


def _server(url: Any) -> str:
    return str(url.render_as_string(hide_password=True))


def translate_sqlite(where: str, orig: BaseException) -> StorageError | None:
    """The :class:`StorageError` an ``sqlite3`` exception about the file ``where`` stands for."""
    text = str(orig)
    if isinstance(orig, sqlite3.OperationalError):
        if "database or disk is full" in text:
            return StorageFull(
                errno.ENOSPC,
                f"no space left on the device of the index {where}: {text}; "
                "free some space (provenance gc) and retry",
                where,
            )
        return None
    if isinstance(orig, sqlite3.DatabaseError) and not isinstance(
        orig, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)
    ):
        return IndexDamaged(
            f"the index {where} is damaged ({text}); restore it from a backup, "
            "or move it away to start a new, empty index"
        )
    return None


def _translate(url: Any, exc: BaseException) -> StorageError | None:
    """The :class:`StorageError` a driver's exception stands for, if any.

    Damage (a malformed SQLite file), a full disk and an unreachable server
    are the user's to act on and are named; everything else (constraint
    violations, lock timeouts, deadlocks) stays the driver's, for the callers
    that handle it.
    """
    orig = getattr(exc, "orig", None) or exc
    if url.get_backend_name() == "sqlite":
        return translate_sqlite(url.database or ":memory:", orig)
    if url.get_backend_name() == "postgresql":
        module = type(orig).__module__.split(".")[0]
        if module not in ("psycopg", "psycopg2"):
            return None
        operational = any(c.__name__ == "OperationalError" for c in type(orig).__mro__)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        lost = getattr(exc, "connection_invalidated", False) or not sqlstate
        if operational and (lost or str(sqlstate)[:2] == "08" or sqlstate in _SERVER_GONE):
            first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
            return IndexUnavailable(
                f"the index server {_server(url)} cannot be reached ({first}); "
                "check that it is running and retry"
            )
    return None


#: PostgreSQL states of a server shutting down or starting up.
_SERVER_GONE = {"57P01", "57P02", "57P03"}
