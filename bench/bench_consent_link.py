"""Consent subjects linked to app accounts: e-mail subjects resolved to `user_id:N`.

A generated reference app (its users table with the index on lower(email) that
`troth datamap validate` asks for) and the reference data map. Timed: resolving
1,000 distinct e-mail subjects in one batch, as `record_many` does (link cache
empty, data map already loaded), against parsing them alone (what consent did
before linking) plus hand-written SQL doing the same look-up (`lower(email) IN (...)`
in chunks of 50); then `record_many` of 500 of them x 1 purpose, against 500 other
accounts named by `user_id:N` (no look-up needed).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import Result
from troth.consent import ConsentRecord, record_many
from troth.consent import subject as consent_subject
from troth.project import Project, open_project
from troth.refapp import generate
from troth.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
PURPOSE = "marketing.communications.email"
POLICY = """\
troth: 1
policy: {name: Bench, version: "1", effective_date: 2026-01-01}
organization: {name: Bench Co}
purposes:
  - {key: marketing.communications.email, name: Mail, categories: [user.contact.email],
     legal_basis: consent, consent: opt_in}
"""


def project_in(folder: Path, users: int) -> Project:
    (folder / "troth.yaml").write_text(POLICY)
    shutil.copyfile(REPO / "examples" / "refapp" / "datamap.yaml", folder / "datamap.yaml")
    generate(f"sqlite:///{folder / 'refapp.db'}", users=users, blobs_dir=folder / "blobs", seed=3)
    with sqlite3.connect(folder / "refapp.db") as db:
        db.execute("CREATE INDEX users_email_lower ON users (lower(email))")
        db.execute("ANALYZE")
    return open_project(folder)


def accounts(folder: Path, count: int) -> list[tuple[int, str]]:
    with sqlite3.connect(folder / "refapp.db") as db:
        query = "SELECT id, email FROM users WHERE status = 'active' ORDER BY random() LIMIT ?"
        return [(int(i), str(e)) for i, e in db.execute(query, (count,))]


def raw_lookup(folder: Path, emails: list[str]) -> float:
    start = time.perf_counter()
    with sqlite3.connect(folder / "refapp.db") as db:
        for at in range(0, len(emails), 50):
            part = [e.lower() for e in emails[at : at + 50]]
            marks = ", ".join("?" * len(part))
            sql = f"SELECT id, email, phone FROM users WHERE lower(email) IN ({marks})"
            db.execute(sql, part).fetchall()
    return time.perf_counter() - start


def run(quick: bool) -> list[Result]:
    users = 5_000 if quick else 50_000
    with tempfile.TemporaryDirectory(prefix="troth-bench-link-") as tmp:
        folder = Path(tmp)
        project = project_in(folder, users)
        picked = accounts(folder, 1_000)
        texts = [f"email:{email}" for _, email in picked]
        consent_subject.resolve_subject(project, "email:warm-up@example.com")  # parse, reflect
        start = time.perf_counter()
        resolved = consent_subject.resolve_subjects(project, texts)
        linking = time.perf_counter() - start
        start = time.perf_counter()
        for text in texts:
            consent_subject.parse_subject(text)
        parsing = time.perf_counter() - start
        assert sum(s.kind == "user_id" for s in resolved.values()) == len(picked)
        floor = raw_lookup(folder, [email for _, email in picked])
        consent_subject._links.clear()
        store = open_store(project.store_url)
        half = len(picked) // 2  # distinct accounts, so both batches are first grants
        by_email = [ConsentRecord(f"email:{e}", PURPOSE, "granted") for _, e in picked[:half]]
        by_id = [ConsentRecord(f"user_id:{i}", PURPOSE, "granted") for i, _ in picked[half:]]
        email_s = timed_record(project, store, by_email)
        id_s = timed_record(project, store, by_id)
        store.dispose()
    n, half = len(picked), len(picked) // 2
    return [
        Result(
            "consent_link",
            f"resolve {n:,} e-mail subjects to accounts ({users:,} users)",
            linking * 1000,
            "ms",
            baseline=f"parse only {parsing * 1000:.0f} ms + raw SQL {floor * 1000:.1f} ms",
        ),
        Result(
            "consent_link",
            f"record_many {half:,} e-mail subjects (linked)",
            half / email_s,
            "events/s",
            baseline=f"{n - half:,} user_id subjects {(n - half) / id_s:,.0f}/s",
        ),
    ]


def timed_record(project: Project, store: Store, batch: list[ConsentRecord]) -> float:
    start = time.perf_counter()
    record_many(project, store, batch)
    return time.perf_counter() - start
