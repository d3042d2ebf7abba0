"""PostgreSQL specifics: creating the database and schema, and using the schema."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from ..errors import ConfigError, IndexUnavailable, SchemaError

__all__ = ["check_schema_name", "ensure_database", "ensure_pg_schema", "use_schema"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


def check_schema_name(schema: str) -> str:
    """A schema name safe to put in SQL, or a :class:`ConfigError` naming it."""
    if not isinstance(schema, str) or not _IDENTIFIER.match(schema):
        raise ConfigError(
            f"invalid 'schema' {schema!r}: use letters, digits and '_' (at most 63, "
            "not starting with a digit)"
        )
    return schema


def ensure_database(url: URL) -> None:
    """Create the database of ``url`` if it does not exist (``create_db: true``)."""
    name = url.database
    if not name:
        return
    maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                quoted = '"' + name.replace('"', '""') + '"'
                try:
                    conn.execute(text(f"CREATE DATABASE {quoted}"))
                except DBAPIError as exc:
                    # Another process may have created it a moment ago.
                    again = conn.execute(
                        text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                    ).first()
                    if again is None:
                        raise SchemaError(f"cannot create database {name!r}: {exc.orig}") from None
    except OperationalError as exc:
        raise IndexUnavailable(
            f"the index server {url.render_as_string(hide_password=True)} cannot be reached "
            f"(to check for database {name!r}): {str(exc.orig).strip()}; check that it is "
            "running and retry"
        ) from exc.orig
    finally:
        maintenance.dispose()


def use_schema(engine: Engine, schema: str) -> None:
    """Make every connection of ``engine`` resolve table names in ``schema``."""
    check_schema_name(schema)

    def set_search_path(dbapi_conn: Any, _record: Any) -> None:
        # The setting is per session; commit it so a later rollback keeps it.
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        cur = dbapi_conn.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        cur.close()
        dbapi_conn.autocommit = autocommit

    event.listen(engine, "connect", set_search_path)


def ensure_pg_schema(engine: Engine, schema: str) -> None:
    """Create the PostgreSQL schema (namespace) if missing (``create_schema: true``)."""
    check_schema_name(schema)
    with engine.begin() as conn:
        # IF NOT EXISTS is not safe against a concurrent CREATE (a UniqueViolation
        # on pg_namespace): processes creating the same schema take turns.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"provenance.create-schema:{schema}"},
        )
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
