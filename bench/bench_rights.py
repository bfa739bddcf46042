"""Rights engine: access and erasure latency, queue throughput, against hand-written SQL.

The reference app is generated once per size into bench/work/ (SQLite) and into a
PostgreSQL database named after the size, and reused by later runs (erased users
are never picked again). Blob files are not generated (the paths are in the rows;
deleting a missing file is a no-op), which keeps 100,000 users to a few minutes.
The e-mail look-ups use the expression index `lower(email)` that the module
`troth.appdata.identities` documents.

The floor is hand-written SQL for the same subject doing exactly the same reads
(and, for erasure, the same writes in one transaction) through the same engine
(driver, pool and SQLite pragmas) that troth uses for the app's store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from bench.common import Result, median, peak_rss_mb, percentile, timed
from troth import rights
from troth.appdata import Context, Found, check, erasure_of, load_context, owned_keys
from troth.appdata.identities import phone_variants
from troth.datamap import dispose_engines, sql_engine
from troth.project import Project, open_project
from troth.rights.lifecycle import create_request, verify_request
from troth.rights.run import touched_by
from troth.rights.view import subject_rows
from troth.store import Store, open_store

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
ROOT = HERE.parent
PG_ADMIN = os.environ.get("TROTH_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
EMAIL_INDEXES = (
    ("users", "users_email_lower"),
    ("newsletter_signups", "newsletter_email_lower"),
    ("support_tickets", "support_email_lower"),
)
SAMPLES = 60
QUICK_SAMPLES = 30


def refapp_url(backend: str, users: int) -> str:
    """The bench database for `backend`, generated on first use."""
    if backend == "sqlite":
        WORK.mkdir(exist_ok=True)
        path = WORK / f"refapp-{users}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            generate_apart(url, users)
    else:
        name = f"troth_bench_refapp_{users}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            fresh = exists.first() is None
            if fresh:
                conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
        if fresh:
            generate_apart(url, users)
    engine = create_engine(url)
    with engine.begin() as conn:
        for table, index in EMAIL_INDEXES:
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {index} ON {table} (lower(email))"))
        conn.execute(text("ANALYZE"))  # planner statistics, as a live database has them
    engine.dispose()
    return url


def generate_apart(url: str, users: int) -> None:
    """Generate in a child process, so that peak memory measures troth, not the generator."""
    code = (
        "import sys; from troth.refapp import generate; "
        "generate(sys.argv[1], users=int(sys.argv[2]), seed=42)"
    )
    subprocess.run([sys.executable, "-c", code, url, str(users)], check=True)


def bench_project(backend: str, url: str) -> tuple[Project, Store]:
    """A fresh project (engine store in SQLite, as embedded) on the bench database."""
    root = WORK / f"project-{backend}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "refapp" / "datamap.yaml", root / "datamap.yaml")
    shutil.copy(ROOT / "src" / "troth" / "starter" / "troth.yaml", root / "troth.yaml")
    os.environ["REFAPP_DB_URL"] = url
    os.environ["REFAPP_BLOBS"] = str(root / "blobs")
    project = open_project(root)
    return project, open_store(project.store_url)


def live_subjects(url: str, count: int, seed: int) -> list[tuple[int, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, email FROM users WHERE status <> 'deleted'")).all()
    engine.dispose()
    subjects = [(r[0], r[1]) for r in rows]
    random.Random(seed).shuffle(subjects)
    return subjects[:count]


# -- the floor: hand-written SQL for the reference schema -------------------------

CHILDREN = (
    ("profiles", "user_id"),
    ("devices", "user_id"),
    ("stories", "author_id"),
    ("follows", "follower_id"),
    ("follows", "followee_id"),
    ("messages", "sender_id"),
    ("messages", "recipient_id"),
    ("gifts", "sender_id"),
    ("gifts", "recipient_id"),
    ("orders", "user_id"),
    ("phonebook_entries", "owner_id"),
    ("web_visits", "user_id"),
    ("support_tickets", "user_id"),
    ("comments", "author_id"),
)


# Keys per statement in the floors: below every backend's bind-parameter limit (PostgreSQL
# and MariaDB 65,535, SQLite 32,766), so a subject of any size runs; a pair takes two.
CHUNK = 10_000


def chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def in_list(values: list[Any]) -> tuple[str, dict[str, Any]]:
    names = {f"v{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{n}" for n in names) + ")" if names else "(NULL)", names


def select_in(conn: Connection, table: str, column: str, values: list[Any]) -> list[Any]:
    rows: list[Any] = []
    for chunk in chunks(values):
        sql, params = in_list(chunk)
        found = conn.execute(text(f"SELECT * FROM {table} WHERE {column} IN {sql}"), params)
        rows.extend(found.mappings())
    return rows


def floor_reads(conn: Connection, email: str) -> dict[str, list[Any]]:
    """The reads the engine makes for one subject found by e-mail."""
    rows: dict[str, list[Any]] = {}
    rows["users"] = list(
        conn.execute(text("SELECT * FROM users WHERE lower(email) = :e"), {"e": email}).mappings()
    )
    ids = [u["id"] for u in rows["users"]]
    for table, column in CHILDREN:
        rows.setdefault(table, []).extend(select_in(conn, table, column, ids))
    for table in ("newsletter_signups", "support_tickets"):
        found = conn.execute(text(f"SELECT * FROM {table} WHERE lower(email) = :e"), {"e": email})
        rows.setdefault(table, []).extend(found.mappings())
    stories = [s["id"] for s in rows["stories"]]
    rows["comments"].extend(select_in(conn, "comments", "story_id", stories))
    rows["order_items"] = select_in(
        conn, "order_items", "order_id", [o["id"] for o in rows["orders"]]
    )
    phones = [u["phone"] for u in rows["users"] if u["phone"]]
    variants = [v for p in phones for v in phone_variants(normalize(p))]
    rows["phonebook_entries"].extend(
        select_in(conn, "phonebook_entries", "contact_phone", variants)
    )
    return rows


def normalize(phone: str) -> str:
    import phonenumbers

    number = phonenumbers.parse(phone, "US")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def floor_erase(conn: Connection, email: str, key: bytes) -> None:
    """The same reads, then the same writes as the engine's erasure, in one transaction."""
    rows = floor_reads(conn, email)

    def keyed(column: str, value: str) -> str:
        mac = hmac.new(key, f"erase:app.users.{column}\x00{value}".encode(), hashlib.sha256)
        return "erased:" + mac.hexdigest()[:24]

    for user in rows["users"]:
        conn.execute(
            text(
                "UPDATE users SET email = :e, phone = :p, username = :u, display_name = NULL,"
                " password_hash = '!', date_of_birth = NULL, gender = NULL, country = NULL,"
                " status = 'deleted' WHERE id = :id"
            ),
            {
                "e": keyed("email", user["email"]),
                "p": keyed("phone", user["phone"]) if user["phone"] else None,
                "u": keyed("username", user["username"]),
                "id": user["id"],
            },
        )
    for orders in chunks([o["id"] for o in rows["orders"]]):
        sql, params = in_list(orders)
        conn.execute(
            text(
                "UPDATE orders SET shipping_name = NULL, shipping_address = NULL,"
                f" card_last4 = NULL WHERE id IN {sql}"
            ),
            params,
        )
    for table in (
        "comments",
        "support_tickets",
        "web_visits",
        "phonebook_entries",
        "stories",
        "devices",
        "profiles",
        "newsletter_signups",
    ):
        pk = "user_id" if table == "profiles" else "id"
        for keys in chunks(sorted({r[pk] for r in rows[table]})):
            sql, params = in_list(keys)
            conn.execute(text(f"DELETE FROM {table} WHERE {pk} IN {sql}"), params)
    pairs_of = sorted({(f["follower_id"], f["followee_id"]) for f in rows["follows"]})
    for follows in chunks(pairs_of, CHUNK // 3):
        pairs = {f"a{i}": a for i, (a, _b) in enumerate(follows)}
        pairs |= {f"b{i}": b for i, (_a, b) in enumerate(follows)}
        tuples = ", ".join(f"(:a{i}, :b{i})" for i in range(len(follows)))
        firsts, names = in_list(sorted({a for a, _b in follows}))
        conn.execute(
            text(
                f"DELETE FROM follows WHERE follower_id IN {firsts}"
                f" AND (follower_id, followee_id) IN ({tuples})"
            ),
            pairs | names,
        )


# -- measuring ---------------------------------------------------------------------


def paired(
    first: Callable[[Any], object], second: Callable[[Any], object], items: list[Any]
) -> tuple[list[float], list[float]]:
    """Seconds of `first(item)` and `second(item)` for each item, run in alternating
    order, so that machine load and cache warmth fall on both sides alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for n, item in enumerate(items):
        order = ((first, 0), (second, 1)) if n % 2 == 0 else ((second, 1), (first, 0))
        for fn, side in order:
            start = time.perf_counter()
            fn(item)
            times[side].append(time.perf_counter() - start)
    return times


def rows_for(
    name: str, backend: str, engine_s: list[float], floor_s: list[float], target: float
) -> list[Result]:
    med, p95, floor = (
        median(engine_s) * 1000,
        percentile(engine_s, 95) * 1000,
        median(floor_s) * 1000,
    )
    label = f"{name} ({backend})"
    return [
        Result(
            "rights",
            f"{label} median",
            med,
            "ms",
            f"<= {target:g} ms",
            f"SQL {floor:.1f} ms",
            med <= target,
        ),
        Result(
            "rights",
            f"{label} p95",
            p95,
            "ms",
            baseline=f"SQL p95 {percentile(floor_s, 95) * 1000:.1f} ms",
        ),
        Result(
            "rights",
            f"{label} vs hand-written SQL",
            med / floor,
            "x",
            "<= 2",
            f"{floor:.1f} ms",
            med / floor <= 2,
        ),
    ]


def guard_rows(
    ctx: Context, backend: str, found: list[dict[str, Found]], request_s: float
) -> list[Result]:
    """What the guard adds to a request: the checks of an access plan and of an erasure
    plan on the same subjects' rows (the data map's validation is cached per version),
    against 5% of the median access request (reads only) measured in the same run."""
    check(ctx, found[0], owned_keys(found[0]))  # validation and table sizes, once
    reads = [timed(lambda f=f: check(ctx, f, owned_keys(f))) for f in found]
    plans = [touched_by(erasure_of(ctx.datamap, f)) for f in found]
    erasures = [timed(lambda f=f, t=t: check(ctx, f, t)) for f, t in zip(found, plans, strict=True)]
    bound = 0.05 * request_s * 1e6
    out = []
    for name, samples in (("access", reads), ("erasure", erasures)):
        us = median(samples) * 1e6
        out.append(
            Result("rights", f"guard on an {name} plan ({backend}) median", us, "us",
                   f"<= {bound:.0f} us (5% of access)",
                   f"p95 {percentile(samples, 95) * 1e6:.0f} us", us <= bound)
        )  # fmt: skip
    return out


def one_backend(backend: str, users: int, samples: int, queued: int) -> list[Result]:
    url = refapp_url(backend, users)
    project, store = bench_project(backend, url)
    ctx = load_context(project)
    engine = sql_engine(project, ctx.datamap, "app")  # the same engine and pragmas as troth
    subjects = live_subjects(url, 3 * samples + queued + samples, seed=time.time_ns())
    access, erase_engine, erase_floor, queue = (
        subjects[:samples],
        subjects[samples : 2 * samples],
        subjects[2 * samples : 3 * samples],
        subjects[3 * samples : 3 * samples + queued],
    )

    def read_floor(subject: tuple[int, str]) -> object:
        with engine.begin() as conn:
            return floor_reads(conn, subject[1].lower())

    def request(kind: str, subject: tuple[int, str]) -> str:
        made = create_request(project, store, kind, "email", subject[1])
        return verify_request(project, store, made.id).id

    def erase_by_hand(subject: tuple[int, str]) -> None:
        with engine.begin() as conn:
            floor_erase(conn, subject[1].lower(), project.secret_key)

    def run_it(request_id: str) -> object:
        return rights.run_request(project, store, request_id)

    results: list[Result] = []
    read_floor(access[0])  # warm the caches of both sides alike
    subject_rows(ctx, "email", access[0][1].lower())
    resolve_s, floor_s = paired(
        lambda s: subject_rows(ctx, "email", s[1].lower()), read_floor, access
    )
    results += rows_for("access, reads only", backend, resolve_s, floor_s, 25)
    found = [subject_rows(ctx, "email", s[1].lower()) for s in access]
    results += guard_rows(ctx, backend, found, median(resolve_s))
    pairs = [(request("access", s), s) for s in access]
    zip_s, floor_z = paired(lambda p: run_it(p[0]), lambda p: read_floor(p[1]), pairs)
    results += rows_for("access with ZIP", backend, zip_s, floor_z, 25)
    pairs = [(request("erasure", s), f) for s, f in zip(erase_engine, erase_floor, strict=True)]
    erase_s, floor_e = paired(lambda p: run_it(p[0]), lambda p: erase_by_hand(p[1]), pairs)
    results += rows_for("erasure", backend, erase_s, floor_e, 50)

    for subject in queue:
        request("erasure", subject)
    start = time.perf_counter()
    done = rights.run_queue(project, store, limit=queued)
    seconds = time.perf_counter() - start
    assert all(r.status == "completed" for r in done) and len(done) == queued
    results.append(
        Result(
            "rights",
            f"{queued} queued erasures ({backend})",
            queued / seconds,
            "requests/s",
            baseline=f"SQL {1 / median(floor_e):.0f}/s",
        )
    )
    store.dispose()
    dispose_engines()
    return results


def run(quick: bool) -> list[Result]:
    users = 5_000 if quick else 100_000
    samples = QUICK_SAMPLES if quick else SAMPLES
    queued = 200 if quick else 1_000
    results = []
    for backend in ("sqlite", "postgresql"):
        results += one_backend(backend, users, samples, queued)
    peak = peak_rss_mb()
    results.append(
        Result("rights", f"peak memory ({users:,} users)", peak, "MB", "<= 300", ok=peak <= 300)
    )
    return results
