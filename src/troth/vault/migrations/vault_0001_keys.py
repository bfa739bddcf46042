"""vault: one wrapped data key per subject.

Revision ID: vault_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "vault_0001"
down_revision = None
branch_labels = ("vault",)
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("vault_keys"):
        return
    op.create_table(
        "vault_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("kek_id", sa.String(32)),
        sa.Column("wrapped", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shredded_at", sa.DateTime(timezone=True)),
    )
    op.create_index("vault_keys_kek", "vault_keys", ["kek_id"])


def downgrade() -> None:
    op.drop_index("vault_keys_kek", "vault_keys")
    op.drop_table("vault_keys")
