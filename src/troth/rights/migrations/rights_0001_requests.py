"""rights: requests and their per-store steps.

Revision ID: rights_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rights_0001"
down_revision = None
branch_labels = ("rights",)
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "rights_requests" not in existing:
        op.create_table(
            "rights_requests",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("identity_kind", sa.String(63), nullable=False),
            sa.Column("identity_value", sa.String(254)),
            sa.Column("subject", sa.String(64), nullable=False),
            sa.Column("fields", sa.JSON),
            sa.Column("purpose", sa.String(200)),
            sa.Column("jurisdiction", sa.String(32), nullable=False),
            sa.Column("source", sa.String(32), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("lease_until", sa.DateTime(timezone=True)),
            sa.Column("reason", sa.Text),
            sa.Column("result", sa.JSON),
            sa.Column("error", sa.Text),
        )
        op.create_index("rights_requests_status", "rights_requests", ["status", "created_at"])
        op.create_index("rights_requests_subject", "rights_requests", ["subject"])
    if "rights_steps" not in existing:
        op.create_table(
            "rights_steps",
            sa.Column(
                "request_id", sa.String(32), sa.ForeignKey("rights_requests.id"), primary_key=True
            ),
            sa.Column("store", sa.String(63), primary_key=True),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("detail", sa.JSON, nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("rights_steps")
    op.drop_table("rights_requests")
