"""JOJOcell's promises, each carried out on its own app (examples/seeds/jojocell): an
encrypted messenger whose messages and files the vault seals for their sender, on
SQLite and PostgreSQL. Each test quotes the sentence of shared/policies/jojocell.txt it
proves."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

import pytest
from harness import AS_OF, SeedApp, load_generator
from sqlalchemy import text as sql_text
from sqlalchemy import update

from troth import holds, ledger, retention, rights, sharing
from troth.check import Status
from troth.consent import publish_policy
from troth.errors import Refused
from troth.outbox import list_outbox
from troth.rights import tables as rights_tables
from troth.sdk import Troth
from troth.vault import Vault, VaultError

DAY = dt.timedelta(days=1)
SEALED = ("app.messages.body", "app.files.file_name", "app.files.content")


@pytest.mark.parametrize("name", ["justuno", "justorder", "jojocell"])
def test_the_generators_are_deterministic_and_dated_before_as_of(name: str) -> None:
    """The same seed and as_of give the same rows (the vault's nonces aside: here the
    seal is the identity), every timestamp before as_of, a few hundred rows a table at
    most."""
    make_rows = load_generator(name).rows
    options = {"seal": lambda _who, value, _field: value} if name == "jojocell" else {}
    first, again = make_rows(AS_OF, **options), make_rows(AS_OF, **options)
    assert first == again and make_rows(AS_OF, seed=2, **options) != first
    naive = AS_OF.replace(tzinfo=None)
    assert any(isinstance(v, dt.datetime) for rows in first.values() for v in rows[0].values())
    for table, rows in first.items():
        assert 0 < len(rows) <= 400, table
        stamps = [v for row in rows for v in row.values() if isinstance(v, dt.datetime)]
        assert all(v < naive for v in stamps), table


# Helpers test_justuno.py and test_justorder.py share.


def values(app: SeedApp, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows `sql` selects, as tuples."""
    return [tuple(row.values()) for row in app.query(sql, **params)]


def overdue(app: SeedApp, kind: str, identity: str, value: str, *, source: str) -> None:
    """A request nobody answered, past its due date at AS_OF."""
    request = rights.create_request(app.project, app.store, kind, identity, value, source=source)
    with app.store.begin() as conn:
        table = rights_tables.requests
        conn.execute(update(table).where(table.c.id == request.id).values(due_at=AS_OF - DAY))


def disclosed(app: SeedApp, recipient: str, identity: tuple[str, str], reference: str) -> int:
    """People disclosed to an authority: a bulk export is refused, one person's data
    leaves on a request approved by someone other than who asked."""
    ctx = app.ctx()
    with pytest.raises(Refused):
        sharing.share_export(ctx, app.store, recipient, app.root / "all.zip")
    asked = sharing.request_disclosure(
        ctx, app.store, recipient, identity, reference=reference, actor="ann"
    )
    with pytest.raises(Refused):
        sharing.decide(app.store, asked.id, "ann", approve=True)
    sharing.decide(app.store, asked.id, "olga", approve=True)
    out = app.root / "disclosed.zip"
    report = sharing.export_request(ctx, app.store, asked.id, out, actor="olga")
    assert out.exists()
    return report.people


@pytest.fixture
def app(seed_app: SeedApp) -> SeedApp:
    return seed_app


def user(app: SeedApp, uid: int) -> dict[str, object]:
    return app.query("SELECT * FROM users WHERE id = :i", i=uid)[0]


def test_within_30_days_of_account_deletion_personal_information_is_deleted(app: SeedApp) -> None:
    """Promised: "When you delete your account, we will delete or anonymize your personal
    information within 30 days": the accounts the app deleted 45 and 31 days ago are
    erased, those deleted 29 and 3 days ago not yet; the day the 29-day one turns 30, it
    goes too."""
    app.sweep()

    for uid in (10, 20):
        gone = user(app, uid)
        assert str(gone["email"]).startswith("erased:") and gone["display_name"] is None
        for table in ("devices", "usage_events", "support_tickets"):
            assert app.scalar(f"SELECT COUNT(*) FROM {table} WHERE user_id = :i", i=uid) == 0
    assert user(app, 30)["display_name"] == "Ana 30" and user(app, 40)["display_name"] == "Ana 40"
    assert app.scalar("SELECT COUNT(*) FROM devices WHERE user_id = 30") == 1

    app.sweep(AS_OF + 2 * DAY)
    assert str(user(app, 30)["email"]).startswith("erased:")
    assert user(app, 40)["display_name"] == "Ana 40"


