"""The rights engine on the generated reference app, on SQLite, PostgreSQL and MariaDB.

Expected effects are computed here independently of the engine, with plain SQL
over the reference schema, and compared with full dumps of every table.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from troth import ledger, rights
from troth.appdata.identities import normalize_phone
from troth.cli import app
from troth.consent import current_consent, record_consent
from troth.datamap import dispose_engines
from troth.errors import Conflict, InvalidInput, TrothError
from troth.project import Project, open_project
from troth.refapp import generate
from troth.store import Store, open_store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "refapp"
USERS = 40
POLICY = """\
troth: 1
policy: {name: Refapp Privacy Policy, version: "3"}
organization: {name: Refapp Inc.}
contacts: {privacy_email: privacy@refapp.example}
purposes:
  - key: service
    name: Running the service
    categories: [user.contact, user.name, user.content, user.account]
    legal_basis: contract
  - key: marketing
    name: Newsletter and offers
    categories: [user.contact.email]
    legal_basis: consent
    consent: opt_in
  - key: advertising
    name: Personalized advertising
    categories: [user.device, user.behavior.browsing_history]
    legal_basis: consent
    consent: opt_out
    sale_or_share: true
  - key: personalization
    name: Recommendations from age and gender
    categories: [user.demographic]
    legal_basis: consent
    consent: opt_in
  - key: bookkeeping
    name: Bookkeeping
    categories: [user.behavior.purchase_history, user.financial]
    legal_basis: legal_obligation
recipients:
  - key: adnet
    name: AdNet Ltd.
    type: advertising_partner
    receives: pseudonym
    categories: [user.device]
    purposes: [advertising]
    sale_or_share: true
retention:
  - key: orders
    categories: [user.behavior.purchase_history]
    period_days: 3650
    trigger: collection
rights:
  offered:
    - {right: access}
    - {right: erasure}
    - {right: deactivation, requires_approval: true}
  deadlines: {gdpr: 30, ccpa: 45}
"""
PKS = {"profiles": ("user_id",), "follows": ("follower_id", "followee_id")}
TABLES = (
    "users",
    "profiles",
    "devices",
    "stories",
    "comments",
    "follows",
    "messages",
    "gifts",
    "orders",
    "order_items",
    "phonebook_entries",
    "newsletter_signups",
    "web_visits",
    "support_tickets",
)
Dump = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


@dataclass
class App:
    project: Project
    store: Store
    engine: Engine
    blobs: Path
    url: str


def make_app(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, *, keep_store_url: bool = False
) -> Iterator[App]:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(EXAMPLES / "datamap.yaml", root / "datamap.yaml")
    (root / "troth.yaml").write_text(POLICY)
    blobs = root / "blobs"
    generate(url, users=USERS, blobs_dir=blobs, seed=11)
    monkeypatch.setenv("REFAPP_DB_URL", url)
    monkeypatch.setenv("REFAPP_BLOBS", str(blobs))
    if not keep_store_url:
        monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = open_project(root)
    store = open_store(project.store_url)
    engine = create_engine(url)
    try:
        yield App(project, store, engine, blobs, url)
    finally:
        engine.dispose()
        store.dispose()
        dispose_engines()


@pytest.fixture
def refapp(tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The reference app on each database engine, in a project folder."""
    yield from make_app(tmp_path, any_db_url, monkeypatch)


