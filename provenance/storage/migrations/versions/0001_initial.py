"""Initial schema: artifacts, lineage edges, tags.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from provenance.storage.models import json_type

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.String(128)


def upgrade() -> None:
    op.create_table(
        "artifacts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("value_id", ID, nullable=False),
        sa.Column("blob_id", sa.String(160), nullable=True),
        sa.Column("hash_scheme", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("fn_module", sa.String(255), nullable=True),
        sa.Column("fn_name", sa.String(255), nullable=True),
        sa.Column("serializer", sa.String(64), nullable=False),
        sa.Column("load_kwargs", json_type, nullable=True),
        sa.Column("dump_kwargs", json_type, nullable=True),
        sa.Column("composite", sa.Boolean, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("value_inline", sa.LargeBinary, nullable=True),
        sa.Column("inputs_json", json_type, nullable=True),
        sa.Column("inputs_pickle", sa.LargeBinary, nullable=True),
        sa.Column("inputs_blob_id", sa.String(160), nullable=True),
        sa.Column("input_artifact_ids", json_type, nullable=True),
        sa.Column("custom_fields", json_type, nullable=True),
        sa.Column("run_info", json_type, nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compute_duration", sa.Float, nullable=True),
        sa.Column("hash_duration", sa.Float, nullable=True),
        sa.Column("input_id_duration", sa.Float, nullable=True),
    )
    op.create_index("ix_artifacts_value_id", "artifacts", ["value_id"])
    op.create_index("ix_artifacts_blob_id", "artifacts", ["blob_id"])
    op.create_index("ix_artifacts_name_computed_at", "artifacts", ["name", "computed_at"])
    op.create_index("ix_artifacts_computed_at", "artifacts", ["computed_at"])

    op.create_table(
        "artifact_lineage",
        sa.Column(
            "artifact_id",
            ID,
            sa.ForeignKey("artifacts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("input_artifact_id", ID, primary_key=True),
        sa.Column("parameter", sa.String(255), primary_key=True),
    )
    op.create_index(
        "ix_artifact_lineage_input_artifact_id", "artifact_lineage", ["input_artifact_id"]
    )

    op.create_table(
        "artifact_tags",
        sa.Column(
            "artifact_id",
            ID,
            sa.ForeignKey("artifacts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(500), primary_key=True),
    )
    op.create_index("ix_artifact_tags_tag", "artifact_tags", ["tag"])


def downgrade() -> None:
    op.drop_table("artifact_tags")
    op.drop_table("artifact_lineage")
    op.drop_table("artifacts")
