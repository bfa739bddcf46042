"""The ledger's tables in the engine store.

`ledger_entries` holds the hash chain, `ledger_head` one row (id 1) with the newest
sequence number and hash (the row every appender locks), and `ledger_checkpoints`
the signed checkpoints.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Connection

from troth.store import metadata

# SQLite only makes an INTEGER PRIMARY KEY the rowid (fast, compact); elsewhere 64 bits.
SEQ_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
HASH_TYPE = sa.String(64)
GENESIS_HASH = "0" * 64
HEAD_ID = 1

entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("subject", sa.String(64), nullable=True),
    sa.Column("ref", sa.String(128), nullable=True),
    sa.Column("data", sa.Text(), nullable=False),
    sa.Column("prev_hash", HASH_TYPE, nullable=False),
    sa.Column("hash", HASH_TYPE, nullable=False),
    sa.Index("ledger_entries_ref", "ref"),
    sa.Index("ledger_entries_kind", "kind"),
)

head = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", SEQ_TYPE, nullable=False),
    sa.Column("hash", HASH_TYPE, nullable=False),
)

checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=False),
    sa.Column("hash", HASH_TYPE, nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("signature", HASH_TYPE, nullable=False),
)


def driver_sql(conn: Connection, statement: str) -> str:
    """`statement`, written with ? placeholders, in the driver's own parameter style."""
    return statement if conn.dialect.paramstyle == "qmark" else statement.replace("?", "%s")
