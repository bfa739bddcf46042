"""Request lifecycle events POSTed to the URLs of troth.toml, signed, retried, recorded.

[[webhooks]]
url = "https://hooks.example.com/troth"
secret_env = "TROTH_WEBHOOK_SECRET"          # the HMAC key, from the environment
events = ["received", "verified", "completed", "failed", "overdue"]   # the default: all

The events come from the ledger (`request.created`, `.verified`, `.completed`,
`.failed`), read past a cursor kept in the engine store, and from open requests past
their due date (`overdue`, once per request). Each is one row of `worker_webhooks` per
URL (unique, so a re-read event is not sent twice), delivered with exponential backoff
(30 s, 1, 2, 4 … minutes, at most 6 hours apart, 12 tries) and recorded with its
outcome. The body is only `{"id": …, "kind": …, "status": …}`; the headers carry the
event, the time and `X-Troth-Signature: sha256=HMAC(secret, "<time>.<body>")`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from troth import ledger, rights
from troth.errors import TrothError
from troth.project import Project
from troth.store import Store
from troth.worker import tables as t

log = logging.getLogger(__name__)
EVENTS = ("received", "verified", "completed", "failed", "overdue")
FROM_LEDGER = {
    "request.created": "received",
    "request.verified": "verified",
    "request.completed": "completed",
    "request.failed": "failed",
}
CURSOR = "webhooks.seq"
MAX_TRIES = 12
FIRST_WAIT_SECONDS = 30
MAX_WAIT_SECONDS = 6 * 3600
TIMEOUT_SECONDS = 10.0
READ_AT_ONCE = 10_000  # ledger.entries' largest page
WINDOWS_PER_PASS = 10


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_env: str
    events: tuple[str, ...]

    def secret(self) -> bytes:
        value = os.environ.get(self.secret_env)
        if not value:
            raise TrothError(f"troth.toml [[webhooks]] secret_env: {self.secret_env} is not set")
        return value.encode()


def webhooks(project: Project) -> list[Webhook]:
    """troth.toml's `[[webhooks]]`, checked; a wrong value is a TrothError naming its key."""
    raw = project.settings.get("webhooks", [])
    if not isinstance(raw, list) or not all(isinstance(w, dict) for w in raw):
        raise TrothError("troth.toml webhooks: write each one as a [[webhooks]] table")
    return [webhook(entry) for entry in raw]


def webhook(entry: dict[str, Any]) -> Webhook:
    url = entry.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise TrothError("troth.toml [[webhooks]] url: must be an http:// or https:// address")
    if parts.username or parts.password:
        raise TrothError("troth.toml [[webhooks]] url: put the secret in secret_env, not the URL")
    secret_env = entry.get("secret_env")
    if not isinstance(secret_env, str) or not secret_env:
        raise TrothError("troth.toml [[webhooks]] secret_env: name the variable with the key")
    events = entry.get("events", list(EVENTS))
    if not isinstance(events, list) or not events or any(e not in EVENTS for e in events):
        raise TrothError(f"troth.toml [[webhooks]] events: a list of {', '.join(EVENTS)}")
    return Webhook(str(url), secret_env, tuple(events))


