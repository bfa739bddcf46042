"""retention: sweep progress, batches and the accounts rules acted on.

Revision ID: retention_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "retention_0001"
down_revision = None
branch_labels = ("retention",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_progress",
        sa.Column("rule", sa.String(63), primary_key=True),
        sa.Column("table_key", sa.String(200), primary_key=True),
        sa.Column("swept_before", sa.DateTime(timezone=True)),
        sa.Column("cutoff", sa.DateTime(timezone=True)),
        sa.Column("since", sa.DateTime(timezone=True)),
        sa.Column("after", sa.JSON),
        sa.Column("held_from", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "retention_batches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(63), nullable=False),
        sa.Column("table_key", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("keys", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("retention_batches_pending", "retention_batches", ["status"])
    op.create_table(
        "retention_marks",
        sa.Column("rule", sa.String(63), primary_key=True),
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("table_key", sa.String(200), nullable=False),
        sa.Column("key", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activity", sa.String(64)),
        sa.Column("request_id", sa.String(32)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("retention_marks_state", "retention_marks", ["rule", "state"])


def downgrade() -> None:
    op.drop_table("retention_marks")
    op.drop_table("retention_batches")
    op.drop_table("retention_progress")
