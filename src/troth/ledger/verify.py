"""Checking the whole ledger: one streaming pass over the chain and its Merkle tree.

The pass recomputes every entry's chain hash, and the tree over the entries with an
O(log n) frontier; each signed tree head (the table's, the head file's and one handed in
by a third party) must match the root of the tree of its size when the pass reaches it,
which proves the ledger a consistent extension of every one of them. The stored tree
nodes and the head row's frontier, which proofs and new tree heads are computed from,
must match what the entries give. The head row is read before and after the pass, so
appends made meanwhile are not mistaken for tampering. Memory stays bounded: entries
are read in chunks by sequence number, one short transaction per chunk.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection

from troth.errors import TrothError
from troth.ledger import tables
from troth.ledger.chain import entry_digest, row_hash
from troth.ledger.checkpoint import (
    TreeHead,
    head_file_path,
    read_exported,
    read_head_file,
    store_id,
    stored_heads,
)
from troth.ledger.merkle import extend, root
from troth.ledger.signing import PublicKey, signing_key
from troth.ledger.tables import NODE_LEVEL
from troth.ledger.tree import encode_frontier
from troth.project import Project
from troth.store import Store

Reason = Literal[
    "edited", "deleted", "inserted", "reordered", "truncated", "bad checkpoint", "bad tree"
]
CHUNK = 20_000
WINDOW = 32  # how far from its place a moved entry is looked for when explaining a break
SELECT = "SELECT seq, at, kind, actor, subject, ref, data, prev_hash, hash FROM ledger_entries"
BEFORE_ANY = -(2**63)  # the smallest 64-bit integer: forged rows at 0 or below are read too
ROWS_AFTER = SELECT + " WHERE seq > ? ORDER BY seq LIMIT ?"


class Row(NamedTuple):
    """One stored entry, as read for verification."""

    seq: int
    at: str
    kind: str
    actor: str
    subject: str | None
    ref: str | None
    data: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int  # entries whose hash and link were checked and found good
    head_seq: int  # the newest entry seen
    first_bad_seq: int | None = None
    reason: Reason | None = None
    detail: str = ""
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.ok:
            return f"ledger intact: {self.checked} entries checked, head is entry {self.head_seq}"
        where = "" if self.first_bad_seq is None else f" at entry {self.first_bad_seq}"
        return f"ledger damaged{where} ({self.reason}): {self.detail}"


@dataclass(frozen=True)
class _Failure:
    seq: int | None
    reason: Reason
    detail: str
    vague: bool = False  # says only that something up to `seq` changed: others say more

    @property
    def order(self) -> tuple[float, bool]:
        return (math.inf if self.seq is None else self.seq, self.vague)


@dataclass(frozen=True)
class _Anchor:
    root: bytes
    label: str


@dataclass
class _Anchors:
    """The signed tree heads to check the ledger against, by size, and what was wrong
    with the others."""

    by_size: dict[int, _Anchor] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failures: list[_Failure] = field(default_factory=list)

    def add(self, head: TreeHead, label: str, key: PublicKey | None) -> None:
        if key is not None and not head.signed_by(key):
            self.failures.append(
                _Failure(head.size, "bad checkpoint", f"{label} has a bad signature")
            )
            return
        try:
            anchor = _Anchor(bytes.fromhex(head.root), label)
        except ValueError:
            self.failures.append(_Failure(head.size, "bad checkpoint", f"{label} is malformed"))
            return
        known = self.by_size.setdefault(head.size, anchor)
        if known.root != anchor.root:
            self.failures.append(
                _Failure(head.size, "bad checkpoint", f"{label} disagrees with {known.label}")
            )


def verify(
    store: Store,
    project: Project | None = None,
    *,
    against: Path | None = None,
    public_key: PublicKey | None = None,
    chunk: int = CHUNK,
) -> VerifyResult:
    """Check every entry, the tree, the head row and the signed tree heads; name the
    first problem.

    `against` is a tree head written by `troth audit export-head`: nothing up to it may
    have been rewritten or cut. Signatures are checked with `public_key`, else the
    project's signing key; without either, the exported head's own key is used for it,
    and stored heads are not checked (a note says so).
    """
    with store.connect() as conn:
        head_before = _read_head(conn)
        anchors = _anchors(conn, store, project, against, public_key)
        conn.commit()
        scan = _Scan(conn, anchors.by_size)
        if head_before is not None and head_before.frontier is None:
            # A ledger from before the tree: the first append or seal builds it.
            scan.check_nodes = False
            anchors.notes.append("the stored tree is not built yet (the next seal builds it)")
        broken = scan.run(chunk)
        head_after = _read_head(conn)
    notes = anchors.notes
    failures = anchors.failures + scan.tree_failures + scan.rewritten
    if broken:
        failures.append(broken)
    else:
        failures.extend(_tail(scan, head_before, head_after, anchors.by_size))
    if not failures:
        return VerifyResult(True, scan.checked, scan.last_seq, notes=tuple(notes))
    first = min(failures, key=lambda f: f.order)
    return VerifyResult(
        False, scan.checked, scan.last_seq, first.seq, first.reason, first.detail, tuple(notes)
    )


class _HeadRow(NamedTuple):
    seq: int
    hash: str
    frontier: str | None


def _read_head(conn: Connection) -> _HeadRow | None:
    query = sa.select(tables.head.c.seq, tables.head.c.hash, tables.head.c.frontier)
    row = conn.execute(query).first()
    conn.commit()
    return None if row is None else _HeadRow(int(row.seq), str(row.hash), row.frontier)


def _anchors(
    conn: Connection,
    store: Store,
    project: Project | None,
    against: Path | None,
    public_key: PublicKey | None,
) -> _Anchors:
    """The signed tree heads whose signature holds, from the table, the head file and
    `against`."""
    anchors = _Anchors()
    key = public_key or _project_key(project)
    heads = stored_heads(conn)
    if against is not None:
        exported, its_key = read_exported(against)
        if key is None:
            key = its_key
            anchors.notes.append(
                f"signatures checked with the public key in {against} (id {its_key.key_id}); "
                "compare it with the id that `troth audit public-key` printed for you"
            )
        anchors.add(exported, f"the exported tree head {against.name}", key)
    if key is None and heads:
        if project is None:
            anchors.notes.append("no project or public key: tree head signatures not checked")
        else:
            anchors.failures.append(
                _Failure(
                    None,
                    "bad checkpoint",
                    "the ledger's signing key is missing, so "
                    "the signed tree heads cannot be checked (give its public key)",
                )
            )
    for head in heads:
        anchors.add(head, f"tree head {head.size}", key)
    if project is not None:
        _add_head_file(anchors, store, project, key, bool(heads))
    return anchors


def _project_key(project: Project | None) -> PublicKey | None:
    found = None if project is None else signing_key(project)
    return None if found is None else found.public


def _add_head_file(
    anchors: _Anchors, store: Store, project: Project, key: PublicKey | None, stored: bool
) -> None:
    try:
        head_file = read_head_file(project)
    except TrothError as exc:
        anchors.failures.append(_Failure(None, "bad checkpoint", str(exc)))
        return
    if head_file is None:
        if stored:  # someone removed it: perhaps to hide a cut together with the table's heads
            anchors.failures.append(
                _Failure(
                    None,
                    "bad checkpoint",
                    f"{head_file_path(project)} is missing although the store holds signed "
                    "tree heads",
                )
            )
        else:
            anchors.notes.append("no head file yet (it is written with the first tree head)")
    elif head_file.store != store_id(store):
        if stored:  # as good as missing: sealing refuses it too
            anchors.failures.append(
                _Failure(
                    None,
                    "bad checkpoint",
                    f"{head_file_path(project)} names another store although this one holds "
                    "signed tree heads",
                )
            )
        else:
            anchors.notes.append("the head file belongs to another store and was not used")
    else:
        anchors.add(head_file.head, "the head file", key)


class _Scan:
    """One pass over the chain in sequence order; stops at the first break."""

    def __init__(self, conn: Connection, anchors: dict[int, _Anchor]) -> None:
        self.conn = conn
        self.anchors = anchors
        self.checked = 0
        self.last_seq = 0
        self.last_hash = tables.GENESIS_HASH
        self.frontier: list[bytes] = []
        self.nodes: list[tuple[int, int, bytes]] = []  # completed, not yet compared
        self.matched = 0  # the size of the newest tree head found to match
        self.tree_failures: list[_Failure] = []
        self.check_nodes = True
        self.rewritten: list[_Failure] = []  # the first signed head the entries do not match

    def run(self, chunk: int) -> _Failure | None:
        size = chunk
        while True:
            try:
                rows = self._fetch(ROWS_AFTER, self._after, size)
            except sqlite3.OperationalError as exc:
                if "decode" not in str(exc):  # the message quotes the bad text: never shown
                    raise
                if size == 1:
                    return self._undecodable()
                size = 1  # find the entry: go on one row at a time
                continue
            if not rows:
                return None
            broken = self._check(rows)
            self._compare_nodes()
            if broken:
                return broken

    @property
    def _after(self) -> int:
        """Where the next read starts: after the last good entry, or before any at all."""
        return self.last_seq if self.checked else BEFORE_ANY

    def _undecodable(self) -> _Failure:
        seq = self._fetch("SELECT MIN(seq) FROM ledger_entries WHERE seq > ?", self._after)
        bad = int(seq[0][0])
        return _Failure(bad, "edited", f"entry {bad} holds bytes that are not UTF-8 text")

    def _fetch(self, statement: str, *params: int) -> list[tuple[Any, ...]]:
        """Rows as plain tuples, straight from the driver: over millions of rows SQLAlchemy's
        result handling would cost about a third of the time. SQLite reads outside any
        transaction (so writers are never held up); PostgreSQL ends its read at once."""
        dbapi = self.conn.connection.dbapi_connection
        assert dbapi is not None  # the Connection is open for the whole scan
        cursor = dbapi.cursor()
        try:
            cursor.execute(tables.driver_sql(self.conn, statement), params)
            rows = list(cursor.fetchall())
        finally:
            cursor.close()
        dbapi.commit()
        return rows

    def _check(self, rows: list[tuple[Any, ...]]) -> _Failure | None:
        """Check a chunk's chain links, then grow the tree by the good entries. The chain
        loop runs once per entry, millions of times, so it does nothing else; the scan's
        state is written back once, when the chunk is done or broken."""
        start = self.last_seq
        expected, prev, digest_of = start + 1, self.last_hash, entry_digest
        digests: list[bytes] = []
        try:
            for row in rows:
                seq, at, kind, actor, subject, ref, data, prev_hash, hash_ = row
                if seq != expected:
                    return self._gap(seq, expected)
                raw = digest_of(seq, at, kind, actor, subject, ref, data, prev)
                if prev_hash != prev or hash_ != raw.hex():
                    return self._explain(Row(*row), prev)
                digests.append(raw)
                expected, prev = seq + 1, hash_
            return None
        finally:
            self._grow(start, digests)
            self.checked += expected - 1 - start
            self.last_seq, self.last_hash = expected - 1, prev

    def _grow(self, start: int, digests: list[bytes]) -> None:
        """Add the entries after `start` to the tree, checking every signed head they reach."""
        sha256 = hashlib.sha256
        leaves = [sha256(b"\x00" + raw).digest() for raw in digests]
        end = start + len(leaves)
        stops = {size for size in self.anchors if start < size <= end} | {end}
        done = start
        for stop in sorted(stops):
            batch = leaves[done - start : stop - start]
            self.nodes += extend(self.frontier, done, batch, NODE_LEVEL)
            done = stop
            if stop in self.anchors:
                self._against(stop, self.anchors[stop])

    def _against(self, seq: int, anchor: _Anchor) -> None:
        """The first `seq` entries must give the root that `anchor` signed. When they do
        not, the pass goes on: a break further on may say what happened."""
        if root(self.frontier) == anchor.root:
            self.matched = seq
        elif not self.rewritten:
            first = self.matched + 1
            self.rewritten.append(
                _Failure(
                    seq,
                    "edited",
                    f"entries {first} to {seq} were rewritten: their tree does not match "
                    f"{anchor.label}",
                    vague=True,
                )
            )

    def _compare_nodes(self) -> None:
        """The stored tree nodes the pass has recomputed must be the same."""
        by_level: dict[int, list[tuple[int, bytes]]] = {}
        for level, index, node in self.nodes if self.check_nodes else ():
            by_level.setdefault(level, []).append((index, node))
        self.nodes.clear()
        for level, computed in by_level.items():
            first, last = computed[0][0], computed[-1][0]
            stored = dict(
                self._fetch(
                    "SELECT idx, hash FROM ledger_nodes WHERE level = ? AND idx BETWEEN ? AND ?",
                    level,
                    first,
                    last,
                )
            )
            for index, node in computed:
                if stored.get(index) != node.hex() and not self.tree_failures:
                    span = 1 << level
                    self.tree_failures.append(
                        _Failure(
                            None,
                            "bad tree",
                            f"the stored tree node over entries {index * span + 1} to "
                            f"{(index + 1) * span} is missing or differs from the entries "
                            "(proofs would not hold)",
                        )
                    )

    @staticmethod
    def _gap(seq: int, expected: int) -> _Failure:
        if seq < expected:
            return _Failure(seq, "inserted", f"entry {seq} comes before the first entry")
        missing = str(expected) if seq == expected + 1 else f"{expected} to {seq - 1}"
        return _Failure(expected, "deleted", f"entry {missing} is missing")

    def _explain(self, row: Row, prev: str) -> _Failure:
        """Why `row` does not continue the chain: find where its contents really belong."""
        seq = int(row.seq)
        origin = _origin(row)
        if origin == seq and row_hash(row, seq, prev) == row.hash:
            return _Failure(seq, "edited", f"entry {seq}'s prev_hash field was changed")
        following = self._following(seq)
        if origin in (seq, None) and following and _origin(following[0]) == seq:
            return _Failure(seq, "inserted", f"entry {seq} was inserted; later ones renumbered")
        if origin == seq:
            before = max(seq - 1, 1)
            return _Failure(
                before,
                "edited",
                f"entry {before} was rewritten: entry {seq} links to a different predecessor",
            )
        if origin is None:
            return _Failure(seq, "edited", f"entry {seq}'s contents do not match its hash")
        if origin < seq:
            return _Failure(
                origin,
                "inserted",
                f"{seq - origin} entries were inserted before entry {seq} (recorded as {origin})",
            )
        if any((_origin(r) or math.inf) <= seq for r in following):
            return _Failure(seq, "reordered", f"entry {seq} holds what was recorded as {origin}")
        return _Failure(
            seq, "deleted", f"entries {seq} to {origin - 1} were deleted and later ones renumbered"
        )

    def _following(self, seq: int) -> list[Row]:
        return [Row(*row) for row in self._fetch(ROWS_AFTER, seq, WINDOW)]


def _origin(row: Row) -> int | None:
    """The sequence number `row`'s contents were recorded under, if near its present one."""
    seq = int(row.seq)
    for candidate in range(max(1, seq - WINDOW), seq + WINDOW + 1):
        if row_hash(row, candidate) == row.hash:
            return candidate
    return None


