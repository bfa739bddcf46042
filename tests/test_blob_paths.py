"""Blob paths are database contents: one that leads out of the blob store's folder (`..`,
an absolute path, a symbolic link on the way or at the end) names no file of the store,
so an export does not copy it and an erasure does not delete it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from test_rights import App, pick_subject, sqlite_app, start
from troth import rights
from troth.appdata.execute import inside

__all__ = ["sqlite_app"]  # the fixture


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A resolved blob folder with a file, a folder linked out, a file linked out and one
    linked in, and a secret file beside it."""
    root = tmp_path / "blobs"
    (root / "avatars").mkdir(parents=True)
    (root / "avatars" / "a.png").write_bytes(b"png")
    secret = tmp_path / "secret.txt"
    secret.write_text("not the store's")
    (root / "out").symlink_to(tmp_path)
    (root / "avatars" / "leak.png").symlink_to(secret)
    (root / "avatars" / "alias.png").symlink_to(root / "avatars" / "a.png")
    return root.resolve(), secret


def test_a_plain_path_stays_under_the_folder(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    assert inside(root, "avatars/a.png") == root / "avatars" / "a.png"
    assert inside(root, "./avatars//a.png") == root / "avatars" / "a.png"
    assert inside(root, "avatars/missing/b.png") == root / "avatars" / "missing" / "b.png"
    assert inside(root, "avatars/alias.png") == root / "avatars" / "a.png"  # a link inside


@pytest.mark.parametrize(
    "path", ["../secret.txt", "avatars/../../secret.txt", "out/secret.txt", "avatars/leak.png"]
)
def test_a_path_that_leads_out_names_no_file(tree: tuple[Path, Path], path: str) -> None:
    root, _ = tree
    assert inside(root, path) is None


def test_an_absolute_path_or_a_nul_byte_names_no_file(tree: tuple[Path, Path]) -> None:
    root, secret = tree
    assert inside(root, str(secret)) is None
    assert inside(root, str(root / "avatars" / "a.png")) == root / "avatars" / "a.png"
    assert inside(root, "avatars/a\x00.png") is None


def test_paths_out_of_the_folder_are_neither_exported_nor_deleted(sqlite_app: App) -> None:
    app = sqlite_app
    subject = pick_subject(app)
    secret = app.blobs.parent / "secret.txt"
    secret.write_text("not the subject's")
    (app.blobs / "leak.png").symlink_to(secret)
    with app.engine.begin() as conn:
        conn.execute(
            text("UPDATE profiles SET avatar_path = '../secret.txt' WHERE user_id = :u"),
            {"u": subject["id"]},
        )
        conn.execute(
            text("UPDATE stories SET cover_path = 'leak.png' WHERE author_id = :u"),
            {"u": subject["id"]},
        )
    access = start(app, "access", "email", subject["email"])
    done = rights.run_request(app.project, app.store, access.id)
    with zipfile.ZipFile(io.BytesIO(b"".join(rights.read_export(app.project, done.id)))) as zf:
        contents = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("files/"))
    assert b"not the subject's" not in contents
    erasure = start(app, "erasure", "email", subject["email"])
    assert rights.run_request(app.project, app.store, erasure.id).status == "completed"
    assert secret.read_text() == "not the subject's"
    assert (app.blobs / "leak.png").is_symlink()