def test_an_erased_senders_messages_and_files_are_unreadable_everywhere(app: SeedApp) -> None:
    """Promised: "All messages and files are encrypted in transit and at rest" and deletion
    "within 30 days": erasure shreds the sender's key, so what user 10 sent cannot be
    opened from any copy, while what user 11 sent to user 10 stays readable for user 11."""
    vault = Vault(app.project, app.store)
    sent = [r["body"] for r in app.query("SELECT body FROM messages WHERE sender_id = 10")]
    [kept] = app.query("SELECT body FROM messages WHERE sender_id = 11 AND recipient_id = 10")
    assert vault.decrypt("user:10", sent[0], field="messages.body")
    app.sweep()  # the key is gone from this vault's cache too
    for body in sent:
        with pytest.raises(VaultError):
            vault.decrypt("user:10", body, field="messages.body")
    assert app.scalar("SELECT COUNT(*) FROM messages WHERE sender_id = 10") == len(sent)
    opened = vault.decrypt("user:11", kept["body"], field="messages.body")
    assert opened == "last words before leaving"


def test_except_where_retention_is_required_by_law_a_hold_keeps_the_account(app: SeedApp) -> None:
    """Promised: "except where retention is required by law": a legal hold (a court's
    preservation order) keeps an account deleted 200 days ago past the 30 days, the
    erasure names the hold, and releasing it erases the account."""
    ctx = app.ctx()
    hold = holds.place_hold(
        ctx,
        app.store,
        reason="Preservation order",
        reference="Court 2026/17",
        actor="legal",
        identities=[("user_id", "50")],
    )
    report = app.sweep()

    assert user(app, 50)["display_name"] == "Ana 50"
    assert app.scalar("SELECT COUNT(*) FROM devices WHERE user_id = 50") == 1
    [handed] = [a for a in report.accounts if a.rule == "after_account_deletion"]
    results = [rights.get_request(app.store, r).result for r in handed.requests]
    assert any(hold.id in k["reason"] for r in results for k in r.get("kept", []))
    retention.release(ctx, app.store, hold.id, actor="legal")
    assert str(user(app, 50)["email"]).startswith("erased:")


def test_all_messages_and_files_are_encrypted_at_rest(app: SeedApp) -> None:
    """Promised: "End-to-End Encryption: All messages and files are encrypted in transit
    and at rest": every message body, file name and file content is vault ciphertext that opens
    only for its sender; troth check says the vault seals those three columns."""
    vault = Vault(app.project, app.store)
    for table, column, owner in (
        ("messages", "body", "sender_id"),
        ("files", "file_name", "owner_id"),
        ("files", "content", "owner_id"),
    ):
        found = app.query(f"SELECT {owner}, {column} FROM {table}")
        values = [(r[owner], r[column]) for r in found]
        assert values and all(str(v).startswith("tv1:") for _, v in values)
        sender, sealed = values[0]
        assert vault.decrypt(f"user:{sender}", sealed, field=f"{table}.{column}")
        with pytest.raises(VaultError):
            vault.decrypt(f"user:{sender + 1}", sealed, field=f"{table}.{column}")
    kept = app.promise("security.controls[0]")
    assert kept.status == Status.kept and kept.evidence == ", ".join(SEALED)


def test_an_unsealed_file_column_breaks_the_encryption_promise(app: SeedApp) -> None:
    """Promised: "All messages and files are encrypted ... at rest": a data map that no
    longer seals files.content breaks the promise, named with the column."""
    datamap = app.root / "datamap.yaml"
    sealed = (
        "      content:\n        categories: [user.content.private]\n        encrypted: true\n"
        '        subject: "user:{owner_id}"\n        erase: shred\n'
    )
    plain = (
        "      content:\n        categories: [user.content.private]\n"
        "        reason: kept for the other party\n"
    )
    assert datamap.read_text().count(sealed) == 1
    datamap.write_text(datamap.read_text().replace(sealed, plain))
    broken = app.promise("security.controls[0]")
    assert broken.status == Status.broken
    assert broken.problem == "not encrypted in the data map: app.files.content"


def export(app: SeedApp, request_id: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(rights.read_export(app.project, request_id))))


def run(app: SeedApp, kind: str, identity: str, value: str, **options: Any) -> rights.Request:
    return app.request(kind, identity, value, source="email", **options)


