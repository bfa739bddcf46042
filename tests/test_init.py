import subprocess
import sys
from pathlib import Path

import pytest

from troth.datamap import DataMap
from troth.errors import TrothError
from troth.policy import load_policy
from troth.project import init_project, open_project
from troth.yamlfile import load_model


def troth(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "troth.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_init_makes_a_valid_project(tmp_path: Path) -> None:
    result = troth("init", str(tmp_path / "proj"))
    assert result.returncode == 0, result.stderr
    project = open_project(tmp_path / "proj")
    load_policy(project.policy_path)
    load_model(project.datamap_path, DataMap)
    assert (project.state_dir / "troth.db").exists()
    assert (project.state_dir / "secret.key").stat().st_mode & 0o077 == 0


def test_init_never_overwrites(tmp_path: Path) -> None:
    init_project(tmp_path)
    (tmp_path / "troth.yaml").write_text("mine")
    with pytest.raises(TrothError, match=r"already has troth\.yaml"):
        init_project(tmp_path)
    assert (tmp_path / "troth.yaml").read_text() == "mine"
    result = troth("init", str(tmp_path))
    assert result.returncode == 1
    assert "use --force" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_key_is_stable(tmp_path: Path) -> None:
    project = init_project(tmp_path)
    ref = project.subject_ref("email", "a@example.com")
    assert open_project(tmp_path).subject_ref("email", "a@example.com") == ref
    assert "a@example.com" not in ref


def test_secret_key_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file_ref = init_project(tmp_path).subject_ref("email", "a@example.com")
    monkeypatch.setenv("TROTH_SECRET_KEY", "ab" * 32)
    project = open_project(tmp_path)
    assert project.secret_key == bytes.fromhex("ab" * 32)
    assert project.subject_ref("email", "a@example.com") != file_ref
    monkeypatch.setenv("TROTH_SECRET_KEY", "not hex")
    with pytest.raises(TrothError, match="must be hex-encoded"):
        open_project(tmp_path).secret_key  # noqa: B018


def test_secret_key_is_read_once_per_project(tmp_path: Path) -> None:
    project = init_project(tmp_path)
    key = project.secret_key
    (project.state_dir / "secret.key").write_text("cd" * 32)
    assert project.secret_key == key
    assert open_project(tmp_path).secret_key == bytes.fromhex("cd" * 32)
