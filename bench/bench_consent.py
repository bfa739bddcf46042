"""Consent: warm `allowed()` checks in-process, and recording a large import on SQLite.

`allowed()` is measured on a warm cache over a fixed list of (subject, purpose) pairs;
the floor is a plain dict lookup over the same pairs in the same loop. The import
records 100,000 subjects x 6 purposes through `record_many` (validation, keyed subject
pseudonyms, events, the folded current state, one ledger entry) in one transaction;
the floor is a raw sqlite3 `executemany` of the same event rows into a table of the
same shape.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import Result, peak_rss_mb
from troth.consent import ConsentRecord, record_many
from troth.project import Project, open_project
from troth.sdk import Troth
from troth.store import open_store

PURPOSES = [f"marketing.p{i}" for i in range(6)]
POLICY = """\
troth: 1
policy: {name: Bench, version: "1", effective_date: 2026-01-01}
organization: {name: Bench Co}
purposes:
""" + "".join(
    f"  - {{key: {key}, name: P{i}, categories: [user.contact.email], legal_basis: consent, "
    f"consent: opt_in}}\n"
    for i, key in enumerate(PURPOSES)
)
RAW_TABLE = """CREATE TABLE events (id INTEGER PRIMARY KEY, subject_ref TEXT, identity_kind TEXT,
purpose TEXT, decision TEXT, source TEXT, policy_version TEXT, recorded_at TEXT)"""


def project_in(folder: Path) -> Project:
    (folder / "troth.yaml").write_text(POLICY)
    return open_project(folder)


def records(subjects: int) -> list[ConsentRecord]:
    decisions = ("granted", "denied")
    return [
        ConsentRecord(f"user_id:{s}", key, decisions[(s + i) % 2])
        for s in range(subjects)
        for i, key in enumerate(PURPOSES)
    ]


def bench_allowed(project: Project, checks: int) -> list[Result]:
    troth = Troth.open(project.root, refresh_ms=100)
    pairs = [(f"user_id:{s}", PURPOSES[s % 6]) for s in range(1000)]
    for subject, purpose in pairs:
        troth.allowed(subject, purpose)
    rounds = checks // len(pairs)
    allowed = troth.allowed
    start = time.perf_counter()
    for _ in range(rounds):
        for subject, purpose in pairs:
            allowed(subject, purpose)
    elapsed = time.perf_counter() - start
    plain = {pair: True for pair in pairs}
    start = time.perf_counter()
    for _ in range(rounds):
        for subject, purpose in pairs:
            plain[(subject, purpose)]
    floor = time.perf_counter() - start
    troth.close()
    done = rounds * len(pairs)
    return [
        Result(
            "consent",
            "allowed() warm",
            done / elapsed,
            "checks/s",
            ">= 1000000",
            f"dict lookup {done / floor:,.0f}/s",
            done / elapsed >= 1_000_000,
        )
    ]


def bench_import(project: Project, folder: Path, subjects: int) -> list[Result]:
    batch = records(subjects)
    store = open_store(project.store_url)
    start, cpu = time.perf_counter(), time.process_time()
    record_many(project, store, batch)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    store.dispose()
    rows = [
        (
            project.subject_ref("user_id", r.subject[8:]),
            "user_id",
            r.purpose,
            r.decision,
            "import",
            "1",
            "2026-01-01T00:00:00+00:00",
        )
        for r in batch
    ]
    raw = sqlite3.connect(folder / "raw.db", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute(RAW_TABLE)
    start = time.perf_counter()
    raw.execute("BEGIN")
    raw.executemany(
        "INSERT INTO events (subject_ref, identity_kind, purpose, decision, source, "
        "policy_version, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    raw.execute("COMMIT")
    floor = time.perf_counter() - start
    raw.close()
    label = f"record_many {subjects:,} subjects x 6 purposes (SQLite)"
    target = "<= 30" if subjects >= 100_000 else ""
    return [
        Result(
            "consent",
            label,
            elapsed,
            "s",
            target,
            f"raw executemany {floor:.2f} s",
            elapsed <= 30 if target else None,
        ),
        Result("consent", "record_many rate", len(batch) / elapsed, "events/s"),
        # CPU time of this process: what the import costs when the machine is shared
        Result("consent", "record_many CPU time", cpu, "s"),
        Result("consent", "peak memory", peak_rss_mb(), "MB"),
    ]


def run(quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="troth-bench-consent-") as tmp:
        folder = Path(tmp)
        project = project_in(folder)
        results = bench_import(project, folder, 10_000 if quick else 100_000)
        results += bench_allowed(project, 200_000 if quick else 3_000_000)
    return results
