"""Sharing: exports to recipients in the form the policy promises, on apps written here
for three seed policies (justuno, nojoto, justorder) and on the generated reference app
on SQLite, PostgreSQL and MariaDB. Expected rows come from plain SQL over each schema."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from troth import disclosures, ledger, rights, sharing
from troth.appdata import load_context
from troth.consent import record_choices, record_gpc
from troth.datamap import dispose_engines
from troth.errors import Conflict, Invalid, InvalidInput, NotFound, Refused
from troth.policy import load_policy
from troth.policy.lint import lint
from troth.policy.model import Form
from troth.project import Project, open_project
from troth.refapp import generate
from troth.sharing import export as sharing_export
from troth.sharing import requests as sharing_requests
from troth.sharing import sources
from troth.sharing.aggregate import Aggregate
from troth.store import Store, open_store

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "examples" / "policies"
REFAPP = ROOT / "examples" / "refapp"


@dataclass
class App:
    project: Project
    store: Store
    engine: Engine
    root: Path

    def ctx(self) -> Any:
        return load_context(self.project)

    def rows(self, sql: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql)))

    def export(self, recipient: str, name: str, **options: Any) -> sharing.ShareReport:
        return sharing.share_export(self.ctx(), self.store, recipient, self.root / name, **options)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def csv_rows(data: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data)))


@pytest.fixture(autouse=True)
def _dispose() -> Iterator[None]:
    yield
    dispose_engines()


# ---- a visitor app under Justuno's policy ----------------------------------------------

VISITORS = """
CREATE TABLE visitors (
    id INTEGER PRIMARY KEY, email TEXT, gender TEXT, birth_year INTEGER, country TEXT,
    device_os TEXT, ip_address TEXT
);
CREATE TABLE visits (
    id INTEGER PRIMARY KEY, visitor_id INTEGER REFERENCES visitors(id), page TEXT,
    visited_at TEXT
);
"""

VISITOR_MAP = """
troth: 1
stores:
  app: {type: sql, url: "sqlite:///APP"}
identities:
  email: {normalize: email}
  visitor_id: {normalize: integer}
tables:
  app.visitors:
    identities: {email: email, visitor_id: id}
    columns:
      id: {categories: [user.unique_id]}
      email: {categories: [user.contact.email], erase: "null"}
      gender: {categories: [user.demographic.gender]}
      birth_year: {categories: [user.demographic.age_range]}
      country: {categories: [user.location.imprecise]}
      device_os: {categories: [user.device]}
      ip_address: {categories: [user.device.ip_address]}
  app.visits:
    links: [{column: visitor_id, to: visitors.id, owner: true}]
    columns:
      visitor_id: {categories: [user.unique_id]}
      page: {categories: [user.behavior.browsing_history]}
      visited_at: {categories: [user.behavior.browsing_history]}
