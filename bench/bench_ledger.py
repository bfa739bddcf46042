"""Ledger: batched appends per second, and verifying a long chain, on SQLite.

Appends go through `record_many` (checks, canonical JSON, SHA-256 chain, head-row
update) in transactions of BATCH events; the floor is the same rows, already encoded,
written by plain INSERTs into a table of the same shape in the same database. The
verification bench builds a chain of VERIFY_SIZE entries with `record_many`, then times
`verify()` (chunked, one streaming pass); its floor is reading the same rows in the same
chunks without hashing. Wall time depends on what else the machine runs, so the CPU time
of this process is reported too; peak RSS growth shows that verification streams.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import Result, peak_rss_mb
from troth.ledger import Event, record_many, verify
from troth.ledger.log import INSERT
from troth.ledger.screen import canonical_data
from troth.ledger.tables import driver_sql
from troth.ledger.verify import BEFORE_ANY, CHUNK, ROWS_AFTER
from troth.store import Store, open_store

BATCH = 1000
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
    insert = INSERT.replace("ledger_entries", "bench_plain")
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


def bench_verify(folder: Path, count: int) -> list[Result]:
    store = open_store(f"sqlite:///{folder / 'verify.db'}")
    batch = events(10_000)
    for _ in range(count // len(batch)):
        append(store, batch)
    rss_before = peak_rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = verify(store)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if not result.ok or result.checked != count:
        raise RuntimeError(f"bench ledger does not verify: {result}")
    rss_growth = peak_rss_mb() - rss_before
    floor_start, floor_cpu_start = time.perf_counter(), time.process_time()
    read_only(store)
    floor, floor_cpu = time.perf_counter() - floor_start, time.process_time() - floor_cpu_start
    store.dispose()
    target = count >= 1_000_000
    return [
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


def run(quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="troth-bench-ledger-") as tmp:
        folder = Path(tmp)
        results = bench_appends(folder, 20_000 if quick else 200_000)
        results += bench_verify(folder, 100_000 if quick else 1_000_000)
    return results
