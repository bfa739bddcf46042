"""Reference-app generator: time to generate 100,000 users (about 5.5 million rows).

The issue's targets: under 2 minutes in SQLite, under 5 in PostgreSQL, on the
2-core machine. The floor, measured in the same run, is a raw bulk load of the
same number of rows into one table of the same width (sqlite3 executemany with
the generator's pragmas; psycopg COPY), with next to no generation work and no
secondary indexes: what the database alone costs. The SQLite generator's peak
memory is measured in a process of its own (target 300 MB at 1,000,000 users; a
full run generates them), and so is a 1,000-user app with `--big-subjects 1`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import Result, timed
from troth.refapp import generate

PG_ADMIN = os.environ.get("TROTH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_S = {"sqlite": 120.0, "postgresql": 300.0}
BATCH = 50_000
FLOOR_TABLE = "CREATE TABLE floor (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c TEXT)"


def floor_rows(count: int) -> Iterator[list[tuple[int, int, str, str]]]:
    """`count` rows of the generator's typical shape (an id, a key, some text, a time)."""
    rows = (
        (i, i % 9973, f"row {i} text of a typical length", "2026-01-01T12:00:00Z")
        for i in range(1, count + 1)
    )
    while batch := list(islice(rows, BATCH)):
        yield batch


def sqlite_floor(path: Path, count: int) -> None:
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        conn.execute(FLOOR_TABLE)
        for batch in floor_rows(count):
            conn.executemany("INSERT INTO floor VALUES (?, ?, ?, ?)", batch)
        conn.execute("COMMIT")
    path.unlink()


def pg_floor(url: str, count: int) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cursor:
        cursor.execute(FLOOR_TABLE)
        for batch in floor_rows(count):
            with cursor.copy("COPY floor FROM STDIN (FREEZE)") as copy:
                for row in batch:
                    copy.write_row(row)
        conn.rollback()


def with_pg_database(work: Callable[[str], None]) -> None:
    """Run `work` on a fresh PostgreSQL database, dropped afterwards."""
    name = f"troth_bench_gen_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        work(make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def measure(backend: str, users: int, folder: Path) -> list[Result]:
    stats = []

    def load(url: str) -> None:
        stats.append(generate(url, users=users, seed=1, replace=True))

    def floor(url: str) -> None:
        if backend == "sqlite":
            sqlite_floor(folder / "floor.db", stats[0].total_rows)
        else:
            pg_floor(url, stats[0].total_rows)

    if backend == "sqlite":
        seconds = timed(lambda: load(f"sqlite:///{folder / 'refapp.db'}"))
        floor_s = timed(lambda: floor(""))
    else:
        seconds = timed(lambda: with_pg_database(load))
        floor_s = timed(lambda: with_pg_database(floor))
    rows = stats[0].total_rows
    scaled = seconds * 100_000 / users  # the target is for 100,000 users
    baseline = f"raw bulk load of {rows:,} rows {floor_s:.1f} s ({rows / floor_s:,.0f} rows/s)"
    label = f"{backend}, {users:,} users, {rows:,} rows"
    return [
        Result(
            "refapp",
            f"generate {label}",
            seconds,
            "s",
            f"<= {TARGET_S[backend] * users / 100_000:.0f}",
            baseline,
            scaled <= TARGET_S[backend],
        ),
        Result(
            "refapp",
            f"generate {backend} rows/s",
            rows / seconds,
            "rows/s",
            "",
            f"raw bulk load {rows / floor_s:,.0f} rows/s",
        ),
    ]


def generated_apart(path: Path, users: int, big: int) -> tuple[float, float, int]:
    """Generate into SQLite at `path` in a process of its own: seconds, peak MB, rows."""
    code = (
        "import sys, time; from troth.refapp import generate; t = time.perf_counter();"
        " from bench.common import peak_rss_mb;"
        " s = generate(sys.argv[1], users=int(sys.argv[2]), seed=1, big_subjects=int(sys.argv[3]));"
        " print(time.perf_counter() - t, peak_rss_mb(), s.total_rows)"
    )
    args = [f"sqlite:///{path}", str(users), str(big)]
    root = Path(__file__).resolve().parent.parent  # where `bench` is importable
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, cwd=root
    )
    seconds, peak, rows = out.stdout.split()
    path.unlink()
    return float(seconds), float(peak), int(rows)


def memory_rows(users: int, folder: Path) -> list[Result]:
    """The SQLite generator's peak memory (target: 300 MB at 1,000,000 users), and a
    1,000-user app with one subject of a million rows against the raw bulk load."""
    _s, peak, rows = generated_apart(folder / "peak.db", users, 0)
    seconds, big_peak, big_rows = generated_apart(folder / "big.db", 1_000, 1)
    floor_s = timed(lambda: sqlite_floor(folder / "floor.db", big_rows))
    return [
        Result("refapp", f"generator peak memory (sqlite, {users:,} users, {rows:,} rows)",
               peak, "MB", "<= 300", ok=peak <= 300),
        Result("refapp", f"generate --big-subjects 1 (sqlite, 1,000 users, {big_rows:,} rows)",
               seconds, "s", "", f"raw bulk load {floor_s:.1f} s; peak {big_peak:.0f} MB"),
    ]  # fmt: skip


def run(quick: bool) -> list[Result]:
    users = 10_000 if quick else 100_000
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="troth-bench-refapp-") as tmp:
        for backend in ("sqlite", "postgresql"):
            results += measure(backend, users, Path(tmp))
        results += memory_rows(10_000 if quick else 1_000_000, Path(tmp))
    return results
