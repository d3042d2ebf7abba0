"""Files and directories identified by their contents: :class:`File`.

A decorated function called with ``File("iris.csv")`` is cached by what the
file holds, not by the text of its path, so editing the file gives a new call
id.  The function receives the :class:`File` itself, a real ``os.PathLike``.

Identity
--------
The value id of a :class:`File` depends only on the contents, never on the
path text nor on where this class lives:

* a regular file: ``xxh3_128(b"file:" + d)`` where ``d`` is the 16-byte xxh3_128
  digest of its bytes (the digest that addresses blobs, see
  :func:`~provenance.hashing.hash_file`);
* a directory: ``xxh3_128(b"dir:" + entries)``, ``entries`` being, for each entry
  sorted by name, the digest of the name followed by the id the entry would
  have as a :class:`File`.  So names and contents count recursively, an empty
  subdirectory counts by its name, and a tree hashes alike wherever it lies.

Symbolic links are followed, inside directories too; a link that points back to
a directory it lies in (a loop), a dangling link, a missing path or anything
that is neither a regular file nor a directory (a FIFO, a socket, a device)
raises :class:`~provenance.errors.HashingError` naming the path.  Permission
bits and timestamps do not count.

The state table
---------------
Reading a 10 GB file at every call would defeat caching, so the content
digest of each regular file is remembered against its ``(real path, size,
mtime_ns, inode, device)``: in an in-process dict, in front of an SQLite file
at ``<provenance home>/state/files.db`` shared by every process.  A directory
is walked (stat only) at each call and rebuilt from the digests of its files.
A digest is remembered only if the file's mtime is at least 2 seconds in
the past: a file written in the same clock tick as it was read could change
again without changing its size or mtime.  When the SQLite
file cannot be created or written, or stays locked, only the in-process dict is
used; the state table never makes a call fail.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import stat
import threading
import time
from typing import Any

from .config import provenance_home
from .hashing.content import hash_file
from .hashing.core import _LIBRARY, _h, _lock, _rebuild_dispatch, _type_name, _Unhashable
from .hashing.scalars import _d_str

__all__ = ["File"]

logger = logging.getLogger(__name__)

_RACY_SECONDS = 2  # a file whose mtime is newer than this many seconds ago is not remembered

_BUSY_TIMEOUT = 0.5  # seconds an SQLite statement waits for a lock before it is skipped
_MAX_MEMORY = 100_000  # in-process entries; the dict is emptied when it grows past this
_INSERT = "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)"


class File(os.PathLike[str]):
    """A path whose identity, when hashed as an argument, is its contents.

    Use it wherever a path is expected: ``open``, ``os.fspath``,
    ``pathlib.Path``, ``pandas.read_csv`` and ``numpy.load`` accept it.  Two
    :class:`File` objects compare (and ``hash()``) equal when their path texts
    are equal; their value ids (:func:`~provenance.hashing.hash_value`) are equal
    when their contents are, see :mod:`provenance.files`.

    Parameters
    ----------
    path : str or os.PathLike
        A file or a directory; it need not exist until the value is hashed.

    Raises
    ------
    TypeError
        If ``path`` is neither a ``str`` nor an ``os.PathLike`` giving a ``str``.

    Examples
    --------
    >>> @provenance.provenance(version=1)
    ... def load_data(path):
    ...     return pandas.read_csv(path)
    >>> df = load_data(provenance.File("iris.csv"))  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        text = os.fspath(path) if isinstance(path, os.PathLike) else path
        if not isinstance(text, str):
            raise TypeError(
                f"File() takes a str or os.PathLike path, got {type(path).__name__}"
                + (" (a bytes path: decode it with os.fsdecode)" if isinstance(text, bytes) else "")
            )
        self._path = text

    @property
    def path(self) -> str:
        """The path, as given."""
        return self._path

    def __fspath__(self) -> str:
        return self._path

    def __str__(self) -> str:
        return self._path

    def __repr__(self) -> str:
        return f"File({self._path!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, File):
            return NotImplemented
        return self._path == other._path

    def __hash__(self) -> int:
        return hash(self._path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._path,))


# --- the state table -----------------------------------------------------------------
# A row is (size, mtime_ns, inode, device) and the content digest, keyed by real path.
_Stamp = tuple[int, int, int, int]
_Row = tuple[str, _Stamp, bytes]


class _NullState:
    """A state table that remembers nothing: the SQLite file could not be used."""

    def get(self, path: str, stamp: _Stamp) -> bytes | None:
        """Return the digest stored for ``path`` if it was stored with ``stamp``."""
        return None

    def put(self, rows: list[_Row]) -> None:
        """Store rows, replacing those of the same paths; never raise."""


