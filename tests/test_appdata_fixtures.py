"""Apps troth was not written for (tests/appfixtures), on SQLite, PostgreSQL and MariaDB.

First as a new user would: `troth scan` the app and run access and erasure requests
for every chosen person on the unreviewed proposal. Whatever the proposal says, no
other person's row may change or appear in an export: a request either keeps to the
subject's rows or is refused with a reason, changing nothing.

Then on a reviewed data map (written by hand per fixture, beside this file): an
erasure leaves no trace of the subject outside rows kept with a reason, and an
access export holds exactly the subject's rows as hand-written SQL counts them.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import phonenumbers
import pytest
from sqlalchemy import Engine, create_engine, text

from appfixtures import FIXTURES, Subject, query
from appfixtures.base import Dump, Row
from troth import rights
from troth.datamap import dispose_engines, load_datamap
from troth.datamap.scan import scan
from troth.datamap.validate import validate
from troth.errors import AppStoreError, Refused
from troth.project import Project, open_project
from troth.store import Store, open_store

HERE = Path(__file__).resolve().parent
POLICY = """\
troth: 1
policy: {name: Fixture app, version: "1"}
organization: {name: Fixture Inc.}
contacts: {privacy_email: privacy@fixture.example}
purposes:
  - key: service
    name: Running the app
    categories: [user]
    legal_basis: contract
rights:
  offered: [{right: access}, {right: erasure}]
"""
Keys = dict[str, set[tuple[str, ...]]]  # table -> keys of rows, as text


@dataclass
class App:
    fixture: ModuleType
    engine: Engine
    project: Project
    store: Store

    def request(self, kind: str, identity: str, value: str) -> rights.Request:
        """Create, verify and run a request; a refusal leaves it failed."""
        made = rights.create_request(self.project, self.store, kind, identity, value)
        rights.verify_request(self.project, self.store, made.id)
        try:
            return rights.run_request(self.project, self.store, made.id)
        except (Refused, AppStoreError):
            return rights.get_request(self.store, made.id)

    def own(self, subject: Subject) -> Keys:
        """The subject's rows now, by key: those the fixture's hand-written SQL finds, and
        rows elsewhere that hold the subject's own e-mail or phone (their address in
        someone's invitation is data about them, as a number in a phonebook is)."""
        keys = {t: {as_text(k) for k in query(self.engine, e.sql)} for t, e in subject.rows.items()}
        for table, rows in self.fixture.dump(self.engine).items():
            for row in rows:
                if any(holds(subject, value, self.fixture.DEFAULT_REGION) for value in row):
                    keys.setdefault(table, set()).add(as_text(self.key_of(table, row)))
        return keys

    def key_of(self, table: str, row: Row) -> Row:
        """The row's key as the fixture's queries select it: the primary key, else the
        columns of a unique index, else every column."""
        spec = self.table(table)
        names = [c.name for c in spec.columns]
        unique = [[c.name for c in i.columns] for i in spec.indexes if i.unique]
        keyed = [c.name for c in spec.primary_key] or (unique[0] if unique else names)
        return tuple(row[names.index(c)] for c in keyed)

    def table(self, name: str) -> Any:
        return next(t for t in self.fixture.TABLES if t.name == name)

    def others(self, dump: Dump, own: Keys) -> Dump:
        return {
            t: [r for r in rows if as_text(self.key_of(t, r)) not in own.get(t, set())]
            for t, rows in dump.items()
        }

    def exported(self, request: rights.Request) -> dict[str, list[dict[str, Any]]]:
        with zipfile.ZipFile(
            io.BytesIO(b"".join(rights.read_export(self.project, request.id)))
        ) as zf:
            return {
                name.split("/")[-1].removesuffix(".json"): json.loads(zf.read(name))
                for name in zf.namelist()
                if name.startswith("data/") and name.endswith(".json")
            }


def open_app(tmp_path: Path, url: str, fixture: ModuleType, datamap: str | None) -> Iterator[App]:
    engine = create_engine(url)
    fixture.create(engine)
    root = tmp_path / "project"
    root.mkdir()
    (root / "troth.yaml").write_text(POLICY)
    if datamap is None:
        proposal = scan(url, root=root)
        (root / "datamap.yaml").write_text(proposal.to_yaml("# troth scan, unreviewed\n"))
    else:
        (root / "datamap.yaml").write_text(datamap.replace("${APP_DB_URL}", url))
    project = open_project(root)
    store = open_store(project.store_url)
    try:
        yield App(fixture, engine, project, store)
    finally:
        store.dispose()
        engine.dispose()
        dispose_engines()


