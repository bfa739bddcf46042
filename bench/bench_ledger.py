"""Ledger: batched appends per second, verifying a long ledger, and proofs, on SQLite.

Appends go through `record_many` (checks, canonical JSON, SHA-256 chain, Merkle frontier
and stored nodes, head-row update) in transactions of BATCH events; the floor is the same
rows, already encoded, written by plain INSERTs into a table of the same shape in the same
database. The verification bench builds a ledger of VERIFY_SIZE entries with
`record_many`, signs a tree head, then times `verify()` (chunked, one streaming pass that
recomputes the chain and the tree and checks the head); its floor is reading the same rows
in the same chunks without hashing. Wall time depends on what else the machine runs, so
the CPU time of this process is reported too; peak RSS growth shows that verification
streams. On the same ledger: an inclusion proof for one entry (median of PROOFS random
entries; floor: reading that entry by its sequence number), a consistency proof, and
signing a tree head as every writing command does when it ends.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from bench.common import Result, median, peak_rss_mb, timed
from troth.ledger import (
    Event,
    checkpoint,
    consistency_proof,
    inclusion_proof,
    record,
    record_many,
    verify,
)
from troth.ledger.log import INSERT, ROW
from troth.ledger.screen import canonical_data
from troth.ledger.tables import driver_sql
from troth.ledger.verify import BEFORE_ANY, CHUNK, ROWS_AFTER
from troth.project import Project
from troth.store import Store, open_store

BATCH = 1000
PROOFS = 200
SUBJECT = "s:" + "5e" * 16


def events(count: int) -> list[Event]:
    """Events shaped like a request run's steps: a subject, a request id, small counts."""
    return [
        Event(
            "request.step",
            actor="worker:bench",
            subject=SUBJECT,
            ref=f"req_{n // 8:08d}",
            data={"kind": "erasure", "store": "app", "rows": {"users": 1, "posts": n % 17}},
        )
        for n in range(count)
    ]


def append(store: Store, batch: list[Event]) -> float:
    start = time.perf_counter()
    for first in range(0, len(batch), BATCH):
        with store.begin() as conn:
            record_many(conn, batch[first : first + BATCH])
    return time.perf_counter() - start


def plain_inserts(store: Store, batch: list[Event]) -> float:
    """The floor: the same rows, encoded in advance, plain INSERTs in the same batches."""
    with store.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_plain AS SELECT * FROM ledger_entries WHERE 0")
    at, zero = "2026-01-01T00:00:00.000000Z", "0" * 64
    rows = [
        (n + 1, at, e.kind, e.actor, e.subject, e.ref, canonical_data(e.data), zero, zero)
        for n, e in enumerate(batch)
    ]
    insert = (INSERT + ROW).replace("ledger_entries", "bench_plain")
    start = time.perf_counter()
    for first in range(0, len(rows), BATCH):
        with store.begin() as conn:
            conn.exec_driver_sql(insert, rows[first : first + BATCH])
    return time.perf_counter() - start


def read_only(store: Store) -> float:
    """The floor for verification: the same rows in the same chunks from the same driver
    cursor, without hashing."""
    start = time.perf_counter()
    with store.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute(driver_sql(conn, ROWS_AFTER), (BEFORE_ANY, CHUNK))
        rows = cursor.fetchall()
        while rows:
            cursor.execute(driver_sql(conn, ROWS_AFTER), (rows[-1][0], CHUNK))
            rows = cursor.fetchall()
    return time.perf_counter() - start


def bench_appends(folder: Path, count: int) -> list[Result]:
    store = open_store(f"sqlite:///{folder / 'appends.db'}")
    batch = events(count)
    ours = count / append(store, batch)
    floor = count / plain_inserts(store, batch)
    store.dispose()
    return [
        Result(
            "ledger",
            f"appends/s, batches of {BATCH} ({count:,} events)",
            ours,
            "/s",
            ">= 20000",
            f"plain INSERT: {floor:,.0f}/s",
            ours >= 20_000,
        )
    ]


def bench_verify(folder: Path, count: int) -> tuple[list[Result], Store, Project]:
    store = open_store(f"sqlite:///{folder / 'verify.db'}")
    project = Project(root=folder / "project")
    batch = events(10_000)
    for _ in range(count // len(batch)):
        append(store, batch)
    checkpoint(store, project)
    rss_before = peak_rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = verify(store, project)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if not result.ok or result.checked != count:
        raise RuntimeError(f"bench ledger does not verify: {result}")
    rss_growth = peak_rss_mb() - rss_before
    floor_start, floor_cpu_start = time.perf_counter(), time.process_time()
    read_only(store)
    floor, floor_cpu = time.perf_counter() - floor_start, time.process_time() - floor_cpu_start
    target = count >= 1_000_000
    results = [
        Result(
            "ledger",
            f"verify {count:,} entries (wall)",
            seconds,
            "s",
            "<= 10" if target else "",
            f"read rows only: {floor:.2f} s",
            seconds <= 10 if target else None,
        ),
        Result(
            "ledger",
            f"verify {count:,} entries (CPU of this process)",
            cpu,
            "s",
            baseline=f"read rows only: {floor_cpu:.2f} s",
        ),
        Result("ledger", "peak RSS growth during verify", rss_growth, "MB"),
    ]
    return results, store, project


def read_entry(store: Store, seq: int) -> None:
    with store.connect() as conn:
        conn.exec_driver_sql("SELECT * FROM ledger_entries WHERE seq = ?", (seq,)).one()


def bench_proofs(store: Store, project: Project, count: int) -> list[Result]:
    picks = random.Random(7).sample(range(1, count + 1), PROOFS)
    proofs, floors = [], []
    for seq in picks:
        proofs.append(timed(lambda seq=seq: inclusion_proof(store, seq)))
        floors.append(timed(lambda seq=seq: read_entry(store, seq)))
    if not inclusion_proof(store, picks[0]).holds():
        raise RuntimeError("bench ledger: an inclusion proof does not hold")
    consistency = timed(lambda: consistency_proof(store, count // 3 + 1))
    with store.begin() as conn:
        record(conn, "audit.note")
    seal = timed(lambda: checkpoint(store, project))
    return [
        Result(
            "ledger",
            f"inclusion proof, one entry of {count:,} (median of {PROOFS})",
            median(proofs) * 1000,
            "ms",
            "<= 5",
            f"read the entry: {median(floors) * 1000:.2f} ms",
            median(proofs) <= 0.005,
        ),
        Result(
            "ledger",
            f"consistency proof, {count // 3 + 1:,} to {count:,}",
            consistency * 1000,
            "ms",
        ),
        Result("ledger", f"sign a tree head after an append ({count + 1:,})", seal * 1000, "ms"),
    ]


def run(quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="troth-bench-ledger-") as tmp:
        folder = Path(tmp)
        results = bench_appends(folder, 20_000 if quick else 200_000)
        count = 100_000 if quick else 1_000_000
        verified, store, project = bench_verify(folder, count)
        results += verified + bench_proofs(store, project, count)
        store.dispose()
    return results
