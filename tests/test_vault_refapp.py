"""The vault on the reference app: messages.body and users.date_of_birth sealed.

The app reads them through the SDK, access exports show them in the clear, and an
erasure with `shred` makes every copy of the subject's values unreadable, a database
copied before the erasure included, while every other subject's values still open.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text

from troth import Troth, ledger, rights, vault
from troth.datamap import dispose_engines
from troth.project import Project, open_project
from troth.refapp import generate
from troth.store import Store, open_store
from troth.vault.keys import KEK_ENV

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "refapp"
USERS = 30
POLICY = """\
troth: 1
policy: {name: Refapp Privacy Policy, version: "1"}
organization: {name: Refapp Inc.}
contacts: {privacy_email: privacy@refapp.example}
purposes:
  - key: service
    name: Running the service
    categories: [user]
    legal_basis: contract
rights:
  offered: [{right: access}, {right: erasure}, {right: deactivation}]
  deadlines: {gdpr: 30}
"""


def vault_datamap(account_sealed: bool = True) -> str:
    """The reference data map with the two sealed columns shredded on erasure (or only
    messages.body, the account row sealing nothing of its own)."""
    document = yaml.safe_load((EXAMPLES / "datamap.yaml").read_text())
    users = document["tables"]["app.users"]["columns"]
    if account_sealed:
        users["date_of_birth"].update(encrypted=True, subject="user:{id}", erase="shred")
    document["tables"]["app.users"]["deactivate"].update(hide=["display_name"], subject="user:{id}")
    messages = document["tables"]["app.messages"]
    messages["erase"] = "update"
    messages["columns"]["body"].update(encrypted=True, subject="user:{sender_id}", erase="shred")
    return yaml.safe_dump(document, sort_keys=False)


@dataclass
class App:
    project: Project
    store: Store
    engine: Engine
    vault: vault.Vault
    url: str


def make_app(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, datamap: str | None = None
) -> Iterator[App]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "datamap.yaml").write_text(datamap or vault_datamap())
    (root / "troth.yaml").write_text(POLICY)
    monkeypatch.setenv("REFAPP_DB_URL", url)
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    monkeypatch.delenv(KEK_ENV, raising=False)
    project = open_project(root)
    store = open_store(project.store_url)
    sealer = vault.vault_for(project)
    generate(url, users=USERS, seed=5, vault=sealer)
    engine = create_engine(url)
    try:
        yield App(project, store, engine, sealer, url)
    finally:
        engine.dispose()
        store.dispose()
        dispose_engines()


@pytest.fixture
def app(tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from make_app(tmp_path, any_db_url, monkeypatch)


@pytest.fixture
def sqlite_app(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from make_app(tmp_path, sqlite_url, monkeypatch)


def rows(engine: Engine, sql: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql)).mappings()]


def busy_user(app: App) -> int:
    """A user who sent and received messages."""
    sql = (
        "SELECT sender_id FROM messages WHERE sender_id IN (SELECT recipient_id FROM messages)"
        " ORDER BY sender_id LIMIT 1"
    )
    return int(rows(app.engine, sql)[0]["sender_id"])


def run(app: App, kind: str, user_id: int) -> rights.Request:
    created = rights.create_request(app.project, app.store, kind, "user_id", str(user_id))
    verified = rights.verify_request(app.project, app.store, created.id)
    return rights.run_request(app.project, app.store, verified.id)


def opened(reader: vault.Vault, messages: list[dict[str, Any]]) -> dict[int, str]:
    return {
        m["id"]: reader.decrypt(f"user:{m['sender_id']}", m["body"], field="messages.body")
        for m in messages
    }


def test_the_app_stores_ciphertext_and_reads_it_through_the_sdk(app: App) -> None:
    messages = rows(app.engine, "SELECT id, sender_id, body FROM messages")
    assert messages and all(m["body"].startswith("tv1:") for m in messages)
    sdk = Troth.open(app.project.root)  # the app's backend reads them through the SDK
    bodies = opened(sdk.vault, messages)
    sdk.close()
    assert all(b and not b.startswith("tv1:") for b in bodies.values())
    users = rows(app.engine, "SELECT id, date_of_birth FROM users WHERE date_of_birth IS NOT NULL")
    for user in users:
        born = app.vault.decrypt(
            f"user:{user['id']}", user["date_of_birth"], field="users.date_of_birth"
        )
        assert len(born) == 10 and born[4] == "-"


def test_access_export_shows_plaintext(app: App) -> None:
    user_id = busy_user(app)
    done = run(app, "access", user_id)
    assert done.status == "completed" and "unreadable" not in done.result
    data = b"".join(rights.read_export(app.project, done.id))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        exported = json.loads(zf.read("data/app/messages.json"))
        (user,) = json.loads(zf.read("data/app/users.json"))
    stored = rows(
        app.engine,
        "SELECT id, sender_id, body FROM messages"
        f" WHERE sender_id = {user_id} OR recipient_id = {user_id}",
    )
    assert {m["id"]: m["body"] for m in exported} == opened(app.vault, stored)
    assert not any(m["body"].startswith("tv1:") for m in exported)
    assert user["date_of_birth"] is None or user["date_of_birth"][4] == "-"


def sqlite_copy(url: str, target: Path) -> None:
    """A consistent copy of an SQLite database file (what a backup holds)."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(target) as out:
        source.backup(out)


