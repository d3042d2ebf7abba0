"""Creating, checking and upgrading the index schema through Alembic.

Opening a repository only reads the ``alembic_version`` table (one cheap
query).  Alembic itself is imported when there is work to do: creating the
tables of a new index, or an explicit :func:`upgrade`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from ..errors import SchemaError, SchemaOutdated
from .revisions import KNOWN_REVISIONS, SCHEMA_HEAD

__all__ = ["SCHEMA_HEAD", "current_revision", "ensure_schema", "upgrade"]


_MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
#: Held by a PostgreSQL upgrade: one per schema (the search path's first).
_SCHEMA_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtext('provenance.schema:' || current_schema()))"
)


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, or ``None`` for an empty one.

    Tables are looked up unqualified: a PostgreSQL ``schema`` is applied to
    every connection through its ``search_path``.
    """
    version = text("SELECT version_num FROM alembic_version")
    with engine.connect() as conn:
        try:
            row = conn.execute(version).first()
        except DBAPIError:
            conn.rollback()
            if not _has_table(conn, "artifacts"):
                return None
            # Another process may have committed the schema (both tables at
            # once) between the two queries: ask once more before calling it
            # foreign.
            try:
                row = conn.execute(version).first()
            except DBAPIError:
                conn.rollback()
                raise SchemaError(
                    f"{engine.url!r} has an 'artifacts' table but no Alembic version: "
                    "it was not created by this library (or by its pre-Alembic predecessor); "
                    "migrate it by hand or point the repo at a new database"
                ) from None
    return row[0] if row else None


def _has_table(conn: Connection, name: str) -> bool:
    if conn.dialect.name == "postgresql":
        # Only the schemas on the search path count, as for unqualified names.
        found = conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
        return found is not None
    return bool(inspect(conn).has_table(name))


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revision (``provenance db upgrade``).

    On PostgreSQL, processes upgrading the same schema at once take turns: a
    transaction-scoped advisory lock is held while Alembic reads the current
    revision and migrates, so the second one finds the head and does nothing
    (concurrent DDL otherwise fails with ``UniqueViolation`` on ``pg_type``).
    """
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(_SCHEMA_LOCK)
        command.upgrade(_alembic_config(conn), "head")


def _wait_for_head(engine: Engine, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if current_revision(engine) == SCHEMA_HEAD:
                return
        except DBAPIError:
            pass
        if time.monotonic() > deadline:
            raise SchemaError(
                f"gave up waiting for another process to create the schema of {engine.url!r}"
            )
        time.sleep(0.05)


def ensure_schema(engine: Engine, create: bool = True) -> None:
    """Make sure the database holds the schema this library expects.

    Parameters
    ----------
    create : bool
        Create the tables in an empty database.

    Raises
    ------
    SchemaOutdated
        The database holds an older schema; it says how to upgrade.
    SchemaError
        The database was written by a newer library, or is empty and
        ``create`` is false.
    """
    revision = current_revision(engine)
    if revision == SCHEMA_HEAD:
        return
    if revision is None:
        if not create:
            raise SchemaError(f"{engine.url!r} has no provenance schema and create_schema is false")
        try:
            upgrade(engine)
        except DBAPIError as exc:
            # Another process may be creating the schema at the same moment:
            # its transaction wins and ours rolled back.  If no schema shows
            # up soon, the error was real (no permission, say): report it.
            try:
                _wait_for_head(engine, timeout=15.0)
            except SchemaError:
                raise SchemaError(
                    f"cannot create the provenance schema in {engine.url!r}: {exc.orig}"
                ) from None
        return
    if revision in KNOWN_REVISIONS:
        raise SchemaOutdated(
            f"the index at {engine.url!r} has schema revision {revision}, older than this "
            f"library's {SCHEMA_HEAD}; upgrade it with `provenance db upgrade` "
            "or `provenance.upgrade_schema(repo)`"
        )
    raise SchemaError(
        f"the index at {engine.url!r} has schema revision {revision!r}, unknown to this "
        f"library (newest known: {SCHEMA_HEAD}); upgrade provenance"
    )
