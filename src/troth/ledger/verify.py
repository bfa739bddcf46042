"""Checking the whole ledger: one streaming pass over the chain, plus its anchors.

Anchors are what the chain cannot vouch for itself: the head row (read before and after
the pass, so appends made meanwhile are not mistaken for tampering), the signed
checkpoints in the table and the head file outside the database. Memory stays bounded:
entries are read in chunks by sequence number, one short transaction per chunk.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection

from troth.errors import TrothError
from troth.ledger import tables
from troth.ledger.chain import entry_hash, row_hash
from troth.ledger.checkpoint import Checkpoint, read_head_file, signed, store_id
from troth.project import Project
from troth.store import Store

Reason = Literal["edited", "deleted", "inserted", "reordered", "truncated", "bad checkpoint"]
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


@dataclass(frozen=True)
class _Anchor:
    hash: str
    label: str


def verify(store: Store, project: Project | None = None, *, chunk: int = CHUNK) -> VerifyResult:
    """Check every entry, the head row and the checkpoints; name the first problem.

    Without `project` the checkpoints' signatures and the head file are not checked.
    """
    notes: list[str] = []
    failures: list[_Failure] = []
    with store.connect() as conn:
        head_before = _read_head(conn)
        anchors = _anchors(conn, store, project, notes, failures)
        conn.commit()
        scan = _Scan(conn, anchors)
        broken = scan.run(chunk)
        head_after = _read_head(conn)
    if broken:
        failures.append(broken)
    else:
        failures.extend(_tail(scan, head_before, head_after, anchors))
    if not failures:
        return VerifyResult(True, scan.checked, scan.last_seq, notes=tuple(notes))
    first = min(failures, key=lambda f: math.inf if f.seq is None else f.seq)
    return VerifyResult(
        False, scan.checked, scan.last_seq, first.seq, first.reason, first.detail, tuple(notes)
    )


def _read_head(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(sa.select(tables.head.c.seq, tables.head.c.hash)).first()
    conn.commit()
    return None if row is None else (int(row.seq), str(row.hash))


def _anchors(
    conn: Connection,
    store: Store,
    project: Project | None,
    notes: list[str],
    failures: list[_Failure],
) -> dict[int, _Anchor]:
    """Checkpoints whose signature holds (all of them without a project), by sequence."""
    points = [
        (Checkpoint(int(r.seq), r.hash, r.at, r.signature), f"checkpoint {r.seq}")
        for r in conn.execute(sa.select(tables.checkpoints).order_by(tables.checkpoints.c.seq))
    ]
    if project is None:
        notes.append("no project given: checkpoint signatures and the head file were not checked")
    else:
        points.extend(_head_file_point(store, project, notes, failures))
    anchors: dict[int, _Anchor] = {}
    for point, label in points:
        if project is not None and not signed(project, point):
            failures.append(_Failure(point.seq, "bad checkpoint", f"{label} has a bad signature"))
            continue
        known = anchors.setdefault(point.seq, _Anchor(point.hash, label))
        if known.hash != point.hash:
            failures.append(
                _Failure(point.seq, "bad checkpoint", f"{label} disagrees with {known.label}")
            )
    return anchors


def _head_file_point(
    store: Store, project: Project, notes: list[str], failures: list[_Failure]
) -> list[tuple[Checkpoint, str]]:
    try:
        head_file = read_head_file(project)
    except TrothError as exc:
        failures.append(_Failure(None, "bad checkpoint", str(exc)))
        return []
    if head_file is None:
        notes.append("no head file yet (it is written at the first checkpoint)")
        return []
    if head_file.store != store_id(store):
        notes.append("the head file belongs to another store and was not used")
        return []
    return [(head_file.checkpoint, "the head file")]


class _Scan:
    """One pass over the chain in sequence order; stops at the first break."""

    def __init__(self, conn: Connection, anchors: dict[int, _Anchor]) -> None:
        self.conn = conn
        self.anchors = anchors
        self.checked = 0
        self.last_seq = 0
        self.last_hash = tables.GENESIS_HASH

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
        expected, prev, anchors = self.last_seq + 1, self.last_hash, self.anchors
        for row in rows:
            seq, at, kind, actor, subject, ref, data, prev_hash, hash_ = row
            if seq != expected:
                return self._gap(seq, expected)
            if prev_hash != prev or hash_ != entry_hash(
                seq, at, kind, actor, subject, ref, data, prev
            ):
                return self._explain(Row(*row), prev)
            anchor = anchors.get(seq)
            if anchor is not None and anchor.hash != hash_:
                return self._unlike_anchor(seq, anchor)
            self.checked += 1
            self.last_seq, self.last_hash = seq, hash_
            expected, prev = seq + 1, hash_
        return None

    def _unlike_anchor(self, seq: int, anchor: _Anchor) -> _Failure:
        """Entry `seq` is not what a checkpoint signed: moved back by insertions, or rewritten."""
        if any(r.hash == anchor.hash for r in self._following(seq)):
            return _Failure(
                seq, "inserted", f"entries were inserted at {seq}: {anchor.label} is further on"
            )
        return _Failure(
            seq,
            "edited",
            f"entry {seq} differs from {anchor.label}: the history up to it was rewritten",
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
    before: tuple[int, str] | None,
    after: tuple[int, str] | None,
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
    if before[0] > last:
        failures.append(
            _Failure(
                last + 1,
                "truncated",
                f"the ledger ends at entry {last} but its head row records entry {before[0]}",
            )
        )
    if last > after[0]:
        failures.append(
            _Failure(
                after[0] + 1,
                "inserted",
                f"entries after {after[0]}, the head row's newest, were inserted",
            )
        )
    for seq, hash_ in (before, after):
        if seq == last and hash_ != last_hash:
            failures.append(
                _Failure(last, "edited", f"entry {last} differs from the ledger's head row")
            )
    return failures
