"""Blind indexes: an app that keeps e-mail addresses only sealed is still searched by them."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from troth import Troth, rights, vault
from troth.appdata import load_context, resolve
from troth.datamap import dispose_engines, load_datamap
from troth.datamap.dump import to_yaml
from troth.datamap.fides import read_fides, to_fides
from troth.errors import InvalidInput
from troth.project import Project, open_project
from troth.store import Store, open_store
from troth.vault.keys import KEK_ENV

DATAMAP = """\
troth: 1
stores:
  app: {type: sql, url: "sqlite:///app.db"}
identities:
  email: {normalize: email}
  user_id: {normalize: integer}
tables:
  app.accounts:
    identities: {email: email_index, user_id: id}
    erase: update
    columns:
      id: {categories: [user.unique_id], reason: other rows refer to it}
      email_index: {categories: [user.contact.email], blind_index: true, erase: "null"}
      email: {categories: [user.contact.email], encrypted: true, subject: "user:{id}", erase: shred}
  app.notes:
    links: [{column: account_id, to: app.accounts.id, owner: true}]
    columns:
      id: {}
      account_id: {}
      body: {categories: [user.content], encrypted: true, subject: "user:{account_id}"}
"""
POLICY = """\
troth: 1
policy: {name: Notes, version: "1"}
organization: {name: Notes Inc.}
contacts: {privacy_email: privacy@notes.example}
purposes:
  - {key: service, name: Service, categories: [user], legal_basis: contract}
rights:
  offered: [{right: access}, {right: erasure}]
  deadlines: {gdpr: 30}
"""
PEOPLE = {1: "Ann.Lee@Example.com", 2: "bob@example.com"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Project, Store]]:
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    monkeypatch.delenv(KEK_ENV, raising=False)
    (tmp_path / "datamap.yaml").write_text(DATAMAP)
    (tmp_path / "troth.yaml").write_text(POLICY)
    project = open_project(tmp_path)
    store = open_store(project.store_url)
    app = Troth(project, store)
    sealer = app.vault
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE accounts (id INTEGER PRIMARY KEY, email_index TEXT, email TEXT)")
        )
        conn.execute(text("CREATE INDEX accounts_email_index ON accounts (email_index)"))
        conn.execute(
            text("CREATE TABLE notes (id INTEGER PRIMARY KEY, account_id INTEGER, body TEXT)")
        )
        for user, email in PEOPLE.items():
            subject = f"user:{user}"
            conn.execute(
                text("INSERT INTO accounts VALUES (:id, :index, :email)"),
                {
                    "id": user,
                    "index": app.blind_index("email", email),
                    "email": sealer.encrypt(subject, email, field="accounts.email"),
                },
            )
            conn.execute(
                text("INSERT INTO notes (account_id, body) VALUES (:id, :body)"),
                {
                    "id": user,
                    "body": sealer.encrypt(subject, f"note of {user}", field="notes.body"),
                },
            )
    engine.dispose()
    yield project, store
    store.dispose()
    dispose_engines()


def test_an_encrypted_identity_is_found_through_its_blind_index(
    project: tuple[Project, Store],
) -> None:
    proj, store = project
    ctx = load_context(proj)
    with ctx.reading() as conns:
        found = resolve(ctx.datamap, conns, "email", "ann.lee@example.com")
    assert [r.values["id"] for r in found["app.accounts"].owned()] == [1]
    assert [r.values["body"][:4] for r in found["app.notes"].owned()] == ["tv1:"]
    request = rights.create_request(proj, store, "access", "email", "ANN.LEE@example.com")
    done = rights.run_request(proj, store, rights.verify_request(proj, store, request.id).id)
    assert done.result["tables"] == {"app.accounts": 1, "app.notes": 1}
    data = b"".join(rights.read_export(proj, done.id))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (account,) = json.loads(zf.read("data/app/accounts.json"))
        (note,) = json.loads(zf.read("data/app/notes.json"))
    assert account["email"] == PEOPLE[1] and note["body"] == "note of 1"


def test_erasure_by_email_shreds_only_that_person(project: tuple[Project, Store]) -> None:
    proj, store = project
    engine = create_engine(f"sqlite:///{proj.root / 'app.db'}")
    with engine.connect() as conn:  # what a backup holds
        notes = dict(conn.execute(text("SELECT account_id, body FROM notes")).all())
    request = rights.create_request(proj, store, "erasure", "email", "ann.lee@example.com")
    done = rights.run_request(proj, store, rights.verify_request(proj, store, request.id).id)
    assert done.status == "completed"
    reader = vault.open_vault(proj.root)
    assert reader.is_shredded("user:1") and not reader.is_shredded("user:2")
    with engine.connect() as conn:
        left = conn.execute(text("SELECT account_id FROM notes")).scalars().all()
    engine.dispose()
    assert left == [2]  # the subject's note is deleted; its backed-up copy is dead too
    with pytest.raises(vault.Shredded):
        reader.decrypt("user:1", notes[1], field="notes.body")
    assert reader.decrypt("user:2", notes[2], field="notes.body") == "note of 2"


def test_the_data_map_checks_vault_columns(tmp_path: Path) -> None:
    bad = DATAMAP.replace('encrypted: true, subject: "user:{id}", erase: shred', "erase: shred")
    (tmp_path / "datamap.yaml").write_text(bad)
    with pytest.raises(InvalidInput, match="erase: shred needs encrypted: true"):
        load_datamap(open_project(tmp_path))
    bad = DATAMAP.replace('subject: "user:{id}"', 'subject: "user"')
    (tmp_path / "datamap.yaml").write_text(bad)
    with pytest.raises(InvalidInput, match="subject"):
        load_datamap(open_project(tmp_path))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('subject: "user:{account_id}"', 'subject: "user:{owner}"', "'owner'"),
        ("blind_index: true, erase", "erase", None),
        ("email_index: {categories", "email_lookup: {categories", "email_lookup"),
    ],
)
def test_vault_columns_must_be_in_the_table(
    tmp_path: Path, old: str, new: str, message: str | None
) -> None:
    text = DATAMAP.replace(old, new)
    if message is None:  # the identity's column holds plain values then: fine
        (tmp_path / "datamap.yaml").write_text(text)
        load_datamap(open_project(tmp_path))
        return
    (tmp_path / "datamap.yaml").write_text(text)
    with pytest.raises(InvalidInput, match=message):
        load_datamap(open_project(tmp_path))


def test_vault_columns_round_trip_through_fides(tmp_path: Path) -> None:
    (tmp_path / "datamap.yaml").write_text(DATAMAP)
    original = load_datamap(open_project(tmp_path))
    path = tmp_path / "fides.yaml"
    path.write_text(to_yaml(to_fides(original)))
    imported = read_fides(path)
    assert imported.notes == []
    assert imported.datamap.model_dump() == original.model_dump()
