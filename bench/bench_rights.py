"""Rights engine: access and erasure latency, queue throughput, against hand-written SQL.

The reference app is generated once per size into bench/work/ (SQLite) and into a
PostgreSQL database named after the size, and reused by later runs (erased users
are never picked again). Blob files are not generated (the paths are in the rows;
deleting a missing file is a no-op), which keeps 100,000 users to a few minutes.
The e-mail look-ups use the expression index `lower(email)` that the module
`troth.appdata.identities` documents.

The floor is hand-written SQL for the same subject doing exactly the same reads
(and, for erasure, the same writes in one transaction, then the same files
unlinked) through the same engine (driver, pool and SQLite pragmas) that troth
uses for the app's store; like the request, it finds the subject by e-mail. Access with
ZIP is compared with hand-written streamed reads written into the same sealed ZIP
(`floor_zip`). In a full run (or alone, with TROTH_BENCH_BIG_ONLY=1) a 1,000-user app
with two subjects of a million rows each is made afresh: access against the same
streamed floor, with peak memory measured in a process of its own, and erasure
against a hand-written set-based erasure (`floor_set_erase`).

Beside them: the engine-store statements and commits per access and erasure request
(an event counter on the store's engine; BEGIN left out, an executemany counted per
parameter set), and what a PostgreSQL engine store
adds to running a request over the SQLite one on the same app (`store_overhead`).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, create_engine, event, text
from sqlalchemy.engine import make_url

from bench.common import Result, median, peak_rss_mb, percentile, timed
from troth import rights
from troth.appdata import Context, check, erasure_of, load_context, owned_keys
from troth.appdata.identities import phone_variants
from troth.datamap import dispose_engines, sql_engine
from troth.files import flushed, sync_folder
from troth.project import Project, open_project
from troth.rights.export import FAST, at_rest, csv_writer, inert_rows, summary_html, write_json
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
# Per kind and side. Each side's subjects are others, drawn at random: with 150 a ratio of
# two medians still moved by 4% either way (90% of random splits), with 400 by 2.5%.
SAMPLES = 400
OVERHEAD_SAMPLES = 150  # subjects of `store_overhead`, in each of its rounds
OVERHEAD_ROUNDS = 3
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
        url, created = pg_database(f"troth_bench_refapp_{users}")
        if created:
            generate_apart(url, users)
    engine = create_engine(url)
    with engine.begin() as conn:
        for table, index in EMAIL_INDEXES:
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {index} ON {table} (lower(email))"))
        conn.execute(text("ANALYZE"))  # planner statistics, as a live database has them
    engine.dispose()
    return url


def pg_database(name: str, *, fresh: bool = False) -> tuple[str, bool]:
    """The URL of the PostgreSQL database `name`, created when missing (made again, empty,
    if `fresh`), and whether it was created now."""
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if fresh:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        created = exists.first() is None
        if created:
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), created


def generate_apart(url: str, users: int) -> None:
    """Generate in a child process, so that peak memory measures troth, not the generator."""
    code = (
        "import sys; from troth.refapp import generate; "
        "generate(sys.argv[1], users=int(sys.argv[2]), seed=42)"
    )
    subprocess.run([sys.executable, "-c", code, url, str(users)], check=True)


def bench_project(backend: str, url: str, fresh: bool = True) -> tuple[Project, Store]:
    """A fresh project (engine store in SQLite, as embedded) on the bench database (or
    the one made before, not `fresh`)."""
    root = WORK / f"project-{backend}"
    if fresh:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        shutil.copy(ROOT / "examples" / "refapp" / "datamap.yaml", root / "datamap.yaml")
        shutil.copy(ROOT / "src" / "troth" / "starter" / "troth.yaml", root / "troth.yaml")
    os.environ["REFAPP_DB_URL"] = url
    os.environ["REFAPP_BLOBS"] = str(root / "blobs")
    project = open_project(root)
    return project, open_store(project.store_url)


def live_subjects(url: str, count: int) -> list[tuple[int, str]]:
    """`count` users not yet erased, picked at random by the database (a million users'
    ids never come into the bench's memory)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, email FROM users WHERE status <> 'deleted' ORDER BY random() LIMIT :n"
            ),
            {"n": count},
        ).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


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