def test_shred_makes_a_copy_taken_before_the_erasure_unreadable(
    sqlite_app: App, tmp_path: Path
) -> None:
    app = sqlite_app
    user_id = busy_user(app)
    backup = tmp_path / "backup.db"
    sqlite_copy(app.url, backup)
    keys_backup = tmp_path / "keys-backup.db"
    sqlite_copy(app.project.store_url, keys_backup)
    done = run(app, "erasure", user_id)
    assert done.status == "completed"
    assert len(ledger.entries(app.store, kind="vault.shredded")) == 1

    restored = create_engine(f"sqlite:///{backup}")  # restore the copy and try
    messages = rows(restored, "SELECT id, sender_id, recipient_id, body FROM messages")
    reader = vault.open_vault(app.project.root)
    mine = [m for m in messages if m["sender_id"] == user_id]
    others = [m for m in messages if m["sender_id"] != user_id]
    assert mine and others
    for message in mine:
        with pytest.raises(vault.Shredded):
            reader.decrypt(f"user:{user_id}", message["body"], field="messages.body")
    assert len(opened(reader, others)) == len(others)  # received ones included
    (born,) = rows(restored, f"SELECT date_of_birth FROM users WHERE id = {user_id}")
    if born["date_of_birth"] is not None:
        with pytest.raises(vault.Shredded):
            reader.decrypt(f"user:{user_id}", born["date_of_birth"], field="users.date_of_birth")
    restored.dispose()

    # What shredding cannot reach: a copy of the key store from before the erasure,
    # with the KEK still held. Rotation and pruning the old KEK close it.
    old_keys = open_store(f"sqlite:///{keys_backup}", upgrade=False)
    from_backup = vault.Vault(app.project, old_keys)
    assert from_backup.decrypt(f"user:{user_id}", mine[0]["body"], field="messages.body")
    vault.rotate(reader)
    assert vault.prune(reader, keep_days=0) == ["kek-1"]
    with pytest.raises(vault.KekMissing):
        vault.Vault(app.project, old_keys).decrypt(
            f"user:{user_id}", mine[0]["body"], field="messages.body"
        )
    assert len(opened(vault.open_vault(app.project.root), others)) == len(others)
    old_keys.dispose()


def test_shred_on_every_engine_spares_other_people(app: App) -> None:
    user_id = busy_user(app)
    before = rows(app.engine, "SELECT id, sender_id, recipient_id, body FROM messages")
    done = run(app, "erasure", user_id)
    assert done.status == "completed"
    reader = vault.open_vault(app.project.root)
    received = [m for m in before if m["recipient_id"] == user_id and m["sender_id"] != user_id]
    assert received and len(opened(reader, received)) == len(received)
    for message in (m for m in before if m["sender_id"] == user_id):
        with pytest.raises(vault.Shredded):
            reader.decrypt(f"user:{user_id}", message["body"], field="messages.body")
    assert rows(app.engine, "SELECT id, sender_id, recipient_id, body FROM messages") == before
    again = rights.run_request(app.project, app.store, done.id)
    assert again.status == "completed"


