"""sharing: disclosure requests from authorities.

Revision ID: sharing_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sharing_0001"
down_revision = None
branch_labels = ("sharing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sharing_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("recipient", sa.String(63), nullable=False),
        sa.Column("identity_kind", sa.String(63), nullable=False),
        sa.Column("identity_value", sa.String(254)),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("export_id", sa.String(32)),
    )
    op.create_index("sharing_requests_status", "sharing_requests", ["status", "requested_at"])


def downgrade() -> None:
    op.drop_table("sharing_requests")
