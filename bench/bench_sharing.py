"""Sharing at scale: export 100,000 people with keyed pseudonyms to one recipient, and an
aggregate report over 5,000,000 rows, on SQLite and PostgreSQL.

Floors, in the same run on the same data: for pseudonyms, what troth must do written
by hand (`floor_pseudonyms`: the SELECT, the objections checked, three HMACs a person,
the CSV, and the per-person disclosure log in one transaction);
for aggregates, the GROUP BY a person would write (people, rows and a sum per event
kind). troth runs in its own process, so that its peak memory is its own. The floor
had been the SELECT, two HMACs and the CSV alone: no gate and no record, work troth
must do, so the comparison was not like for like.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bench.bench_retention import script
from bench.common import Result

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BATCH = 5000
LOG = """\
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE exports (id TEXT PRIMARY KEY, people INTEGER NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE carried (subject TEXT, export_id TEXT, PRIMARY KEY (subject, export_id))
    WITHOUT ROWID;
CREATE TABLE objections (subject TEXT PRIMARY KEY);
"""

POLICY = """\
troth: 1
policy: {name: Bench, version: "1", effective_date: 2026-01-01}
organization: {name: Bench Co}
purposes:
  - {key: analytics.reporting, name: Statistics, legal_basis: legitimate_interest,
     legitimate_interests: knowing how the service is used}
recipients:
  - {key: partner, name: Partner, type: business_partner, receives: pseudonym,
     categories: [user.contact.email], purposes: [analytics.reporting]}
  - key: stats
    name: Statistics bureau
    type: third_party
    receives: aggregate
    categories: [user.behavior]
    purposes: [analytics.reporting]
    aggregate: {dimensions: [user.behavior.browsing_history],
                sums: [user.behavior.purchase_history], min_group: 10}
"""
DATAMAP = """\
troth: 1
stores:
  app: {type: sql, url: "${BENCH_APP_URL}"}
identities:
  email: {normalize: email}
  person_id: {normalize: integer}
tables:
  app.people:
    identities: {email: email, person_id: id}
    columns:
      id: {categories: [user.unique_id]}
      email: {categories: [user.contact.email]}
  app.events:
    links: [{column: person_id, to: people.id, owner: true}]
    columns:
      person_id: {categories: [user.unique_id]}
      kind: {categories: [user.behavior.browsing_history]}
      amount: {categories: [user.behavior.purchase_history]}
"""
TABLES = """\
CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES people(id),
                     kind TEXT NOT NULL, amount REAL NOT NULL);
CREATE INDEX events_person ON events (person_id);
"""
SQLITE_FILL = """\
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :people)
INSERT INTO people SELECT x, 'person' || x || '@example.com' FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :events)
INSERT INTO events SELECT x, 1 + x % :people, 'kind' || (x % 40), (x % 100) / 4.0 FROM n;
"""
PG_FILL = """\
INSERT INTO people SELECT x, 'person' || x || '@example.com' FROM generate_series(1, :people) x;
INSERT INTO events SELECT x, 1 + x % :people, 'kind' || (x % 40), (x % 100) / 4.0
FROM generate_series(1, :events) x;
"""
CHILD = """\
import json, resource, sys, time
from pathlib import Path
from troth.appdata import load_context
from troth.project import open_project
from troth.sharing import share_export
from troth.store import open_store
project = open_project(Path(sys.argv[1]))
store = open_store(project.store_url)
ctx = load_context(project)
out = {}
for recipient, name in (("partner", "partner.csv"), ("stats", "stats.csv")):
    start = time.perf_counter()
    report = share_export(ctx, store, recipient, Path(sys.argv[1]) / name)
    out[recipient] = [time.perf_counter() - start, report.people, sum(report.tables.values())]
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def sizes(quick: bool) -> dict[str, int]:
    return (
        {"people": 10_000, "events": 200_000} if quick else {"people": 100_000, "events": 5_000_000}
    )


def fill(engine: Engine, sql: str, n: dict[str, int]) -> None:
    with engine.begin() as conn:
        script(conn, TABLES, {})
        script(conn, sql, n)
    analyze = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(analyze))


