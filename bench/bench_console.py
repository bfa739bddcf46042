"""The admin console's pages on a busy engine store: 100,000 requests and 1,000,000 ledger
entries (10,000 and 100,000 with --quick), in SQLite.

Requests and consent events are written straight into their tables, spread over a year
as a real store would have them (a few percent still open, some answered late); the
ledger is appended through `ledger.record_many`, so its chain and tree are real. Each
page is fetched in-process (FastAPI's test client, signed in as a privacy officer), the
ledger's verification is let finish first, and the p95 over 60 fetches is compared with
the target of 50 ms. The baseline is the same page's own SQL, written by hand and run
with the sqlite3 module on the same file: what no page could go below.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert

from bench.bench_server import POLICY  # the same small policy as the server's pages
from bench.common import Result, percentile
from troth import ledger
from troth.consent import tables as consent_tables
from troth.project import Project, init_project, open_project
from troth.rights import tables as rights_tables
from troth.server import create_app, reports
from troth.server.auth import create_staff
from troth.store import Store

DATAMAP = """\
troth: 1
stores:
  app: {type: sql, url: "sqlite:///app.db"}
identities:
  email: {normalize: email}
tables:
  app.users:
    primary_key: [id]
    identities: {email: email}
    columns:
      email: {categories: [user.contact.email]}
"""
KINDS = ("access", "erasure", "objection", "opt_out_sale", "rectification", "portability")
WEIGHTS = (30, 25, 10, 20, 10, 5)
PURPOSES = ("marketing.communications.email", "advertising.third_party")
PASSWORD = "bench password 1234"
OPEN = ("received", "verified", "approved", "running", "failed")
CLOSED = ("completed", "denied")
FETCHES = 60
TARGET_MS = 50.0


def project_in(folder: Path) -> Project:
    init_project(folder)
    (folder / "troth.yaml").write_text(POLICY)
    (folder / "datamap.yaml").write_text(DATAMAP)
    with sqlite3.connect(folder / "app.db") as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    return open_project(folder)


def request_rows(count: int, now: dt.datetime, rng: random.Random) -> list[dict[str, object]]:
    """`count` requests over the last year, newest last: open when recent (and a few
    failed), answered within 1 to 40 days otherwise (some of them late)."""
    rows = []
    for n in range(count):
        created = now - dt.timedelta(days=365 * (count - n) / count, minutes=rng.random())
        answered = created + dt.timedelta(days=rng.uniform(1, 40))
        if answered > now:
            status = rng.choice(("received", "verified", "approved", "failed"))
        else:
            status = "completed" if rng.random() < 0.9 else "denied"
        rows.append(
            {
                "id": f"r{n:023d}",
                "kind": rng.choices(KINDS, WEIGHTS)[0],
                "status": status,
                "identity_kind": "email",
                "subject": f"s:{n:032x}",
                "fields": {},
                "jurisdiction": "gdpr",
                "source": "api",
                "created_at": created,
                "due_at": created + dt.timedelta(days=30),
                "updated_at": min(answered, now),
                "result": {},
            }
        )
    return rows


def consent_rows(count: int, now: dt.datetime, rng: random.Random) -> list[dict[str, object]]:
    return [
        {
            "subject_ref": f"s:{n:032x}",
            "identity_kind": "email",
            "purpose": PURPOSES[n % 2],
            "decision": rng.choices(("granted", "denied", "withdrawn"), (6, 3, 1))[0],
            "source": "banner",
            "recorded_at": now - dt.timedelta(days=365 * (count - n) / count),
        }
        for n in range(count)
    ]


def without(row: dict[str, object], key: str) -> dict[str, object]:
    return {k: v for k, v in row.items() if k != key}


def ledger_events(count: int, staff: list[int], rng: random.Random) -> list[ledger.Event]:
    kinds = ("request.created", "request.verified", "request.started", "request.completed")
    events = []
    for n in range(count):
        if n % 50 == 0:
            actor = f"staff:{rng.choice(staff)}"
            events.append(ledger.Event("request.approved", actor, None, f"r{n:023d}"))
        else:
            events.append(ledger.Event(kinds[n % 4], "system", None, f"r{n // 8:023d}"))
    return events


def fill(store: Store, requests: int, entries: int, staff: list[int]) -> None:
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    rows = request_rows(requests, now, rng)
    with store.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(rights_tables.requests), rows[start : start + 10_000])
        events = consent_rows(requests, now, rng)
        conn.execute(insert(consent_tables.events), events)
        current = [{**e, "event_id": n + 1} for n, e in enumerate(events)]
        conn.execute(insert(consent_tables.current), [without(e, "identity_kind") for e in current])
    appended = ledger_events(entries, staff, rng)
    for start in range(0, len(appended), 5_000):
        with store.begin() as conn:
            ledger.record_many(conn, appended[start : start + 5_000])


def fetch_p95(client: TestClient, path: str) -> tuple[float, int]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    samples = []
    for _ in range(FETCHES):
        start = time.perf_counter()
        client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, 95), len(response.content)


def sql_p95(db: sqlite3.Connection, statements: list[tuple[str, tuple[object, ...]]]) -> float:
    samples = []
    for _ in range(FETCHES):
        start = time.perf_counter()
        for sql, args in statements:
            db.execute(sql, args).fetchall()
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, 95)


def week_case(column: str, starts: list[str]) -> str:
    weeks = reversed(list(enumerate(starts)))
    return "CASE " + " ".join(f"WHEN {column} >= '{s}' THEN {i}" for i, s in weeks) + " END"


def floors(staff_actor: str, today: str) -> dict[str, list[tuple[str, tuple[object, ...]]]]:
    """Each page's SQL, by hand: what it reads, without templates, objects or HTTP."""
    now = dt.datetime.now(dt.UTC)
    monday = now.date() - dt.timedelta(days=now.weekday())
    starts = [f"{monday - dt.timedelta(weeks=n)} 00:00:00.000000" for n in range(11, -1, -1)]
    opened = "status IN ('received','verified','approved','running','failed')"
    closed = "status IN ('completed','denied')"
    entries = "SELECT * FROM ledger_entries {} ORDER BY seq DESC LIMIT 51"
    by_status = "SELECT * FROM rights_requests WHERE status = ?"
    stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
    return {
        "queue": [
            *((f"{by_status} ORDER BY created_at LIMIT 100", (s,)) for s in OPEN),
            *((f"{by_status} ORDER BY created_at DESC LIMIT 50", (s,)) for s in CLOSED),
            (f"SELECT count(*), sum(due_at < ?) FROM rights_requests WHERE {opened}", (stamp,)),
        ],
        "audit": [(entries.format(""), ())],
        "audit_staff": [(entries.format("WHERE actor = ?"), (staff_actor,))],
        "audit_kind": [(entries.format("WHERE kind = ?"), ("request.approved",))],
        "audit_day": [(entries.format("WHERE at >= ? AND at < ?"), (today, today + "~"))],
        "reports": [
            (
                f"SELECT {week_case('created_at', starts)} AS w, kind, count(*), "
                f"sum({closed} AND updated_at <= due_at), sum({closed} AND updated_at > due_at) "
                "FROM rights_requests WHERE created_at >= ? GROUP BY w, kind",
                (starts[0],),
            ),
            (
                f"SELECT due_at < ?, count(*) FROM rights_requests WHERE {opened} GROUP BY 1",
                (stamp,),
            ),
            (
                f"SELECT purpose, {week_case('recorded_at', starts)} AS w, "
                "sum(decision = 'granted'), count(*) FROM consent_events "
                "WHERE recorded_at >= ? GROUP BY purpose, w",
                (starts[0],),
            ),
        ],
    }


