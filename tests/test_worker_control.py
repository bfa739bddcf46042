"""Staff control around the queue: deadline extensions with notice, webhooks, the console,
and `troth serve` running queued requests in its own process (SQLite)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from test_server_support import Server
from test_worker import Setup, make_setup
from troth import ledger, rights, worker
from troth.errors import Conflict, InvalidInput
from troth.outbox import list_outbox, read_message
from troth.project import open_project
from troth.server import create_app
from troth.worker import tables as worker_tables
from troth.worker import webhooks

pytest_plugins = ["test_server_support"]
SECRET = "s3cret-for-tests"


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    yield from make_setup(tmp_path, sqlite_url, 30, monkeypatch)


def account_email(setup: Setup, user_id: int) -> str:
    with sqlite3.connect(setup.project.root / "app.db") as db:
        (email,) = db.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()
    return str(email)


# --- deadline extension ----------------------------------------------------------------


def test_extend_a_deadline_once_with_a_notice_to_the_subject(app: Setup) -> None:
    email = account_email(app, 3)
    made = rights.create_request(app.project, app.store, "access", "email", email)
    extended, notified = rights.extend_deadline(
        app.project, app.store, made.id, 60, "an unusually large number of requests", actor="t"
    )
    assert notified and extended.due_at == made.due_at + dt.timedelta(days=60)
    (notice,) = list_outbox(app.project, kind="request.extended")
    assert notice.to == email
    text = read_message(notice.path).get_content()
    assert "unusually large number of requests" in text and f"{extended.due_at:%d %B %Y}" in text
    (entry,) = ledger.entries(app.store, ref=made.id, kind="request.extended")
    assert entry.data["days"] == 60 and email not in json.dumps(entry.data)
    with pytest.raises(Conflict, match="extended once already"):
        rights.extend_deadline(app.project, app.store, made.id, 5, "again", actor="t")


def test_an_extension_is_checked(app: Setup) -> None:
    made = rights.create_request(app.project, app.store, "erasure", "user_id", "4")
    with pytest.raises(InvalidInput, match="1 to 60 days"):
        rights.extend_deadline(app.project, app.store, made.id, 61, "complex", actor="t")
    with pytest.raises(InvalidInput, match="e-mail address"):
        rights.extend_deadline(
            app.project, app.store, made.id, 30, "ask bob@example.com", actor="t"
        )
    _, notified = rights.extend_deadline(app.project, app.store, made.id, 30, "complex", actor="t")
    assert not notified  # a user id holds no address to write to
    done = rights.create_request(app.project, app.store, "access", "user_id", "5")
    rights.deny_request(app.project, app.store, done.id, "test: not the account holder")
    with pytest.raises(Conflict, match="denied, so it cannot be extended"):
        rights.extend_deadline(app.project, app.store, done.id, 10, "complex", actor="t")


# --- webhooks --------------------------------------------------------------------------


class Receiver:
    """A webhook receiver that checks each signature and refuses the first `refusals`."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.got: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        stamp = request.headers["x-troth-timestamp"]
        mac = hmac.new(SECRET.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["x-troth-signature"], "sha256=" + mac)
        if self.refusals:
            self.refusals -= 1
            return httpx.Response(503)
        self.got.append(json.loads(body) | {"event": request.headers["x-troth-event"]})
        return httpx.Response(204)


def with_webhook(app: Setup, monkeypatch: pytest.MonkeyPatch, events: str = "") -> None:
    monkeypatch.setenv("TROTH_TEST_WEBHOOK", SECRET)
    listed = f"events = [{events}]\n" if events else ""
    (app.project.root / "troth.toml").write_text(
        '[[webhooks]]\nurl = "https://hooks.example.test/troth"\n'
        f'secret_env = "TROTH_TEST_WEBHOOK"\n{listed}'
    )
    app.project = open_project(app.project.root)


