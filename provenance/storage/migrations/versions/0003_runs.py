"""Runs, their tags and their tasks (the client view).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from provenance.storage.models import json_type

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(128)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(255), nullable=False),
        sa.Column("run_number", sa.Integer, nullable=False),
        sa.Column("user", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("implicit", sa.Boolean, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("info", json_type, nullable=True),
        sa.UniqueConstraint("flow", "run_number", name="uq_runs_flow_run_number"),
    )
    op.create_index("ix_runs_flow_status_run_number", "runs", ["flow", "status", "run_number"])
    op.create_table(
        "run_tags",
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("tag", sa.String(500), primary_key=True),
        sa.Column("system", sa.Boolean, nullable=False),
    )
    op.create_index("ix_run_tags_tag_run_id", "run_tags", ["tag", "run_id"])
    op.create_table(
        "tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("step", sa.String(255), nullable=False),
        sa.Column("task_number", sa.Integer, nullable=False),
        sa.Column("artifact_id", ID, nullable=True),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.Column("successful", sa.Boolean, nullable=False),
        sa.Column("exception", json_type, nullable=True),
        sa.Column("params", json_type, nullable=True),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.UniqueConstraint("run_id", "step", "task_number", name="uq_tasks_run_step_number"),
    )
    op.create_index("ix_tasks_artifact_id_cached", "tasks", ["artifact_id", "cached"])


def downgrade() -> None:
    op.drop_table("tasks")
    op.drop_table("run_tags")
    op.drop_table("runs")
