"""The tables of the artifact index (SQLAlchemy Core).

The schema is created and upgraded only by the Alembic migrations in
``provenance/migrations``; these tables describe the head revision and a test
checks that the two agree.  They are Core tables, not ORM models: importing
``sqlalchemy.orm`` (and the PostgreSQL dialect, for JSONB) would double the
cost of the first query of a process, and nothing here needs them.  The
``...Row`` names are kept, each holding its table as ``__table__``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "ArtifactRow",
    "Base",
    "CodeSource",
    "FieldRow",
    "LineageEdge",
    "RunRow",
    "RunTag",
    "SetMember",
    "SetRow",
    "TagRow",
    "TaskRow",
    "json_type",
    "metadata",
]


class JsonType(TypeDecorator[Any]):
    """JSON on every database, JSONB (indexable, comparable) on PostgreSQL.

    A decorator rather than ``JSON().with_variant(JSONB(), "postgresql")``,
    which imports the whole PostgreSQL dialect (its five drivers) to define
    a table; JSONB is imported when a PostgreSQL database is used.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


json_type = JsonType()

ID = String(128)
UTC = DateTime(timezone=True)

metadata = MetaData()


class Base:
    """The metadata of every table (what Alembic compares the migrations with)."""

    metadata = metadata


#: One stored call: its identity, where its value lives, and how it was made.
artifacts = Table(
    "artifacts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("value_id", ID, nullable=False, index=True),
    Column("blob_id", String(160), index=True),
    Column("hash_scheme", String(32), nullable=False),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("fn_module", String(255)),
    Column("fn_name", String(255)),
    Column("serializer", String(64), nullable=False),
    Column("load_kwargs", json_type),
    Column("dump_kwargs", json_type),
    Column("composite", Boolean, nullable=False, default=False),
    Column("size", BigInteger),
    # Small serialized values live in the row itself: a cache hit is then
    # one query and no file.  ``blob_id`` is their content hash all the same.
    Column("value_inline", LargeBinary),
    Column("inputs_json", json_type),
    Column("inputs_pickle", LargeBinary),
    Column("inputs_blob_id", String(160)),
    Column("input_artifact_ids", json_type),
    Column("custom_fields", json_type),
    Column("run_info", json_type),
    Column("computed_at", UTC, nullable=False),
    Column("compute_duration", Float),
    Column("hash_duration", Float),
    Column("input_id_duration", Float),
    # The code fingerprint of the function when it computed the value (its
    # source is in ``code_sources``); ``None`` before schema 0004.
    Column("code_fingerprint", String(64)),
    # ``{"kargs": {name: hash}, "varargs": [hash, ...]}``: the argument
    # hashes the id was made from, so ``why`` can say which one differs.
    Column("input_hashes", json_type),
    Index("ix_artifacts_name_computed_at", "name", "computed_at"),
    Index("ix_artifacts_computed_at", "computed_at"),
    Index("ix_artifacts_fn_name_computed_at", "fn_name", "computed_at"),
)

#: The normalized source text of a code fingerprint, stored once per fingerprint.
code_sources = Table(
    "code_sources",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("source", Text, nullable=False),
    # ``{package: version}`` of the installed packages the code reached.
    Column("packages", json_type),
    Column("created_at", UTC, nullable=False),
)

#: An edge from an artifact to an artifact it was computed from.
artifact_lineage = Table(
    "artifact_lineage",
    metadata,
    Column("artifact_id", ID, ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True),
    Column("input_artifact_id", ID, primary_key=True, index=True),
    Column("parameter", String(255), primary_key=True),
)

#: A tag on an artifact (``@provenance(tags=...)``), indexed for lookups.
artifact_tags = Table(
    "artifact_tags",
    metadata,
    Column("artifact_id", ID, ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(500), primary_key=True),
    # The artifact's ``computed_at``, copied so that a page of a tag's
    # artifacts, newest first, is one range of the index below (since 0006).
    Column("computed_at", UTC),
    Index("ix_artifact_tags_tag_computed_at", "tag", "computed_at"),
)

#: A top-level scalar of an artifact's custom fields (``name`` is its key), for
#: filters that stay fast (since 0006): ``value_hash`` is the hash of the value's
#: canonical JSON (see ``index.layout.field_rows``), and ``computed_at`` is the
#: artifact's, as in ``artifact_tags``.
artifact_fields = Table(
    "artifact_fields",
    metadata,
    Column("artifact_id", ID, ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("value_hash", String(32), nullable=False),
    Column("computed_at", UTC),
    Index("ix_artifact_fields_name_value_hash_computed_at", "name", "value_hash", "computed_at"),
)

#: A saved artifact set: its labels; its members are in ``artifact_set_members``.
artifact_sets = Table(
    "artifact_sets",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255)),
    Column("labels", json_type),
    Column("labels_hash", ID, nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("created_at", UTC, nullable=False),
    Index("ix_artifact_sets_name_created_at", "name", "created_at"),
)

