"""Every file troth writes is owner-only (0600), its folders 0700, whatever the umask.

Issue 14: troth.db and its WAL were world-readable (0644). The umask is set to the usual
022 here, so a file that relies on it shows up as 0644.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from test_rights import App, make_app, pick_subject, start
from troth import rights
from troth.outbox import list_outbox, send
from troth.project import init_project, open_project
from troth.store import open_store


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    yield from make_app(tmp_path, sqlite_url, monkeypatch)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_engine_store_and_its_wal_are_private(tmp_path: Path) -> None:
    db = tmp_path / ".troth" / "troth.db"
    store = open_store(f"sqlite:///{db}")
    try:
        with store.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        companions = [db.with_name(db.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in companions), "WAL mode keeps both while connected"
        assert {p.name: mode(p) for p in (db, *companions)} == {
            "troth.db": 0o600,
            "troth.db-wal": 0o600,
            "troth.db-shm": 0o600,
        }
        assert mode(db.parent) == 0o700
    finally:
        store.dispose()


def test_an_older_store_is_tightened(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    db = folder / "troth.db"
    open_store(f"sqlite:///{db}").dispose()
    db.chmod(0o644)
    open_store(f"sqlite:///{db}").dispose()
    assert mode(db) == 0o600
    assert mode(folder) == 0o755, "a folder troth did not make is left as it was"


def test_a_new_project_is_private(tmp_path: Path) -> None:
    project = init_project(tmp_path / "app")
    state = project.state_dir
    assert mode(state) == 0o700
    assert mode(state / "secret.key") == 0o600 and mode(state / ".gitignore") == 0o600


def test_outbox_messages_are_private(tmp_path: Path) -> None:
    project = open_project(tmp_path)
    project.state_dir.mkdir(mode=0o755)  # made by an older version
    send(project, "bob@example.com", "Your code", "123456", kind="otp")
    (message,) = list_outbox(project)
    assert mode(project.state_dir) == 0o700 and mode(project.outbox_dir) == 0o700
    assert mode(message.path) == 0o600


def test_exports_are_private(app: App) -> None:
    subject = pick_subject(app)
    request = start(app, "access", "email", subject["email"])
    done = rights.run_request(app.project, app.store, request.id)
    assert mode(app.project.exports_dir) == 0o700
    assert mode(rights.export_path(app.project, done.id)) == 0o600
    assert mode(app.project.state_dir) == 0o700


def test_a_private_folder_is_made_tightened_or_refused(tmp_path: Path) -> None:
    project = open_project(tmp_path)
    made = project.private_dir(project.exports_dir)  # .troth/ and the folder in it
    assert mode(project.state_dir) == 0o700 and mode(made) == 0o700
    made.chmod(0o755)
    assert mode(project.private_dir(made)) == 0o700
    (project.state_dir / "outbox").write_text("a file where a folder belongs")
    with pytest.raises(FileExistsError):
        project.private_dir(project.state_dir / "outbox")