def signed_in(client: TestClient, store: Store) -> int:
    """Sign `client` in as a new privacy officer; the officer's staff id."""
    staff_id = create_staff(store, "officer@example.com", PASSWORD, "privacy_officer")
    client.get("/admin/login")
    token = client.cookies["troth_csrf"]
    body = {"csrf": token, "login": "officer@example.com", "password": PASSWORD}
    assert client.post("/admin/login", data=body, follow_redirects=False).status_code == 303
    return staff_id


def wait_for_verification(client: TestClient) -> float:
    """Seconds until the console's background ledger check has finished."""
    start = time.perf_counter()
    while "entries checked" not in (page := client.get("/admin")).text:
        assert page.status_code == 200, page.text
        time.sleep(0.5)
    return time.perf_counter() - start


def counted_afresh(store: Store) -> float:
    """p95 of the Reports page's figures computed without the page's one-minute cache."""
    samples = []
    for _ in range(FETCHES // 4):
        start = time.perf_counter()
        reports.figures(store, list(PURPOSES), dt.datetime.now(dt.UTC))
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, 95)


def run(quick: bool) -> list[Result]:
    requests, entries = (10_000, 100_000) if quick else (100_000, 1_000_000)
    today = dt.datetime.now(dt.UTC).date()
    with tempfile.TemporaryDirectory(prefix="troth-bench-console-") as tmp:
        app = create_app(project_in(Path(tmp)))
        store = app.state.ctx.store
        with TestClient(app) as client:  # one event loop for every fetch, as a server has
            staff_id = signed_in(client, store)
            others = [
                create_staff(store, f"s{n}@example.com", PASSWORD, "support") for n in range(4)
            ]
            start = time.perf_counter()
            fill(store, requests, entries, [staff_id, *others])
            filled = time.perf_counter() - start
            checked = wait_for_verification(client)
            pages = {
                "queue": "/admin",
                "audit": "/admin/audit",
                "audit_staff": f"/admin/audit?staff=staff:{staff_id}",
                "audit_kind": "/admin/audit?kind=request.approved",
                "audit_day": f"/admin/audit?from={today}&to={today}",
                "request": f"/admin/requests/r{requests // 2:023d}",
                "reports": "/admin/reports",
            }
            measured = {name: fetch_p95(client, path) for name, path in pages.items()}
            afresh = counted_afresh(store)
        with sqlite3.connect(Path(tmp) / ".troth" / "troth.db") as db:
            statements = floors(f"staff:{staff_id}", str(today))
            floor = {name: sql_p95(db, sql) for name, sql in statements.items()}
        store.dispose()
    size = f"{requests:,} requests, {entries:,} ledger entries"
    first = f"first ledger check {checked:.1f} s, in the background"
    results = [Result("console", f"fill the store ({size})", filled, "s", baseline=first)]
    results.append(
        Result(
            "console",
            "reports: the charts' figures counted afresh (once a minute at most), p95",
            afresh,
            "ms",
            baseline=f"their SQL by hand: p95 {floor['reports']:.1f} ms",
        )
    )
    for name, (p95, length) in measured.items():
        base = floor.get(name)
        baseline = f"the page's SQL by hand: p95 {base:.1f} ms" if base is not None else ""
        results.append(
            Result(
                "console",
                f"page {name} p95 ({size}; {length / 1000:.0f} kB)",
                p95,
                "ms",
                target=f"<= {TARGET_MS:.0f}",
                baseline=baseline,
                ok=p95 <= TARGET_MS,
            )
        )
    return results
