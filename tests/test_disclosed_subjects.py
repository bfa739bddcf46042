"""Past disclosures in an access summary name only exports that carried the subject.

A person's own rows can hold other people's identities: the numbers in their phonebook
are their contacts', the addresses on the invitations they sent are the invitees'. An
export that carried one of those people (known by that phone or e-mail) is not a
disclosure of the requester's data, and listing it would tell them about someone
else. A small app of our own, with the phonebook and the invitations either streamed
(leaf tables) or held in memory (another table links to them), and a map of one
ownerless table of addresses (every table streamed).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from troth import rights
from troth.appdata import load_context, resolve
from troth.datamap import dispose_engines
from troth.disclosures import Disclosure, record_export
from troth.project import Project, open_project
from troth.rights.disclosed import disclosures_ahead
from troth.store import Store, open_store

POLICY = """\
troth: 1
policy: {name: Contacts, version: "1"}
organization: {name: Contacts Inc.}
contacts: {privacy_email: privacy@contacts.example}
purposes:
  - key: service
    name: Running the address book
    categories: [user.contact, user.name, user.unique_id]
    legal_basis: contract
rights:
  offered: [{right: access}, {right: erasure}]
"""
SCHEMA = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(120) NOT NULL, phone VARCHAR(40))",
    """CREATE TABLE phonebook_entries (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL,
       contact_phone VARCHAR(40), name VARCHAR(80),
       FOREIGN KEY (owner_id) REFERENCES users (id))""",
    """CREATE TABLE invites (id INTEGER PRIMARY KEY, inviter_id INTEGER NOT NULL,
       invitee_email VARCHAR(120), FOREIGN KEY (inviter_id) REFERENCES users (id))""",
    """CREATE TABLE labels (id INTEGER PRIMARY KEY, entry_id INTEGER, invite_id INTEGER,
       label VARCHAR(40), FOREIGN KEY (entry_id) REFERENCES phonebook_entries (id),
       FOREIGN KEY (invite_id) REFERENCES invites (id))""",
    "CREATE INDEX users_email ON users (email)",
    "CREATE INDEX users_phone ON users (phone)",
    "CREATE INDEX phonebook_phone ON phonebook_entries (contact_phone)",
    "CREATE INDEX invites_email ON invites (invitee_email)",
)
ROWS = (
    "INSERT INTO users VALUES (1, 'ann@people.example', '+1 415 555 0101')",
    "INSERT INTO users VALUES (2, 'ben@people.example', '(415) 555-0102')",
    # Ann's phonebook holds Ben's number and a stranger's; Ben's holds Ann's
    "INSERT INTO phonebook_entries VALUES (1, 1, '415-555-0102', 'Ben')",
    "INSERT INTO phonebook_entries VALUES (2, 1, '+1 415 555 0199', 'Dee')",
    "INSERT INTO phonebook_entries VALUES (3, 2, '+14155550101', 'Ann')",
    # Ann invited Cal, who has no account
    "INSERT INTO invites VALUES (1, 1, 'Cal@people.example')",
    "INSERT INTO labels VALUES (1, 1, 1, 'friends')",
)
ANN, BEN, CAL = "ann@people.example", "+14155550102", "cal@people.example"


STORE = """\
troth: 1
stores:
  app: {type: sql, url: "${CONTACTS_DB_URL}"}
identities:
  email: {normalize: email, verified: true}
"""


def datamap(in_memory: bool) -> str:
    """The data map; `in_memory`: `labels` links to the phonebook and the invitations, so
    an access request holds their rows instead of streaming them (and the map says their
    rows are not accounts, as a table that links point to could be)."""
    not_accounts = "\n    account: false" if in_memory else ""
    labels = """\
  app.labels:
    links:
      - {column: entry_id, to: app.phonebook_entries.id, owner: true}
      - {column: invite_id, to: app.invites.id, owner: true}
    erase: delete
    columns:
      label: {categories: [user.content.private]}
"""
    return (
        STORE
        + f"""\
  phone: {{normalize: phone, region: US, verified: true}}
  user_id: {{normalize: integer}}
