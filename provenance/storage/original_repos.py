"""The original library's repository classes, by their names and constructors.

``MemoryRepo()``, ``DbRepo(db, store)`` (also ``PostgresRepo``) and
``ChainedRepo(repos)`` build this library's :class:`~.repos.Repository` and
:class:`~.repos.ChainedRepository`, so code that constructs repositories in
Python, as the original's README and tests do, runs unchanged.  They are
subclasses: an instance is a ``Repository`` in every respect (and is sent to
worker processes as one).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.pool import NullPool

from .blobstores import Blobstore, MemoryStore
from .index import SqlIndex
from .repos import ChainedRepository, Repository
from .specs import check_sql_driver

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["ChainedRepo", "DbRepo", "MemoryRepo", "PostgresRepo"]


class MemoryRepo(Repository):
    """A repository held in this process's memory (the original's ``MemoryRepo``).

    Parameters
    ----------
    artifacts : list, optional
        Must be empty: the original seeded a repo with artifact records;
        copy artifacts in with :func:`~provenance.promote` instead.
    read, write, delete : bool
        The repo's permissions (``delete`` defaults to True, as in the original).
    read_through_write : bool
        Accepted and ignored, as on every repository here.
    """

    def __init__(
        self,
        artifacts: Iterable[Any] | None = None,
        read: bool = True,
        write: bool = True,
        read_through_write: bool = True,
        delete: bool = True,
    ) -> None:
        if artifacts:
            raise ValueError(
                "MemoryRepo(artifacts=...) is not supported: make an empty MemoryRepo and "
                "copy artifacts into it with provenance.promote(artifact, to_repo=repo)"
            )
        super().__init__(
            SqlIndex("sqlite://"), MemoryStore(), read=read, write=write, delete=delete
        )


class PostgresRepo(Repository):
    """An index in a SQL database plus a blobstore (the original's ``PostgresRepo``/``DbRepo``).

    Any SQLAlchemy URL works, SQLite included.

    Parameters
    ----------
    db : str
        The database URL.  (The original also took an SQLAlchemy session;
        give the URL instead.)
    store : Blobstore
        Where the values are kept.
    read, write, delete : bool
        The repo's permissions.
    read_through_write : bool
        Accepted and ignored, as on every repository here.
    create_db : bool
        Create the database if it does not exist (PostgreSQL; SQLite files
        are always created).
    schema : str, optional
        A PostgreSQL schema to keep the tables in.
    create_schema : bool
        Create that schema if it does not exist.
    persistent_connections : bool
        False opens a connection for each use instead of keeping a pool
        (SQLAlchemy's ``NullPool``), as the original's flag did.
    upgrade_db : bool
        Upgrade an index of an older schema revision on first use.
    engine_kwargs : dict, optional
        Passed to :func:`sqlalchemy.create_engine`.
    trusted : bool
        Whether pickled values and inputs may be loaded from it (not in the
        original; see :class:`~provenance.Repository`).
    """

    def __init__(
        self,
        db: str,
        store: Blobstore,
        read: bool = True,
        write: bool = True,
        read_through_write: bool = True,
        delete: bool = True,
        create_db: bool = False,
        schema: str | None = None,
        create_schema: bool = True,
        persistent_connections: bool = True,
        upgrade_db: bool = True,
        engine_kwargs: Mapping[str, Any] | None = None,
        *,
        trusted: bool = True,
    ) -> None:
        if not isinstance(db, str):
            raise TypeError(
                f"{type(self).__name__}(db=...) takes a database URL, got {type(db).__name__}"
            )
        if not isinstance(store, Blobstore):
            raise TypeError(
                f"{type(self).__name__}(store=...) takes a blobstore, got {type(store).__name__}"
            )
        check_sql_driver(f"{type(self).__name__}(db=...)", db)
        if not persistent_connections:
            engine_kwargs = {"poolclass": NullPool, **(engine_kwargs or {})}
        index = SqlIndex(
            db,
            schema=schema,
            create_db=create_db,
            create_schema=create_schema,
            upgrade_db=upgrade_db,
            engine_kwargs=engine_kwargs,
        )
        super().__init__(index, store, read=read, write=write, delete=delete, trusted=trusted)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """An SQLAlchemy session on the index's database (the original's method).

        For queries of your own, as the original's guide made them
        (``pd.read_sql(query, session.connection())``); the session is closed
        on leaving the block, and rolled back if it raised.
        """
        from sqlalchemy.orm import Session  # the ORM, only for the original's sessions

        with Session(self.index.engine) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise


#: The original library's second name for :class:`PostgresRepo`.
DbRepo = PostgresRepo


class ChainedRepo(ChainedRepository):
    """Several repositories read in order, written to the first writable one.

    The original's ``ChainedRepo(repos)``.
    """

    def __init__(self, repos: Iterable[Repository]) -> None:
        super().__init__(list(repos), read=True, write=True, delete=True)
