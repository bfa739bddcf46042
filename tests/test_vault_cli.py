"""`troth vault status | rotate | prune` and `troth refapp generate --vault`, as run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from troth.project import open_project
from troth.vault.keys import KEK_ENV, kek_path, read_file

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "refapp"


def troth(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "troth.cli", *args, "-p", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "datamap.yaml", project / "datamap.yaml")
    shutil.copy(EXAMPLES / "troth.yaml", project / "troth.yaml")
    monkeypatch.delenv("TROTH_STORE_URL", raising=False)
    monkeypatch.delenv(KEK_ENV, raising=False)
    monkeypatch.setenv("REFAPP_DB_URL", f"sqlite:///{tmp_path / 'refapp.db'}")
    return project


def test_generate_status_rotate_prune(root: Path) -> None:
    before = troth(root, "vault", "status")
    assert before.stdout.strip() == "no key-encryption key yet: the first sealed value makes one"
    assert not kek_path(open_project(root)).exists()
    made = troth(root, "refapp", "generate", "--users", "10", "--vault")
    assert made.returncode == 0, made.stderr
    shown = troth(root, "vault", "status")
    assert shown.returncode == 0, shown.stderr
    assert "kek-1" in shown.stdout and "current" in shown.stdout
    assert "10 data keys, 0 shredded" in shown.stdout
    rotated = troth(root, "vault", "rotate", "--batch", "3")
    assert rotated.returncode == 0, rotated.stderr
    assert "10 data keys re-wrapped under new KEK kek-2" in rotated.stdout
    assert "retired: kek-1" in rotated.stdout
    again = troth(root, "vault", "rotate")
    assert "10 data keys re-wrapped under new KEK kek-3" in again.stdout
    pruned = troth(root, "vault", "prune", "--keep-days", "0")
    assert pruned.stdout.strip() == "deleted KEKs: kek-2, kek-1"
    assert [k.id for k in read_file(kek_path(open_project(root)))] == ["kek-3"]


def test_a_lost_kek_is_a_clear_error(root: Path) -> None:
    assert troth(root, "refapp", "generate", "--users", "3", "--vault").returncode == 0
    path = kek_path(open_project(root))
    secret = path.read_text()
    path.unlink()
    for args in (("vault", "rotate"), ("vault", "status")):
        failed = troth(root, *args)
        assert failed.returncode == 1
        assert "is missing" in failed.stderr and "holds 3 data key(s)" in failed.stderr
        assert "Traceback" not in failed.stderr
    assert not path.exists()
    path.write_text(secret)
    assert troth(root, "vault", "status").returncode == 0