"""


def own_app(root: Path, policy: str, schema: str, datamap: str, rows: list[str]) -> App:
    root.mkdir()
    db = root / "app.db"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        for statement in [*schema.split(";"), *rows]:
            if statement.strip():
                conn.execute(text(statement))
    (root / "datamap.yaml").write_text(datamap.replace("APP", str(db)))
    shutil.copy(POLICIES / f"{policy}.yaml", root / "troth.yaml")
    (root / "troth.toml").write_text("")
    project = open_project(root)
    return App(project, open_store(project.store_url), engine, root)


def visitor_rows() -> list[str]:
    rows = []
    for i in range(1, 41):
        gender = "f" if i % 2 else "m"
        country = "AT" if i > 36 else "DE"
        rows.append(
            f"INSERT INTO visitors VALUES ({i}, 'Visitor{i}@Example.COM', '{gender}', "
            f"{1980 + i % 2}, '{country}', 'ios', '10.0.0.{i}')"
        )
        rows.append(
            f"INSERT INTO visits VALUES ({i}, {i}, '/p{i}', '2026-0{1 + i % 3}-05T10:00:00')"
        )
    return rows


@pytest.fixture
def justuno(tmp_path: Path) -> Iterator[App]:
    app = own_app(tmp_path / "justuno", "justuno", VISITORS, VISITOR_MAP, visitor_rows())
    yield app
    app.engine.dispose()
    app.store.dispose()


def test_justunos_data_provider_gets_only_hashed_emails(justuno: App) -> None:
    record_choices(
        justuno.project, justuno.store, "visitor_id:2",
        {"marketing.advertising.third_party.targeted": False}, source="api",
    )  # fmt: skip
    record_gpc(justuno.project, justuno.store, "visitor_id:3")
    report = justuno.export("data_provider", "provider.csv")

    rows = csv_rows((justuno.root / "provider.csv").read_text())
    assert list(rows[0]) == ["email"]  # nothing but the match key leaves
    expected = {
        hashlib.sha256(email.lower().encode()).hexdigest()
        for (email,) in justuno.rows("SELECT email FROM visitors WHERE id NOT IN (2, 3)")
    }
    assert {r["email"] for r in rows} == expected
    assert report.excluded == {"opted out": 1, "global privacy control": 1}
    assert report.people == 38 and report.form == "hashed"


def test_justunos_data_provider_cannot_have_raw_emails(justuno: App) -> None:
    with pytest.raises(Refused, match="solely in hashed, non-human readable form"):
        justuno.export("data_provider", "raw.csv", form=Form.raw)
    assert not (justuno.root / "raw.csv").exists()
    assert disclosures.list_exports(justuno.store) == []


def test_justunos_partners_get_aggregates_above_the_group_size(justuno: App) -> None:
    report = justuno.export("business_partners", "partners.zip")

    with zipfile.ZipFile(justuno.root / "partners.zip") as zf:
        visitors = csv_rows(zf.read("app.visitors.csv").decode())
        assert "report.json" in zf.namelist()
    # by gender, age range, country and device; e-mails and network addresses never leave
    counts = {(r["gender"], r["birth_year"], r["country"]): int(r["people"]) for r in visitors}
    expected = {
        (gender, str(year), country): n
        for gender, year, country, n in justuno.rows(
            "SELECT gender, birth_year, country, COUNT(*) FROM visitors "
            "GROUP BY gender, birth_year, country"
        )
    }
    assert counts == {k: n for k, n in expected.items() if n >= 10} and len(counts) == 2
    assert {r["ip_address"] for r in visitors} == {"10.0.0.0"}  # a /24, never an address
    assert report.suppressed_groups["app.visitors"] == sum(1 for n in expected.values() if n < 10)
    assert all("email" not in r for r in visitors)
    assert disclosures.list_exports(justuno.store)[0].people == 40
    # aggregates are not personal data: no one's record lists them
    assert disclosures.disclosures_to(justuno.store, ["x"]) == []


def test_aggregate_noise_keeps_counts_near_and_withholds_rows(justuno: App) -> None:
    policy = (
        (justuno.root / "troth.yaml")
        .read_text()
        .replace(
            "    quote: information shared is limited to aggregated or anonymized data",
            "    quote: information shared is limited to aggregated or anonymized data\n"
            "    aggregate: {dimensions: [user.demographic.gender], min_group: 5, epsilon: 1.0}",
        )
    )
    (justuno.root / "troth.yaml").write_text(policy)
    justuno.export("business_partners", "noisy.zip")
    with zipfile.ZipFile(justuno.root / "noisy.zip") as zf:
        cells = csv_rows(zf.read("app.visitors.csv").decode())
    assert {c["gender"] for c in cells} == {"f", "m"}
    assert all(abs(int(c["people"]) - 20) <= 15 for c in cells)  # 20 each, Laplace(1)
    assert all("rows" not in c for c in cells)


def test_pseudonyms_are_stable_per_recipient_and_never_link_two(justuno: App) -> None:
    first = justuno.export("data_provider", "a.jsonl", form=Form.pseudonym)
    again = justuno.export("data_provider", "b.jsonl", form=Form.pseudonym)
    assert first.people == again.people == 40
    a, b = lines(justuno.root / "a.jsonl"), lines(justuno.root / "b.jsonl")
    assert [r["subject"] for r in a] == [r["subject"] for r in b]
    assert all(r["subject"].startswith("ps_") and "@" not in r["email"] for r in a)
    # another recipient's key: the same people, no value in common
    policy = (justuno.root / "troth.yaml").read_text()
    (justuno.root / "troth.yaml").write_text(
        policy.replace("key: data_provider", "key: data_broker")
    )
    justuno.export("data_broker", "c.jsonl", form=Form.pseudonym)
    c = lines(justuno.root / "c.jsonl")
    values_a = {v for r in a for v in (r["subject"], r["email"])}
    values_c = {v for r in c for v in (r["subject"], r["email"])}
    assert len(values_c) == len(values_a) == 80 and not values_a & values_c


def test_every_export_is_on_the_record_and_in_the_ledger(justuno: App) -> None:
    report = justuno.export("data_provider", "provider.csv")
    [entry] = ledger.entries(justuno.store, kind="sharing.export")
    data = dict(entry.data or {})
    assert data["recipient"] == "data_provider" and data["rows"] == 40
    assert (
        data["file_sha256"]
        == hashlib.sha256((justuno.root / "provider.csv").read_bytes()).hexdigest()
    )
    assert "@" not in json.dumps(data)
    ref = justuno.project.subject_ref("visitor_id", "7")
    [carried] = disclosures.disclosures_to(justuno.store, [ref])
    assert carried.id == report.disclosure and carried.categories == ("user.contact.email",)


def test_the_access_summary_lists_recipients_and_past_disclosures(justuno: App) -> None:
    justuno.export("data_provider", "provider.csv")
    request = rights.create_request(
        justuno.project, justuno.store, "access", "email", "visitor7@example.com"
    )
    rights.verify_request(justuno.project, justuno.store, request.id)
    rights.run_request(justuno.project, justuno.store, request.id)
    summary = read_summary(justuno, request.id)
    assert "Data provider for customized ads or content</strong>, hashed data" in summary
    assert "Hosting provider" in summary  # every recipient the policy names
    other = rights.create_request(
        justuno.project, justuno.store, "access", "email", "nobody@example.com"
    )
    assert other.id


def read_summary(app: App, request_id: str) -> str:
    data = b"".join(rights.read_export(app.project, request_id))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("summary.html").decode()


def test_csv_cells_cannot_run_as_formulas(justuno: App) -> None:
    with justuno.engine.begin() as conn:
        conn.execute(text("UPDATE visits SET page = '=HYPERLINK(\"http://x\")' WHERE id = 1"))
        conn.execute(text("UPDATE visits SET page = '@SUM(1)' WHERE id = 2"))
    hosting = "    name: Hosting provider\n    type: processor\n    receives: unstated\n"
    policy = (justuno.root / "troth.yaml").read_text()
    policy = policy.replace(hosting, hosting + "    categories: [user.behavior]\n")
    (justuno.root / "troth.yaml").write_text(policy)
    justuno.export("hosting_provider", "pages.csv")
    pages = [r["page"] for r in csv_rows((justuno.root / "pages.csv").read_text())]
    assert '\'=HYPERLINK("http://x")' in pages and "'@SUM(1)" in pages
    assert not any(p.startswith(("=", "+", "-", "@")) for p in pages)


def test_unknown_recipients_forms_and_purposes_are_refused(justuno: App) -> None:
    with pytest.raises(NotFound, match="no recipient 'brokers'"):
        justuno.export("brokers", "x.csv")
    with pytest.raises(Refused, match=r"receives data for analytics\.reporting, not essential"):
        justuno.export("business_partners", "x.zip", purpose="essential.service")
    with pytest.raises(Invalid, match="--format"):
        justuno.export("data_provider", "x.xlsx")
    assert not list(justuno.root.glob("x*")) and not list(justuno.root.glob(".x*"))


def test_authorities_need_an_approved_request_with_a_reference(justuno: App) -> None:
    ctx = justuno.ctx()
    with pytest.raises(Refused, match="approval"):
        justuno.export("government_officials", "all.zip")
    with pytest.raises(InvalidInput, match="reference"):
        sharing.request_disclosure(
            ctx,
            justuno.store,
            "government_officials",
            ("email", "visitor5@example.com"),
            reference=" ",
            actor="ann",
        )
    asked = sharing.request_disclosure(
        ctx, justuno.store, "government_officials", ("email", "visitor5@example.com"),
        reference="Court order 2026/117", actor="ann",
    )  # fmt: skip
    with pytest.raises(Refused, match="approve"):
        sharing.export_request(ctx, justuno.store, asked.id, justuno.root / "one.zip", actor="ann")
    with pytest.raises(Refused, match="someone other"):
        sharing.decide(justuno.store, asked.id, "ann", approve=True)
    sharing.decide(justuno.store, asked.id, "olga", approve=True)
    report = sharing.export_request(
        ctx, justuno.store, asked.id, justuno.root / "one.zip", actor="olga"
    )
    with zipfile.ZipFile(justuno.root / "one.zip") as zf:
        visitors = csv_rows(zf.read("app.visitors.csv").decode())
    assert [v["email"] for v in visitors] == ["Visitor5@Example.COM"]  # one person, raw
    assert report.people == 1
    assert disclosures.list_exports(justuno.store)[0].reference == "Court order 2026/117"
    with pytest.raises(Refused):  # exported once
        sharing.export_request(ctx, justuno.store, asked.id, justuno.root / "two.zip", actor="olga")
    with pytest.raises(Conflict):
        sharing.decide(justuno.store, asked.id, "olga", approve=False)


def test_a_disclosure_racing_another_is_refused_and_leaves_no_file(
    justuno: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request is marked done in the transaction recording the disclosure: of two
    runs that both found it approved, the one finishing second records nothing."""
    ctx = justuno.ctx()
    asked = sharing.request_disclosure(
        ctx, justuno.store, "government_officials", ("email", "visitor5@example.com"),
        reference="Case 9", actor="ann",
    )  # fmt: skip
    sharing.decide(justuno.store, asked.id, "olga", approve=True)
    real, raced = sharing_requests.share_export, list[sharing.ShareReport]()

    def racing(*args: Any, **options: Any) -> sharing.ShareReport:
        if not raced:  # the other run starts after this one read the request, and wins
            monkeypatch.setattr(sharing_requests, "share_export", real)
            out = justuno.root / "one.zip"
            raced.append(sharing.export_request(ctx, justuno.store, asked.id, out, actor="olga"))
        return real(*args, **options)

    monkeypatch.setattr(sharing_requests, "share_export", racing)
    with pytest.raises(Conflict, match="meanwhile"):
        sharing.export_request(ctx, justuno.store, asked.id, justuno.root / "two.zip", actor="olga")
    assert [d.id for d in disclosures.list_exports(justuno.store)] == [raced[0].disclosure]
    assert sharing.get_request(justuno.store, asked.id).export_id == raced[0].disclosure
    assert sorted(p.name for p in justuno.root.iterdir() if p.suffix == ".zip") == ["one.zip"]
    assert not list(justuno.root.glob(".*partial"))