def test_lifecycle_events_are_signed_retried_and_recorded(
    app: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_webhook(app, monkeypatch)
    now = dt.datetime.now(dt.UTC)
    assert webhooks.collect_events(app.project, app.store, now) == 0  # starts from here
    email = account_email(app, 6)
    made = rights.create_request(app.project, app.store, "erasure", "email", email)
    rights.verify_request(app.project, app.store, made.id)
    rights.run_request(app.project, app.store, made.id)
    assert webhooks.collect_events(app.project, app.store, now) == 3
    assert webhooks.collect_events(app.project, app.store, now) == 0  # never twice
    receiver = Receiver(refusals=1)
    client = httpx.Client(transport=httpx.MockTransport(receiver))
    first = webhooks.deliver_due(app.project, app.store, now, client)
    assert first == {"delivered": 2, "retry_later": 1, "gave_up": 0}
    client = httpx.Client(transport=httpx.MockTransport(receiver))
    assert webhooks.deliver_due(app.project, app.store, now, client)["delivered"] == 0
    later = now + dt.timedelta(seconds=webhooks.backoff_seconds(1))
    client = httpx.Client(transport=httpx.MockTransport(receiver))
    assert webhooks.deliver_due(app.project, app.store, later, client)["delivered"] == 1
    assert sorted(g["status"] for g in receiver.got) == ["completed", "received", "verified"]
    for got in receiver.got:
        assert set(got) == {"id", "kind", "status", "event"} and got["id"] == made.id
        assert got["kind"] == "erasure" and email not in json.dumps(got)
    with app.store.connect() as conn:
        rows = conn.execute(select(worker_tables.webhooks)).mappings().all()
    assert {r["status"] for r in rows} == {"delivered"}
    assert max(r["attempts"] for r in rows) == 2 and any(r["error"] == "HTTP 503" for r in rows)


def test_a_burst_past_one_pass_is_caught_up_never_skipped(
    app: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_webhook(app, monkeypatch, events='"received"')
    now = dt.datetime.now(dt.UTC)
    webhooks.collect_events(app.project, app.store, now)
    monkeypatch.setattr(webhooks, "READ_AT_ONCE", 3)
    monkeypatch.setattr(webhooks, "WINDOWS_PER_PASS", 2)
    for user_id in range(1, 11):
        rights.create_request(app.project, app.store, "access", "user_id", str(user_id))
    first = webhooks.collect_events(app.project, app.store, now)
    rest = [webhooks.collect_events(app.project, app.store, now) for _ in range(20)]
    assert first < 10 and first + sum(rest) == 10
    with app.store.connect() as conn:
        rows = conn.execute(select(worker_tables.webhooks.c.request_id)).scalars().all()
    assert len(set(rows)) == 10


def test_an_overdue_request_is_announced_once(app: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    with_webhook(app, monkeypatch, events='"overdue"')
    now = dt.datetime.now(dt.UTC)
    webhooks.collect_events(app.project, app.store, now)
    made = rights.create_request(app.project, app.store, "access", "user_id", "7")
    assert webhooks.collect_events(app.project, app.store, now) == 0  # received: not listed
    late = made.due_at + dt.timedelta(minutes=1)
    assert webhooks.collect_events(app.project, app.store, late) == 1
    assert webhooks.collect_events(app.project, app.store, late) == 0


def test_webhook_settings_are_checked(tmp_path: Path) -> None:
    for body, message in (
        ('[[webhooks]]\nurl = "ftp://x"\nsecret_env = "S"\n', "http:// or https://"),
        ('[[webhooks]]\nurl = "https://u:p@x.test/"\nsecret_env = "S"\n', "not the URL"),
        ('[[webhooks]]\nurl = "https://x.test/"\n', "secret_env"),
        ('[[webhooks]]\nurl = "https://x.test/"\nsecret_env = "S"\nevents = ["x"]\n', "events"),
    ):
        (tmp_path / "troth.toml").write_text(body)
        with pytest.raises(Exception, match=message):
            webhooks.webhooks(open_project(tmp_path))


# --- the console -----------------------------------------------------------------------


def test_console_pauses_resumes_and_queues_failed_requests_again(server: Server) -> None:
    officer, token = server.staff_client("privacy_officer")
    made = rights.create_request(server.project, server.store, "access", "email", "x@example.com")
    with server.store.begin() as conn:
        conn.execute(
            update(rights.tables.requests)
            .where(rights.tables.requests.c.id == made.id)
            .values(status="failed", error="OperationalError in the app's store")
        )
    page = officer.get("/admin").text
    assert "1 failed" in page and "Pause the queue" in page
    officer.post("/admin/queue", data={"csrf": token, "action": "pause"})
    assert worker.is_paused(server.store) and "Resume the queue" in officer.get("/admin").text
    officer.post("/admin/queue", data={"csrf": token, "action": "resume"})
    assert not worker.is_paused(server.store)
    detail = officer.get(f"/admin/requests/{made.id}").text
    assert "OperationalError in the app&#39;s store" in detail and "Queue again" in detail
    officer.post("/admin/queue", data={"csrf": token, "action": "retry_failed"})
    assert rights.get_request(server.store, made.id).status == "verified"
    officer.post(
        f"/admin/requests/{made.id}",
        data={"csrf": token, "action": "extend", "days": "30", "reason": "complex request"},
    )
    assert ledger.entries(server.store, ref=made.id, kind="request.extended")
    support, support_token = server.staff_client("support")
    refused = support.post("/admin/queue", data={"csrf": support_token, "action": "pause"})
    assert refused.status_code == 403


# --- troth serve on SQLite: the jobs run in the server's own process --------------------


def test_serve_runs_queued_requests_in_process(server: Server) -> None:
    app = create_app(server.project, run_jobs=True)
    email = server.emails(1)[0]
    with TestClient(app) as client:
        token = server.sign_in(email, client)
        made = client.post(
            "/me/requests",
            data={"csrf": token, "kind": "erasure", "confirm": "yes"},
            follow_redirects=False,
        )
        page = made.headers["location"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            shown = client.get(page)
            if "Your account is deleted" in shown.text:
                break
            assert "Queued" in shown.text or "In progress" in shown.text
            time.sleep(0.2)
        assert "Your account is deleted" in shown.text
        assert client.get("/me").status_code == 401
    request_id = page.rsplit("/", 1)[1]
    kinds = [e.kind for e in ledger.entries(server.store, ref=request_id)]
    assert "request.completed" in kinds and kinds.count("request.started") == 1


# --- verification reminders ------------------------------------------------------------


def test_unverified_requests_are_reminded_once(app: Setup) -> None:
    email = account_email(app, 8)
    made = rights.create_request(app.project, app.store, "access", "email", email.upper())
    rights.create_request(app.project, app.store, "access", "user_id", "9")  # no address
    day = dt.timedelta(days=1)
    assert rights.remind_unverified(app.project, app.store, older_than=day) == 0  # too new
    later = dt.datetime.now(dt.UTC) + 2 * day
    assert rights.remind_unverified(app.project, app.store, older_than=day, now=later) == 1
    assert rights.remind_unverified(app.project, app.store, older_than=day, now=later) == 0
    (reminder,) = list_outbox(app.project, kind="request.reminder")
    assert reminder.to == email and made.id in read_message(reminder.path).get_content()
    assert ledger.entries(app.store, ref=made.id, kind="request.reminded")


def test_signing_in_verifies_the_subjects_waiting_requests(server: Server) -> None:
    email = server.emails(1)[0]
    made = rights.create_request(server.project, server.store, "access", "email", email)
    other = rights.create_request(server.project, server.store, "access", "user_id", "3")
    server.sign_in(email)
    assert rights.get_request(server.store, made.id).status == "verified"
    assert rights.get_request(server.store, other.id).status == "received"
    verified = ledger.entries(server.store, ref=made.id, kind="request.verified")
    assert verified[0].actor == "subject"
