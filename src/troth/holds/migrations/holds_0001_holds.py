"""holds: legal holds, the subjects they cover and the erasures they postponed.

Revision ID: holds_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "holds_0001"
down_revision = None
branch_labels = ("holds",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holds_holds",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("placed_by", sa.String(200), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True)),
        sa.Column("released_at", sa.DateTime(timezone=True)),
        sa.Column("released_by", sa.String(200)),
        sa.Column("filter", sa.JSON),
    )
    op.create_index("holds_holds_open", "holds_holds", ["released_at"])
    op.create_table(
        "holds_subjects",
        sa.Column("hold_id", sa.String(32), sa.ForeignKey("holds_holds.id"), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("identity_kind", sa.String(63), nullable=False),
        sa.Column("identity_value", sa.String(254)),
    )
    op.create_index("holds_subjects_subject", "holds_subjects", ["subject"])
    op.create_table(
        "holds_postponed",
        sa.Column("hold_id", sa.String(32), sa.ForeignKey("holds_holds.id"), primary_key=True),
        sa.Column("request_id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(200)),
        sa.Column("identity_kind", sa.String(63), nullable=False),
        sa.Column("identity_value", sa.String(254)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("holds_postponed")
    op.drop_table("holds_subjects")
    op.drop_table("holds_holds")
