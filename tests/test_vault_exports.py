"""troth's own copies: export ZIPs sealed at rest, opened only as they are read out."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_vault_refapp import App, busy_user, make_app, rows, run
from troth import rights, vault
from troth.rights.export import read_export


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    for made in make_app(tmp_path, sqlite_url, monkeypatch):
        (made.project.root / "troth.toml").write_text("[vault]\nseal_exports = true\n")
        made.project.settings = {"vault": {"seal_exports": True}}
        yield made


def downloaded(app: App, request_id: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(read_export(app.project, request_id))))


def test_exports_are_sealed_at_rest_and_open_when_read(app: App, tmp_path: Path) -> None:
    user_id = busy_user(app)
    done = run(app, "access", user_id)
    assert done.status == "completed"
    path = rights.export_path(app.project, done.id)
    stored = path.read_bytes()
    assert not zipfile.is_zipfile(path) and stored.startswith(b"troth-vault-file-1\n")
    (user,) = rows(app.engine, f"SELECT email FROM users WHERE id = {user_id}")
    assert user["email"].encode() not in stored
    with downloaded(app, done.id) as zf:
        (exported,) = json.loads(zf.read("data/app/users.json"))
    assert exported["email"] == user["email"]

    broken = bytearray(stored)
    broken[len(broken) // 2] ^= 1
    path.write_bytes(bytes(broken))
    with pytest.raises(vault.NotDecryptable, match="altered"):
        b"".join(read_export(app.project, done.id))
    path.write_bytes(stored[:-1])
    with pytest.raises(vault.NotDecryptable):
        b"".join(read_export(app.project, done.id))
    path.write_bytes(stored)

    copy = tmp_path / "copied-export"
    shutil.copyfile(path, copy)
    erased = run(app, "erasure", user_id)
    assert erased.result["copies"]["exports"] == 1 and not path.exists()
    shutil.copyfile(copy, path)  # the copy put back where the server would read it
    with pytest.raises(vault.Shredded):
        b"".join(read_export(app.project, done.id))
