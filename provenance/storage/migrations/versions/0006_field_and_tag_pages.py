"""Fast filters: custom fields and tags indexed with ``computed_at``; an index on ``fn_name``.

A page of the artifacts holding a tag or a custom field value, newest first,
was a scan of every match (or of every row); it is now one range of an
index.  ``artifact_tags`` gains the artifact's ``computed_at``, the new
``artifact_fields`` holds each top-level scalar of the custom fields by the
hash of its canonical JSON, and ``artifacts`` gains an index on ``(fn_name,
computed_at)`` for searches by function name.  Existing rows are filled in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from provenance.storage.index.fields import field_rows
from provenance.storage.models import json_type

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: Artifacts read per batch while the field rows are filled.
_BATCH = 2000


def upgrade() -> None:
    op.add_column("artifact_tags", sa.Column("computed_at", sa.DateTime(timezone=True)))
    _copy_computed_at("artifact_tags")
    op.drop_index("ix_artifact_tags_tag", table_name="artifact_tags")
    op.create_index("ix_artifact_tags_tag_computed_at", "artifact_tags", ["tag", "computed_at"])
    fields = op.create_table(
        "artifact_fields",
        sa.Column("artifact_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value_hash", sa.String(32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["artifact_id"], ["artifacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("artifact_id", "name"),
    )
    _fill_fields(fields)
    _copy_computed_at("artifact_fields")
    op.create_index(
        "ix_artifact_fields_name_value_hash_computed_at",
        "artifact_fields",
        ["name", "value_hash", "computed_at"],
    )
    op.create_index("ix_artifacts_fn_name_computed_at", "artifacts", ["fn_name", "computed_at"])


def _copy_computed_at(table: str) -> None:
    # Copied in SQL, so that the stored form (text on SQLite) is the artifact's own.
    op.execute(
        f"UPDATE {table} SET computed_at = "
        f"(SELECT a.computed_at FROM artifacts a WHERE a.id = {table}.artifact_id)"
    )


def _fill_fields(fields: sa.Table) -> None:
    """One row per indexed custom field of every artifact, read in batches by id."""
    conn = op.get_bind()
    artifacts = sa.table(
        "artifacts",
        sa.column("id", sa.String),
        sa.column("custom_fields", json_type),
    )
    last = ""
    while True:
        batch = conn.execute(
            sa.select(artifacts.c.id, artifacts.c.custom_fields)
            .where(artifacts.c.id > last, artifacts.c.custom_fields.is_not(None))
            .order_by(artifacts.c.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        rows = []
        for artifact_id, custom in batch:
            if isinstance(custom, str):  # a driver that hands JSON back as text
                custom = json.loads(custom)
            rows += [
                {"artifact_id": artifact_id, "name": key, "value_hash": digest}
                for key, digest in field_rows(custom)
            ]
        if rows:
            conn.execute(sa.insert(fields), rows)
        last = batch[-1][0]


def downgrade() -> None:
    op.drop_index("ix_artifacts_fn_name_computed_at", table_name="artifacts")
    op.drop_table("artifact_fields")
    op.drop_index("ix_artifact_tags_tag_computed_at", table_name="artifact_tags")
    op.create_index("ix_artifact_tags_tag", "artifact_tags", ["tag"])
    with op.batch_alter_table("artifact_tags") as batch:
        batch.drop_column("computed_at")
