"""ledger: hash-chain entries, the head row and signed checkpoints.

Revision ID: ledger_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "ledger_0001"
down_revision = None
branch_labels = ("ledger",)
depends_on = None

SEQ_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS_HASH = "0" * 64


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("ledger_entries"):
        op.create_table(
            "ledger_entries",
            sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=False),
            sa.Column("at", sa.String(32), nullable=False),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("actor", sa.String(128), nullable=False),
            sa.Column("subject", sa.String(64), nullable=True),
            sa.Column("ref", sa.String(128), nullable=True),
            sa.Column("data", sa.Text(), nullable=False),
            sa.Column("prev_hash", sa.String(64), nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
        )
        op.create_index("ledger_entries_ref", "ledger_entries", ["ref"])
        op.create_index("ledger_entries_kind", "ledger_entries", ["kind"])
    if _missing("ledger_head"):
        head = op.create_table(
            "ledger_head",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
            sa.Column("seq", SEQ_TYPE, nullable=False),
            sa.Column("hash", sa.String(64), nullable=False),
        )
        op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])
    if _missing("ledger_checkpoints"):
        op.create_table(
            "ledger_checkpoints",
            sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=False),
            sa.Column("hash", sa.String(64), nullable=False),
            sa.Column("at", sa.String(32), nullable=False),
            sa.Column("signature", sa.String(64), nullable=False),
        )


def downgrade() -> None:
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_head")
    op.drop_index("ledger_entries_kind", "ledger_entries")
    op.drop_index("ledger_entries_ref", "ledger_entries")
    op.drop_table("ledger_entries")