def holds(subject: Subject, value: object, region: str) -> bool:
    """Whether a stored value is the subject's e-mail or phone, in any writing."""
    if not isinstance(value, str) or len(value) > 64:
        return False
    if subject.email is not None and value.strip().lower() == subject.email.lower():
        return True
    if subject.phone_e164 is None or "@" in value:
        return False
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return False
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return bool(e164 == subject.phone_e164)


def identities(subject: Subject) -> list[tuple[str, str]]:
    given = (("email", subject.email), ("phone", subject.phone))
    return [(kind, value) for kind, value in given if value is not None]


def as_text(row: Row) -> tuple[str, ...]:
    """A key compared across drivers and the export's JSON (timestamps as ISO text)."""
    return tuple(same_text(v) for v in row)


def same_text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-":
        try:
            return dt.datetime.fromisoformat(value).isoformat(" ")
        except ValueError:
            return value
    return str(value)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_an_unreviewed_scan_never_reaches_another_person(
    name: str, any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every access first (by each identity the proposal knows), then one erasure per
    person: once a person is erased, a phone they shared names the other holder alone."""
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    for app in open_app(tmp_path, any_db_url, FIXTURES[name], None):
        declared = app.project.datamap_path.read_text()
        asked = [
            (subject, identity, value)
            for subject in app.fixture.SUBJECTS
            for identity, value in identities(subject)
            if f"  {identity}:" in declared  # the proposal knows such an identity
        ]
        shared = {p.phone for p in app.fixture.SHARED_PHONES}
        for subject, identity, value in asked:
            done = attempt(app, subject, "access", identity, value)
            if value in shared:  # a shared phone names nobody
                assert done.status == "failed" or done.result["found"] is False
        first = {subject.key: (subject, i, v) for subject, i, v in reversed(asked)}
        for subject, identity, value in first.values():
            attempt(app, subject, "erasure", identity, value)


def attempt(app: App, subject: Subject, kind: str, identity: str, value: str) -> rights.Request:
    """Run one request; check that no other person's row changed or was exported."""
    own = app.own(subject)
    before = app.fixture.dump(app.engine)
    done = app.request(kind, identity, value)
    after = app.fixture.dump(app.engine)
    assert app.others(after, own) == app.others(before, own), (subject.key, kind, identity)
    if done.status == "failed":
        assert after == before and done.error  # a refusal says why and changes nothing
    elif kind == "access":
        check_export_is_only_theirs(app, done, own)
    return done


def check_export_is_only_theirs(app: App, done: rights.Request, own: Keys) -> None:
    for table, rows in app.exported(done).items():
        columns = [c.name for c in app.table(table).columns]
        mine = own.get(table, set())
        for row in rows:
            key = app.key_of(table, tuple(row.get(c) for c in columns))
            assert as_text(key) in mine, (table, "another person's row in the export")


# Tables a reviewed map leaves out, and why (the test names them instead of skipping).
NOT_MAPPED = {"odd": {"NewsletterSignup": "no key: troth cannot address its rows"}}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_a_reviewed_map_exports_every_row_and_erases_every_trace(
    name: str, any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    fixture = FIXTURES[name]
    reviewed = (HERE / "appfixtures" / f"{name}.datamap.yaml").read_text()
    left_out = NOT_MAPPED.get(name, {})
    for app in open_app(tmp_path, any_db_url, fixture, reviewed):
        named = [(s, *identities(s)[0]) for s in fixture.SUBJECTS if identities(s)]
        for subject, identity, value in named:
            done = attempt(app, subject, "access", identity, value)
            assert done.status == "completed", (subject.key, done.error)
            exported = exported_keys(app, done)
            for table, expect in subject.rows.items():
                if table not in left_out:
                    wanted = {as_text(k) for k in query(app.engine, expect.sql)}
                    assert wanted <= exported.get(table, set()), (subject.key, table)
        for subject, identity, value in named:
            done = attempt(app, subject, "erasure", identity, value)
            assert done.status == "completed", (subject.key, done.error)
            for table, rows in app.fixture.dump(app.engine).items():
                if table in fixture.KEPT or table in left_out:
                    continue
                held = [str(v) for row in rows for v in row if v is not None]
                for trace in subject.traces:
                    assert not any(trace in v for v in held), (subject.key, table, trace)


def exported_keys(app: App, done: rights.Request) -> dict[str, set[tuple[str, ...]]]:
    out: dict[str, set[tuple[str, ...]]] = {}
    for table, rows in app.exported(done).items():
        columns = [c.name for c in app.table(table).columns]
        out[table] = {as_text(app.key_of(table, tuple(r.get(c) for c in columns))) for r in rows}
    return out


def addresses_left(app: App) -> set[int]:
    return {int(row[0]) for row in app.fixture.dump(app.engine)["addresses"]}


def test_rows_a_person_points_at_are_theirs_unless_someone_else_points_there_too(
    any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`owns: true` (homes): a customer's address, the addresses their orders went to and
    their profile are read and erased with them; a household's address stays until its
    last member goes; a store's and the staff's addresses are never touched."""
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    reviewed = (HERE / "appfixtures" / "homes.datamap.yaml").read_text()
    homes = FIXTURES["homes"]
    for app in open_app(tmp_path, any_db_url, homes, reviewed):
        ann = app.request("access", "email", "ann.ash@example.com")
        exported = exported_keys(app, ann)
        assert exported["addresses"] == {("10",), ("11",)}
        assert exported["profiles"] == {("1",)}

        assert app.request("erasure", "email", "ann.ash@example.com").status == "completed"
        assert addresses_left(app) == {1, 2, 3, 4, 12, 13}

        ben = app.request("erasure", "email", "ben.birch@example.org")
        assert ben.result["kept"] == [
            {
                "table": "app.addresses",
                "rows": 1,
                "reason": "other people's rows refer to these rows too",
            }
        ]
        assert 12 in addresses_left(app)
        assert app.request("erasure", "email", "cat.birch@example.net").status == "completed"
        assert addresses_left(app) == {1, 2, 3, 4, 13}

        dan = app.request("erasure", "email", "dan.dale@example.com")
        assert dan.result["kept"][0]["table"] == "app.addresses"
        assert addresses_left(app) == set(homes.UNTOUCHED_ADDRESSES)
        assert [r[0] for r in app.fixture.dump(app.engine)["profiles"]] == [3]


def test_the_scan_proposes_owns_on_the_rows_a_person_points_at(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The proposal says `owns: true` where a customer's row or an order points at an
    address or a profile, never where staff or a store do, and validates without the
    warning that such rows are out of reach; the second e-mail addresses are `aliases`."""
    homes = FIXTURES["homes"]
    for app in open_app(tmp_path, sqlite_url, homes, None):
        datamap = load_datamap(app.project)
        owning = {
            (key.split(".")[-1], link.column)
            for key, table in datamap.tables.items()
            for link in table.links
            if link.owns
        }
        assert owning == {
            ("customers", "address_id"),
            ("customers", "profile_id"),
            ("orders", "shipping_address_id"),
        }
        assert [k for k, t in datamap.tables.items() if t.aliases] == ["app.customer_emails"]
        findings = validate(app.project, datamap)
        assert not [f for f in findings if " point to " in f.message]


def test_a_second_email_address_reaches_its_account_and_only_it(
    any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`aliases: true` (homes.customer_emails): a request by Cat's second address is a
    request by her account; an address two accounts claim names nobody."""
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    reviewed = (HERE / "appfixtures" / "homes.datamap.yaml").read_text()
    for app in open_app(tmp_path, any_db_url, FIXTURES["homes"], reviewed):
        done = app.request("access", "email", "cat.at.work@example.com")
        assert done.status == "completed", done.error
        exported = exported_keys(app, done)
        assert exported["customers"] == {("3",)} and exported["orders"] == {("4",)}
        assert exported["addresses"] == {("12",)} and exported["customer_emails"] == {("1",)}

        with app.engine.begin() as conn:  # Fin claims Ann's address as a second one
            conn.execute(
                text(
                    "INSERT INTO customer_emails (email_id, customer_id, email, verified)"
                    " VALUES (3, 6, 'ann.ash@example.com', :no)"
                ),
                {"no": False},
            )
        before = app.fixture.dump(app.engine)
        refused = app.request("erasure", "email", "ann.ash@example.com")
        assert refused.status == "failed" and "names 2 accounts" in str(refused.error)
        assert app.fixture.dump(app.engine) == before
