"""Retention sweeps at scale: delete the 10% of 10,000,000 web visits older than the
period, and anonymize 1,000,000 old orders (name, address and card digits nulled, the
date generalized to its month), on SQLite and PostgreSQL.

The floor is hand-written batched SQL doing the same work in the same run, on an
identical copy of the data (a copied file; a PostgreSQL database made from the same
template): `DELETE ... WHERE id IN (SELECT id ... LIMIT 5000)` until none is left, and
`UPDATE ... WHERE id IN (the next 5,000 due ids)`. troth runs in its own process, so
that its peak memory is its own; `troth retention plan` is timed on the full data.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine

from bench.common import Result

NOW = "2026-06-01T00:00:00"
BATCH = 5000
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

POLICY = """\
troth: 1
policy: {name: Bench, version: "1", effective_date: 2026-01-01}
organization: {name: Bench Co}
retention:
  - {key: web_logs, categories: [user.device], period_days: 395, trigger: collection,
     action: delete}
  - {key: order_shipping, categories: [user.contact.address], period_days: 730,
     trigger: collection, action: anonymize}
"""
DATAMAP = """\
troth: 1
stores:
  app: {type: sql, url: "${BENCH_APP_URL}"}
identities:
  cookie_id: {normalize: text}
  user_id: {normalize: integer}
tables:
  app.users:
    identities: {user_id: id}
    erase: delete
    columns: {id: {}}
  app.web_visits:
    identities: {cookie_id: cookie_id}
    created_at: visited_at
    columns:
      id: {}
      cookie_id: {categories: [user.device.cookie_id]}
      ip_address: {categories: [user.device.ip_address]}
      visited_at: {}
  app.orders:
    links: [{column: user_id, to: app.users.id, owner: true}]
    erase: update
    created_at: created_at
    columns:
      id: {}
      user_id: {}
      shipping_name: {categories: [user.name], erase: "null", anonymize: "null"}
      shipping_address: {categories: [user.contact.address], erase: "null", anonymize: "null"}
      card_last4: {categories: [user.financial.credit_card], erase: "null", anonymize: "null"}
      created_at: {anonymize: month}
"""

TABLES = """\
CREATE TABLE users (id INTEGER PRIMARY KEY);
CREATE TABLE web_visits (id INTEGER PRIMARY KEY, cookie_id TEXT, ip_address TEXT,
                         visited_at TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id),
                     shipping_name TEXT, shipping_address TEXT, card_last4 TEXT,
                     created_at TEXT NOT NULL);
"""
INDEXES = """\
CREATE INDEX web_visits_time ON web_visits (visited_at);
CREATE INDEX orders_time ON orders (created_at);
CREATE INDEX orders_user ON orders (user_id);
"""
# Visits: the first 10% are 400-1,400 days old, the rest under 395. Orders: the first
# `old` are 731-2,500 days old, the rest newer. Timestamps are ISO text, as the
# reference app keeps them.
SQLITE_FILL = """\
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :users)
INSERT INTO users SELECT x FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :visits)
INSERT INTO web_visits SELECT x, 'c' || (x % 100000), '10.' || (x % 250) || '.' ||
  (x % 199) || '.' || (x % 251),
  strftime('%Y-%m-%dT%H:%M:%S', :now, CASE WHEN x <= :visits / 10
    THEN '-' || (400 + x % 1000) || ' days' ELSE '-' || (x % 390) || ' days' END)
FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :orders)
INSERT INTO orders SELECT x, 1 + x % :users, 'Name ' || x, x || ' Main Street', '4242',
  strftime('%Y-%m-%dT%H:%M:%S', :now, CASE WHEN x <= :old
    THEN '-' || (731 + x % 1770) || ' days' ELSE '-' || (x % 700) || ' days' END)
