"""The full index: :class:`SqlIndex`, composed of one part per concern (see the package)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .artifacts import _Artifacts
from .lineage import _Lineage
from .plain import PlainReads
from .sets import _Sets

__all__ = ["SqlIndex"]


class SqlIndex(_Artifacts, _Lineage, _Sets, PlainReads):
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
    read_only : bool
        Open an existing SQLite file read-only (a repo configured
        ``write: false``).  A file this process cannot write is opened
        read-only anyway; :attr:`read_only` then says why.

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
        read_only: bool = False,
    ) -> None:
        super().__init__(
            db,
            schema=schema,
            create_db=create_db,
            create_schema=create_schema,
            upgrade_db=upgrade_db,
            engine_kwargs=engine_kwargs,
            read_only=read_only,
        )
        self._prepare_artifacts()
        self._prepare_sets()

    def __repr__(self) -> str:
        return f"<SqlIndex {self.url.render_as_string(hide_password=True)}>"
