"""ledger: an index on (actor, seq), so the console's audit trail lists one staff
member's entries, newest first, without reading the whole ledger.

Revision ID: ledger_0003
Revises: ledger_0002
"""

from alembic import op

revision = "ledger_0003"
down_revision = "ledger_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ledger_entries_actor", "ledger_entries", ["actor", "seq"])


def downgrade() -> None:
    op.drop_index("ledger_entries_actor", table_name="ledger_entries")
