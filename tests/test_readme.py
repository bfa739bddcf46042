"""The README's tour says what the commands print: each command below is run, as the
tour runs it, on a project made the way the tour makes it, and its output must hold
every line the README shows, in order (`…` in the README marks lines cut from it).

Only commands whose output does not depend on the clock or on random ids are compared;
a change to what one of them prints fails here until the README says it too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TROTH = Path(sys.executable).parent / "troth"
CUT = "…"
# command -> where it runs ("app": the tour's project, "repo": the checkout)
COMPARED = {
    "troth policy validate troth.yaml": "app",
    "troth policy render troth.yaml --format md | head -3": "app",
    "troth policy lint examples/policies/jojocell.yaml": "repo",
    "troth datamap validate": "app",
    "troth datamap validate --add-indexes": "app",
    "troth age-check 2014-05-01": "app",
}


def tour() -> list[tuple[str, list[str]]]:
    """(command, the output lines the README shows under it), in the README's order."""
    shown: list[tuple[str, list[str]]] = []
    inside = False
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("```"):
            inside = not inside
            continue
        if not inside:
            continue
        if line.startswith("$ "):
            shown.append((line[2:], []))
        elif shown:
            shown[-1][1].append(line)
    return [(command, out) for command, out in shown if command in COMPARED]


def holds(printed: list[str], shown: list[str]) -> bool:
    """Whether `printed` is `shown`, where a `…` line of `shown` may stand for any lines."""
    if CUT not in "\n".join(shown):
        return printed == shown
    at = 0
    for line in (s for s in shown if not s.startswith(CUT)):
        while at < len(printed) and printed[at] != line:
            at += 1
        if at == len(printed):
            return False
        at += 1
    return True


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tour") / "app"
    run(f"troth init {folder}", folder.parent)
    for name in ("troth.yaml", "datamap.yaml"):
        shutil.copy(REPO / "examples" / "refapp" / name, folder / name)
    run("troth refapp generate --users 50 --db sqlite:///refapp.db --blobs blobs --seed 1", folder)
    return folder


def run(command: str, cwd: Path) -> list[str]:
    env = {**os.environ, "PATH": f"{TROTH.parent}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "200", "TERM": "dumb", "PYTHONUNBUFFERED": "1"}  # fmt: skip
    for name in ("TROTH_PROJECT", "TROTH_STORE_URL", "REFAPP_DB_URL", "REFAPP_BLOBS"):
        env.pop(name, None)
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=120,
    )  # fmt: skip
    return [line.rstrip() for line in done.stdout.splitlines()]


def test_every_compared_command_is_in_the_readme() -> None:
    assert sorted(command for command, _ in tour()) == sorted(COMPARED)


def test_the_readme_shows_what_the_commands_print(app: Path) -> None:
    """In the README's order: `datamap validate --add-indexes` changes what
    `datamap validate` says after it."""
    wrong = []
    for command, shown in tour():
        printed = run(command, app if COMPARED[command] == "app" else REPO)
        if not holds(printed, [s.rstrip() for s in shown]):
            wrong.append(f"$ {command}\n" + "\n".join(printed))
    assert not wrong, "\n\n".join(wrong)
