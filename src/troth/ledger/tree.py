"""The Merkle tree kept in the engine store: the head row's frontier and the stored nodes.

Appends extend the frontier kept in the head row and store every completed subtree of
2**NODE_LEVEL leaves or more in `ledger_nodes`, so that a tree head costs O(log n) to
compute and a proof reads O(log n) nodes plus at most one block of entry hashes. The
stored nodes are a cache: `troth audit verify` recomputes the tree from the entries and
compares, and a third party checks a proof against a signed root, never against them.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import Connection

from troth.ledger import merkle, tables
from troth.ledger.damage import LedgerDamaged

NODE_INSERT = "INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)"
BLOCK = 1 << tables.NODE_LEVEL
REBUILD_CHUNK = 20_000

Node = tuple[int, int, bytes]  # (level, index, hash)


def encode_frontier(frontier: Iterable[bytes]) -> str:
    return "".join(node.hex() for node in frontier)


def decode_frontier(text: str, size: int) -> list[bytes]:
    """The frontier stored for a tree of `size` leaves: one hash per one bit of `size`."""
    if len(text) != 64 * size.bit_count():
        raise LedgerDamaged(
            f"the ledger's head row holds a tree frontier that cannot belong to {size} "
            "entries; run `troth audit verify`"
        )
    try:
        return [bytes.fromhex(text[at : at + 64]) for at in range(0, len(text), 64)]
    except ValueError:
        raise LedgerDamaged("the ledger's head row holds a tree frontier that is not hex") from None


def store_nodes(conn: Connection, nodes: list[Node]) -> None:
    if nodes:
        rows = [(level, index, node.hex()) for level, index, node in nodes]
        conn.exec_driver_sql(tables.driver_sql(conn, NODE_INSERT), rows)


def rebuild(conn: Connection, size: int) -> list[bytes]:
    """The frontier of the first `size` entries, recomputed from their hashes, with the
    stored nodes replaced (a ledger from before the tree, or after `frontier` was cleared)."""
    conn.execute(tables.nodes.delete())
    frontier: list[bytes] = []
    count = 0
    table = tables.entries
    while count < size:
        query = (
            sa.select(table.c.seq, table.c.hash)
            .where(table.c.seq > count)
            .order_by(table.c.seq)
            .limit(REBUILD_CHUNK)
        )
        found: list[Node] = []
        rows = conn.execute(query).all()
        if not rows:
            break
        for seq, entry_hash in rows:
            if seq != count + 1:
                break
            found += merkle.push(frontier, count, merkle.leaf_hash(entry_hash), tables.NODE_LEVEL)
            count += 1
        store_nodes(conn, found)
        if count < rows[-1].seq:
            break
    if count != size:
        raise LedgerDamaged(
            f"the ledger's head row records {size} entries but entries 1 to {count} are all "
            "there are in sequence; run `troth audit verify`"
        )
    return frontier


class Subtrees:
    """Hashes of any leaf range [start, end) on one connection, for building proofs."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __call__(self, start: int, end: int) -> bytes:
        count = end - start
        if count < BLOCK:  # within one stored node: from the entries
            return merkle.tree_root(merkle.leaf_hash(h) for h in self._entry_hashes(start, end))
        if count & (count - 1) == 0 and start % count == 0:
            return self._node(count.bit_length() - 1, start // count)
        k = merkle.split(count)
        return merkle.node_hash(self(start, start + k), self(start + k, end))

    def _entry_hashes(self, start: int, end: int) -> list[str]:
        table = tables.entries
        query = (
            sa.select(table.c.seq, table.c.hash)
            .where(table.c.seq > start, table.c.seq <= end)
            .order_by(table.c.seq)
        )
        rows = self.conn.execute(query).all()
        if [r.seq for r in rows] != list(range(start + 1, end + 1)):
            raise LedgerDamaged(
                f"entries {start + 1} to {end} are not all there; run `troth audit verify`"
            )
        return [str(r.hash) for r in rows]

    def _node(self, level: int, index: int) -> bytes:
        query = sa.select(tables.nodes.c.hash).where(
            tables.nodes.c.level == level, tables.nodes.c.idx == index
        )
        found = self.conn.execute(query).scalar()
        if found is None:
            raise LedgerDamaged(
                f"the tree node over entries {index * 2**level + 1} to {(index + 1) * 2**level} "
                "is missing; run `troth audit verify`"
            )
        return bytes.fromhex(found)