def tombstone_user(conn: Connection, user: Any, key: bytes) -> None:
    """The users row as the engine's erasure leaves it: keyed pseudonyms, nulls, masks."""

    def keyed(column: str, value: str) -> str:
        mac = hmac.new(key, f"erase:app.users.{column}\x00{value}".encode(), hashlib.sha256)
        return "erased:" + mac.hexdigest()[:24]

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


BLOB_COLUMNS = (("profiles", ("avatar_path",)), ("stories", ("audio_path", "cover_path")))


def unlink_files(rows: dict[str, list[Any]]) -> None:
    """The files of the subject's deleted profile and stories, from the app's blob folder,
    as the engine's erasure deletes them (a file that is not there is fine)."""
    folder = Path(os.environ["REFAPP_BLOBS"])
    for table, columns in BLOB_COLUMNS:
        for row in rows[table]:
            for column in columns:
                if row[column]:
                    (folder / row[column]).unlink(missing_ok=True)


def floor_erase(conn: Connection, email: str, key: bytes) -> None:
    """The same reads, then the same writes as the engine's erasure, in one transaction,
    then the subject's files."""
    rows = floor_reads(conn, email)

    for user in rows["users"]:
        tombstone_user(conn, user, key)
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
    unlink_files(rows)


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
    name: str,
    backend: str,
    engine_s: list[float],
    floor_s: list[float],
    target: float,
    ratio: float = 2.0,
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
            f"<= {ratio:g}",
            f"{floor:.1f} ms",
            med / floor <= ratio,
        ),
    ]


def guard_rows(
    ctx: Context, backend: str, subjects: list[tuple[int, str]], request_s: float
) -> list[Result]:
    """What the guard adds to a request: the checks of an access plan and of an erasure
    plan on the same subjects' rows (the data map's validation is cached per version),
    against 5% of the median access request (reads only) measured in the same run. One
    subject's rows are held at a time."""
    samples: dict[str, list[float]] = {"access": [], "erasure": []}
    for n, subject in enumerate(subjects):
        found = subject_rows(ctx, "email", subject[1].lower())
        if n == 0:
            check(ctx, found, owned_keys(found))  # validation and table sizes, once
        samples["access"].append(timed(lambda f=found: check(ctx, f, owned_keys(f))))
        plan = touched_by(erasure_of(ctx.datamap, found))
        samples["erasure"].append(timed(lambda f=found, t=plan: check(ctx, f, t)))
    bound = 0.05 * request_s * 1e6
    out = []
    for name, times in samples.items():
        us = median(times) * 1e6
        out.append(
            Result("rights", f"guard on an {name} plan ({backend}) median", us, "us",
                   f"<= {bound:.0f} us (5% of access)",
                   f"p95 {percentile(times, 95) * 1e6:.0f} us", us <= bound)
        )  # fmt: skip
    return out


COMMITS = "commits"  # the key under which `counted` counts committed transactions