FROM n;
"""
PG_FILL = """\
INSERT INTO users SELECT x FROM generate_series(1, :users) x;
INSERT INTO web_visits SELECT x, 'c' || (x % 100000), '10.' || (x % 250) || '.' ||
  (x % 199) || '.' || (x % 251), to_char(CAST(:now AS timestamp) - (CASE WHEN x <= :visits / 10
    THEN 400 + x % 1000 ELSE x % 390 END) * interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS')
FROM generate_series(1, :visits) x;
INSERT INTO orders SELECT x, 1 + x % :users, 'Name ' || x, x || ' Main Street', '4242',
  to_char(CAST(:now AS timestamp) - (CASE WHEN x <= :old THEN 731 + x % 1770 ELSE x % 700 END)
    * interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS')
FROM generate_series(1, :orders) x;
"""

# troth's side, in a child process: plan, then both sweeps; prints timings and peak RSS.
CHILD = """\
import datetime as dt, json, resource, sys, time
from pathlib import Path
from troth.appdata import load_context
from troth.project import open_project
from troth.retention import plan_retention, run_retention
from troth.store import open_store
project = open_project(Path(sys.argv[1]))
store = open_store(project.store_url)
now = dt.datetime.fromisoformat(sys.argv[2]).replace(tzinfo=dt.UTC)
ctx = load_context(project)
out = {}
start = time.perf_counter(); plan_retention(ctx, store, now=now)
out["plan"] = time.perf_counter() - start
for rule in ("web_logs", "order_shipping"):
    start = time.perf_counter()
    report = run_retention(ctx, store, rule=rule, now=now)
    out[rule] = [time.perf_counter() - start, sum(report.rows.values())]
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"users": 10_000, "visits": 200_000, "orders": 60_000, "old": 50_000}
    return {"users": 200_000, "visits": 10_000_000, "orders": 1_200_000, "old": 1_000_000}


def script(conn: Connection, sql: str, params: dict[str, object]) -> None:
    for statement in sql.split(";\n"):
        if statement.strip():
            conn.execute(text(statement), params)


def fill(engine: Engine, fill_sql: str, n: dict[str, int]) -> None:
    with engine.begin() as conn:
        script(conn, TABLES, {})
        script(conn, fill_sql, {**n, "now": NOW})
        script(conn, INDEXES, {})
    # A live database is vacuumed and analyzed by the server (autovacuum); a fresh
    # load is not until it runs, so do what it would.
    analyze = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(analyze))


def floor_delete(engine: Engine) -> int:
    """The hand-written delete: batches of 5,000 due ids, one transaction each."""
    done = 0
    cutoff = cutoff_days(395)
    while True:
        with engine.begin() as conn:
            gone = conn.execute(
                text(
                    "DELETE FROM web_visits WHERE id IN (SELECT id FROM web_visits"
                    " WHERE visited_at < :c ORDER BY id LIMIT :n)"
                ),
                {"c": cutoff, "n": BATCH},
            ).rowcount
        if not gone:
            return done
        done += gone


def floor_anonymize(engine: Engine, month: str) -> int:
    """The hand-written anonymization: the next 5,000 due ids, updated set-based."""
    done, after = 0, 0
    cutoff = cutoff_days(730)
    while True:
        with engine.begin() as conn:
            ids = list(
                conn.execute(
                    text(
                        "SELECT id FROM orders WHERE created_at < :c AND id > :a"
                        " ORDER BY id LIMIT :n"
                    ),
                    {"c": cutoff, "a": after, "n": BATCH},
                ).scalars()
            )
            if not ids:
                return done
            done += conn.execute(
                text(
                    "UPDATE orders SET shipping_name = NULL, shipping_address = NULL,"
                    f" card_last4 = NULL, created_at = {month} WHERE id >= :lo AND id <= :hi"
                    " AND created_at < :c"
                ),
                {"lo": ids[0], "hi": ids[-1], "c": cutoff},
            ).rowcount
        after = ids[-1]