def test_lint_says_a_hash_is_not_anonymous() -> None:
    findings = lint(load_policy(POLICIES / "justuno.yaml"))
    assert any("data_provider receives hashed" in f.message for f in findings)


# ---- Nojoto: service providers get de-identified data only -----------------------------

MEMBERS = """
CREATE TABLE members (
    id INTEGER PRIMARY KEY, name TEXT, email TEXT, born DATE, city TEXT, status TEXT
);
CREATE TABLE stories (
    id INTEGER PRIMARY KEY, member_id INTEGER REFERENCES members(id), body TEXT,
    views INTEGER, posted_at TEXT, ip TEXT
);
"""

MEMBER_MAP = """
troth: 1
stores:
  app: {type: sql, url: "sqlite:///APP"}
identities:
  email: {normalize: email}
  member_id: {normalize: integer}
tables:
  app.members:
    identities: {email: email, member_id: id}
    deactivate: {set: {status: inactive}, restore: {status: active}}
    columns:
      id: {categories: [user.unique_id]}
      name: {categories: [user.name]}
      email: {categories: [user.contact.email]}
      born: {categories: [user.demographic.date_of_birth]}
      city: {categories: [user.location.imprecise]}
      status: {categories: [user.account]}
  app.stories:
    links: [{column: member_id, to: members.id, owner: true}]
    columns:
      member_id: {categories: [user.unique_id]}
      body: {categories: [user.content.public]}
      views: {categories: [user.behavior]}
      posted_at: {categories: [user.behavior], anonymize: month}
      ip: {categories: [user.device.ip_address]}
"""