@contextmanager
def counted(store: Store) -> Iterator[Counter[str]]:
    """Statements run on the engine store inside, by their first word (a transaction's
    BEGIN, which SQLite is sent and PostgreSQL's driver sends itself, is left out), and
    the transactions committed (COMMITS). An executemany counts once per parameter set:
    the database runs the statement that often."""
    seen: Counter[str] = Counter()

    def count(*args: Any) -> None:
        statement, parameters, many = args[2], args[3], args[5]
        word = statement.split(None, 1)[0].upper()
        if word != "BEGIN":
            seen[word] += len(parameters) if many else 1

    def commit(_conn: Any) -> None:
        seen[COMMITS] += 1

    event.listen(store.engine, "before_cursor_execute", count)
    event.listen(store.engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
        event.remove(store.engine, "commit", commit)


def statement_rows(kind: str, backend: str, seen: Counter[str], requests: int) -> list[Result]:
    """Engine-store statements per request (all of it: bookkeeping, ledger, holds, vault
    keys of the sealed ZIP, disclosures shown in it, troth's own copies), and the
    transactions it commits (each a WAL flush on PostgreSQL)."""
    statements = {w: n for w, n in seen.items() if w != COMMITS}
    per = sum(statements.values()) / requests
    words = ", ".join(f"{w} {n / requests:.1f}" for w, n in sorted(statements.items()))
    commits = seen[COMMITS] / requests
    return [
        Result("rights", f"engine-store statements per {kind} request ({backend})", per, "",
               "<= 6", words, per <= 6),
        Result("rights", f"engine-store commits per {kind} request ({backend})", commits, ""),
    ]  # fmt: skip


def store_overhead(
    project: Project, store: Store, subjects: list[tuple[int, str]], users: int
) -> list[Result]:
    """What a PostgreSQL engine store adds to running a request over the SQLite one, on
    the same SQLite app: access of the same subjects, and erasures of addresses nobody
    has (their bookkeeping is a whole erasure's: plan and claim, troth's copies,
    completion), run in alternating order. The vault's keys stay in the project's store."""
    on_pg = open_store(pg_database("troth_bench_store", fresh=True)[0])

    def made(target: Store, kind: str, emails: list[str]) -> list[str]:
        return [
            verify_request(project, target, create_request(project, target, kind, "email", e).id).id
            for e in emails
        ]

    def sides(kind: str, emails: list[str]) -> tuple[list[float], list[float]]:
        pairs = list(zip(made(store, kind, emails), made(on_pg, kind, emails), strict=True))
        return paired(
            lambda p: rights.run_request(project, store, p[0]),
            lambda p: rights.run_request(project, on_pg, p[1]),
            pairs,
        )

    def emails(kind: str) -> list[str]:
        """The subjects' addresses, or for erasure as many that nobody has (new each time)."""
        if kind == "access":
            return [s[1] for s in subjects]
        return [f"nobody{n}.{time.time_ns()}@example.com" for n in range(len(subjects))]

    out = []
    for kind in ("access", "erasure"):
        sides(kind, emails(kind)[:2])  # warm both alike
        # A difference of two medians of a few milliseconds: three rounds of samples (an
        # access changes nothing, so each subject is asked for again in each round).
        lite: list[float] = []
        pg: list[float] = []
        for _ in range(OVERHEAD_ROUNDS):
            one, other = sides(kind, emails(kind))
            lite, pg = lite + one, pg + other
        extra = (median(pg) - median(lite)) * 1000
        out.append(
            Result("rights", f"PostgreSQL engine store over SQLite, per {kind} request "
                   f"({users:,} users)", extra,
                   "ms", "<= 2", f"SQLite {median(lite) * 1000:.1f} ms, PostgreSQL "
                   f"{median(pg) * 1000:.1f} ms", extra <= 2)
        )  # fmt: skip
    on_pg.dispose()
    return out


Medians = dict[str, tuple[float, float]]  # request kind: (troth, hand-written SQL) seconds


def one_backend(
    backend: str, users: int, samples: int, queued: int
) -> tuple[list[Result], Medians]:
    """The rows of `backend` at `users` users, and the medians that growth compares."""
    url = refapp_url(backend, users)
    where = f"{backend}, {users:,} users"
    project, store = bench_project(backend, url)
    ctx = load_context(project)
    engine = sql_engine(project, ctx.datamap, "app")  # the same engine and pragmas as troth
    subjects = live_subjects(url, 3 * samples + queued + samples)
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
    results += rows_for("access, reads only", where, resolve_s, floor_s, 25, 1.15)
    results += guard_rows(ctx, where, access, median(resolve_s))
    pairs = [(request("access", s), s) for s in access]

    def zip_floor(pair: tuple[str, tuple[int, str]]) -> object:
        return floor_zip(project, engine, pair[1], f"floor-{pair[0]}")

    with counted(store) as zip_statements:
        zip_s, floor_z = paired(lambda p: run_it(p[0]), zip_floor, pairs)
    results += rows_for("access with ZIP vs reads + the same ZIP", where, zip_s, floor_z, 25, 1.3)
    pairs = [(request("erasure", s), f) for s, f in zip(erase_engine, erase_floor, strict=True)]
    with counted(store) as erase_statements:
        erase_s, floor_e = paired(lambda p: run_it(p[0]), lambda p: erase_by_hand(p[1]), pairs)
    results += rows_for("erasure", where, erase_s, floor_e, 50, 1.3)
    for kind, seen in (("access", zip_statements), ("erasure", erase_statements)):
        results += statement_rows(kind, where, seen, len(pairs))
    if backend == "sqlite":
        results += store_overhead(project, store, access[:OVERHEAD_SAMPLES], users)

    for subject in queue:
        request("erasure", subject)
    start = time.perf_counter()
    done = rights.run_queue(project, store, limit=queued)
    seconds = time.perf_counter() - start
    assert all(r.status == "completed" for r in done) and len(done) == queued
    results.append(
        Result(
            "rights",
            f"{queued} queued erasures ({where})",
            queued / seconds,
            "requests/s",
            baseline=f"SQL {1 / median(floor_e):.0f}/s",
        )
    )
    store.dispose()
    dispose_engines()
    medians = {
        "access, reads only": (median(resolve_s), median(floor_s)),
        "access with ZIP": (median(zip_s), median(floor_z)),
        "erasure": (median(erase_s), median(floor_e)),
    }
    return results, medians


def growth_rows(backend: str, small: tuple[int, Medians], big: tuple[int, Medians]) -> list[Result]:
    """How a request's median grows from the smaller app to the bigger one, beside how the
    hand-written SQL for it grows (B-tree depth and cache misses fall on both)."""
    (few, before), (many, after) = small, big
    out = []
    for kind, (troth_before, floor_before) in before.items():
        troth_after, floor_after = after[kind]
        out.append(
            Result("rights", f"growth from {few:,} to {many:,} users: {kind} ({backend})",
                   troth_after / troth_before, "x", "flat (~1)",
                   f"{troth_before * 1000:.1f} to {troth_after * 1000:.1f} ms; SQL "
                   f"{floor_after / floor_before:.2f}x")
        )  # fmt: skip
    return out


# -- one subject with a million rows ----------------------------------------------

BIG_USERS = 1_000
BIG_SUBJECTS = 5  # one to export, two to erase by troth, two by hand


def fresh_big(backend: str) -> str:
    """A new bench database of BIG_USERS users, BIG_SUBJECTS of them with a million rows
    each (erasure uses them up, so it is made again for every run)."""
    code = (
        "import sys; from troth.refapp import generate; "
        f"generate(sys.argv[1], users=int(sys.argv[2]), seed=42, big_subjects={BIG_SUBJECTS})"
    )
    if backend == "sqlite":
        WORK.mkdir(exist_ok=True)
        path = WORK / "refapp-big.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        url, _ = pg_database("troth_bench_refapp_big", fresh=True)
    subprocess.run([sys.executable, "-c", code, url, str(BIG_USERS)], check=True)
    engine = create_engine(url)
    with engine.begin() as conn:
        for table, index in EMAIL_INDEXES:
            conn.execute(text(f"CREATE INDEX IF NOT EXISTS {index} ON {table} (lower(email))"))
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return url


def big_ones(url: str) -> list[tuple[int, str]]:
    """The users with a million rows."""
    engine = create_engine(url)
    query = (
        "SELECT id, email FROM users WHERE id IN (SELECT sender_id FROM messages"
        " GROUP BY sender_id HAVING count(*) > 100000) ORDER BY id"
    )
    with engine.connect() as conn:
        found = [(r[0], r[1]) for r in conn.execute(text(query))]
    engine.dispose()
    return found


def floor_selects(
    subject_id: int, email: str, phones: list[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Hand-written SELECTs of one subject's rows, a statement per table."""
    by = {"i": subject_id, "e": email}
    variants, named = in_list(phones)
    return {
        "users": ("SELECT * FROM users WHERE id = :i", by),
        "profiles": ("SELECT * FROM profiles WHERE user_id = :i", by),
        "devices": ("SELECT * FROM devices WHERE user_id = :i", by),
        "stories": ("SELECT * FROM stories WHERE author_id = :i", by),
        "comments": ("SELECT * FROM comments WHERE author_id = :i", by),
        "follows": ("SELECT * FROM follows WHERE follower_id = :i OR followee_id = :i", by),
        "messages": ("SELECT * FROM messages WHERE sender_id = :i OR recipient_id = :i", by),
        "gifts": ("SELECT * FROM gifts WHERE sender_id = :i OR recipient_id = :i", by),
        "orders": ("SELECT * FROM orders WHERE user_id = :i", by),
        "order_items": (
            "SELECT * FROM order_items WHERE order_id IN"
            " (SELECT id FROM orders WHERE user_id = :i)",
            by,
        ),
        "phonebook_entries": (
            f"SELECT * FROM phonebook_entries WHERE owner_id = :i OR contact_phone IN {variants}",
            by | named,
        ),
        "newsletter_signups": ("SELECT * FROM newsletter_signups WHERE lower(email) = :e", by),
        "web_visits": ("SELECT * FROM web_visits WHERE user_id = :i", by),
        "support_tickets": (
            "SELECT * FROM support_tickets WHERE user_id = :i OR lower(email) = :e",
            by,
        ),
    }


FIND_USER = text("SELECT * FROM users WHERE lower(email) = :e")
FIND_PHONE = text("SELECT id, phone FROM users WHERE lower(email) = :e")


def floor_zip(project: Project, engine: Any, subject: tuple[int, str], name: str) -> int:
    """Hand-written streamed reads written into the same ZIP as troth's (JSON, then CSV,
    a batch at a time, sealed at rest), flushed to the disk as troth's is: the floor of
    an access export. The subject is found by e-mail, as the request names them."""
    email = subject[1].lower()
    with engine.connect() as conn:
        user = conn.execute(FIND_PHONE, {"e": email}).one()
        own = [normalize(user.phone)] if user.phone else []
        phones = [v for p in own for v in phone_variants(p)]
        target = project.exports_dir / f"{name}.zip"
        project.private_dir(target.parent)
        with target.open("wb") as raw:
            with at_rest(project, name, raw) as out:
                zf = zipfile.ZipFile(out, "w", **FAST)
                counts = floor_tables(zf, conn, floor_selects(user.id, email, phones))
                zf.writestr("summary.html", floor_summary(project, email, own, counts))
                zf.close()
            flushed(raw)
        sync_folder(target.parent)
    return sum(counts.values())


def floor_tables(
    zf: zipfile.ZipFile, conn: Connection, selects: dict[str, tuple[str, dict[str, Any]]]
) -> dict[str, int]:
    """Each table's rows as JSON, then CSV (read twice when there is more than a batch);
    the rows written per table."""
    counts: dict[str, int] = {}
    for table, (sql, params) in selects.items():

        def batches(
            sql: str = sql, params: dict[str, Any] = params
        ) -> Iterator[list[dict[str, Any]]]:
            # up to 1,000 rows in one round trip; more come from a server-side cursor
            few = conn.execute(text(f"{sql} LIMIT 1001"), params).mappings().all()
            if len(few) <= 1000:
                if few:
                    yield [dict(r) for r in few]
                return
            result = conn.execution_options(yield_per=1000).execute(text(sql), params)
            for part in result.mappings().partitions(1000):
                yield [dict(r) for r in part]

        columns: list[str] = []
        kept: list[list[dict[str, Any]]] = []  # a table of one batch is read once
        with zf.open(f"data/{table}.json", "w", force_zip64=True) as entry:
            writer = io.TextIOWrapper(entry, encoding="utf-8", newline="")
            for batch in batches():
                columns = list(batch[0])
                write_json(writer, batch, not kept)
                if len(kept) < 2:
                    kept.append(batch)
                counts[table] = counts.get(table, 0) + len(batch)
            writer.write("\n]\n")
            writer.detach()
        with zf.open(f"data/{table}.csv", "w", force_zip64=True) as entry:
            writer = io.TextIOWrapper(entry, encoding="utf-8", newline="")
            sheet = csv_writer(writer, columns)
            for batch in kept if len(kept) < 2 else batches():
                sheet.writerows(inert_rows(batch))
            writer.detach()
    return counts


def floor_summary(project: Project, email: str, phones: list[str], counts: dict[str, int]) -> str:
    """The summary page by hand: the policy's part as static text (rendered once), the
    subject's rows per table, and the disclosures that carried their e-mail or phone
    pseudonym, read from the engine store by one statement."""
    refs = [project.subject_ref("email", email)]
    refs += [project.subject_ref("phone", p) for p in phones]
    static, store = floor_static(project)
    with store.connect() as conn:
        past = conn.execute(DISCLOSED, {"refs": refs}).all()
    held = "".join(f"<tr><td>{html.escape(t)}</td><td>{n}</td></tr>" for t, n in counts.items())
    given = "".join(f"<li>{html.escape(r)}: {html.escape(f)}, {at}</li>" for r, f, at in past)
    return f"{static}<table>{held}</table><ul>{given}</ul></body></html>"


DISCLOSED = text(
    "SELECT recipient, form, created_at FROM disclosures_exports WHERE id IN"
    " (SELECT export_id FROM disclosures_subjects WHERE subject IN :refs) ORDER BY created_at"
).bindparams(bindparam("refs", expanding=True))
_static: dict[Path, tuple[str, Any]] = {}


def floor_static(project: Project) -> tuple[str, Any]:
    """The summary's policy part (troth's own page with no tables), and an engine on the
    engine store, made once per project."""
    if project.root not in _static:
        ctx = load_context(project)
        page = summary_html(ctx.policy, ctx, [], 0)
        _static[project.root] = (page.split("</body>")[0], create_engine(project.store_url))
    return _static[project.root]


def floor_set_erase(conn: Connection, subject: tuple[int, str], key: bytes) -> None:
    """The big subject's erasure by hand, set-based: one statement per table over the
    subject's id and address; kept tables are not touched at all. The files of the
    profile and stories it deletes are read first, and deleted last."""
    email = subject[1].lower()
    user = conn.execute(FIND_USER, {"e": email}).mappings().one()
    uid = user["id"]
    files = {
        table: list(
            conn.execute(text(f"SELECT * FROM {table} WHERE {owner} = :i"), {"i": uid}).mappings()
        )
        for table, owner in (("profiles", "user_id"), ("stories", "author_id"))
    }

    phones = [v for v in phone_variants(normalize(user["phone"]))] if user["phone"] else []
    variants, named = in_list(phones)
    by = {"i": uid, "e": email}
    for sql, params in (
        ("DELETE FROM comments WHERE author_id = :i OR story_id IN"
         " (SELECT id FROM stories WHERE author_id = :i)", by),
        ("DELETE FROM support_tickets WHERE user_id = :i OR lower(email) = :e", by),
        ("DELETE FROM web_visits WHERE user_id = :i", by),
        (f"DELETE FROM phonebook_entries WHERE owner_id = :i OR contact_phone IN {variants}",
         by | named),
        ("DELETE FROM follows WHERE follower_id = :i OR followee_id = :i", by),
        ("DELETE FROM newsletter_signups WHERE lower(email) = :e", by),
        ("DELETE FROM devices WHERE user_id = :i", by),
        ("DELETE FROM profiles WHERE user_id = :i", by),
        ("DELETE FROM stories WHERE author_id = :i", by),
        ("UPDATE orders SET shipping_name = NULL, shipping_address = NULL, card_last4 = NULL"
         " WHERE user_id = :i", by),
    ):  # fmt: skip
        conn.execute(text(sql), params)
    tombstone_user(conn, user, key)
    unlink_files(files)


def child(mode: str, backend: str, url: str, email: str, uid: int) -> None:
    """One measure of the big subject in a process of its own, so that its peak memory is
    its own: prints seconds and peak MB. Each side is warmed up first, as a running
    worker or a script that ran before is: troth by a request of the same kind for an
    address nobody has (the data map's reflection and validation, built statements,
    the pools), the floor by a statement on its connection."""
    project, store = bench_project(backend, url, fresh=False)
    engine = sql_engine(project, load_context(project).datamap, "app")
    by_troth = mode in ("access", "erasure")
    if by_troth:
        run_big(project, store, mode, f"nobody.{time.time_ns()}@example.com")
    else:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    start = time.perf_counter()
    if by_troth:
        run_big(project, store, mode, email)
    elif mode == "floor-access":
        floor_zip(project, engine, (uid, email), "floor")
    else:
        with engine.begin() as conn:
            floor_set_erase(conn, (uid, email), project.secret_key)
    print(time.perf_counter() - start, peak_rss_mb())


def run_big(project: Project, store: Store, kind: str, email: str) -> None:
    made = create_request(project, store, kind, "email", email)
    verified = verify_request(project, store, made.id).id
    # a million rows of a 1,000-user app are most of its messages: past the guard's size
    # bound, which staff would allow after checking the plan
    done = rights.run_request(project, store, verified, allow_large=True)
    assert done.status == "completed", done.error


def measured(mode: str, backend: str, url: str, subject: tuple[int, str]) -> tuple[float, float]:
    code = (
        "import sys; from bench.bench_rights import child; child(*sys.argv[1:5], int(sys.argv[5]))"
    )
    args = [mode, backend, url, subject[1], str(subject[0])]
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT
    )
    if out.returncode:
        raise RuntimeError(f"{mode} failed: {out.stderr[-2000:]}")
    seconds, peak = out.stdout.split()[-2:]
    return float(seconds), float(peak)


def big_subject(backend: str) -> list[Result]:
    """Access and erasure of one subject with a million rows against hand-written SQL:
    streamed reads into the same ZIP, and a set-based erasure of the same rows.

    Each side runs twice, in the order floor, troth, troth, floor (erasure uses a
    subject up: four more subjects, in that order), and the means are compared: the
    machine's load falls on both sides alike."""
    url = fresh_big(backend)
    bench_project(backend, url)
    subjects = big_ones(url)
    label = f"1M-row subject ({backend})"
    exported, erased = subjects[0], subjects[1:]
    order = ("floor-access", "access", "access", "floor-access")
    access = [measured(m, backend, url, exported) for m in order]
    modes = ("floor-erasure", "erasure", "erasure", "floor-erasure")
    erasure = [measured(m, backend, url, s) for m, s in zip(modes, erased, strict=True)]
    access_s, access_mb = mean_of(access[1:3])
    floor_s, floor_mb = mean_of(access[0::3])
    erase_s, erase_mb = mean_of(erasure[1:3])
    set_s, _ = mean_of(erasure[0::3])
    return [
        Result("rights", f"access with ZIP, {label}", access_s, "s",
               f"<= {1.3 * floor_s:.1f} s (1.3x floor)", f"streamed SQL + ZIP {floor_s:.1f} s",
               access_s <= 1.3 * floor_s),
        Result("rights", f"access peak memory, {label}", access_mb, "MB", "<= 150",
               f"floor {floor_mb:.0f} MB", access_mb <= 150),
        Result("rights", f"erasure, {label}", erase_s, "s",
               f"<= {2 * set_s:.2f} s (2x floor)", f"set-based SQL {set_s:.2f} s",
               erase_s <= 2 * set_s),
        Result("rights", f"erasure peak memory, {label}", erase_mb, "MB"),
    ]  # fmt: skip


def mean_of(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The mean seconds of `runs` (seconds, peak MB), and their highest peak."""
    return sum(s for s, _ in runs) / len(runs), max(mb for _, mb in runs)


def run(quick: bool) -> list[Result]:
    if os.environ.get("TROTH_BENCH_BIG_ONLY"):
        return [r for backend in ("sqlite", "postgresql") for r in big_subject(backend)]
    sizes = (5_000,) if quick else (100_000, 1_000_000)
    samples = QUICK_SAMPLES if quick else SAMPLES
    queued = 200 if quick else 1_000
    results = []
    for backend in ("sqlite", "postgresql"):
        measured = []
        for users in sizes:
            rows, medians = one_backend(backend, users, samples, queued)
            results += rows
            measured.append((users, medians))
        if len(measured) == 2:
            results += growth_rows(backend, measured[0], measured[1])
    peak = peak_rss_mb()
    at = " and ".join(f"{users:,}" for users in sizes)
    results.append(
        Result("rights", f"peak memory ({at} users)", peak, "MB", "<= 300", ok=peak <= 300)
    )
    if not quick:
        for backend in ("sqlite", "postgresql"):
            results += big_subject(backend)
    return results
