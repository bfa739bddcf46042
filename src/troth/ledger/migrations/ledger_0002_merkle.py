"""ledger: the Merkle tree (stored inner nodes, the head row's frontier) and signed tree heads.

The HMAC checkpoints of ledger_0001 are dropped: they were signed with the pseudonym key,
which sits next to the database, so they proved little against someone who can read both.
The first signed tree head after this upgrade covers the whole ledger; the frontier and
the stored nodes are built from the entries by the first append or seal (`frontier` NULL).

Revision ID: ledger_0002
Revises: ledger_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "ledger_0002"
down_revision = "ledger_0001"
branch_labels = None
depends_on = None

SEQ_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "frontier" not in {c["name"] for c in inspector.get_columns("ledger_head")}:
        op.add_column("ledger_head", sa.Column("frontier", sa.Text(), nullable=True))
    if not inspector.has_table("ledger_nodes"):
        op.create_table(
            "ledger_nodes",
            sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
            sa.Column("idx", SEQ_TYPE, primary_key=True, autoincrement=False),
            sa.Column("hash", sa.String(64), nullable=False),
        )
    if not inspector.has_table("ledger_tree_heads"):
        op.create_table(
            "ledger_tree_heads",
            sa.Column("size", SEQ_TYPE, primary_key=True, autoincrement=False),
            sa.Column("root", sa.String(64), nullable=False),
            sa.Column("at", sa.String(32), nullable=False),
            sa.Column("key_id", sa.String(16), nullable=False),
            sa.Column("signature", sa.String(128), nullable=False),
        )
    if inspector.has_table("ledger_checkpoints"):
        op.drop_table("ledger_checkpoints")


def downgrade() -> None:
    op.create_table(
        "ledger_checkpoints",
        sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
    )
    op.drop_table("ledger_tree_heads")
    op.drop_table("ledger_nodes")
    op.drop_column("ledger_head", "frontier")
