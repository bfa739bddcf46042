"""The vault on its own: sealing, binding, shredding, KEKs, rotation, the column type."""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

from troth import ledger, vault
from troth.errors import Conflict
from troth.project import Project, open_project
from troth.store import open_store
from troth.vault import tables as vt
from troth.vault.keys import KEK_ENV, create_file, kek_path, new_kek, read_file
from troth.vault.rotate import keyring_held

FIELD = "messages.body"


@pytest.fixture
def project(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("TROTH_STORE_URL", store_url)
    monkeypatch.delenv(KEK_ENV, raising=False)
    return open_project(tmp_path)


@pytest.fixture
def v(project: Project) -> Iterator[vault.Vault]:
    opened = vault.Vault(project, open_store(project.store_url))
    yield opened
    opened.store.dispose()


def fresh(v: vault.Vault) -> vault.Vault:
    """Another vault on the same project, as another process would open it."""
    return vault.Vault(v.project, v.store)


def key_rows(v: vault.Vault) -> list[tuple[str, str | None, bytes | None]]:
    c = vt.keys.c
    with v.store.connect() as conn:
        return [tuple(r) for r in conn.execute(select(c.key_id, c.kek_id, c.wrapped))]


def test_round_trip_and_binding(v: vault.Vault) -> None:
    sealed = v.encrypt("user:1", "hello, Bob", field=FIELD)
    assert sealed.startswith("tv1:") and "hello" not in sealed
    assert v.decrypt("user:1", sealed, field=FIELD) == "hello, Bob"
    assert fresh(v).decrypt("user:1", sealed, field=FIELD) == "hello, Bob"
    assert v.encrypt("user:1", "hello, Bob", field=FIELD) != sealed  # a fresh nonce each time
    with pytest.raises(vault.NotDecryptable, match="another column"):
        v.decrypt("user:1", sealed, field="users.date_of_birth")
    v.encrypt("user:2", "x", field=FIELD)
    with pytest.raises(vault.NotDecryptable, match="another subject"):
        v.decrypt("user:2", sealed, field=FIELD)  # moved into another person's row


def test_tampered_values_are_refused(v: vault.Vault) -> None:
    sealed = v.encrypt("user:1", "hello", field=FIELD)
    raw = bytearray(base64.b64decode(sealed[4:]))
    for index in (0, 20, len(raw) - 1):  # key id, nonce, tag
        bad = bytearray(raw)
        bad[index] ^= 1
        value = "tv1:" + base64.b64encode(bytes(bad)).decode()
        with pytest.raises(vault.NotDecryptable) as caught:
            v.decrypt("user:1", value, field=FIELD)
        assert "hello" not in str(caught.value)
    for junk in ("hello", "tv1:!!!", "tv1:AAAA"):
        with pytest.raises(vault.NotDecryptable, match="not a vault value"):
            v.decrypt("user:1", junk, field=FIELD)


def test_bad_arguments_name_what_is_wrong(v: vault.Vault) -> None:
    with pytest.raises(vault.VaultError, match=r"'table\.column'"):
        v.encrypt("user:1", "x", field="body")
    with pytest.raises(vault.VaultError, match="subject"):
        v.encrypt("", "x", field=FIELD)
    with pytest.raises(vault.VaultError, match="text only"):
        v.encrypt("user:1", 42, field=FIELD)  # type: ignore[arg-type]
    with pytest.raises(vault.NotDecryptable, match="nothing was sealed"):
        raw = v.key_id("user:9") + bytes(40)  # a value naming a key never made
        v.decrypt("user:9", "tv1:" + base64.b64encode(raw).decode(), field=FIELD)
    v.encrypt("user:1", "x", field=FIELD)
    assert key_rows(v)[0][0] == v.key_id("user:1").hex()  # the store names no subject


def test_shred_destroys_the_key_everywhere_and_is_recorded(v: vault.Vault) -> None:
    other = fresh(v)
    mine = v.encrypt("user:1", "secret one", field=FIELD)
    theirs = v.encrypt("user:2", "secret two", field=FIELD)
    assert other.decrypt("user:1", mine, field=FIELD) == "secret one"  # cached there now
    assert v.shred(["user:1"], ref="r1") == 1
    for reader in (v, other, fresh(v)):
        with pytest.raises(vault.Shredded):
            reader.decrypt("user:1", mine, field=FIELD)
        assert reader.decrypt("user:2", theirs, field=FIELD) == "secret two"
    with pytest.raises(vault.Shredded):
        v.encrypt("user:1", "new", field=FIELD)
    assert v.shred(["user:1"]) == 0  # again: nothing left to destroy
    assert v.shred(["user:3"]) == 0 and v.is_shredded("user:3")  # never had a key
    row = next(r for r in key_rows(v) if r[0] == v.key_id("user:1").hex())
    assert row[1:] == (None, None)
    recorded = ledger.entries(v.store, kind="vault.shredded")
    assert [e.data["keys"] for e in recorded] == [1]
    assert recorded[0].ref == "r1"


def test_a_lost_kek_fails_clearly_and_changes_nothing(v: vault.Vault) -> None:
    sealed = v.encrypt("user:1", "hello", field=FIELD)
    kek_path(v.project).rename(v.project.root / "elsewhere")
    before = key_rows(v)
    reader = fresh(v)
    with pytest.raises(vault.KekMissing, match="holds 1 data key") as caught:
        reader.decrypt("user:1", sealed, field=FIELD)
    assert "restore" in str(caught.value)
    with pytest.raises(vault.KekMissing):
        reader.encrypt("user:2", "x", field=FIELD)  # no new KEK made over the lost one
    with pytest.raises(vault.KekMissing):
        vault.rotate(reader)
    assert key_rows(v) == before and not kek_path(v.project).exists()
    (v.project.root / "elsewhere").rename(kek_path(v.project))
    assert fresh(v).decrypt("user:1", sealed, field=FIELD) == "hello"


def test_a_different_kek_under_the_same_name_is_refused(v: vault.Vault) -> None:
    sealed = v.encrypt("user:1", "hello", field=FIELD)
    kek_path(v.project).write_text("kek-1 " + "ab" * 32 + "\n")
    with pytest.raises(vault.KekMissing, match="does not open"):
        fresh(v).decrypt("user:1", sealed, field=FIELD)


def test_keyring_file_errors_name_the_line(v: vault.Vault) -> None:
    path = kek_path(v.project)
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = "cd" * 31
    path.write_text(f"# mine\nkek-1 {secret}\n")
    with pytest.raises(vault.VaultError, match=r"vault-kek:2: a KEK is 64 hex") as caught:
        v.encrypt("user:1", "x", field=FIELD)
    assert secret not in str(caught.value)


def test_environment_keks(v: vault.Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = "11" * 32, "22" * 32
    monkeypatch.setenv(KEK_ENV, f"a:{old}")
    first = fresh(v)
    sealed = first.encrypt("user:1", "hello", field=FIELD)
    assert not kek_path(v.project).exists()
    monkeypatch.setenv(KEK_ENV, f"b:{new},a:{old}")
    done = vault.rotate(fresh(v))
    assert (done.kek_id, done.rewrapped, done.new_kek) == ("b", 1, False)
    monkeypatch.setenv(KEK_ENV, f"b:{new}")
    assert fresh(v).decrypt("user:1", sealed, field=FIELD) == "hello"
    assert vault.rotate(fresh(v)).rewrapped == 0  # nothing under an older KEK
    monkeypatch.setenv(KEK_ENV, "b:nothex")
    with pytest.raises(vault.VaultError, match=f"{KEK_ENV} entry 1"):
        fresh(v).decrypt("user:1", sealed, field=FIELD)


def test_rotation_rewraps_every_key_and_resumes(v: vault.Vault) -> None:
    sealed = {f"user:{n}": v.encrypt(f"user:{n}", f"value {n}", field=FIELD) for n in range(7)}
    v.shred(["user:0"])

    def crash(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        vault.rotate(v, batch=2, progress=crash)
    keks = read_file(kek_path(v.project))
    assert [k.id for k in keks] == ["kek-2", "kek-1"] and keks[1].retired is None
    assert vault.kek_usage(v) == {"kek-1": 4, "kek-2": 2}
    resumed = vault.rotate(fresh(v), batch=2)
    assert (resumed.kek_id, resumed.rewrapped, resumed.new_kek) == ("kek-2", 4, False)
    assert resumed.retired == ["kek-1"]
    assert vault.kek_usage(v) == {"kek-2": 6}
    reader = fresh(v)
    for subject, value in sealed.items():
        if subject != "user:0":
            assert reader.decrypt(subject, value, field=FIELD) == f"value {subject[5:]}"
    assert vault.prune(reader, keep_days=30) == []  # still inside the window
    later = read_file(kek_path(v.project))[1].retired
    assert later is not None
    assert vault.prune(reader, keep_days=30, today=later + dt.timedelta(days=30)) == ["kek-1"]
    assert [k.id for k in read_file(kek_path(v.project))] == ["kek-2"]
    assert fresh(v).decrypt("user:1", sealed["user:1"], field=FIELD) == "value 1"
    assert len(ledger.entries(v.store, kind="vault.rotated")) == 1


def test_a_rotation_reads_the_keyring_as_it_is_under_the_lock(v: vault.Vault) -> None:
    """A process that read the keyring before another rotated must not write its new KEK
    over the other's: every data key stays readable."""
    early = fresh(v)
    sealed = early.encrypt("user:1", "hello", field=FIELD)  # `early` has read the keyring
    assert vault.rotate(fresh(v)).kek_id == "kek-2"
    again = vault.rotate(early)
    assert (again.kek_id, again.new_kek) == ("kek-3", True)
    assert [k.id for k in read_file(kek_path(v.project))] == ["kek-3", "kek-2", "kek-1"]
    assert fresh(v).decrypt("user:1", sealed, field=FIELD) == "hello"


def test_one_rotation_or_prune_at_a_time(v: vault.Vault) -> None:
    v.encrypt("user:1", "hello", field=FIELD)
    before = kek_path(v.project).read_bytes()
    with keyring_held(fresh(v)):  # as another `troth vault rotate` would hold it
        for step in (lambda: vault.rotate(fresh(v)), lambda: vault.prune(fresh(v), keep_days=0)):
            with pytest.raises(Conflict, match="another `troth vault rotate` or `prune`"):
                step()
    assert kek_path(v.project).read_bytes() == before and vault.kek_usage(v) == {"kek-1": 1}
    assert vault.rotate(fresh(v)).kek_id == "kek-2"


def test_blind_index_is_keyed_and_per_kind(v: vault.Vault, tmp_path: Path) -> None:
    digest = v.blind_index("email", "bob@example.com")
    assert digest == fresh(v).blind_index("email", "bob@example.com")
    assert digest.startswith("bi:") and len(digest) == 35
    assert digest != v.blind_index("username", "bob@example.com")
    (tmp_path / "other").mkdir()
    other = open_project(tmp_path / "other")
    assert vault.blind_digest(other.secret_key, "email", "x") != v.blind_index("email", "x")


def test_the_column_type(v: vault.Vault, tmp_path: Path) -> None:
    table = Table(
        "notes",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("body", vault.VaultText("notes.body", lambda: v)),
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": 1, "body": vault.Seal("user:1", "dear diary")}])
        with pytest.raises(Exception, match="not text"):
            conn.execute(insert(table), [{"id": 2, "body": "plain"}])
    with engine.connect() as conn:
        stored = conn.execute(select(table.c.body)).scalar_one()
    assert stored.startswith("tv1:")
    assert v.decrypt("user:1", stored, field="notes.body") == "dear diary"
    engine.dispose()


CHILD = """
import sys, time
from troth import vault
v = vault.open_vault(sys.argv[1])
sealed = sys.argv[2]
def attempt():
    try:
        v.decrypt("user:1", sealed, field="messages.body")
        return "open"
    except vault.Shredded:
        return "shredded"
print(attempt(), flush=True)
sys.stdin.readline()
print(attempt(), flush=True)
time.sleep(v.cache_seconds + 0.3)
print(attempt(), flush=True)
"""


def test_another_process_loses_a_shredded_key_within_cache_seconds(
    v: vault.Vault, store_url: str
) -> None:
    (v.project.root / "troth.toml").write_text("[vault]\ncache_seconds = 3.0\n")
    sealed = v.encrypt("user:1", "hello", field=FIELD)
    env = {**os.environ, "TROTH_STORE_URL": store_url}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(v.project.root), sealed],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdin is not None and child.stdout is not None
    assert child.stdout.readline().strip() == "open"
    v.shred(["user:1"])
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "open"  # its cached key, for at most 3 s
    assert child.stdout.readline().strip() == "shredded"
    assert child.wait(timeout=30) == 0


def test_the_first_kek_is_made_once_when_two_processes_race(v: vault.Vault) -> None:
    path = kek_path(v.project)
    first, second = new_kek([]), new_kek([])
    create_file(path, [first])
    create_file(path, [second])  # the loser of the race reads the winner's file
    assert [k.key for k in read_file(path)] == [first.key]
    assert sorted(p.name for p in path.parent.iterdir() if ".part" in p.name) == []