class _SqliteState(_NullState):
    """The state table in an SQLite file shared by processes (WAL, busy timeout).

    Any SQLite error is logged at debug level and the lookup or write skipped.
    """

    def __init__(self, db_path: str) -> None:
        os.makedirs(os.path.dirname(db_path), exist_ok=True)
        self._db_path = db_path
        self._lock = threading.Lock()
        self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._db_path, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # The path is a BLOB (os.fsencode): file names need not be valid UTF-8.
            conn.execute(
                "CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, size INTEGER NOT NULL,"
                " mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, device INTEGER NOT NULL,"
                " digest BLOB NOT NULL) WITHOUT ROWID"
            )
        except BaseException:
            conn.close()
            raise
        return conn

    def get(self, path: str, stamp: _Stamp) -> bytes | None:
        try:
            with self._lock:
                row = self._conn.execute(
                    "SELECT size, mtime_ns, inode, device, digest FROM files WHERE path = ?",
                    (os.fsencode(path),),
                ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            logger.debug("file state %s: lookup skipped: %s", self._db_path, exc)
            return None
        if row is None or tuple(row[:4]) != _signed(stamp):
            return None
        digest = row[4]
        return bytes(digest) if isinstance(digest, bytes) and len(digest) == 16 else None

    def put(self, rows: list[_Row]) -> None:
        if not rows:
            return
        params = [(os.fsencode(p), *_signed(s), d) for p, s, d in rows]
        try:
            with self._lock:
                conn = self._conn
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(_INSERT, params)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except (sqlite3.Error, OSError) as exc:
            logger.debug("file state %s: %d entries not stored: %s", self._db_path, len(rows), exc)


def _signed(stamp: _Stamp) -> _Stamp:
    # SQLite integers are signed 64-bit; inode and device numbers may use all 64 bits.
    size, mtime, ino, dev = stamp
    return size, mtime, ino - (ino >> 63 << 64), dev - (dev >> 63 << 64)


_states: dict[str, _NullState] = {}
_states_lock = threading.Lock()
_memory: dict[str, tuple[_Stamp, bytes]] = {}


def _forget_states() -> None:
    # In a forked child the parent's connections must not be used, and a lock held by
    # another thread of the parent would never be released.
    global _states_lock
    _states.clear()
    _states_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_states)


def _state() -> _NullState:
    """The state table of the current provenance home (it may change between calls)."""
    db_path = os.path.join(provenance_home(), "state", "files.db")
    state = _states.get(db_path)
    if state is None:
        with _states_lock:
            state = _states.get(db_path)
            if state is None:
                try:
                    state = _SqliteState(db_path)
                except (sqlite3.Error, OSError) as exc:
                    logger.debug("file state %s unusable, kept in memory only: %s", db_path, exc)
                    state = _NullState()
                _states[db_path] = state
    return state


# --- hashing ---------------------------------------------------------------------------


def _read_digest(path: str) -> bytes:
    """The xxh3_128 digest of a file's bytes, read in chunks."""
    return bytes.fromhex(hash_file(path))


def _stamp(st: os.stat_result) -> _Stamp:
    return st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev


class _Walk:
    """One hashing of a :class:`File`: the state table and the rows it learns."""

    def __init__(self, tname: str) -> None:
        self.tname = tname
        self.state: _NullState | None = None  # looked up on the first miss in memory
        self.rows: list[_Row] = []

    def fail(self, shown: str, exc: OSError | None = None, reason: str = "") -> _Unhashable:
        if exc is not None:
            code = exc.errno
            if code in (errno.ENOENT, errno.ENOTDIR):
                reason = "no such file or directory"
            elif code == errno.ELOOP:
                reason = "too many levels of symbolic links"
            elif code == errno.EACCES:
                reason = "permission denied"
            else:
                reason = f"cannot read it ({exc.strerror or exc})"
        return _Unhashable(self.tname, f"{reason}: {shown!r}")

    def digest(
        self, shown: str, real: str, st: os.stat_result, parents: frozenset[tuple[int, int]]
    ) -> bytes:
        """The value id of a path; ``st`` is its (followed) stat, ``real`` its real path."""
        if stat.S_ISREG(st.st_mode):
            return _h(b"file:" + self.content(shown, real, st))
        if not stat.S_ISDIR(st.st_mode):
            raise self.fail(shown, reason="neither a regular file nor a directory")
        key = (st.st_dev, st.st_ino)
        if key in parents:
            raise self.fail(shown, reason="a symbolic link loop (a link to a directory it is in)")
        parents = parents | {key}
        try:
            with os.scandir(real) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise self.fail(shown, exc) from exc
        parts = []
        for entry in entries:
            child = os.path.join(shown, entry.name)
            try:
                child_st = entry.stat()  # follows symbolic links
                child_real = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
            except OSError as exc:
                if exc.errno == errno.ENOENT and entry.is_symlink():
                    raise self.fail(child, reason="a dangling symbolic link") from exc
                raise self.fail(child, exc) from exc
            parts.append(_d_str(entry.name) + self.digest(child, child_real, child_st, parents))
        return _h(b"dir:" + b"".join(parts))

    def content(self, shown: str, real: str, st: os.stat_result) -> bytes:
        """The digest of a regular file's bytes, from the state table or read."""
        stamp = _stamp(st)
        known = _memory.get(real)
        if known is not None and known[0] == stamp:
            return known[1]
        if self.state is None:
            self.state = _state()
        digest = self.state.get(real, stamp)
        if digest is None:
            try:
                digest = _read_digest(real)
                after = _stamp(os.stat(real))
            except OSError as exc:
                raise self.fail(shown, exc) from exc
            # Changed while read, or so recent it could change unseen: do not remember it.
            # (An mtime in the future, from a skewed clock, is never remembered either.)
            if after != stamp or st.st_mtime_ns > time.time_ns() - _RACY_SECONDS * 10**9:
                return digest
            self.rows.append((real, stamp, digest))
        if len(_memory) >= _MAX_MEMORY:
            _memory.clear()
        _memory[real] = (stamp, digest)
        return digest


def _d_file(f: File) -> bytes:
    tname = "provenance.File" if type(f) is File else _type_name(type(f))
    walk = _Walk(tname)
    try:
        st = os.stat(f.path)
    except OSError as exc:
        raise walk.fail(f.path, exc) from exc
    try:
        return walk.digest(f.path, os.path.realpath(f.path), st, frozenset())
    finally:
        if walk.state is not None:
            walk.state.put(walk.rows)


# Subclasses too (looked up along the MRO); a register_hasher() for File still wins.
with _lock:
    _LIBRARY[File] = _d_file
    _rebuild_dispatch()