def test_shred_reaches_a_key_only_other_tables_seal_for(
    tmp_path: Path, any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account row seals nothing itself; the subject's messages are sealed for
    user:{sender_id}: erasure still destroys that key, and no one else's."""
    for app in make_app(tmp_path, any_db_url, monkeypatch, vault_datamap(account_sealed=False)):
        user_id = busy_user(app)
        before = rows(app.engine, "SELECT id, sender_id, recipient_id, body FROM messages")
        assert run(app, "erasure", user_id).status == "completed"
        assert len(ledger.entries(app.store, kind="vault.shredded")) == 1
        reader = vault.open_vault(app.project.root)
        for message in (m for m in before if m["sender_id"] == user_id):
            with pytest.raises(vault.Shredded):
                reader.decrypt(f"user:{user_id}", message["body"], field="messages.body")
        others = [m for m in before if m["sender_id"] != user_id]
        assert others and len(opened(reader, others)) == len(others)


def test_moved_ciphertext_is_refused(app: App) -> None:
    users = rows(app.engine, "SELECT id, date_of_birth FROM users WHERE date_of_birth IS NOT NULL")
    first, second = users[0], users[1]
    with pytest.raises(vault.NotDecryptable, match="another subject"):
        app.vault.decrypt(
            f"user:{second['id']}", first["date_of_birth"], field="users.date_of_birth"
        )
    (message,) = rows(app.engine, "SELECT sender_id, body FROM messages LIMIT 1")
    with pytest.raises(vault.NotDecryptable, match="another column"):
        app.vault.decrypt(
            f"user:{message['sender_id']}", message["body"], field="users.date_of_birth"
        )


def test_a_moved_value_shows_as_unreadable_in_the_export(sqlite_app: App) -> None:
    app = sqlite_app
    user_id = busy_user(app)
    (other,) = rows(
        app.engine,
        "SELECT date_of_birth FROM users"
        f" WHERE id != {user_id} AND date_of_birth IS NOT NULL LIMIT 1",
    )
    with app.engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET date_of_birth = :v WHERE id = :id"),
            {"v": other["date_of_birth"], "id": user_id},
        )
    done = run(app, "access", user_id)
    assert done.result["unreadable"] == {"users.date_of_birth unreadable": 1}
    data = b"".join(rights.read_export(app.project, done.id))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (user,) = json.loads(zf.read("data/app/users.json"))
    assert user["date_of_birth"] is None
    shutil.rmtree(app.project.exports_dir)


def test_deactivation_moves_hidden_columns_into_the_vault_and_back(app: App) -> None:
    user_id = busy_user(app)
    sql = f"SELECT status, display_name FROM users WHERE id = {user_id}"
    (before,) = rows(app.engine, sql)
    assert before["display_name"] and before["status"] == "active"
    done = run(app, "deactivation", user_id)
    assert done.status == "completed", done.error
    (hidden,) = rows(app.engine, sql)
    assert hidden == {"status": "deactivated", "display_name": None}
    with app.store.connect() as conn:
        kept = [r.value for r in conn.execute(text("SELECT value FROM vault_held"))]
    assert len(kept) == 1 and kept[0].startswith("tv1:")
    assert before["display_name"] not in kept[0]
    assert run(app, "deactivation", user_id).status == "completed"  # again: nothing lost
    back = run(app, "reactivation", user_id)
    assert back.status == "completed" and back.result["rows"] == 1
    (restored,) = rows(app.engine, sql)
    assert restored == before
    run(app, "reactivation", user_id)  # finds the row active: the held copies go
    with app.store.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM vault_held")).scalar_one() == 0


def test_sigkill_after_the_shred_resumes_and_shreds_once(sqlite_app: App) -> None:
    app = sqlite_app
    user_id = busy_user(app)
    (before,) = rows(app.engine, f"SELECT status, date_of_birth FROM users WHERE id = {user_id}")
    created = rights.create_request(app.project, app.store, "erasure", "user_id", str(user_id))
    request = rights.verify_request(app.project, app.store, created.id)
    env = {**os.environ, "REFAPP_DB_URL": app.url, "TROTH_RIGHTS_KILL_AT": "statement:1"}
    command = [sys.executable, "-m", "troth.cli", "request", "run", request.id]
    command += ["-p", str(app.project.root)]
    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    (after_kill,) = rows(app.engine, f"SELECT status FROM users WHERE id = {user_id}")
    assert after_kill["status"] == before["status"]  # the app's transaction never committed
    reader = vault.open_vault(app.project.root)
    assert reader.is_shredded(f"user:{user_id}")  # the key went first, in its own transaction
    env.pop("TROTH_RIGHTS_KILL_AT")
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert rights.get_request(app.store, request.id).status == "completed"
    (erased,) = rows(app.engine, f"SELECT status FROM users WHERE id = {user_id}")
    assert erased["status"] == "deleted"
    assert len(ledger.entries(app.store, kind="vault.shredded")) == 1