def test_access_gives_the_messages_you_sent_opened(app: SeedApp) -> None:
    """Promised: "Access: Request access to the personal information we hold about you": the
    export holds user 5's account, devices and their messages in plain text."""
    done = run(app, "access", "email", "USER5@mail.example")
    with export(app, done.id) as zf:
        users = json.loads(zf.read("data/app/users.json"))
        messages = json.loads(zf.read("data/app/messages.json"))
        assert "data/app/devices.json" in zf.namelist()
    assert [u["id"] for u in users] == [5] and "password_hash" not in users[0]
    mine = [m for m in messages if m["sender_id"] == 5]
    expected = app.scalar("SELECT COUNT(*) FROM messages WHERE sender_id = 5")
    assert len(mine) == expected and all(not m["body"].startswith("tv1:") for m in mine)


def test_portability_is_a_copy_of_what_you_provided(app: SeedApp) -> None:
    """Promised: "Portability: Request a copy of your data in a portable format": what user 5
    provided (account, profile, messages), without the device logs."""
    done = run(app, "portability", "user_id", "5")
    with export(app, done.id) as zf:
        users = json.loads(zf.read("data/app/users.json"))
        devices = json.loads(zf.read("data/app/devices.json"))
        messages = json.loads(zf.read("data/app/messages.json"))
    assert set(users[0]) == {"username", "email", "display_name", "profile_picture", "status_text"}
    assert "ip_address" not in devices[0] and "os" not in devices[0]
    vault = Vault(app.project, app.store)
    sent = {
        vault.decrypt("user:5", body, field="messages.body")
        for body in (r["body"] for r in app.query("SELECT body FROM messages WHERE sender_id = 5"))
    }
    assert {m["body"] for m in messages if m["sender_id"] == 5} == sent


def test_correction_changes_the_display_name(app: SeedApp) -> None:
    """Promised: "Correction: Request correction of inaccurate or incomplete information"."""
    done = run(app, "rectification", "user_id", "5", fields={"display_name": "Émile Five"})
    assert done.status == "completed" and user(app, 5)["display_name"] == "Émile Five"


def test_deletion_on_request_erases_at_once(app: SeedApp) -> None:
    """Promised: "Deletion: Request deletion of your personal information": an active account,
    erased on request, without waiting for the 30 days."""
    done = run(app, "erasure", "email", "user7@mail.example")
    assert done.status == "completed"
    assert str(user(app, 7)["email"]).startswith("erased:")
    assert app.scalar("SELECT COUNT(*) FROM usage_events WHERE user_id = 7") == 0


def test_an_objection_stops_usage_analysis_but_not_the_service(app: SeedApp) -> None:
    """Promised: "Objection: Object to certain processing of your personal information": after an
    objection to usage analysis, allowed() refuses it for that user and still allows
    running the service."""
    improve = "functional.service.improve"
    assert app.allowed(improve, "user_id:8") == [True]
    run(app, "objection", "user_id", "8", purpose=improve)
    assert app.allowed(improve, "user_id:8", "user_id:9") == [False, True]
    assert app.allowed("essential.service", "user_id:8") == [True]


def test_material_changes_are_posted_emailed_and_shown_in_the_app(app: SeedApp) -> None:
    """Promised: "We will notify you of any material changes by: Posting the updated policy on our
    website; Sending you an email notification; Displaying a notice in our
    application": a material change e-mails every user, the app shows the notice
    through the SDK until the user accepts the version, and check names all three."""
    policy = app.root / "troth.yaml"
    publish_policy(app.project, app.store, policy, now=AS_OF - 10 * DAY)
    sdk = Troth(app.project, app.store, refresh_ms=0)
    try:
        text = policy.read_text().replace('version: "1"', 'version: "2"')
        widened = "categories: [user.behavior, user.device, user.location, user.telemetry]"
        assert text.count(widened) == 1
        policy.write_text(text.replace(widened, widened[:-1] + ", user.contact.email]"))
        published = publish_policy(app.project, app.store, policy, now=AS_OF)
        assert published.version.material
        sent = {m.to for m in list_outbox(app.project, kind="policy.notice")}
        users = {str(r["email"]).lower() for r in app.query("SELECT email FROM users")}
        assert users <= sent
        notice = sdk.change_notice("user_id:5")
        assert notice is not None and notice.version == "2"
        assert sdk.accept_policy("user_id:5", "2")
        assert sdk.change_notice("user_id:5") is None
    finally:
        sdk.close()
    assert app.promise("changes.notify.email").status == Status.kept
    assert app.promise("changes.notify.website").status == Status.kept


def test_authorities_get_data_only_through_an_approved_request(app: SeedApp) -> None:
    """Promised: "Legal Requirements: When required by law, court order, or government request":
    no bulk export to authorities; one person's data after another officer approves a
    request with its reference."""
    assert disclosed(app, "authorities", ("user_id", "5"), "Court order 2026/41") == 1