#: Membership of an artifact in a set.
artifact_set_members = Table(
    "artifact_set_members",
    metadata,
    Column("set_id", ID, ForeignKey("artifact_sets.id", ondelete="CASCADE"), primary_key=True),
    Column("artifact_id", ID, primary_key=True, index=True),
)

#: One execution that groups decorated calls (the client view's ``Run``).  The
#: row is written when the run starts and updated once when it ends; its tags
#: live in ``run_tags`` so that editing them never touches it.
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", String(255), nullable=False),
    # Increasing per flow, allocated when the run starts.
    Column("run_number", Integer, nullable=False),
    Column("user", String(255)),
    # ``running``, ``successful`` or ``failed``.
    Column("status", String(16), nullable=False),
    # True for the run a process opens by itself for calls made outside ``provenance.run``.
    Column("implicit", Boolean, nullable=False, default=False),
    Column("created_at", UTC, nullable=False),
    Column("finished_at", UTC),
    # Host, process id, command line, versions.
    Column("info", json_type),
    UniqueConstraint("flow", "run_number", name="uq_runs_flow_run_number"),
    Index("ix_runs_flow_status_run_number", "flow", "status", "run_number"),
)

#: A tag of a run; ``system`` tags are set when the run starts and never change.
run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("tag", String(500), primary_key=True),
    Column("system", Boolean, nullable=False, default=False),
    Index("ix_run_tags_tag_run_id", "tag", "run_id"),
)

#: One decorated call within a run: computed, served from the cache, or failed.
tasks = Table(
    "tasks",
    metadata,
    # 64-bit on PostgreSQL: every computed or failed call adds a task.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    # The artifact name of the decorated function.
    Column("step", String(255), nullable=False),
    # Increasing per step within the run.
    Column("task_number", Integer, nullable=False),
    # The artifact the call returned (None when it raised).
    Column("artifact_id", ID),
    Column("cached", Boolean, nullable=False, default=False),
    Column("successful", Boolean, nullable=False),
    # ``{"type", "message", "traceback"}`` of a call that raised.
    Column("exception", json_type),
    # A summary of the arguments of a call that raised (others have their artifact's).
    Column("params", json_type),
    # Calls this row stands for: the cache hits of one artifact by one step of
    # a run are one row, counted (``started_at`` is the first one's start,
    # ``finished_at`` the last one's end); every other task is one call.
    Column("hits", Integer, nullable=False, server_default=text("1")),
    Column("started_at", UTC, nullable=False),
    Column("finished_at", UTC),
    UniqueConstraint("run_id", "step", "task_number", name="uq_tasks_run_step_number"),
    Index("ix_tasks_artifact_id_cached", "artifact_id", "cached"),
)


class _Named:
    """A table under the name it had as an ORM model.

    ``RowName.__table__`` is the table, and the class stands for it in a
    statement (``select(...).select_from(RunRow)``, ``insert(SetRow)``).
    """

    __table__: Table

    @classmethod
    def __clause_element__(cls) -> Table:
        return cls.__table__


class ArtifactRow(_Named):
    """The ``artifacts`` table (:data:`artifacts`)."""

    __table__ = artifacts


class CodeSource(_Named):
    """The ``code_sources`` table."""

    __table__ = code_sources


class LineageEdge(_Named):
    """The ``artifact_lineage`` table."""

    __table__ = artifact_lineage


class TagRow(_Named):
    """The ``artifact_tags`` table."""

    __table__ = artifact_tags


class FieldRow(_Named):
    """The ``artifact_fields`` table."""

    __table__ = artifact_fields


class SetRow(_Named):
    """The ``artifact_sets`` table."""

    __table__ = artifact_sets


class SetMember(_Named):
    """The ``artifact_set_members`` table."""

    __table__ = artifact_set_members


class RunRow(_Named):
    """The ``runs`` table."""

    __table__ = runs


class RunTag(_Named):
    """The ``run_tags`` table."""

    __table__ = run_tags


class TaskRow(_Named):
    """The ``tasks`` table."""

    __table__ = tasks
