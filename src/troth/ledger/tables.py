"""The ledger's tables in the engine store.

`ledger_entries` holds the entries and their hash chain; `ledger_head` one row (id 1)
with the newest sequence number and hash and the Merkle tree's frontier (the row every
appender locks); `ledger_nodes` the tree's inner nodes from NODE_LEVEL up, so proofs read
a few rows instead of the whole ledger; `ledger_tree_heads` the signed tree heads.
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
# Nodes over 2**NODE_LEVEL leaves and more are stored (one row per 32 entries); smaller
# subtrees are recomputed from fewer than that many entries' hashes, which keeps a proof
# to a few hundred hashes.
NODE_LEVEL = 6

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
    sa.Index("ledger_entries_actor", "actor", "seq"),
)

head = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("seq", SEQ_TYPE, nullable=False),
    sa.Column("hash", HASH_TYPE, nullable=False),
    # The frontier's hashes in hex, largest subtree first; NULL until first computed.
    sa.Column("frontier", sa.Text(), nullable=True),
)

nodes = sa.Table(
    "ledger_nodes",
    metadata,
    sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("idx", SEQ_TYPE, primary_key=True, autoincrement=False),
    sa.Column("hash", HASH_TYPE, nullable=False),
)

tree_heads = sa.Table(
    "ledger_tree_heads",
    metadata,
    sa.Column("size", SEQ_TYPE, primary_key=True, autoincrement=False),
    sa.Column("root", HASH_TYPE, nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("signature", sa.String(128), nullable=False),
)


def driver_sql(conn: Connection, statement: str) -> str:
    """`statement`, written with ? placeholders, in the driver's own parameter style."""
    return statement if conn.dialect.paramstyle == "qmark" else statement.replace("?", "%s")
