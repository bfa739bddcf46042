"""The Merkle tree kept in the engine store: the head row's frontier and the stored nodes.

Appends extend the frontier kept in the head row and store every completed subtree of
2**NODE_LEVEL leaves or more in `ledger_nodes`, so that a tree head costs O(log n) to
compute and a proof reads O(log n) nodes plus at most one block of entry hashes. The
stored nodes are a cache: `troth audit verify` recomputes the tree from the entries and
compares, and a third party checks a proof against a signed root, never against them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy import Connection

from troth.ledger import merkle, tables
from troth.ledger.damage import LedgerDamaged

NODE_INSERT = "INSERT INTO ledger_nodes (level, idx, hash) VALUES "
NODES = "SELECT level, idx, hash FROM ledger_nodes WHERE "
LEAVES = "SELECT seq, hash FROM ledger_entries WHERE seq > ? AND seq <= ? ORDER BY seq"
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
    """Insert the completed subtrees' nodes, in one statement per thousand."""
    for at in range(0, len(nodes), 1000):
        part = nodes[at : at + 1000]
        statement = NODE_INSERT + ", ".join(["(?, ?, ?)"] * len(part))
        params = tuple(v for level, index, node in part for v in (level, index, node.hex()))
        conn.exec_driver_sql(tables.driver_sql(conn, statement), params)


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
    """Hashes of any leaf range [start, end) on one connection, for building proofs.

    `prefetch` reads what a set of ranges needs in two or three statements (the stored
    nodes, and the entries of at most a few blocks), which is what keeps a proof within
    milliseconds; anything not prefetched is read when asked for.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.leaves: dict[int, bytes] = {}

    def __call__(self, start: int, end: int) -> bytes:
        count = end - start
        if count < BLOCK:  # within one stored node: from the entries
            if any(i not in self.leaves for i in range(start, end)):
                self._read_leaves(start, end)
            return merkle.tree_root(self.leaves[i] for i in range(start, end))
        if count & (count - 1) == 0 and start % count == 0:
            key = (count.bit_length() - 1, start // count)
            if key not in self.nodes:
                self._read_nodes({key})
            return self.nodes[key]
        k = merkle.split(count)
        return merkle.node_hash(self(start, start + k), self(start + k, end))

    def prefetch(self, ranges: Iterable[tuple[int, int]]) -> None:
        nodes: set[tuple[int, int]] = set()
        spans: list[tuple[int, int]] = []
        for start, end in ranges:
            _plan(start, end, nodes, spans)
        if nodes:
            self._read_nodes(nodes)
        for start, end in _merged(spans):
            self._read_leaves(start, end)

    def _read_leaves(self, start: int, end: int) -> None:
        # Plain driver SQL here and below: building SQLAlchemy expressions for a dozen
        # small statements would cost more than running them.
        rows = self.conn.exec_driver_sql(tables.driver_sql(self.conn, LEAVES), (start, end)).all()
        if [seq for seq, _ in rows] != list(range(start + 1, end + 1)):
            raise LedgerDamaged(
                f"entries {start + 1} to {end} are not all there; run `troth audit verify`"
            )
        for seq, entry_hash in rows:
            self.leaves[int(seq) - 1] = merkle.leaf_hash(str(entry_hash))

    def _read_nodes(self, keys: set[tuple[int, int]]) -> None:
        # An OR of (level, idx) pairs: SQLite answers it from the primary key, where a
        # row-value IN would scan the table.
        ordered = sorted(keys)
        statement = NODES + " OR ".join(["(level = ? AND idx = ?)"] * len(ordered))
        params = tuple(value for key in ordered for value in key)
        found = self.conn.exec_driver_sql(tables.driver_sql(self.conn, statement), params)
        for level, index, node in found:
            self.nodes[(int(level), int(index))] = bytes.fromhex(node)
        missing = keys - self.nodes.keys()
        if missing:
            level, index = min(missing)
            raise LedgerDamaged(
                f"the tree node over entries {index * 2**level + 1} to {(index + 1) * 2**level} "
                "is missing; run `troth audit verify`"
            )


def requested(build: Callable[[merkle.Subtree], object]) -> list[tuple[int, int]]:
    """The leaf ranges that `build` (a proof function) asks for, without reading any."""
    ranges: list[tuple[int, int]] = []

    def record(start: int, end: int) -> bytes:
        ranges.append((start, end))
        return b""

    build(record)
    return ranges


def _plan(start: int, end: int, nodes: set[tuple[int, int]], spans: list[tuple[int, int]]) -> None:
    """What the hash of [start, end) is made of: stored nodes, and spans of entries."""
    count = end - start
    if count < BLOCK:
        spans.append((start, end))
    elif count & (count - 1) == 0 and start % count == 0:
        nodes.add((count.bit_length() - 1, start // count))
    else:
        k = merkle.split(count)
        _plan(start, start + k, nodes, spans)
        _plan(start + k, end, nodes, spans)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
