"""`troth audit note|show|verify|checkpoint` through the console entry point `troth.cli.main`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from troth.cli import main
from troth.cli.audit import _project_option
from troth.ledger import Event, entries, record_many
from troth.project import init_project
from troth.store import Store, open_store


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return init_project(tmp_path / "proj").root


@pytest.fixture
def store(project: Path) -> Store:
    return open_store(f"sqlite:///{project / '.troth' / 'troth.db'}")


def troth(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `troth audit ARGS --project PROJECT` in this process: (exit code, stdout, stderr)."""
    argv = ["troth", "audit", *args, "--project", str(project)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def seed(store: Store, count: int = 3) -> None:
    with store.begin() as conn:
        record_many(conn, [Event("request.step", ref=f"req_{n}") for n in range(count)])


def test_note_show_verify(project: Path, store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    seed(store, 1)
    code, out, err = troth(project, capsys, "note", "backups restored", "--actor", "staff:dpo")
    assert (code, out.strip()) == (0, "noted as entry 2"), err
    code, out, _ = troth(project, capsys, "show", "--json", "--kind", "audit")
    assert [json.loads(line)["data"] for line in out.splitlines()] == [{"text": "backups restored"}]
    code, out, _ = troth(project, capsys, "show", "--limit", "2")
    assert code == 0 and "staff:dpo" in out and "req_0" in out
    assert troth(project, capsys, "show", "--ref", "req_0", "--json")[1].count("\n") == 1
    code, out, _ = troth(project, capsys, "verify")
    assert (code, out.strip()) == (0, "ledger intact: 2 entries checked, head is entry 2")
    assert (project / ".troth" / "ledger-head.json").exists()  # the note sealed the ledger


def test_note_with_personal_data_is_refused(
    project: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = troth(project, capsys, "note", "called jane.doe@example.com")
    assert code == 2
    assert "data.text: looks like an e-mail address" in err
    assert "jane" not in err
    assert entries(store) == []
    assert troth(project, capsys, "show", "--limit", "0")[0] == 2


@pytest.mark.parametrize(
    ("statements", "named"),
    [
        (["UPDATE ledger_entries SET data = '[]' WHERE seq = 2"], "at entry 2 (edited)"),
        (["DELETE FROM ledger_entries WHERE seq = 2"], "at entry 2 (deleted)"),
        (["DELETE FROM ledger_entries WHERE seq = 3"], "at entry 3 (truncated)"),
        (
            [
                "UPDATE ledger_entries SET seq = -1 WHERE seq = 1",
                "UPDATE ledger_entries SET seq = 1 WHERE seq = 3",
                "UPDATE ledger_entries SET seq = 3 WHERE seq = -1",
            ],
            "at entry 1 (reordered)",
        ),
        (
            [
                "INSERT INTO ledger_entries (seq, at, kind, actor, data, prev_hash, hash) "
                "SELECT 4, at, kind, actor, data, hash, hash FROM ledger_entries WHERE seq = 3"
            ],
            "at entry 4 (edited)",
        ),
    ],
)
def test_verify_names_the_first_bad_entry(
    project: Path,
    store: Store,
    capsys: pytest.CaptureFixture[str],
    statements: list[str],
    named: str,
) -> None:
    seed(store)
    with store.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    code, _, err = troth(project, capsys, "verify")
    assert code == 1
    assert named in err
    code, out, _ = troth(project, capsys, "verify", "--json")
    found = json.loads(out)
    assert (code, found["ok"]) == (1, False)
    assert named == f"at entry {found['first_bad_seq']} ({found['reason']})"


def test_checkpoint_command(
    project: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "empty" in troth(project, capsys, "checkpoint")[1]
    seed(store)
    code, out, _ = troth(project, capsys, "checkpoint")
    assert (code, out.split(" (")[0]) == (0, "signed tree head at entry 3")


def test_console_script_exit_code(project: Path, store: Store) -> None:
    """The installed entry point, in a fresh process, fails on a tampered ledger."""
    seed(store)
    with store.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET actor = 'staff:x' WHERE seq = 1"))
    done = subprocess.run(
        [sys.executable, "-m", "troth.cli", "audit", "verify", "-p", str(project)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "at entry 1 (edited)" in done.stderr


def test_export_head_and_verify_against_it(
    project: Path, store: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seed(store, 5)
    exported = tmp_path / "auditor" / "head.json"
    code, out, err = troth(project, capsys, "export-head", "--out", str(exported))
    assert code == 0 and out.startswith(f"wrote {exported}: tree head of 5 entries"), err
    code, out, _ = troth(project, capsys, "public-key")
    key_hex, key_id = out.split()[0], out.split()[-1].rstrip(")")
    assert json.loads(exported.read_text())["public_key"] == key_hex
    assert json.loads(exported.read_text())["key_id"] == key_id
    assert troth(project, capsys, "verify", "--against", str(exported))[0] == 0
    # Cut the tail and every signed head kept here: only the exported head still knows.
    with store.begin() as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE seq > 3"))
        conn.execute(text("DELETE FROM ledger_tree_heads"))
        conn.execute(
            text(
                "UPDATE ledger_head SET seq = 3, frontier = NULL, "
                "hash = (SELECT hash FROM ledger_entries WHERE seq = 3)"
            )
        )
    (project / ".troth" / "ledger-head.json").unlink()
    code, _, err = troth(project, capsys, "verify", "--against", str(exported))
    assert code == 1
    assert "at entry 4 (truncated)" in err and "head.json records entry 5" in err
    code, _, err = troth(
        project, capsys, "verify", "--against", str(exported), "--public-key", key_hex
    )
    assert code == 1 and "at entry 4 (truncated)" in err


def test_prove_and_check_proof(
    project: Path, store: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seed(store, 40)
    head = tmp_path / "head.json"
    assert troth(project, capsys, "export-head", "--out", str(head))[0] == 0
    seed(store, 3)  # the ledger grows; the proof is for the exported head's size
    out = troth(project, capsys, "prove", "17", "--size", "40")[1]
    proof = tmp_path / "proof.json"
    proof.write_text(out)
    assert json.loads(out)["entry"]["seq"] == 17
    argv = ["troth", "audit", "check-proof", str(proof), "--head", str(head)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        main()  # exits only on failure
    assert "entry 17 is in the signed tree of 40 entries" in capsys.readouterr().out
    proof.write_text(out.replace("req_16", "req_99"))
    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as exited:
        patch.setattr(sys, "argv", argv)
        main()
    assert exited.value.code != 0
    assert "the entry and path do not give the proof's root" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "found"),
    [
        (["request", "run", "--project", "a", "x"], "a"),
        (["audit", "note", "hi", "-p", "b"], "b"),
        (["request", "show", "--project=c"], "c"),
        (["request", "show", "--", "-p", "d"], None),  # an id after --, not an option
        (["audit", "verify"], None),
    ],
)
def test_the_seal_finds_the_commands_project(args: list[str], found: str | None) -> None:
    assert _project_option(args) == (None if found is None else Path(found))
