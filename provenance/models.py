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
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["ArtifactRow", "Base", "LineageEdge", "SetMember", "SetRow", "TagRow", "json_type"]

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

    __table_args__ = (
        Index("ix_artifacts_name_computed_at", "name", "computed_at"),
        Index("ix_artifacts_computed_at", "computed_at"),
    )


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