@pytest.fixture
def sqlite_app(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from make_app(tmp_path, sqlite_url, monkeypatch)


def dump(engine: Engine) -> Dump:
    out: Dump = {}
    with engine.connect() as conn:
        for table in TABLES:
            pk = PKS.get(table, ("id",))
            rows = conn.execute(text(f"SELECT * FROM {table}")).mappings()
            out[table] = {tuple(r[c] for c in pk): dict(r) for r in rows}
    return out


def scalars(engine: Engine, sql: str, **params: Any) -> set[Any]:
    with engine.connect() as conn:
        return set(conn.execute(text(sql), params).scalars())


def phone_of(raw: str | None) -> str | None:
    try:
        return normalize_phone("phone", raw or "", "US")
    except InvalidInput:
        return None


def same_phone(stored: str | None, e164: str | None) -> bool:
    """`stored` is the number `e164` in any writing: digits compared, with or without
    the country code or a trunk prefix."""
    if not stored or not e164:
        return False
    digits = "".join(c for c in stored if c.isdigit())
    number = phonenumbers.parse(e164)
    nsn = phonenumbers.national_significant_number(number)
    code = str(number.country_code)
    return digits in {
        code + nsn,
        "00" + code + nsn,
        "0" + nsn,
        nsn,
        "1" + nsn if code == "1" else nsn,
    }


def pick_subject(app: App) -> dict[str, Any]:
    """A user with a phone that is in someone else's phonebook, stories with others'
    comments, orders and web visits: the richest subject of the generated app."""
    before = dump(app.engine)
    best: tuple[int, dict[str, Any]] | None = None
    for uid, user in before["users"].items():
        if user["status"] != "active":
            continue
        phone = phone_of(user["phone"])
        in_books = [
            k
            for k, r in before["phonebook_entries"].items()
            if r["owner_id"] != uid[0] and phone and phone_of(r["contact_phone"]) == phone
        ]
        stories = {k[0] for k, r in before["stories"].items() if r["author_id"] == uid[0]}
        others = [r for r in before["comments"].values() if r["story_id"] in stories]
        orders = [r for r in before["orders"].values() if r["user_id"] == uid[0]]
        visits = [r for r in before["web_visits"].values() if r["user_id"] == uid[0]]
        score = len(in_books) + len(others) + len(orders) + len(visits)
        if in_books and others and orders and visits and (best is None or score > best[0]):
            best = (score, {"id": uid[0], "email": user["email"], "phone": phone, **user})
    assert best is not None, "the generated app has no rich subject"
    return best[1]


def expected_erasure(app: App, subject: dict[str, Any]) -> tuple[dict[str, set[Any]], set[Any]]:
    """Rows the erasure deletes (per table, by key) and the orders it updates, by plain SQL."""
    uid, email, phone = subject["id"], subject["email"].lower(), subject["phone"]
    e = app.engine
    stories = scalars(e, "SELECT id FROM stories WHERE author_id = :u", u=uid)
    with e.connect() as conn:
        book = conn.execute(text("SELECT id, owner_id, contact_phone FROM phonebook_entries"))
        phonebook = {i for i, owner, p in book if owner == uid or same_phone(p, phone)}
        web = set(
            conn.execute(text("SELECT id FROM web_visits WHERE user_id = :u"), {"u": uid}).scalars()
        )
        letters = conn.execute(text("SELECT id, email FROM newsletter_signups"))
        news = {i for i, m in letters if m.lower() == email}
        ticket_rows = conn.execute(text("SELECT id, user_id, email FROM support_tickets"))
        tickets = {i for i, u, m in ticket_rows if u == uid or m.lower() == email}
        comment_rows = conn.execute(text("SELECT id, author_id, story_id FROM comments"))
        comments = {i for i, a, s in comment_rows if a == uid or s in stories}
        follow_rows = conn.execute(text("SELECT follower_id, followee_id FROM follows"))
        follows = {(a, b) for a, b in follow_rows if uid in (a, b)}
    deleted = {
        "profiles": {(uid,)} & {(u,) for u in scalars(e, "SELECT user_id FROM profiles")},
        "devices": {(i,) for i in scalars(e, "SELECT id FROM devices WHERE user_id = :u", u=uid)},
        "stories": {(i,) for i in stories},
        "comments": {(i,) for i in comments},
        "follows": follows,
        "phonebook_entries": {(i,) for i in phonebook},
        "newsletter_signups": {(i,) for i in news},
        "web_visits": {(i,) for i in web},
        "support_tickets": {(i,) for i in tickets},
    }
    orders = {(i,) for i in scalars(e, "SELECT id FROM orders WHERE user_id = :u", u=uid)}
    return deleted, orders


def subject_blobs(before: Dump, subject: dict[str, Any]) -> set[str]:
    uid = subject["id"]
    paths = {r["avatar_path"] for r in before["profiles"].values() if r["user_id"] == uid}
    for story in before["stories"].values():
        if story["author_id"] == uid:
            paths |= {story["audio_path"], story["cover_path"]}
    return {p for p in paths if p}


def start(app: App, kind: str, identity: str, value: str, **extra: Any) -> rights.Request:
    request = rights.create_request(app.project, app.store, kind, identity, value, **extra)
    return rights.verify_request(app.project, app.store, request.id)


def check_erased(
    app: App,
    before: Dump,
    subject: dict[str, Any],
    deleted: dict[str, set[Any]],
    orders: set[Any],
) -> None:
    """Only the subject's rows changed, exactly as the data map says; their values are gone."""
    after = dump(app.engine)
    uid = (subject["id"],)
    for table in TABLES:
        gone = deleted.get(table, set())
        assert gone <= set(before[table]), table
        assert not gone & set(after[table]), f"{table}: rows of the subject remain"
        changed = {uid} if table == "users" else orders if table == "orders" else set()
        for key, row in before[table].items():
            if key in gone or key in changed:
                continue
            assert after[table].get(key) == row, f"{table} {key}: another subject's row changed"
        assert set(after[table]) == set(before[table]) - gone, table
    user = after["users"][uid]
    pseudonym = user["email"]
    assert pseudonym.startswith("erased:") and user["username"].startswith("erased:")
    assert app.project.keyed_hash("erase:app.users.email", subject["email"])[:24] in pseudonym
    assert user["status"] == "deleted" and user["display_name"] is None
    assert user["date_of_birth"] is None and user["password_hash"] == "!"
    for key in orders:
        order = after["orders"][key]
        assert order["shipping_name"] is None and order["card_last4"] is None
        assert order["total_cents"] == before["orders"][key]["total_cents"]
    secrets = {subject["email"].lower(), subject["username"], subject["display_name"]}
    secrets |= {subject["phone"], before["users"][uid]["phone"]}
    for table in TABLES:
        for row in after[table].values():
            for cell in row.values():
                assert not (
                    isinstance(cell, str) and cell.lower() in {s.lower() for s in secrets if s}
                )
    for path in subject_blobs(before, subject):
        assert not (app.blobs / path).exists()


def erase_and_check(app: App, subject: dict[str, Any], run: Any) -> rights.Request:
    before = dump(app.engine)
    deleted, orders = expected_erasure(app, subject)
    files_before = {p for p in app.blobs.rglob("*") if p.is_file()}
    request = start(app, "erasure", "email", subject["email"].upper())
    plan = rights.plan_request(app.project, app.store, request.id)
    planned = {s.table: s.rows for s in plan.steps if s.action == "delete"}
    assert planned == {f"app.{t}": len(k) for t, k in deleted.items() if k}
    done = run(request)
    check_erased(app, before, subject, deleted, orders)
    mine = {app.blobs / p for p in subject_blobs(before, subject)}
    assert {p for p in app.blobs.rglob("*") if p.is_file()} == files_before - mine
    return done


def test_erasure_touches_only_the_subject(refapp: App) -> None:
    subject = pick_subject(refapp)
    done = erase_and_check(
        refapp, subject, lambda r: rights.run_request(refapp.project, refapp.store, r.id)
    )
    assert done.status == "completed" and done.identity_value is None
    kept = {k["table"] for k in done.result["kept"]}
    assert {"app.messages", "app.gifts", "app.order_items"} <= kept
    assert all(k["reason"] for k in done.result["kept"])
    events = ledger.entries(refapp.store, ref=done.id)
    kinds = {e.kind for e in events}
    assert {"request.created", "request.verified", "request.planned", "request.step"} <= kinds
    assert "request.completed" in kinds
    assert all(e.subject == done.subject for e in events)
    text_of_ledger = json.dumps([e.data for e in events]).lower()
    assert subject["email"].lower() not in text_of_ledger
    again = rights.run_request(refapp.project, refapp.store, done.id)
    assert again.status == "completed" and again.result == done.result


def test_access_export(refapp: App) -> None:
    subject = pick_subject(refapp)
    request = start(refapp, "access", "phone", subject["phone"])
    done = rights.run_request(refapp.project, refapp.store, request.id)
    assert done.status == "completed"
    with zipfile.ZipFile(io.BytesIO(b"".join(rights.read_export(refapp.project, done.id)))) as zf:
        names = set(zf.namelist())
        users = json.loads(zf.read("data/app/users.json"))
        html = zf.read("summary.html").decode()
        visits = json.loads(zf.read("data/app/web_visits.json"))
        csv_text = zf.read("data/app/orders.csv").decode()
    assert [u["id"] for u in users] == [subject["id"]]
    assert "password_hash" not in users[0]
    assert {"data/app/devices.json", "data/app/devices.csv", "data/app/stories.csv"} <= names
    before = dump(refapp.engine)
    assert {f"files/blobs/{p}" for p in subject_blobs(before, subject)} <= names
    assert {v["user_id"] for v in visits} <= {subject["id"], None}
    assert "total_cents" in csv_text.splitlines()[0]
    for wanted in ("user.contact.email", "Running the service", "AdNet Ltd.", "3650 days"):
        assert wanted in html
    assert done.result["tables"]["app.users"] == 1 and done.identity_value is None


def test_portability_is_what_the_subject_provided(refapp: App) -> None:
    subject = pick_subject(refapp)
    request = start(refapp, "portability", "user_id", str(subject["id"]))
    done = rights.run_request(refapp.project, refapp.store, request.id)
    with zipfile.ZipFile(io.BytesIO(b"".join(rights.read_export(refapp.project, done.id)))) as zf:
        users = json.loads(zf.read("data/app/users.json"))
        visits = json.loads(zf.read("data/app/web_visits.json"))
        assert "summary.html" not in zf.namelist()
    assert set(users[0]) == {
        "email",
        "phone",
        "username",
        "display_name",
        "date_of_birth",
        "gender",
        "country",
    }
    assert all(set(v) == {"id", "user_id"} for v in visits)


def test_subjects_without_an_account(refapp: App) -> None:
    before = dump(refapp.engine)
    users = {r["email"].lower() for r in before["users"].values()}
    stranger = next(
        r["email"] for r in before["newsletter_signups"].values() if r["email"].lower() not in users
    )
    account_phones = [r["phone"] for r in before["users"].values()]
    contact = next(
        r["contact_phone"]
        for r in before["phonebook_entries"].values()
        if r["contact_phone"].startswith("+")
        and not any(same_phone(p, phone_of(r["contact_phone"])) for p in account_phones)
    )
    cookie = next(r["cookie_id"] for r in before["web_visits"].values() if r["user_id"] is None)
    found = rights.find_subject(refapp.project, "email", stranger.swapcase())
    assert found.found and "app.newsletter_signups" in found.tables
    assert "user.contact.email" in found.categories
    by_phone = rights.find_subject(refapp.project, "phone", contact)
    assert set(by_phone.tables) == {"app.phonebook_entries"}
    for kind, value in (("email", stranger), ("phone", contact), ("cookie_id", cookie)):
        request = start(refapp, "erasure", kind, value)
        assert rights.run_request(refapp.project, refapp.store, request.id).status == "completed"
        assert not rights.find_subject(refapp.project, kind, value).found
    after = dump(refapp.engine)
    assert after["users"] == before["users"]
    assert cookie not in {r["cookie_id"] for r in after["web_visits"].values()}


def test_rectification(refapp: App) -> None:
    subject = pick_subject(refapp)
    before = dump(refapp.engine)
    request = start(
        refapp,
        "rectification",
        "user_id",
        str(subject["id"]),
        fields={"display_name": "Corrected Name", "users.email": "New.Address@Example.org"},
    )
    plan = rights.plan_request(refapp.project, refapp.store, request.id)
    assert [(s.table, s.action, s.rows) for s in plan.steps] == [("app.users", "rectify", 1)]
    # a new e-mail widens whose rows the subject reaches: staff check it is theirs first
    with pytest.raises(Conflict, match="must be approved first"):
        rights.run_request(refapp.project, refapp.store, request.id)
    rights.approve_request(refapp.project, refapp.store, request.id, actor="staff:1")
    done = rights.run_request(refapp.project, refapp.store, request.id)
    assert done.result["rows"] == 1
    after = dump(refapp.engine)
    uid = (subject["id"],)
    assert after["users"][uid]["display_name"] == "Corrected Name"
    assert after["users"][uid]["email"] == "new.address@example.org"
    del after["users"][uid], before["users"][uid]
    assert after == before


def test_an_unproven_phone_on_an_account_reaches_no_ones_phonebook(
    sqlite_app: App,
) -> None:
    # The app lets users type any phone into their profile without a code (the data map
    # says so: verified: false). A user types someone else's number: their access and
    # erasure reach their own rows, never the entries in other people's phonebooks.
    app = sqlite_app
    datamap = app.project.datamap_path.read_text()
    marker = "verified: true  # the app confirms a number by an SMS code before it stores it"
    assert marker in datamap
    app.project.datamap_path.write_text(datamap.replace(marker, "verified: false"))
    victim = pick_subject(app)
    with app.engine.begin() as conn:
        attacker = conn.execute(
            text("SELECT id, email FROM users WHERE id <> :v AND status = 'active' LIMIT 1"),
            {"v": victim["id"]},
        ).one()
        conn.execute(
            text("UPDATE users SET phone = :p WHERE id = :a"),
            {"p": victim["phone"], "a": attacker.id},
        )
    victims_entries = scalars(
        app.engine, "SELECT id FROM phonebook_entries WHERE owner_id <> :a", a=attacker.id
    ) & {
        k[0]
        for k, r in dump(app.engine)["phonebook_entries"].items()
        if phone_of(r["contact_phone"]) == phone_of(victim["phone"])
    }
    assert victims_entries  # the victim's number is in other people's phonebooks
    for kind in ("access", "erasure"):
        request = start(app, kind, "email", attacker.email)
        plan = rights.plan_request(app.project, app.store, request.id)
        assert not plan.refused
        found = rights.find_subject(app.project, "email", attacker.email)
        assert found.tables.get("app.phonebook_entries", 0) == len(
            scalars(
                app.engine, "SELECT id FROM phonebook_entries WHERE owner_id = :a", a=attacker.id
            )
        )
    # a request that names the number (and proves it) still reaches those entries
    by_phone = rights.find_subject(app.project, "phone", victim["phone"])
    assert by_phone.tables["app.phonebook_entries"] >= len(victims_entries)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password_hash": "x"}, "not a field the subject may correct"),
        ({"email": "not an address"}, "not a valid email"),
        ({"nosuch": "x"}, "not a field"),
        ({}, "rectification needs name=value"),
    ],
)
def test_rectification_rejects_bad_fields(
    sqlite_app: App, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        rights.create_request(
            sqlite_app.project, sqlite_app.store, "rectification", "user_id", "1", fields=fields
        )
    assert rights.list_requests(sqlite_app.store) == []


def test_deactivation_needs_approval_and_reactivation_restores(refapp: App) -> None:
    uid = str(pick_subject(refapp)["id"])
    request = start(refapp, "deactivation", "user_id", uid)
    with pytest.raises(TrothError, match="must be approved first"):
        rights.run_request(refapp.project, refapp.store, request.id)
    rights.approve_request(refapp.project, refapp.store, request.id)
    rights.run_request(refapp.project, refapp.store, request.id)
    status = "SELECT status FROM users WHERE id = :u"
    assert scalars(refapp.engine, status, u=int(uid)) == {"deactivated"}
    back = start(refapp, "reactivation", "user_id", uid)
    rights.approve_request(refapp.project, refapp.store, back.id)
    assert rights.run_request(refapp.project, refapp.store, back.id).result["rows"] == 1
    assert scalars(refapp.engine, status, u=int(uid)) == {"active"}


def test_erased_tombstone_is_never_reactivated(sqlite_app: App) -> None:
    uid = str(pick_subject(sqlite_app)["id"])
    rights.run_request(
        sqlite_app.project, sqlite_app.store, start(sqlite_app, "erasure", "user_id", uid).id
    )
    back = start(sqlite_app, "reactivation", "user_id", uid)
    rights.approve_request(sqlite_app.project, sqlite_app.store, back.id)
    assert rights.run_request(sqlite_app.project, sqlite_app.store, back.id).result["rows"] == 0
    assert scalars(sqlite_app.engine, "SELECT status FROM users WHERE id = :u", u=int(uid)) == {
        "deleted"
    }


def test_recorded_requests_write_consent(sqlite_app: App) -> None:
    app = sqlite_app
    with pytest.raises(InvalidInput, match="names the purpose"):
        rights.create_request(app.project, app.store, "objection", "user_id", "3")
    with pytest.raises(InvalidInput, match=r"not a purpose of troth\.yaml"):
        rights.create_request(app.project, app.store, "objection", "user_id", "3", purpose="x")
    withdraw = start(app, "withdraw_consent", "user_id", "3", purpose="marketing")
    opt_out = start(app, "opt_out_sale", "user_id", "3")
    restrict = start(app, "restriction", "user_id", "3")
    done = {r.kind: r for r in rights.run_queue(app.project, app.store)}
    assert set(done) == {"withdraw_consent", "opt_out_sale", "restriction"}
    assert done["opt_out_sale"].result["purposes"] == ["advertising"]
    assert "bookkeeping" not in done["restriction"].result["purposes"]
    state = current_consent(app.project, app.store, "user_id:3")
    assert not state["marketing"].allowed and not state["advertising"].allowed
    assert {withdraw.id, opt_out.id, restrict.id} == {r.id for r in done.values()}


def test_withdrawal_erases_data_kept_only_on_that_consent(refapp: App) -> None:
    subject = pick_subject(refapp)
    uid = subject["id"]
    record_consent(
        refapp.project, refapp.store, f"user_id:{uid}", "personalization", "granted", source="app"
    )
    before = dump(refapp.engine)
    request = start(refapp, "withdraw_consent", "user_id", str(uid), purpose="personalization")
    done = rights.run_request(refapp.project, refapp.store, request.id)
    assert done.result["categories_erased"] == ["user.demographic"]
    assert done.result["tables"] == {"app.users": 1}
    after = dump(refapp.engine)
    user = after["users"].pop((uid,))
    assert user["date_of_birth"] is None and user["gender"] is None
    assert user["email"] == subject["email"] and user["display_name"] == subject["display_name"]
    del before["users"][(uid,)]
    assert after == before
    assert not current_consent(refapp.project, refapp.store, f"user_id:{uid}")[
        "personalization"
    ].allowed
    # the request erased; the withdrawal it recorded queued no second erasure request
    assert rights.take_withdrawals(refapp.project, refapp.store) == 0
    made = rights.list_requests(refapp.store, kind="withdraw_consent")
    assert [r.id for r in made] == [request.id]


def test_lifecycle_and_deadlines(sqlite_app: App) -> None:
    app = sqlite_app
    ccpa = rights.create_request(
        app.project, app.store, "access", "email", "a@b.example", jurisdiction="ccpa"
    )
    assert ccpa.status == "received" and (ccpa.due_at - ccpa.created_at).days == 45
    # another subject: a second open access request of a@b.example is linked to the first
    gdpr = rights.create_request(app.project, app.store, "access", "email", "c@d.example")
    assert (gdpr.due_at - gdpr.created_at).days == 30
    with pytest.raises(TrothError, match="must be verified first"):
        rights.run_request(app.project, app.store, gdpr.id)
    assert rights.run_queue(app.project, app.store) == []
    denied = rights.deny_request(app.project, app.store, gdpr.id, "not the account holder")
    assert denied.status == "denied" and denied.reason == "not the account holder"
    with pytest.raises(TrothError, match="is denied"):
        rights.verify_request(app.project, app.store, gdpr.id)
    with pytest.raises(InvalidInput, match=r"rights\.deadlines"):
        rights.create_request(
            app.project, app.store, "access", "email", "a@b.example", jurisdiction="lgpd"
        )
    assert [r.id for r in rights.list_requests(app.store, "received")] == [ccpa.id]
    assert len(ccpa.id) >= 24 and ccpa.id != gdpr.id


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("email", "x' OR '1'='1@example.com", "not a valid e-mail address"),
        ("email", "bob@example.com; DROP TABLE users", "characters not allowed"),
        ("email", "not-an-address", "not a valid e-mail"),
        ("phone", "1 OR 1=1", "only digits"),
        ("phone", "+1 555", "not a valid phone"),
        ("user_id", "1 OR 1=1", "whole number"),
        ("user_id", "-1", "whole number"),
        ("cookie_id", "abc/*x*/", "characters not allowed"),
        ("cookie_id", "a b", "letters, digits"),
        ("ssn", "123", "unknown identity kind"),
    ],
)
def test_malformed_identities_change_nothing(
    sqlite_app: App, kind: str, value: str, message: str
) -> None:
    before = dump(sqlite_app.engine)
    head = ledger.head(sqlite_app.store)
    with pytest.raises(InvalidInput, match=message) as err:
        rights.create_request(sqlite_app.project, sqlite_app.store, "erasure", kind, value)
    assert value not in str(err.value)
    assert rights.list_requests(sqlite_app.store) == []
    assert ledger.head(sqlite_app.store) == head
    assert dump(sqlite_app.engine) == before


