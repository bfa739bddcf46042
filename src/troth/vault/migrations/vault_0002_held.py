"""vault: values held for deactivated accounts.

Revision ID: vault_0002
Revises: vault_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vault_0002"
down_revision = "vault_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("vault_held"):
        return
    op.create_table(
        "vault_held",
        sa.Column("field", sa.String(130), primary_key=True),
        sa.Column("row_ref", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("vault_held")
