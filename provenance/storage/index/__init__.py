"""The artifact index: artifact metadata, lineage edges, tags, sets, runs and tasks in SQL.

Writes go through SQLAlchemy Core as get-or-create inserts (``ON CONFLICT DO
NOTHING``), so concurrent writers of the same artifact never fail.  The
cache-hit lookup is the hot path of the whole library: it runs a statement
compiled once on a DBAPI connection kept per thread, which costs about as
much as a raw driver call (an ORM session per lookup would cost several
times more).

:class:`SqlIndex` is one class, composed of one part per concern:

* :mod:`.engine`: the engine and connections (URL handling, SQLite pragmas,
  fork and exit handling, the per-thread reader, get-or-create inserts);
* :mod:`.drivers`: what the drivers need and say (pragmas, errors);
* :mod:`.rows`: the tables and the encoding of stored values, over
  :mod:`.layout` (the revision, :data:`COLUMNS`, :data:`DEFERRED` and value
  decoding as plain data);
* :mod:`.artifacts`: artifact rows, their tags and code sources;
* :mod:`.lineage`: lineage edges and walks along them;
* :mod:`.sets`: artifact sets.

:func:`open_index` opens an index; for a plain SQLite file whose schema is
current it returns the light :class:`~.light.SqliteFileIndex`, which serves
cache hits and run records with ``sqlite3`` alone and builds the
:class:`SqlIndex` only when something else is asked of it.  This package
imports SQLAlchemy only when :class:`SqlIndex` is first used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .layout import COLUMNS, DEFERRED, DEFERRED_COLUMNS, decode_datetime, decode_json
from .light import SqliteFileIndex, open_sqlite_file

if TYPE_CHECKING:
    from .sql import SqlIndex

__all__ = [
    "COLUMNS",
    "DEFERRED",
    "DEFERRED_COLUMNS",
    "SqlIndex",
    "SqliteFileIndex",
    "decode_datetime",
    "decode_json",
    "open_index",
]


def open_index(
    db: str,
    *,
    schema: str | None = None,
    create_db: bool = True,
    create_schema: bool = True,
    upgrade_db: bool = False,
    engine_kwargs: Mapping[str, Any] | None = None,
    read_only: bool = False,
) -> Any:
    """The index at ``db``: an :class:`SqlIndex`, or its light stand-in for a current SQLite file.

    The parameters are :class:`SqlIndex`'s.
    """
    if schema is None and not engine_kwargs:
        light = open_sqlite_file(db, create_db=create_db, upgrade_db=upgrade_db,
                                 read_only=read_only)  # fmt: skip
        if light is not None:
            return light
    from .sql import SqlIndex

    return SqlIndex(db, schema=schema, create_db=create_db, create_schema=create_schema,
                    upgrade_db=upgrade_db, engine_kwargs=engine_kwargs,
                    read_only=read_only)  # fmt: skip


def __getattr__(name: str) -> Any:
    # SqlIndex imports SQLAlchemy: only when it is asked for.
    if name == "SqlIndex":
        from .sql import SqlIndex

        return SqlIndex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
