"""Inclusion and consistency proofs from the engine store, and checking them from the proof alone.

An inclusion proof carries the entry's fields, so an auditor recomputes its chain hash,
its leaf and the root from the audit path, and compares the root with a signed tree head
of the same size (`troth audit export-head`). A consistency proof shows that the tree of
`first` entries is a prefix of the tree of `second`: nothing in it was rewritten or cut.
The `holds` methods use only the proof and `troth.ledger.merkle`, never the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa
from sqlalchemy import Connection

from troth.errors import NotFound
from troth.ledger import merkle, tables
from troth.ledger.chain import entry_hash
from troth.ledger.tree import Subtrees, requested
from troth.store import Store


@dataclass(frozen=True)
class ProvedEntry:
    """The stored fields that make up an entry's chain hash (`data` as stored JSON text)."""

    seq: int
    at: str
    kind: str
    actor: str
    subject: str | None
    ref: str | None
    data: str
    prev_hash: str

    @property
    def leaf(self) -> bytes:
        fields = (self.seq, self.at, self.kind, self.actor, self.subject, self.ref, self.data)
        return merkle.leaf_hash(entry_hash(*fields, self.prev_hash))


@dataclass(frozen=True)
class InclusionProof:
    """`entry` is leaf `entry.seq - 1` of the tree of `size` entries with `root`."""

    size: int
    root: str
    entry: ProvedEntry
    path: list[str]

    def holds(self) -> bool:
        """Whether the entry's fields, hashed, and the path give `root` (False for a
        malformed proof too)."""
        try:
            path = [bytes.fromhex(node) for node in self.path]
            root = bytes.fromhex(self.root)
            index = int(self.entry.seq) - 1
            return merkle.verify_inclusion(index, int(self.size), self.entry.leaf, path, root)
        except (ValueError, TypeError):
            return False


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of `first` entries (`first_root`) is a prefix of the tree of `second`."""

    first: int
    second: int
    first_root: str
    second_root: str
    path: list[str]

    def holds(self) -> bool:
        """Whether the path proves the one root a prefix of the other (False for a
        malformed proof too)."""
        try:
            path = [bytes.fromhex(node) for node in self.path]
            roots = bytes.fromhex(self.first_root), bytes.fromhex(self.second_root)
            return merkle.verify_consistency(self.first, self.second, *roots, path)
        except (ValueError, TypeError):
            return False


def _size(conn: Connection, size: int | None) -> int:
    newest = int(conn.execute(sa.select(tables.head.c.seq)).scalar() or 0)
    if size is None:
        return newest
    if not 0 <= size <= newest:
        raise NotFound(f"the ledger has {newest} entries, not {size}")
    return size


def inclusion_proof(store: Store, seq: int, size: int | None = None) -> InclusionProof:
    """Prove entry `seq` in the tree of the first `size` entries (default: all of them)."""
    with store.connect() as conn:
        size = _size(conn, size)
        if not 1 <= seq <= size:
            raise NotFound(f"entry {seq} is not in a ledger of {size} entries")
        table = tables.entries
        row = conn.execute(sa.select(table).where(table.c.seq == seq)).first()
        if row is None:
            raise NotFound(f"entry {seq} is missing; run `troth audit verify`")
        subtrees = Subtrees(conn)
        subtrees.prefetch([*requested(partial(merkle.inclusion_path, seq - 1, size)), (0, size)])
        path = merkle.inclusion_path(seq - 1, size, subtrees)
        root = subtrees(0, size)
    entry = ProvedEntry(
        int(row.seq), row.at, row.kind, row.actor, row.subject, row.ref, row.data, row.prev_hash
    )
    return InclusionProof(size, root.hex(), entry, [node.hex() for node in path])


def consistency_proof(store: Store, first: int, second: int | None = None) -> ConsistencyProof:
    """Prove the tree of `first` entries a prefix of the tree of `second` (default: all)."""
    with store.connect() as conn:
        second = _size(conn, second)
        if not 1 <= first <= second:
            raise NotFound(f"no consistency proof from {first} to {second} entries")
        subtrees = Subtrees(conn)
        build = partial(merkle.consistency_path, first, second)
        subtrees.prefetch([*requested(build), (0, first), (0, second)])
        path = build(subtrees)
        first_root, second_root = subtrees(0, first), subtrees(0, second)
    return ConsistencyProof(
        first, second, first_root.hex(), second_root.hex(), [node.hex() for node in path]
    )