def member_rows() -> list[str]:
    rows = []
    for i in range(1, 13):
        born = "2016-05-01" if i == 12 else f"19{80 + i}-0{1 + i % 9}-1{i % 9}"
        status = "inactive" if i == 11 else "active"
        rows.append(
            f"INSERT INTO members VALUES ({i}, 'Member {i}', 'm{i}@example.in', '{born}', "
            f"'Pune', '{status}')"
        )
        rows.append(
            f"INSERT INTO stories VALUES ({i}, {i}, 'My story {i}', {i * 10}, "
            f"'2026-03-1{i % 9}T08:30:00', '192.168.{i}.20')"
        )
    return rows


def test_nojotos_service_providers_get_only_de_identified_data(tmp_path: Path) -> None:
    app = own_app(tmp_path / "nojoto", "nojoto", MEMBERS, MEMBER_MAP, member_rows())
    try:
        with pytest.raises(Refused, match="de-identified information"):
            app.export("service_providers", "raw.jsonl", form=Form.raw)
        report = app.export("service_providers", "members.jsonl")
        out = lines(app.root / "members.jsonl")
    finally:
        app.engine.dispose()
        app.store.dispose()
    members = [r for r in out if r["table"] == "app.members"]
    stories = [r for r in out if r["table"] == "app.stories"]
    # names, e-mails, ids, free text: dropped; birth dates to the year, times to the month,
    # network addresses to their /24
    assert all(set(m) == {"table", "born", "city"} for m in members)
    assert {m["born"][5:] for m in members} == {"01-01"}
    assert all(set(s) == {"table", "views", "posted_at", "ip"} for s in stories)
    assert {s["posted_at"][:10] for s in stories} == {"2026-03-01"}
    assert all(s["ip"].endswith(".0") for s in stories)
    # a deactivated account and one under the policy's minimum age (13) are left out
    assert report.excluded == {"account deactivated": 1, "under the minimum age": 1}
    assert len(members) == len(stories) == 10
    assert report.dropped["app.members"] == ["id", "name", "email", "status"]


