"""Artifact sets and their members.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from provenance.storage.models import json_type

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.String(128)


def upgrade() -> None:
    op.create_table(
        "artifact_sets",
        sa.Column("id", ID, primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("labels", json_type, nullable=True),
        sa.Column("labels_hash", ID, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_artifact_sets_labels_hash", "artifact_sets", ["labels_hash"])
    op.create_index("ix_artifact_sets_name_created_at", "artifact_sets", ["name", "created_at"])
    op.create_table(
        "artifact_set_members",
        sa.Column(
            "set_id", ID, sa.ForeignKey("artifact_sets.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("artifact_id", ID, primary_key=True),
    )
    op.create_index("ix_artifact_set_members_artifact_id", "artifact_set_members", ["artifact_id"])


def downgrade() -> None:
    op.drop_table("artifact_set_members")
    op.drop_table("artifact_sets")
