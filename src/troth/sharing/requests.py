"""Disclosures to authorities: a request with a reference (court order, case number),
approved by a privacy officer other than the person who asked, exported once for the
one person it names, and on the record like every disclosure."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select, update

from troth import ledger
from troth.appdata import Context, find_accounts, normalize
from troth.errors import Conflict, InvalidInput, NotFound, Problem, Refused
from troth.policy.model import RecipientType
from troth.sharing import tables as t
from troth.sharing.export import Only, ShareReport, share_export
from troth.sharing.register import recipient_of
from troth.store import Store

MAX_REFERENCE = 200
MAX_REASON = 500


@dataclass(frozen=True)
class DisclosureRequest:
    id: str
    recipient: str
    reference: str
    reason: str | None
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    export_id: str | None


def request_disclosure(
    ctx: Context,
    store: Store,
    recipient: str,
    identity: tuple[str, str],
    *,
    reference: str,
    actor: str,
    reason: str | None = None,
) -> DisclosureRequest:
    """Ask to disclose one person's data to an authority; nothing leaves before a
    privacy officer approves. InvalidInput names each bad field; nothing is written."""
    found = recipient_of(ctx.policy, recipient)
    problems = []
    if found.type != RecipientType.authority:
        problems.append(Problem("request", None, "recipient", "is not an authority"))
    if not reference.strip() or len(reference) > MAX_REFERENCE:
        problems.append(Problem("request", None, "reference", f"give 1-{MAX_REFERENCE} characters"))
    if reason is not None and len(reason) > MAX_REASON:
        problems.append(Problem("request", None, "reason", f"at most {MAX_REASON} characters"))
    kind, value = identity
    if kind not in ctx.datamap.identities:
        problems.append(Problem("request", None, "identity", f"unknown kind {kind!r}"))
    if problems:
        raise InvalidInput(problems)
    value = normalize(ctx.datamap, kind, value)
    request_id = "s" + secrets.token_urlsafe(12)
    subject = ctx.project.subject_ref(kind, value)
    row: dict[str, Any] = {
        "id": request_id,
        "recipient": recipient,
        "identity_kind": kind,
        "identity_value": value,
        "subject": subject,
        "reference": reference.strip(),
        "reason": reason,
        "status": "pending",
        "requested_by": actor,
        "requested_at": utcnow(),
    }
    with store.begin() as conn:
        conn.execute(insert(t.requests).values(row))
        data = {"recipient": recipient, "reference": row["reference"]}
        ledger.record(
            conn, "sharing.requested", actor=actor, subject=subject, ref=request_id, data=data
        )
    return get_request(store, request_id)


def decide(store: Store, request_id: str, actor: str, *, approve: bool) -> DisclosureRequest:
    """Approve or deny a pending request; the person who asked cannot decide it."""
    current = get_request(store, request_id)
    if current.status != "pending":
        raise Conflict(f"request {request_id} is {current.status}, not pending")
    if current.requested_by == actor:
        raise Refused("a disclosure request must be decided by someone other than who asked")
    status = "approved" if approve else "denied"
    values: dict[str, Any] = {"status": status, "decided_by": actor, "decided_at": utcnow()}
    if not approve:
        values["identity_value"] = None
    with store.begin() as conn:
        changed = conn.execute(
            update(t.requests)
            .where(t.requests.c.id == request_id, t.requests.c.status == "pending")
            .values(values)
        ).rowcount
        if changed != 1:
            raise Conflict(f"request {request_id} was decided meanwhile")
        ledger.record(conn, f"sharing.{status}", actor=actor, ref=request_id)
    return get_request(store, request_id)


def export_request(
    ctx: Context,
    store: Store,
    request_id: str,
    out: Path | None,
    *,
    actor: str,
    fmt: str | None = None,
) -> ShareReport:
    """Export an approved request's person to its authority, once: the request is
    marked done in the transaction that records the disclosure, so a second run (or
    one racing this) is refused and its file discarded."""
    current = get_request(store, request_id)
    if current.status != "approved":
        raise Refused(
            f"request {request_id} is {current.status}: a privacy officer must approve it first"
        )
    with store.connect() as conn:
        kind, value = conn.execute(
            select(t.requests.c.identity_kind, t.requests.c.identity_value).where(
                t.requests.c.id == request_id
            )
        ).one()
    accounts = find_accounts(ctx.project, kind, [value], normalized=True)
    only = Only(
        {a.table: {a.value} for a in accounts.values()},
        {(kind, value)},
    )

    def mark_done(conn: Connection, disclosure_id: str) -> None:
        done = conn.execute(
            update(t.requests)
            .where(t.requests.c.id == request_id, t.requests.c.status == "approved")
            .values(status="done", identity_value=None, export_id=disclosure_id)
        ).rowcount
        if done != 1:
            raise Conflict(f"request {request_id} was disclosed meanwhile")
        ledger.record(conn, "sharing.done", actor=actor, ref=request_id)

    return share_export(
        ctx, store, current.recipient, out, fmt=fmt, actor=actor, only=only,
        reference=current.reference, on_record=mark_done,
    )  # fmt: skip


def get_request(store: Store, request_id: str) -> DisclosureRequest:
    with store.connect() as conn:
        row = conn.execute(select(t.requests).where(t.requests.c.id == request_id)).one_or_none()
    if row is None:
        raise NotFound("no disclosure request has this id")
    return request_of(row)


def list_requests(store: Store, status: str | None = None) -> list[DisclosureRequest]:
    query = select(t.requests).order_by(t.requests.c.requested_at.desc()).limit(500)
    if status is not None:
        query = query.where(t.requests.c.status == status)
    with store.connect() as conn:
        return [request_of(row) for row in conn.execute(query)]


def request_of(row: Any) -> DisclosureRequest:
    m = row._mapping
    at = m["requested_at"]
    return DisclosureRequest(
        m["id"], m["recipient"], m["reference"], m["reason"], m["status"], m["requested_by"],
        at if at.tzinfo else at.replace(tzinfo=dt.UTC), m["decided_by"], m["export_id"],
    )  # fmt: skip


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