# ---- JustOrder: shared only with consent, never for marketing --------------------------

CUSTOMERS = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, phone TEXT);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), total REAL
);
CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY, order_id INTEGER REFERENCES orders(id), item TEXT
);
"""

CUSTOMER_MAP = """
troth: 1
stores:
  app: {type: sql, url: "sqlite:///APP"}
identities:
  email: {normalize: email}
  phone: {normalize: phone, region: MY}
  customer_id: {normalize: integer}
tables:
  app.customers:
    identities: {email: email, phone: phone, customer_id: id}
    columns:
      id: {categories: [user.unique_id]}
      email: {categories: [user.contact.email]}
      phone: {categories: [user.contact.phone_number]}
  app.orders:
    links: [{column: customer_id, to: customers.id, owner: true}]
    columns:
      total: {categories: [user.financial]}
  app.order_lines:
    links: [{column: order_id, to: orders.id, owner: true}]
    columns:
      item: {categories: [user.behavior.purchase_history]}
"""


def test_justorders_consent_gated_sharing_leaves_out_those_without_consent(tmp_path: Path) -> None:
    rows = []
    for i in range(1, 7):
        rows.append(f"INSERT INTO customers VALUES ({i}, 'c{i}@example.my', '+6012345678{i}')")
        rows.append(f"INSERT INTO orders VALUES ({i}, {i}, {i}.5)")
        rows.append(f"INSERT INTO order_lines VALUES ({i}, {i}, 'item {i}')")
    app = own_app(tmp_path / "justorder", "justorder", CUSTOMERS, CUSTOMER_MAP, rows)
    try:
        for subject in ("customer_id:1", "email:c2@example.my", "customer_id:3"):
            record_choices(
                app.project, app.store, subject, {"third_party_sharing": True}, source="api"
            )
        record_choices(
            app.project, app.store, "customer_id:3", {"third_party_sharing": False}, source="api"
        )
        restriction = rights.create_request(
            app.project, app.store, "restriction", "phone", "+60123456781"
        )
        rights.verify_request(app.project, app.store, restriction.id)
        rights.run_request(app.project, app.store, restriction.id)
        report = app.export("with_consent", "partner.jsonl")
        with pytest.raises(Refused, match="never use data for marketing"):
            app.export("with_consent", "m.jsonl", purpose="marketing.communications")
        out = lines(app.root / "partner.jsonl")
    finally:
        app.engine.dispose()
        app.store.dispose()
    # customer 2 granted by e-mail; 1 restricted processing; 3 withdrew; 4-6 never asked
    assert {r["email"] for r in out if r["table"] == "app.customers"} == {"c2@example.my"}
    assert [r["item"] for r in out if r["table"] == "app.order_lines"] == ["item 2"]  # two hops
    assert report.excluded == {"processing restricted": 1, "consent withdrawn": 1, "no consent": 3}


GIFT_CARDS = """
CREATE TABLE gift_cards (
    id INTEGER PRIMARY KEY, sender_id INTEGER REFERENCES customers(id),
    recipient_id INTEGER REFERENCES customers(id), message TEXT
);
"""

GIFT_CARD_MAP = """
  app.gift_cards:
    links:
      - {column: sender_id, to: customers.id, owner: true}
      - {column: recipient_id, to: customers.id, owner: true}
    columns:
      message: {categories: [user.content.private]}