def test_after_a_sweep_every_operational_promise_is_kept(app: SeedApp) -> None:
    """troth check on JOJOcell's app: after the worker's sweep nothing is broken or
    stale; what no engine can keep (access controls, certified data centres, encryption
    in transit, minimization, "as long as necessary") is the organisation's word. Its
    policy is published, as the website and e-mail notices promise."""
    app.sweep()
    app.publish()
    report = app.check()
    assert report.failing == [], [(p.key, p.problem) for p in report.failing]
    attested = {p.key for p in report.promises if p.status == Status.attested}
    assert attested == {
        "retention.while_necessary",
        "security.controls[1]",
        "security.controls[2]",
        "security.controls[4]",
        "security.controls[5]",
    }


def dated_tombstones(app: SeedApp) -> None:
    """The data map's users keep their deletion date when erased: the rule still matches."""
    datamap = app.root / "datamap.yaml"
    undated = '      deleted_at: {erase: "null", provided: false}  # the tombstone is not dated\n'
    dated = "      deleted_at: {provided: false, reason: the tombstone keeps its date}\n"
    assert datamap.read_text().count(undated) == 1
    datamap.write_text(datamap.read_text().replace(undated, dated))


def test_held_and_already_erased_accounts_leave_the_30_day_promise_kept(app: SeedApp) -> None:
    """Promised: "within 30 days ... except where retention is required by law": with a
    tombstone that keeps its deletion date, the erased accounts stay matched by the rule,
    and a held one too; three days after the sweep they are reported as held and already
    erased, not as overdue. An account deleted since the sweep and past the period is."""
    dated_tombstones(app)
    holds.place_hold(app.ctx(), app.store, reason="Preservation order", reference="C-17",
                     actor="legal", identities=[("user_id", "50")])  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    app.sweep(now)
    kept = app.promise("retention.after_account_deletion", now + 3 * DAY)
    assert kept.status == Status.kept, kept.problem
    assert "app.users: 5 account(s) matched: 4 already erased, 1 held" in kept.evidence
    assert "(retention.accounts): 5 handed" in kept.evidence
    with app.engine.begin() as conn:
        conn.execute(sql_text("UPDATE users SET state = 'deleted', deleted_at = :d WHERE id = 60"),
                     {"d": (now - 40 * DAY).replace(tzinfo=None)})  # fmt: skip
    stale = app.promise("retention.after_account_deletion", now + 3 * DAY)
    assert stale.status == Status.stale
    assert stale.problem.startswith("1 account(s) of app.users are due and the rule last ran")


def test_a_failed_hand_over_makes_the_30_day_promise_stale(app: SeedApp) -> None:
    """An erasure the deletion rule asked for that failed is never asked for again by the
    rule: troth check names it until staff put it back in the queue."""
    dated_tombstones(app)
    [handed] = [a for a in app.sweep().accounts if a.rule == "after_account_deletion"]
    with app.store.begin() as conn:
        table = rights_tables.requests
        conn.execute(update(table).where(table.c.id == handed.requests[0]).values(status="failed"))
    stale = app.promise("retention.after_account_deletion")
    assert stale.status == Status.stale
    assert stale.problem == (
        "1 request(s) the rule made for accounts of app.users failed "
        "(troth worker retry --all-failed)"
    )
    assert "matched: 2 already erased, 1 whose request failed" in stale.evidence


def test_every_run_of_an_account_rule_leaves_a_counts_only_entry(app: SeedApp) -> None:
    """The deletion rule acts on whole accounts only: each run records what it did in one
    `retention.accounts` entry with counts and no subject, also a run with nothing to do,
    so troth check shows when the rule last ran."""
    app.sweep()
    app.sweep(AS_OF + DAY)
    found = ledger.entries(app.store, kind="retention.accounts", exact_kind=True, limit=10)
    rules = [(e.ref, e.subject, e.data["handed"]) for e in found]
    assert rules == [("after_account_deletion", None, 0), ("after_account_deletion", None, 3)]
    assert set(found[0].data) == {"rule", "table", "handed", "noticed", "spared", "flagged"}
    evidence = app.promise("retention.after_account_deletion").evidence
    assert evidence.startswith("last ran ") and evidence.endswith("(retention.accounts): 0 handed")


def test_an_unscheduled_sweep_breaks_the_30_day_promise(app: SeedApp) -> None:
    """Promised: "within 30 days": with the worker's retention job never running, troth check
    names the after_account_deletion promise as broken."""
    app.sweep()
    app.configure('[worker.schedules]\nretention = "0 0 31 2 *"\n')
    broken = app.promise("retention.after_account_deletion")
    assert broken.status == Status.broken and "never runs" in broken.problem
