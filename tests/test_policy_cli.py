"""`troth policy validate|render|diff|lint`: output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from troth.cli import app

FULL = Path(__file__).with_name("test_policy_full.yaml")
runner = CliRunner()


def broken(tmp_path: Path) -> Path:
    text = FULL.read_text(encoding="utf-8")
    path = tmp_path / "troth.yaml"
    path.write_text(
        text.replace("legal_basis: contract", "legal_basis: contrct").replace(
            "troth: 1", "troth: 2"
        ),
        encoding="utf-8",
    )
    return path


def edited(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = FULL.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "new.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_ok() -> None:
    result = runner.invoke(app, ["policy", "validate", str(FULL)])
    assert result.exit_code == 0
    assert result.stdout == (
        f"{FULL}: valid (4 purposes, 3 recipients, 3 retention rules, 8 rights)\n"
    )


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = broken(tmp_path)
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    text = path.read_text(encoding="utf-8")
    basis_line = text[: text.index("contrct")].count("\n") + 1
    assert lines[0] == f"{path}:3 troth: 2 is not one of 1"
    assert lines[1].startswith(f"{path}:{basis_line} purposes[0].legal_basis: 'contrct' is not")
    assert lines[2] == "2 problems; nothing was changed."


def test_render_to_stdout_and_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "render", str(FULL), "--format", "md"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# Storybox Privacy Policy\n")
    out = tmp_path / "notice.html"
    result = runner.invoke(app, ["policy", "render", str(FULL), "-f", "html", "--out", str(out)])
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_render_refuses_unknown_format_and_bad_policy(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "render", str(FULL), "--format", "pdf"])
    assert result.exit_code == 2
    out = tmp_path / "notice.md"
    result = runner.invoke(app, ["policy", "render", str(broken(tmp_path)), "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


def test_diff_in_words_and_json(tmp_path: Path) -> None:
    new = edited(
        tmp_path,
        ("    period_days: 30\n", "    period_days: 10\n"),
        ("  minimum_age: 13", "  minimum_age: 12"),
    )
    result = runner.invoke(app, ["policy", "diff", str(FULL), str(new)])
    assert result.exit_code == 0
    assert result.stdout == (
        "- shortens retention of user.contact.email, user.name, user.content.story "
        "from 30 to 10 days\n"
        "- lowers the minimum age from 13 to 12  [material]\n"
    )
    result = runner.invoke(app, ["policy", "diff", str(FULL), str(new), "--json"])
    assert [c["kind"] for c in json.loads(result.stdout)] == ["retention.shorter", "children"]
    same = runner.invoke(app, ["policy", "diff", str(FULL), str(FULL)])
    assert same.stdout == "no changes\n"


def test_lint_exit_codes(tmp_path: Path) -> None:
    clean = runner.invoke(app, ["policy", "lint", str(FULL)])
    assert (clean.exit_code, clean.stdout) == (0, "no findings\n")
    path = edited(tmp_path, ("  non_discrimination: true\n", ""))
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "CCPA-125-a (Cal. Civ. Code § 1798.125(a)) [rights.non_discrimination]: does not promise "
        "non-discrimination for exercising privacy rights"
    ]
    gdpr_only = runner.invoke(app, ["policy", "lint", str(path), "--law", "gdpr"])
    assert gdpr_only.exit_code == 0


def test_console_script_exit_codes(tmp_path: Path) -> None:
    """The real entry point (troth.cli.main) turns typer.Exit and usage errors into codes."""
    command = [sys.executable, "-m", "troth.cli", "policy"]
    bad = subprocess.run([*command, "validate", str(broken(tmp_path))], capture_output=True)
    assert bad.returncode == 2 and b"2 problems" in bad.stderr
    usage = subprocess.run([*command, "render", str(FULL), "-f", "pdf"], capture_output=True)
    assert usage.returncode == 2 and b"'pdf' is not one of" in usage.stderr


def test_commands_default_to_the_projects_troth_yaml(tmp_path: Path) -> None:
    (tmp_path / "troth.yaml").write_text(FULL.read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(app, ["policy", "validate", "--project", str(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"{(tmp_path / 'troth.yaml').resolve()}: valid")
    assert runner.invoke(app, ["policy", "lint", "-p", str(tmp_path)]).exit_code == 0
    rendered = runner.invoke(app, ["policy", "render", "-p", str(tmp_path)])
    assert rendered.stdout.startswith("# Storybox Privacy Policy")