def _tail(
    scan: _Scan,
    before: _HeadRow | None,
    after: _HeadRow | None,
    anchors: dict[int, _Anchor],
) -> list[_Failure]:
    """Problems at the end of the chain: cut off, extended behind the head row, or rewritten."""
    last, last_hash = scan.last_seq, scan.last_hash
    if before is None or after is None:
        return [_Failure(last + 1, "bad checkpoint", "the ledger's head row is missing")]
    failures = []
    newest = max(anchors, default=0)
    if newest > last:
        failures.append(
            _Failure(
                last + 1,
                "truncated",
                f"the ledger ends at entry {last} but {anchors[newest].label} records entry "
                f"{newest}",
            )
        )
    if before.seq > last:
        failures.append(
            _Failure(
                last + 1,
                "truncated",
                f"the ledger ends at entry {last} but its head row records entry {before.seq}",
            )
        )
    if last > after.seq:
        failures.append(
            _Failure(
                after.seq + 1,
                "inserted",
                f"entries after {after.seq}, the head row's newest, were inserted",
            )
        )
    for head in (before, after):
        if head.seq == last and head.hash != last_hash:
            failures.append(
                _Failure(last, "edited", f"entry {last} differs from the ledger's head row")
            )
        elif head.seq == last and head.frontier not in (None, encode_frontier(scan.frontier)):
            failures.append(
                _Failure(None, "bad tree", "the head row's tree frontier differs from the entries")
            )
    return failures
