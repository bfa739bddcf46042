"""ledger: on SQLite, a view whose trigger appends an entry and moves the head row, so an
append is one statement there (PostgreSQL does the same with a data-modifying CTE).

Each row inserted into `ledger_append` is an entry plus, on the first row of an append,
the frontier the head row must hold and, on the last, the frontier it gets; the trigger
refuses the whole statement unless the head row holds the entry's predecessor (`seq - 1`
and `prev_hash`), so an append built on a head another process moved writes nothing.

Revision ID: ledger_0004
Revises: ledger_0003
"""

from alembic import op

revision = "ledger_0004"
down_revision = "ledger_0003"
branch_labels = None
depends_on = None

COLUMNS = "seq, at, kind, actor, subject, ref, data, prev_hash, hash"
NEW = ", ".join(f"NEW.{c.strip()}" for c in COLUMNS.split(","))
VIEW = (
    f"CREATE VIEW ledger_append AS SELECT {COLUMNS}, NULL AS head_frontier, NULL AS frontier"
    " FROM ledger_entries WHERE 0"
)
TRIGGER = f"""CREATE TRIGGER ledger_append_entry INSTEAD OF INSERT ON ledger_append BEGIN
  SELECT RAISE(ABORT, 'troth: the ledger head moved') WHERE NOT EXISTS (
    SELECT 1 FROM ledger_head WHERE id = 1 AND seq = NEW.seq - 1 AND hash = NEW.prev_hash
    AND (NEW.head_frontier IS NULL OR frontier = NEW.head_frontier));
  INSERT INTO ledger_entries ({COLUMNS}) VALUES ({NEW});
  UPDATE ledger_head SET seq = NEW.seq, hash = NEW.hash,
    frontier = coalesce(NEW.frontier, frontier) WHERE id = 1;
END"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(VIEW)
        op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER ledger_append_entry")
        op.execute("DROP VIEW ledger_append")