def cutoff_days(days: int) -> str:
    import datetime as dt

    moment = dt.datetime.fromisoformat(NOW) - dt.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def troth_side(folder: Path, url: str) -> dict[str, object]:
    folder.mkdir()
    (folder / "troth.yaml").write_text(POLICY)
    (folder / "datamap.yaml").write_text(DATAMAP)
    (folder / "troth.toml").write_text(f"[retention]\nbatch_size = {BATCH}\n")
    env = {**os.environ, "BENCH_APP_URL": url}
    env.pop("TROTH_STORE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), NOW],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    rows = fn()
    return time.perf_counter() - start, rows


def engine_rows(
    name: str, ours: dict[str, object], floors: dict[str, tuple[float, int]], n: dict[str, int]
) -> list[Result]:
    rows = []
    work = {
        "web_logs": ("visits deleted", n["visits"]),
        "order_shipping": ("orders anonymized", n["orders"]),
    }
    for rule, (what, total) in work.items():
        seconds, count = ours[rule]  # type: ignore[misc]
        floor_s, floor_n = floors[rule]
        rate, floor_rate = count / seconds, floor_n / floor_s
        metric = f"{name}: {what}/s ({count:,} of {total:,})"
        target = f">= {floor_rate / 2:,.0f} (half the floor)"
        baseline = f"{floor_rate:,.0f} rows/s (hand-written batched SQL, {floor_n:,} rows)"
        rows.append(
            Result("retention", metric, rate, "rows/s", target, baseline, rate >= floor_rate / 2)
        )
    peak, plan = float(ours["rss_mb"]), float(ours["plan"])  # type: ignore[arg-type]
    rows.append(
        Result(
            "retention", f"{name}: peak memory of the sweeps", peak, "MB", "<= 200", "", peak <= 200
        )
    )
    rows.append(
        Result(
            "retention",
            f"{name}: retention plan on the full data",
            plan,
            "s",
            "<= 2",
            "",
            plan <= 2,
        )
    )
    return rows


SQLITE_MONTH = "substr(created_at, 1, 7) || '-01T00:00:00'"
PG_MONTH = "substr(created_at, 1, 7) || '-01T00:00:00'"


def sqlite_rows(folder: Path, n: dict[str, int]) -> list[Result]:
    seed = folder / "seed.db"
    fill(create_engine(f"sqlite:///{seed}"), SQLITE_FILL, n)
    for name in ("floor.db", "troth.db"):
        shutil.copyfile(seed, folder / name)
    floor = create_engine(f"sqlite:///{folder / 'floor.db'}")
    floors = {"web_logs": timed(lambda: floor_delete(floor)),
              "order_shipping": timed(lambda: floor_anonymize(floor, SQLITE_MONTH))}  # fmt: skip
    ours = troth_side(folder / "project", f"sqlite:///{folder / 'troth.db'}")
    return engine_rows("SQLite", ours, floors, n)


def pg_rows(folder: Path, n: dict[str, int]) -> list[Result]:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    names = ("bench_retention_seed", "bench_retention_floor", "bench_retention_troth")
    with admin.connect() as conn:
        for db in names:
            conn.execute(text(f"DROP DATABASE IF EXISTS {db}"))
        conn.execute(text(f"CREATE DATABASE {names[0]}"))
    url = admin.url
    seed = create_engine(url.set(database=names[0]))
    fill(seed, PG_FILL, n)
    seed.dispose()
    with admin.connect() as conn:
        for db in names[1:]:
            conn.execute(text(f"CREATE DATABASE {db} TEMPLATE {names[0]}"))
    floor = create_engine(url.set(database=names[1]))
    try:
        floors = {"web_logs": timed(lambda: floor_delete(floor)),
                  "order_shipping": timed(lambda: floor_anonymize(floor, PG_MONTH))}  # fmt: skip
        floor.dispose()
        troth_url = url.set(database=names[2]).render_as_string(hide_password=False)
        ours = troth_side(folder / "pg-project", troth_url)
    finally:
        with admin.connect() as conn:
            for db in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
    return engine_rows("PostgreSQL", ours, floors, n)


def run(quick: bool) -> list[Result]:
    n = sizes(quick)
    rows: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += sqlite_rows(Path(tmp), n)
        rows += pg_rows(Path(tmp), n)
    return rows