def run_cli(app: App, *args: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REFAPP_DB_URL": app.url, "REFAPP_BLOBS": str(app.blobs)}
    env.pop("TROTH_RIGHTS_KILL_AT", None)
    if kill_at:
        env["TROTH_RIGHTS_KILL_AT"] = kill_at
    command = [sys.executable, "-m", "troth.cli", "request", *args, "-p", str(app.project.root)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def crash_and_resume(app: App, kill_at: str) -> None:
    subject = pick_subject(app)

    def killed_then_resumed(request: rights.Request) -> rights.Request:
        first = run_cli(app, "run", request.id, kill_at=kill_at)
        assert first.returncode == -9, first.stderr
        assert rights.get_request(app.store, request.id).status == "running"
        left = run_cli(app, "run", "--all").stdout  # another worker's lease: left alone
        assert left.startswith("Nothing to run") and request.id not in left, left
        second = run_cli(app, "run", request.id)
        assert second.returncode == 0, second.stderr
        resumed = rights.get_request(app.store, request.id)
        assert resumed.status == "completed"
        return resumed

    done = erase_and_check(app, subject, killed_then_resumed)
    assert done.status == "completed"
    kinds = [e.kind for e in ledger.entries(app.store, ref=done.id)]
    assert kinds.count("request.planned") == 1 and "request.resumed" in kinds


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["statement:3", "committed:app", "blob:2"])
def test_sigkill_during_erasure_resumes_sqlite(sqlite_app: App, kill_at: str) -> None:
    crash_and_resume(sqlite_app, kill_at)


@pytest.mark.slow
def test_sigkill_during_erasure_resumes(refapp: App) -> None:
    crash_and_resume(refapp, "statement:5")


def test_cli_round_trip(sqlite_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    root = str(sqlite_app.project.root)
    subject = pick_subject(sqlite_app)
    made = runner.invoke(
        app, ["request", "create", "access", "--email", subject["email"], "--verified", "-p", root]
    )
    assert made.exit_code == 0, made.output
    request_id = made.output.strip()
    plan = runner.invoke(app, ["request", "plan", request_id, "-p", root])
    assert "app.users" in plan.output and "read" in plan.output
    assert runner.invoke(app, ["request", "run", "--all", "-p", root]).exit_code == 0
    again = runner.invoke(app, ["request", "run", "--all", "-p", root])
    assert again.output.strip() == "Nothing to run: the queue is empty."
    out = tmp_path / "mine.zip"
    exported = runner.invoke(app, ["request", "export", request_id, "--out", str(out), "-p", root])
    assert exported.exit_code == 0 and zipfile.is_zipfile(out)
    shown = json.loads(runner.invoke(app, ["request", "show", request_id, "-p", root]).output)
    assert shown["status"] == "completed" and subject["email"] not in json.dumps(shown)
    listed = runner.invoke(app, ["request", "list", "-p", root], env={"COLUMNS": "80"})
    assert "completed" in listed.output and request_id in listed.output  # ids never cut
    both = runner.invoke(
        app,
        ["request", "create", "erasure", "--email", "a@b.example", "--user-id", "2", "-p", root],
    )
    assert both.exit_code != 0


def test_cli_verify_moves_a_received_request_on(sqlite_app: App) -> None:
    runner = CliRunner()
    root = str(sqlite_app.project.root)
    made = runner.invoke(app, ["request", "create", "access", "--email", "x@b.example", "-p", root])
    request_id = made.output.strip()
    assert rights.get_request(sqlite_app.store, request_id).status == "received"
    verified = runner.invoke(app, ["request", "verify", request_id, "-p", root])
    assert verified.exit_code == 0, verified.output
    assert rights.get_request(sqlite_app.store, request_id).status == "verified"
    again = runner.invoke(app, ["request", "verify", request_id, "-p", root])
    assert again.exit_code != 0  # only a received request can be verified


@pytest.fixture
def app_with_pg_store(
    tmp_path: Path, sqlite_url: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    """The reference app in SQLite, the engine store in PostgreSQL (troth at scale)."""
    monkeypatch.setenv("TROTH_STORE_URL", pg_url)
    yield from make_app(tmp_path, sqlite_url, monkeypatch, keep_store_url=True)


def test_engine_store_on_postgresql(app_with_pg_store: App) -> None:
    app = app_with_pg_store
    assert app.store.dialect == "postgresql"
    subject = pick_subject(app)
    done = erase_and_check(app, subject, lambda r: rights.run_request(app.project, app.store, r.id))
    assert done.status == "completed"


@pytest.mark.slow
def test_two_workers_share_the_queue(sqlite_app: App) -> None:
    """Two processes run the queue at once: every request runs exactly once."""
    before = dump(sqlite_app.engine)
    emails = [u["email"] for u in before["users"].values() if u["status"] == "active"][:8]
    ids = {start(sqlite_app, "erasure", "email", e).id for e in emails}
    env = {**os.environ, "REFAPP_DB_URL": sqlite_app.url, "REFAPP_BLOBS": str(sqlite_app.blobs)}
    command = [sys.executable, "-m", "troth.cli", "request", "run", "--all"]
    command += ["-p", str(sqlite_app.project.root)]
    workers = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in "ab"]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers)
    lines = [line for out in outputs for line in out.splitlines()]
    # a worker that starts after the other emptied the queue says so, and runs nothing
    ran = [line.split()[0] for line in lines if not line.startswith("Nothing to run")]
    assert sorted(ran) == sorted(ids)
    for request_id in ids:
        assert rights.get_request(sqlite_app.store, request_id).status == "completed"
        kinds = [e.kind for e in ledger.entries(sqlite_app.store, ref=request_id)]
        assert kinds.count("request.started") == 1 and kinds.count("request.completed") == 1


def test_serve_refuses_a_busy_port_before_its_banner(tmp_path: Path) -> None:
    runner = CliRunner()
    root = tmp_path / "project"
    assert runner.invoke(app, ["init", str(root)]).exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for command in (["serve", "-p", str(root)], ["demo", "--dir", str(tmp_path / "demo")]):
            busy = runner.invoke(app, [*command, "--port", port])
            assert busy.exit_code != 0
            assert f"cannot listen on 127.0.0.1:{port}" in str(busy.exception or busy.output)
            assert "troth serving" not in busy.output and "Privacy center" not in busy.output
    assert not (tmp_path / "demo").exists()  # the demo stopped before building anything
