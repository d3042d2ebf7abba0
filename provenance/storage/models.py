"""The tables of the artifact index (SQLAlchemy 2.0 declarative models).

The schema is created and upgraded only by the Alembic migrations in
``provenance/migrations``; these models describe the head revision and a test
checks that the two agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ArtifactRow",
    "Base",
    "CodeSource",
    "LineageEdge",
    "RunRow",
    "RunTag",
    "SetMember",
    "SetRow",
    "TagRow",
    "TaskRow",
    "json_type",
]

#: JSON on every database, JSONB (indexable, comparable) on PostgreSQL.
json_type = JSON().with_variant(JSONB(), "postgresql")

ID = String(128)


class Base(DeclarativeBase):
    pass


class ArtifactRow(Base):
    """One stored call: its identity, where its value lives, and how it was made."""

    __tablename__ = "artifacts"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    value_id: Mapped[str] = mapped_column(ID, index=True)
    blob_id: Mapped[str | None] = mapped_column(String(160), index=True)
    hash_scheme: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    fn_module: Mapped[str | None] = mapped_column(String(255))
    fn_name: Mapped[str | None] = mapped_column(String(255))
    serializer: Mapped[str] = mapped_column(String(64))
    load_kwargs: Mapped[Any | None] = mapped_column(json_type)
    dump_kwargs: Mapped[Any | None] = mapped_column(json_type)
    composite: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int | None] = mapped_column(BigInteger)
    #: Small serialized values live in the row itself: a cache hit is then
    #: one query and no file.  ``blob_id`` is their content hash all the same.
    value_inline: Mapped[bytes | None] = mapped_column(LargeBinary)
    inputs_json: Mapped[Any | None] = mapped_column(json_type)
    inputs_pickle: Mapped[bytes | None] = mapped_column(LargeBinary)
    inputs_blob_id: Mapped[str | None] = mapped_column(String(160))
    input_artifact_ids: Mapped[Any | None] = mapped_column(json_type)
    custom_fields: Mapped[Any | None] = mapped_column(json_type)
    run_info: Mapped[Any | None] = mapped_column(json_type)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    compute_duration: Mapped[float | None] = mapped_column(Float)
    hash_duration: Mapped[float | None] = mapped_column(Float)
    input_id_duration: Mapped[float | None] = mapped_column(Float)
    #: The code fingerprint of the function when it computed the value
    #: (its source is in ``code_sources``); ``None`` before schema 0004.
    code_fingerprint: Mapped[str | None] = mapped_column(String(64))
    #: ``{"kargs": {name: hash}, "varargs": [hash, ...]}``: the argument
    #: hashes the id was made from, so ``why`` can say which one differs.
    input_hashes: Mapped[Any | None] = mapped_column(json_type)

    __table_args__ = (
        Index("ix_artifacts_name_computed_at", "name", "computed_at"),
        Index("ix_artifacts_computed_at", "computed_at"),
    )


class CodeSource(Base):
    """The normalized source text of a code fingerprint, stored once per fingerprint."""

    __tablename__ = "code_sources"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    #: ``{package: version}`` of the installed packages the code reached.
    packages: Mapped[Any | None] = mapped_column(json_type)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LineageEdge(Base):
    """An edge from an artifact to an artifact it was computed from."""

    __tablename__ = "artifact_lineage"

    artifact_id: Mapped[str] = mapped_column(
        ID, ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    input_artifact_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    parameter: Mapped[str] = mapped_column(String(255), primary_key=True)


class TagRow(Base):
    """A tag on an artifact (``@provenance(tags=...)``), indexed for lookups."""

    __tablename__ = "artifact_tags"

    artifact_id: Mapped[str] = mapped_column(
        ID, ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(500), primary_key=True, index=True)


class SetRow(Base):
    """A saved artifact set: its labels; its members are in ``artifact_set_members``."""

    __tablename__ = "artifact_sets"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    labels: Mapped[Any | None] = mapped_column(json_type)
    labels_hash: Mapped[str] = mapped_column(ID, index=True)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_artifact_sets_name_created_at", "name", "created_at"),)


class SetMember(Base):
    """Membership of an artifact in a set."""

    __tablename__ = "artifact_set_members"

    set_id: Mapped[str] = mapped_column(
        ID, ForeignKey("artifact_sets.id", ondelete="CASCADE"), primary_key=True
    )
    artifact_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)


class RunRow(Base):
    """One execution that groups decorated calls (the client view's ``Run``).

    The row is written when the run starts and updated once when it ends;
    its tags live in ``run_tags`` so that editing them never touches it.
    """

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow: Mapped[str] = mapped_column(String(255))
    #: Increasing per flow, allocated when the run starts.
    run_number: Mapped[int] = mapped_column(Integer)
    user: Mapped[str | None] = mapped_column(String(255))
    #: ``running``, ``successful`` or ``failed``.
    status: Mapped[str] = mapped_column(String(16))
    #: True for the run a process opens by itself for calls made outside ``provenance.run``.
    implicit: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Host, process id, command line, versions.
    info: Mapped[Any | None] = mapped_column(json_type)

    __table_args__ = (
        UniqueConstraint("flow", "run_number", name="uq_runs_flow_run_number"),
        Index("ix_runs_flow_status_run_number", "flow", "status", "run_number"),
    )


class RunTag(Base):
    """A tag of a run; ``system`` tags are set when the run starts and never change."""

    __tablename__ = "run_tags"

    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(500), primary_key=True)
    system: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_run_tags_tag_run_id", "tag", "run_id"),)


class TaskRow(Base):
    """One decorated call within a run: computed, served from the cache, or failed."""

    __tablename__ = "tasks"

    #: 64-bit on PostgreSQL: every computed or failed call adds a task.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("runs.id", ondelete="CASCADE"))
    #: The artifact name of the decorated function.
    step: Mapped[str] = mapped_column(String(255))
    #: Increasing per step within the run.
    task_number: Mapped[int] = mapped_column(Integer)
    #: The artifact the call returned (None when it raised).
    artifact_id: Mapped[str | None] = mapped_column(ID)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    successful: Mapped[bool] = mapped_column(Boolean)
    #: ``{"type", "message", "traceback"}`` of a call that raised.
    exception: Mapped[Any | None] = mapped_column(json_type)
    #: A summary of the arguments of a call that raised (others have their artifact's).
    params: Mapped[Any | None] = mapped_column(json_type)
    #: Calls this row stands for: the cache hits of one artifact by one step of
    #: a run are one row, counted (``started_at`` is the first one's start,
    #: ``finished_at`` the last one's end); every other task is one call.
    hits: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("run_id", "step", "task_number", name="uq_tasks_run_step_number"),
        Index("ix_tasks_artifact_id_cached", "artifact_id", "cached"),
    )