def floor_pseudonyms(engine: Engine, out: Path, log: Path) -> tuple[float, int]:
    """The same work by hand: one SELECT streamed in batches; per person the record's
    name (HMAC under the project's key), the objections checked, and HMAC of the person
    and of the e-mail under the recipient's key, written as CSV beside its name and
    fsynced; then the export and its people recorded in one transaction of an SQLite
    store (where troth's store is in this bench), and the file renamed into place."""
    project_key, key = hashlib.sha256(b"project").digest(), hashlib.sha256(b"bench").digest()
    store = sqlite3.connect(log, isolation_level=None)
    store.executescript(LOG)
    start, refs = time.perf_counter(), list[tuple[str, str]]()
    objected = {ref for (ref,) in store.execute("SELECT subject FROM objections")}
    partial = out.with_name(f".{out.name}.partial")
    with engine.connect() as conn, partial.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["subject", "email"])
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
            text("SELECT id, email FROM people ORDER BY id")
        )
        for part in result.partitions(BATCH):
            named = [
                (hmac.new(project_key, f"subject:person_id\x00{pid}".encode(), "sha256")
                 .hexdigest()[:32], pid, email)
                for pid, email in part
            ]  # fmt: skip
            kept = [(ref, pid, email) for ref, pid, email in named if ref not in objected]
            writer.writerows(
                (
                    hmac.new(key, f"person\x00{ref}".encode(), "sha256").hexdigest()[:40],
                    hmac.new(key, f"email\x00{email}".encode(), "sha256").hexdigest()[:40],
                )
                for ref, _, email in kept
            )
            refs.extend(("s:" + ref, "d1") for ref, _, _ in kept)
        f.flush()
        os.fsync(f.fileno())
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    store.execute("BEGIN IMMEDIATE")
    store.execute("INSERT INTO exports VALUES ('d1', ?, ?)", (len(refs), digest))
    store.executemany("INSERT INTO carried VALUES (?, ?)", sorted(refs))
    store.execute("COMMIT")
    store.close()
    partial.replace(out)
    return time.perf_counter() - start, len(refs)


def floor_aggregate(engine: Engine) -> tuple[float, int]:
    start = time.perf_counter()
    with engine.connect() as conn:
        groups = conn.execute(
            text(
                "SELECT kind, COUNT(DISTINCT person_id), COUNT(*), SUM(amount) FROM events "
                "GROUP BY kind HAVING COUNT(DISTINCT person_id) >= 10"
            )
        ).all()
    assert groups
    with engine.connect() as conn:
        rows = int(conn.execute(text("SELECT COUNT(*) FROM events")).scalar_one())
    return time.perf_counter() - start, rows


def troth_side(folder: Path, url: str) -> dict[str, list[float]]:
    folder.mkdir()
    (folder / "troth.yaml").write_text(POLICY)
    (folder / "datamap.yaml").write_text(DATAMAP)
    (folder / "troth.toml").write_text("")
    env = {**os.environ, "BENCH_APP_URL": url}
    env.pop("TROTH_STORE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def engine_rows(name: str, engine: Engine, folder: Path, url: str) -> list[Result]:
    pseud_s, pseud_n = floor_pseudonyms(
        engine, folder / f"{name}-floor.csv", folder / f"{name}-floor-log.db"
    )
    agg_s, agg_n = floor_aggregate(engine)
    ours = troth_side(folder / f"{name}-project", url)
    rows = []
    for key, what, (floor_s, floor_n), people_or_rows in (
        ("partner", "people exported with keyed pseudonyms", (pseud_s, pseud_n), 1),
        ("stats", "rows aggregated", (agg_s, agg_n), 2),
    ):
        seconds, count = ours[key][0], ours[key][people_or_rows]
        if key == "stats":
            count = floor_n  # every row is read; the file holds the groups
        rate, floor_rate = count / seconds, floor_n / floor_s
        floor_what = "SQL + hmac + CSV + log" if key == "partner" else "SQL GROUP BY"
        rows.append(
            Result(
                "sharing",
                f"{name}: {what}/s ({int(count):,})",
                rate,
                "rows/s",
                f">= {floor_rate / 2:,.0f} (half the floor)",
                f"{floor_rate:,.0f} rows/s ({floor_what})",
                rate >= floor_rate / 2,
            )
        )
    peak = ours["rss_mb"]
    peak_mb = float(peak if isinstance(peak, float | int) else peak[0])
    rows.append(
        Result("sharing", f"{name}: peak memory", peak_mb, "MB", "<= 200", "", peak_mb <= 200)
    )
    return rows


def run(quick: bool) -> list[Result]:
    n = sizes(quick)
    rows: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "app.db"
        sqlite = create_engine(f"sqlite:///{db}")
        fill(sqlite, SQLITE_FILL, n)
        rows += engine_rows("SQLite", sqlite, folder, f"sqlite:///{db}")
        sqlite.dispose()
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS bench_sharing WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE bench_sharing"))
        pg = create_engine(admin.url.set(database="bench_sharing"))
        try:
            fill(pg, PG_FILL, n)
            url = pg.url.render_as_string(hide_password=False)
            rows += engine_rows("PostgreSQL", pg, folder, url)
        finally:
            pg.dispose()
            with admin.connect() as conn:
                conn.execute(text("DROP DATABASE IF EXISTS bench_sharing WITH (FORCE)"))
    return rows