"""


def test_a_row_of_two_people_leaves_only_when_both_are_in(tmp_path: Path) -> None:
    """A gift card belongs to its sender and its recipient: one who did not consent keeps
    it from leaving (counted as withheld); the self-link `referred_by` on the account
    table changes nothing."""
    schema = CUSTOMERS.replace("phone TEXT)", "phone TEXT, referred_by INTEGER)") + GIFT_CARDS
    datamap = (
        CUSTOMER_MAP.replace(
            "      phone: {categories: [user.contact.phone_number]}\n",
            "      phone: {categories: [user.contact.phone_number]}\n"
            "    links: [{column: referred_by, to: customers.id, owner: false}]\n",
        )
        + GIFT_CARD_MAP
    )
    rows = [f"INSERT INTO customers VALUES ({i}, 'c{i}@example.my', NULL, {i - 1 or 'NULL'})"
            for i in range(1, 5)]  # fmt: skip
    cards = [(1, 1, 2), (2, 1, 3), (3, 3, 1), (4, 2, None), (5, 4, 2)]
    rows += [f"INSERT INTO gift_cards VALUES ({i}, {s}, {r or 'NULL'}, 'card {i}')"
             for i, s, r in cards]  # fmt: skip
    app = own_app(tmp_path / "justorder", "justorder", schema, datamap, rows)
    try:
        for customer in (1, 2, 4):
            record_choices(app.project, app.store, f"customer_id:{customer}",
                           {"third_party_sharing": True}, source="api")  # fmt: skip
        report = app.export("with_consent", "partner.jsonl")
        out = lines(app.root / "partner.jsonl")
    finally:
        app.engine.dispose()
        app.store.dispose()
    assert sorted(r["id"] for r in out if r["table"] == "app.customers") == [1, 2, 4]
    # 2 (to 3) and 3 (from 3) are also customer 3's, who did not consent
    assert [r["message"] for r in out if r["table"] == "app.gift_cards"] == [
        "card 1", "card 4", "card 5",
    ]  # fmt: skip
    assert report.withheld == {"app.gift_cards": 1}  # card 3's sender is out: not withheld
    assert report.excluded == {"no consent": 1}


# ---- the reference app, on every engine ------------------------------------------------


@pytest.fixture
def refapp(tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    root = tmp_path / "refapp"
    root.mkdir()
    for name in ("datamap.yaml", "troth.yaml"):
        shutil.copy(REFAPP / name, root / name)
    (root / "troth.toml").write_text("")
    generate(any_db_url, users=40, blobs_dir=root / "blobs", seed=7, chunk=100)
    monkeypatch.setenv("REFAPP_DB_URL", any_db_url)
    monkeypatch.setenv("REFAPP_BLOBS", str(root / "blobs"))
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    project = open_project(root)
    app = App(project, open_store(project.store_url), create_engine(any_db_url), root)
    yield app
    app.engine.dispose()
    app.store.dispose()


def test_refapp_partners_get_only_people_who_allow_it(refapp: App) -> None:
    active = [
        str(i)
        for (i,) in refapp.rows(
            "SELECT id FROM users WHERE status = 'active' AND deleted_at IS NULL "
            "AND date_of_birth <= '2010-01-01' ORDER BY id"
        )
    ]
    granted, gpc = active[:6], active[6]
    for user in [*granted, gpc]:
        record_choices(
            refapp.project, refapp.store, f"user_id:{user}",
            {"marketing.advertising.third_party.targeted": True}, source="api",
        )  # fmt: skip
    record_gpc(refapp.project, refapp.store, f"user_id:{gpc}")
    report = refapp.export("advertising_partners", "ads.zip")

    with zipfile.ZipFile(refapp.root / "ads.zip") as zf:
        users = csv_rows(zf.read("app.users.csv").decode())
    assert len(users) == len(granted) and report.excluded["global privacy control"] == 1
    assert all(u["email"].startswith("ps_") for u in users)
    emails = {e.lower() for (e,) in refapp.rows("SELECT email FROM users")}
    blob = (refapp.root / "ads.zip").read_bytes()
    assert not any(e.encode() in blob for e in emails)
    people = {u["subject"] for u in users}
    assert len(people) == len(granted)


@pytest.mark.parametrize("epsilon", [None, 1.0])
def test_the_store_counts_aggregates_as_rows_fed_one_by_one_would(
    refapp: App, monkeypatch: pytest.MonkeyPatch, epsilon: float | None
) -> None:
    """The GROUP BY among the admitted accounts gives the cells the row-by-row count
    gives (people per group, with one group each under epsilon; rows and sums). Plain
    dimensions only: a generalized one (an IP address's network) is counted row by row."""
    noise = f", epsilon: {epsilon}" if epsilon else ""
    policy = refapp.root / "troth.yaml"
    policy.write_text(policy.read_text().replace(
        "    receives: aggregate\n",
        "    receives: aggregate\n"
        f"    aggregate: {{dimensions: [user.behavior.browsing_history]{noise}}}\n",
    ))  # fmt: skip
    for (user,) in refapp.rows("SELECT id FROM users ORDER BY id")[:25]:
        record_choices(refapp.project, refapp.store, f"user_id:{user}",
                       {"analytics.reporting": True}, source="api")  # fmt: skip
    cells: list[dict[str, Any]] = []
    real_release, real_groups = Aggregate.release, sharing_export.owned_groups
    pushed: list[str] = []

    def release(cut: Aggregate) -> tuple[list[dict[str, Any]], int]:
        counted = {k: (c.people, c.rows if epsilon is None else 0) for k, c in cut.cells.items()}
        cells.append({"dims": list(cut.dimensions), "cells": counted})
        return real_release(cut)

    def groups(*args: Any, **options: Any) -> Any:
        found = real_groups(*args, **options)
        pushed.extend([args[1]] if found is not None else [])
        return found

    monkeypatch.setattr(Aggregate, "release", release)
    monkeypatch.setattr(sharing_export, "owned_groups", groups)
    by_store = refapp.export("business_partners", "store.zip")
    monkeypatch.setattr(sources.Source, "countable_by_store", lambda _s, _d: False)
    by_rows = refapp.export("business_partners", "rows.zip")
    half = len(cells) // 2
    assert pushed and cells[:half] == cells[half:]
    assert by_store.people == by_rows.people
    if epsilon is None:  # under epsilon each export's noise decides anew which cells leave
        assert by_store.tables == by_rows.tables
        assert by_store.suppressed_groups == by_rows.suppressed_groups


def test_a_restriction_under_any_identity_stops_a_purpose_without_consent(refapp: App) -> None:
    """Without a consent purpose, the gate needs only the account's own pseudonym, until
    a limit stands: then one under the person's e-mail still keeps them out."""
    before = refapp.export("hosting", "before.zip")
    assert "processing restricted" not in before.excluded
    [(email,)] = refapp.rows(
        "SELECT email FROM users WHERE status = 'active' AND deleted_at IS NULL "
        "AND date_of_birth <= '2000-01-01' ORDER BY id LIMIT 1"
    )
    restriction = rights.create_request(refapp.project, refapp.store, "restriction", "email", email)
    rights.verify_request(refapp.project, refapp.store, restriction.id)
    rights.run_request(refapp.project, refapp.store, restriction.id)
    after = refapp.export("hosting", "after.zip")
    assert after.excluded["processing restricted"] == 1
    assert after.people == before.people - 1
    with zipfile.ZipFile(refapp.root / "after.zip") as zf:
        assert email.encode() not in zf.read("app.users.csv")
