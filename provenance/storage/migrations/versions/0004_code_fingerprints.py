"""Code fingerprints: the fingerprint and argument hashes of each artifact, sources by fingerprint.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from provenance.storage.models import json_type

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: rows written before this revision keep working.
    op.add_column("artifacts", sa.Column("code_fingerprint", sa.String(64), nullable=True))
    op.add_column("artifacts", sa.Column("input_hashes", json_type, nullable=True))
    op.create_table(
        "code_sources",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("packages", json_type, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("code_sources")
    with op.batch_alter_table("artifacts") as batch:
        batch.drop_column("input_hashes")
        batch.drop_column("code_fingerprint")