def signature(secret: bytes, timestamp: str, body: str) -> str:
    """`sha256=` and the hex HMAC-SHA256 of "<timestamp>.<body>" (what a receiver checks)."""
    mac = hmac.new(secret, f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(request_id: str, kind: str, status: str) -> str:
    return json.dumps({"id": request_id, "kind": kind, "status": status}, sort_keys=True)


def backoff_seconds(tries: int) -> int:
    return int(min(FIRST_WAIT_SECONDS * 2 ** (tries - 1), MAX_WAIT_SECONDS))


def retry_after(tries: int) -> dt.timedelta | None:
    """How long to wait before the next try of a call to another system that failed
    `tries` times; None when it has been tried enough (MAX_TRIES)."""
    if tries >= MAX_TRIES:
        return None
    return dt.timedelta(seconds=backoff_seconds(tries))


def collect_events(project: Project, store: Store, now: dt.datetime) -> int:
    """Queue the lifecycle events since the cursor and the newly overdue requests for every
    configured URL; how many deliveries were added."""
    hooks = webhooks(project)
    if not hooks:
        return 0
    events = ledger_events(store) + overdue_events(project, store, now)
    added = 0
    for hook in hooks:
        for request_id, kind, status in events:
            if status in hook.events:
                added += add_delivery(store, hook.url, request_id, kind, status, now)
    return added


def ledger_events(store: Store) -> list[tuple[str, str, str]]:
    """Lifecycle entries past the cursor, oldest first; the cursor moves past them. A first
    run starts at the ledger's head: webhooks are about what happens from now on.

    Entries are read in windows of READ_AT_ONCE sequence numbers, up to WINDOWS_PER_PASS
    of them: a burst larger than that is caught up by the next passes, never skipped.
    Every entry up to the head row's number is committed (they are written together)."""
    with store.connect() as conn:
        cursor = read_cursor(conn)
    newest = ledger.head(store).seq
    if cursor is None:
        write_cursor(store, newest)
        return []
    fresh: list[ledger.Entry] = []
    for _ in range(WINDOWS_PER_PASS):
        if cursor >= newest:
            break
        end = min(cursor + READ_AT_ONCE, newest)
        window = ledger.entries(store, kind="request", before=end + 1, limit=READ_AT_ONCE)
        fresh += sorted((e for e in window if e.seq > cursor), key=lambda e: e.seq)
        cursor = end
    write_cursor(store, cursor)
    return [
        (e.ref, str(e.data.get("kind", "")), FROM_LEDGER[e.kind])
        for e in fresh
        if e.kind in FROM_LEDGER and e.ref
    ]


def overdue_events(project: Project, store: Store, now: dt.datetime) -> list[tuple[str, str, str]]:
    open_ones = rights.list_requests(
        store, ("received", "verified", "approved", "running"), limit=rights.MAX_LIST
    )
    return [(r.id, r.kind, "overdue") for r in open_ones if r.due_at < now]


def read_cursor(conn: Connection) -> int | None:
    value = conn.execute(select(t.state.c.value).where(t.state.c.name == CURSOR)).scalar()
    return None if value is None else int(value)


def write_cursor(store: Store, seq: int) -> None:
    with store.begin() as conn:
        now = dt.datetime.now(dt.UTC)
        changed = conn.execute(
            update(t.state).where(t.state.c.name == CURSOR).values(value=str(seq), updated_at=now)
        ).rowcount
        if not changed:
            conn.execute(insert(t.state).values(name=CURSOR, value=str(seq), updated_at=now))


def add_delivery(
    store: Store, url: str, request_id: str, kind: str, status: str, now: dt.datetime
) -> int:
    """One delivery row (1), or none when this URL already has this event (0)."""
    row = {
        "url": url,
        "event": status,
        "request_id": request_id,
        "body": body_of(request_id, kind, status),
        "status": "pending",
        "attempts": 0,
        "next_at": now,
        "created_at": now,
    }
    try:
        with store.begin() as conn:
            conn.execute(insert(t.webhooks).values(row))
    except IntegrityError:
        return 0
    return 1


def deliver_due(
    project: Project, store: Store, now: dt.datetime, client: httpx.Client | None = None
) -> dict[str, int]:
    """POST every pending delivery that is due; counts of delivered, retry later, gave up."""
    secrets = {h.url: h.secret() for h in webhooks(project)}
    counts = {"delivered": 0, "retry_later": 0, "gave_up": 0}
    c = t.webhooks.c
    with store.connect() as conn:
        due = (
            conn.execute(
                select(t.webhooks).where(c.status == "pending", c.next_at <= now).order_by(c.id)
            )
            .mappings()
            .all()
        )
    with client or httpx.Client(timeout=TIMEOUT_SECONDS) as http:
        for row in due:
            secret = secrets.get(row["url"])
            if secret is None:  # the URL left troth.toml: nothing to sign with
                continue
            error = post(http, row, secret, now)
            counts[record_outcome(store, row, error, now)] += 1
    return counts


def post(http: httpx.Client, row: Any, secret: bytes, now: dt.datetime) -> str | None:
    """None when the receiver answered 2xx; else what went wrong, without the body."""
    stamp = str(int(now.timestamp()))
    headers = {
        "content-type": "application/json",
        "x-troth-event": row["event"],
        "x-troth-timestamp": stamp,
        "x-troth-signature": signature(secret, stamp, row["body"]),
    }
    try:
        answer = http.post(row["url"], content=row["body"], headers=headers)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None if answer.is_success else f"HTTP {answer.status_code}"


def record_outcome(store: Store, row: Any, error: str | None, now: dt.datetime) -> str:
    """The try's outcome on its row; a delivered one keeps the last failure's error."""
    tries = row["attempts"] + 1
    values: dict[str, Any] = {"attempts": tries}
    wait = retry_after(tries)
    if error is None:
        values.update(status="delivered", delivered_at=now)
        outcome = "delivered"
    elif wait is None:
        values.update(status="gave_up", error=error)
        outcome = "gave_up"
    else:
        values.update(next_at=now + wait, error=error)
        outcome = "retry_later"
    with store.begin() as conn:
        conn.execute(update(t.webhooks).where(t.webhooks.c.id == row["id"]).values(values))
    return outcome