tables:
  app.users:
    identities: {{email: email, phone: phone, user_id: id}}
    erase: delete
    columns:
      id: {{categories: [user.unique_id], reason: the key other rows refer to}}
      email: {{categories: [user.contact.email]}}
      phone: {{categories: [user.contact.phone_number]}}
  app.phonebook_entries:
    identities: {{phone: contact_phone}}
    links: [{{column: owner_id, to: app.users.id, owner: true}}]
    erase: delete{not_accounts}
    columns:
      contact_phone: {{categories: [user.contact.phone_number]}}
      name: {{categories: [user.name]}}
  app.invites:
    identities: {{email: invitee_email}}
    links: [{{column: inviter_id, to: app.users.id, owner: true}}]
    erase: delete{not_accounts}
    columns:
      invitee_email: {{categories: [user.contact.email]}}
{labels if in_memory else ""}"""
    )


SIGN_UPS = (
    STORE
    + """\
tables:
  app.invites:
    identities: {email: invitee_email}
    erase: delete
    columns:
      invitee_email: {categories: [user.contact.email]}
"""
)


@dataclass
class Book:
    project: Project
    store: Store
    engine: Engine

    def disclose(self, reference: str, kind: str, value: str) -> None:
        """Record an export to a partner that carried one person, known by `value`."""
        carried = self.project.subject_ref(kind, value)
        disclosure = Disclosure(
            recipient="partner",
            form="raw",
            purposes=("service",),
            legal_basis="contract",
            categories=("user.contact",),
            rows=1,
            people=1,
            file_sha256="0" * 64,
            actor="test",
            reference=reference,
        )
        record_export(self.store, disclosure, [carried])

    def summary(self, kind: str, value: str) -> str:
        """summary.html of an access request run for `value`."""
        made = rights.create_request(self.project, self.store, "access", kind, value)
        rights.verify_request(self.project, self.store, made.id)
        done = rights.run_request(self.project, self.store, made.id)
        assert done.status == "completed", done.error
        data = b"".join(rights.read_export(self.project, made.id))
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return zf.read("summary.html").decode()


@pytest.fixture(params=[False, True], ids=["streamed", "in-memory"])
def book(
    request: pytest.FixtureRequest, tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Book]:
    yield from open_book(tmp_path, any_db_url, monkeypatch, datamap(in_memory=request.param))


@pytest.fixture
def sign_ups(tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Book]:
    """The invitations alone, as a list of addresses no account owns: every table of the
    map is a leaf, streamed."""
    yield from open_book(tmp_path, any_db_url, monkeypatch, SIGN_UPS)


def open_book(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, map_text: str
) -> Iterator[Book]:
    root = tmp_path / "contacts"
    root.mkdir()
    (root / "troth.yaml").write_text(POLICY)
    (root / "datamap.yaml").write_text(map_text)
    monkeypatch.setenv("CONTACTS_DB_URL", url)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in (*SCHEMA, *ROWS):
            conn.execute(text(statement))
    project = open_project(root)
    store = open_store(project.store_url)
    made = Book(project, store, engine)
    made.disclose("carried-ann", "user_id", "1")
    made.disclose("carried-anns-phone", "phone", "+14155550101")
    made.disclose("carried-ben", "phone", BEN)
    made.disclose("carried-cal", "email", CAL)
    try:
        yield made
    finally:
        engine.dispose()
        store.dispose()
        dispose_engines()


def test_a_summary_leaves_out_the_exports_of_people_in_ones_own_rows(book: Book) -> None:
    summary = book.summary("email", ANN)
    assert "reference carried-ann<" in summary and "reference carried-anns-phone<" in summary
    assert "carried-ben" not in summary and "carried-cal" not in summary


def test_the_people_in_those_rows_still_see_their_own(book: Book) -> None:
    ben = book.summary("phone", BEN)
    assert "reference carried-ben<" in ben
    assert "carried-ann" not in ben and "carried-cal" not in ben
    cal = book.summary("email", CAL)
    assert "reference carried-cal<" in cal
    assert "carried-ann" not in cal and "carried-ben" not in cal


def test_past_disclosures_of_rows_held_in_memory(book: Book) -> None:
    """`resolve` reads every table (nothing streamed): the same rule on its rows."""
    ctx = load_context(book.project)
    with ctx.reading() as conns:
        found = resolve(ctx.datamap, conns, "email", ANN)
    held = {part.key for part in found.values() if part.owned()}
    assert {"app.phonebook_entries", "app.invites"} <= held
    listed = [d.reference for d in disclosures_ahead(ctx, book.store, found)()]
    assert listed == ["carried-ann", "carried-anns-phone"]


def test_a_map_of_streamed_tables_only_still_lists_the_subjects_own(sign_ups: Book) -> None:
    summary = sign_ups.summary("email", CAL)
    assert "reference carried-cal<" in summary and "carried-ann" not in summary
