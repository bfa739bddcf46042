"""Requests in the engine store: received -> verified -> approved (if the policy asks)
-> running -> completed | failed, or denied. Every transition goes to the ledger.

Transitions are compare-and-set updates (`WHERE status IN (...)`), so several
workers can share one queue: a worker claims a request by moving it to
`running` with a lease; a request whose lease ran out (its worker died) is
taken up again and resumes from its recorded per-store steps.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    DateTime,
    Select,
    Update,
    bindparam,
    case,
    false,
    func,
    insert,
    null,
    select,
    text,
    update,
)

from troth import holds, ledger, outbox
from troth.appdata import (
    Context,
    Refusal,
    identity_changes,
    load_context,
    normalize,
    rectify_fields,
    taken,
)
from troth.errors import Conflict, InvalidInput, NotFound, Problem
from troth.policy.model import RightKind
from troth.project import Project
from troth.rights import tables as t
from troth.store import Store

KINDS = (
    "access",
    "portability",
    "rectification",
    "erasure",
    "deactivation",
    "reactivation",
    "restriction",
    "objection",
    "withdraw_consent",
    "opt_out_sale",
    "complaint",
)
READS = ("access", "portability")
RECORDED = ("restriction", "objection", "withdraw_consent", "opt_out_sale")
# Kinds whose run, made again after its completion was lost, does the same: an export
# changes nothing in the app, an erasure resumes from its stored plan, the others set
# the same values again. Their completion need not wait for the disk (`finish`).
REDONE_EXACTLY = (*READS, "erasure", "rectification", "deactivation", "reactivation")
STATUSES = ("received", "verified", "approved", "running", "completed", "failed", "denied")
OPEN = ("received", "verified", "approved")
LEASE = dt.timedelta(minutes=10)
SOURCE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
JURISDICTION = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_LIST = 1000
MAX_EXTENSION_DAYS = 60


@dataclass(frozen=True)
class Request:
    id: str
    kind: str
    status: str
    identity_kind: str
    subject: str
    jurisdiction: str
    source: str
    created_at: dt.datetime
    due_at: dt.datetime
    updated_at: dt.datetime
    purpose: str | None = None
    fields: dict[str, str] = field(default_factory=dict, repr=False)
    reason: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    identity_value: str | None = field(default=None, repr=False)

    @property
    def overdue(self) -> bool:
        return self.status in (*OPEN, "running") and utcnow() > self.due_at


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def from_row(row: Mapping[Any, Any]) -> Request:
    return Request(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        identity_kind=row["identity_kind"],
        subject=row["subject"],
        jurisdiction=row["jurisdiction"],
        source=row["source"],
        created_at=aware(row["created_at"]),
        due_at=aware(row["due_at"]),
        updated_at=aware(row["updated_at"]),
        purpose=row["purpose"],
        fields=dict(row["fields"] or {}),
        reason=row["reason"],
        result=dict(row["result"] or {}),
        error=row["error"],
        identity_value=row["identity_value"],
    )


def problem(key: str, message: str) -> InvalidInput:
    return InvalidInput([Problem("request", None, key, message)])


def right_of(kind: str) -> RightKind:
    return RightKind("deactivation" if kind == "reactivation" else kind)


def check_purpose(ctx: Context, kind: str, purpose: str | None) -> None:
    if purpose is None:
        if kind == "objection":
            raise problem("purpose", "an objection names the purpose objected to")
        return
    if kind not in ("objection", "withdraw_consent", "restriction"):
        raise problem("purpose", f"a {kind} request takes no purpose")
    if ctx.policy.purpose(purpose) is None:
        known = ", ".join(p.key for p in ctx.policy.purposes)
        raise problem("purpose", f"not a purpose of troth.yaml (declared: {known})")


def check_jurisdiction(ctx: Context, jurisdiction: str | None) -> str:
    chosen = jurisdiction or ctx.policy.rights.default_jurisdiction
    deadlines = ctx.policy.rights.deadlines
    if not JURISDICTION.match(chosen) or (deadlines and chosen not in deadlines):
        raise problem(
            "jurisdiction", f"not one of troth.yaml rights.deadlines: {sorted(deadlines)}"
        )
    return chosen


def create_request(
    project: Project,
    store: Store,
    kind: str,
    identity_kind: str,
    identity_value: str,
    *,
    fields: Mapping[str, str] | None = None,
    purpose: str | None = None,
    jurisdiction: str | None = None,
    source: str = "cli",
    link_duplicates: bool = True,
) -> Request:
    """Record a new request (status received); every input is checked first.

    With `link_duplicates`, a request for the same subject, kind, purpose and fields as
    one still open (received, verified, approved or running) is not made again: the open
    one is returned, and the ledger records the duplicate on it (`request.duplicate`)."""
    row = new_request(
        project,
        kind,
        identity_kind,
        identity_value,
        fields=fields,
        purpose=purpose,
        jurisdiction=jurisdiction,
        source=source,
    )
    with store.begin() as conn:
        if link_duplicates:
            same = open_duplicate(conn, row)
            if same is not None:
                data = {"kind": same.kind, "source": source}
                ledger.record(
                    conn, "request.duplicate", subject=same.subject, ref=same.id, data=data
                )
                return same
        insert_request(conn, row)
    return get_request(store, row["id"])


def open_duplicate(conn: Connection, row: Mapping[str, Any]) -> Request | None:
    """The open request `row` would repeat, if any. On PostgreSQL a transaction lock on
    the subject and kind keeps two concurrent creations from both missing each other."""
    if conn.dialect.name == "postgresql":
        digest = hashlib.sha256(f"{row['subject']}/{row['kind']}".encode()).digest()
        key = int.from_bytes(digest[:8], "big") >> 1
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    c = t.requests.c
    query = select(t.requests).where(
        c.subject == row["subject"],
        c.kind == row["kind"],
        c.status.in_((*OPEN, "running")),
    )
    for found in conn.execute(query.order_by(c.created_at)).mappings():
        same = from_row(found)
        if same.purpose == row["purpose"] and same.fields == dict(row["fields"]):
            return same
    return None


def new_request(
    project: Project,
    kind: str,
    identity_kind: str,
    identity_value: str,
    *,
    fields: Mapping[str, str] | None = None,
    purpose: str | None = None,
    jurisdiction: str | None = None,
    source: str = "cli",
) -> dict[str, Any]:
    """The row of a new request (status received), every input checked; nothing written."""
    if kind not in KINDS:
        raise problem("kind", f"not a request type (one of: {', '.join(KINDS)})")
    if not SOURCE.match(source):
        raise problem("source", "expected a short lower-case name")
    ctx = load_context(project)
    value = normalize(ctx.datamap, identity_kind, identity_value)
    check_purpose(ctx, kind, purpose)
    where = check_jurisdiction(ctx, jurisdiction)
    if kind == "rectification":
        clashes = taken(ctx, rectify_fields(ctx, fields or {}), (identity_kind, value))
        if clashes:  # the app would refuse the write when it runs
            raise InvalidInput(clashes)
    elif fields:
        raise problem("fields", f"a {kind} request takes no fields")
    now = utcnow()
    return {
        # A leading "r" keeps ids from starting with "-", which a command line reads as an option.
        "id": "r" + secrets.token_urlsafe(18),
        "kind": kind,
        "status": "received",
        "identity_kind": identity_kind,
        "identity_value": value,
        "subject": project.subject_ref(identity_kind, value),
        "fields": dict(fields or {}),
        "purpose": purpose,
        "jurisdiction": where,
        "source": source,
        "created_at": now,
        "due_at": now + dt.timedelta(days=ctx.policy.deadline_days(where, right_of(kind))),
        "updated_at": now,
    }


def insert_request(conn: Connection, row: Mapping[str, Any], *, actor: str = "system") -> None:
    """Write a request built by `new_request` in the caller's transaction, with its ledger
    entries (`request.created`, and `request.verified` when it is created verified)."""
    conn.execute(insert(t.requests).values(dict(row)))
    data = {
        "kind": row["kind"],
        "identity": row["identity_kind"],
        "jurisdiction": row["jurisdiction"],
        "source": row["source"],
    }
    events = [ledger.Event("request.created", actor, row["subject"], row["id"], data)]
    if row["status"] == "verified":
        verified = {"kind": row["kind"]}
        events.append(ledger.Event("request.verified", actor, row["subject"], row["id"], verified))
    ledger.record_many(conn, events)


def get_request(store: Store, request_id: str) -> Request:
    with store.connect() as conn:
        return fetch(conn, request_id)


def fetch(conn: Connection, request_id: str) -> Request:
    row = conn.execute(select(t.requests).where(t.requests.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound("no such request")
    return from_row(row)


def list_requests(
    store: Store,
    status: str | Sequence[str] | None = None,
    *,
    kind: str | None = None,
    subject: str | None = None,
    newest_first: bool = False,
    limit: int = 100,
) -> list[Request]:
    """Requests, oldest first (or newest first), filtered by status (one or several),
    kind or subject reference."""
    wanted = [status] if isinstance(status, str) else list(status or [])
    if any(s not in STATUSES for s in wanted):
        raise problem("status", f"not one of: {', '.join(STATUSES)}")
    if kind is not None and kind not in KINDS:
        raise problem("kind", f"not one of: {', '.join(KINDS)}")
    created, key = t.requests.c.created_at, t.requests.c.id
    order = (created.desc(), key.desc()) if newest_first else (created.asc(), key.asc())
    query = select(t.requests).order_by(*order)
    if wanted:
        query = query.where(t.requests.c.status.in_(wanted))
    if kind is not None:
        query = query.where(t.requests.c.kind == kind)
    if subject is not None:
        query = query.where(t.requests.c.subject == subject)
    with store.connect() as conn:
        rows = conn.execute(query.limit(max(1, min(limit, MAX_LIST)))).mappings().all()
    return [from_row(r) for r in rows]


def transition(
    store: Store,
    request_id: str,
    allowed: Sequence[str],
    to: str,
    event: str,
    *,
    actor: str,
    data: Mapping[str, Any] | None = None,
    **values: Any,
) -> Request:
    """Move a request from one of `allowed` to `to`, atomically, with a ledger entry."""
    with store.begin() as conn:
        current = fetch(conn, request_id)
        changed = conn.execute(
            update(t.requests)
            .where(t.requests.c.id == request_id, t.requests.c.status.in_(allowed))
            .values(status=to, updated_at=utcnow(), **values)
        ).rowcount
        if not changed:
            raise Conflict(f"request {request_id} is {current.status}, so it cannot be {event}")
        ledger.record(
            conn,
            f"request.{event}",
            actor=actor,
            subject=current.subject,
            ref=request_id,
            data={"kind": current.kind, **(data or {})},
        )
        return fetch(conn, request_id)


def verify_request(
    project: Project, store: Store, request_id: str, *, actor: str = "system"
) -> Request:
    """The subject proved the identity (the server checks the one-time code)."""
    return transition(store, request_id, ("received",), "verified", "verified", actor=actor)


def approve_request(
    project: Project, store: Store, request_id: str, *, actor: str = "system"
) -> Request:
    return transition(store, request_id, ("verified",), "approved", "approved", actor=actor)


def deny_request(
    project: Project, store: Store, request_id: str, reason: str, *, actor: str = "system"
) -> Request:
    """Refuse a request that has not run, or that failed (staff give up on it rather than
    retry); the reason is shown to staff and the subject.

    The reason is kept for years: one that holds an e-mail, a phone number or an IP
    address is refused (the request already names its subject)."""
    reason = checked_reason(reason, "a denial")
    return transition(
        store,
        request_id,
        (*OPEN, "failed"),
        "denied",
        "denied",
        actor=actor,
        reason=reason,
        identity_value=None,
        fields={},
    )


def retry_request(
    project: Project, store: Store, request_id: str, *, actor: str = "system"
) -> Request:
    """Put a failed request back in the queue (verified, or approved where it needs
    approval: it had it before it ran); it resumes from its stored plan."""
    request = get_request(store, request_id)
    ready = "approved" if needs_approval(load_context(project), request) else "verified"
    return transition(store, request_id, ("failed",), ready, "retried", actor=actor)


def answer_complaint(
    project: Project, store: Store, request_id: str, answer: str, *, actor: str = "system"
) -> Request:
    """Close an open complaint with the organization's answer, which is kept, shown to the
    person and e-mailed to them when they complained with an e-mail address."""
    answer = checked_reason(answer, "an answer")
    current = get_request(store, request_id)
    if current.kind != "complaint":
        raise Conflict(f"request {request_id} is not a complaint; only complaints are answered")
    done = transition(
        store,
        request_id,
        OPEN,
        "completed",
        "answered",
        actor=actor,
        reason=answer,
        result={"answered": True},
        identity_value=None,
    )
    if current.identity_kind == "email" and current.identity_value is not None:
        body = (
            f"Our answer to your complaint (reference {current.id}):\n\n{answer}\n\n"
            "If you are not satisfied, you may complain to a data protection authority."
        )
        key = outbox.message_key(current.id, "answered")
        outbox.send(
            project,
            current.identity_value,
            "Our answer to your complaint",
            body,
            kind="request.answered",
            key=key,
        )
    return done


def checked_reason(reason: str, what: str) -> str:
    """A staff reason kept for years and shown to the subject: one to 2000 characters
    that hold no e-mail, phone number or IP address (the request already names its
    subject)."""
    reason = reason.strip()
    if not reason or len(reason) > 2000:
        raise problem("reason", f"{what} needs a reason of at most 2000 characters")
    personal = ledger.looks_personal(reason)
    if personal:
        raise problem(
            "reason",
            f"looks like it holds {personal}; say why without the subject's identity, "
            "which the request already names",
        )
    return reason


def extend_deadline(
    project: Project,
    store: Store,
    request_id: str,
    days: int,
    reason: str,
    *,
    actor: str = "system",
) -> tuple[Request, bool]:
    """Move an open request's due date on by `days` (at most MAX_EXTENSION_DAYS, once:
    GDPR Art. 12(3) allows two further months, with the reasons told to the subject)
    and send the subject the notice; the request, and whether a notice could be sent
    (only to an e-mail address the request still holds)."""
    reason = checked_reason(reason, "an extension")
    if isinstance(days, bool) or not 1 <= days <= MAX_EXTENSION_DAYS:
        raise problem("days", f"an extension is 1 to {MAX_EXTENSION_DAYS} days")
    if ledger.entries(store, ref=request_id, kind="request.extended", limit=1):
        raise Conflict(f"request {request_id} was extended once already")
    with store.begin() as conn:
        current = fetch(conn, request_id)
        due = current.due_at + dt.timedelta(days=days)
        changed = conn.execute(
            update(t.requests)
            .where(t.requests.c.id == request_id, t.requests.c.status.in_((*OPEN, "running")))
            .values(due_at=due, updated_at=utcnow())
        ).rowcount
        if not changed:
            raise Conflict(f"request {request_id} is {current.status}, so it cannot be extended")
        notified = current.identity_kind == "email" and current.identity_value is not None
        data = {"kind": current.kind, "days": days, "reason": reason, "notified": notified}
        ledger.record(
            conn,
            "request.extended",
            actor=actor,
            subject=current.subject,
            ref=request_id,
            data=data,
        )
    if notified:
        assert current.identity_value is not None
        send_extension_notice(project, current, due, reason)
    return get_request(store, request_id), notified


def send_extension_notice(
    project: Project, request: Request, due: dt.datetime, reason: str
) -> None:
    """The subject's notice of a longer deadline (sent once: the key makes it idempotent)."""
    assert request.identity_value is not None
    kind = request.kind.replace("_", " ")
    body = (
        f"We need more time for your {kind} request (reference {request.id}).\n\n"
        f"We will answer by {due:%d %B %Y}. The reason: {reason}\n\n"
        "The law allows this extension when a request is complex or we receive many; "
        "you may complain to a data protection authority if you disagree."
    )
    subject = "Your privacy request will take longer"
    key = outbox.message_key(request.id, "extended")
    outbox.send(project, request.identity_value, subject, body, kind="request.extended", key=key)


def remind_unverified(
    project: Project, store: Store, *, older_than: dt.timedelta, now: dt.datetime | None = None
) -> int:
    """Remind, once, each subject whose request still waits for verification after
    `older_than` (only those made with an e-mail address: nothing else can be written
    to); how many were reminded. Signing in to the privacy center with that address
    verifies the request."""
    cutoff = (now or utcnow()) - older_than
    reminded = 0
    for request in list_requests(store, "received", limit=MAX_LIST):
        if request.identity_kind != "email" or request.identity_value is None:
            continue
        if request.created_at > cutoff:
            continue
        if ledger.entries(store, ref=request.id, kind="request.reminded", limit=1):
            continue
        send_reminder(project, request)
        with store.begin() as conn:
            data = {"kind": request.kind}
            ledger.record(
                conn, "request.reminded", subject=request.subject, ref=request.id, data=data
            )
        reminded += 1
    return reminded


def send_reminder(project: Project, request: Request) -> None:
    assert request.identity_value is not None
    kind = request.kind.replace("_", " ")
    body = (
        f"We received a {kind} request for this address on {request.created_at:%d %B %Y} "
        f"(reference {request.id}).\n\nIt waits until you confirm that the address is "
        "yours: sign in to our privacy center with it (we send a code to this address) "
        "and the request goes ahead. If you did not ask for it, ignore this message."
    )
    key = outbox.message_key(request.id, "reminder")
    outbox.send(
        project,
        request.identity_value,
        "Please confirm your privacy request",
        body,
        kind="request.reminder",
        key=key,
    )


def needs_approval(ctx: Context, request: Request) -> bool:
    """Whether staff must approve the request before it runs: the policy says so for its
    right, or it is a correction of an identity (a new e-mail or phone would widen whose
    rows the subject reaches; staff check that it is theirs)."""
    right = ctx.policy.right(right_of(request.kind))
    if right and right.requires_approval:
        return True
    return request.kind == "rectification" and bool(identity_changes(ctx.datamap, request.fields))


def runnable(ctx: Context, request: Request) -> bool:
    """Whether a worker may carry the request out; a complaint never runs: staff answer it."""
    if request.kind == "complaint":
        return False
    if request.status in ("approved", "running", "failed"):
        return True
    return request.status == "verified" and not needs_approval(ctx, request)


State = tuple[Request, dict[str, dict[str, Any]], bool]


def current_state(store: Store, request_id: str) -> State:
    """The request, its per-store steps (store -> status and detail: the stored plan's
    stores pending, those marked done since done) and whether any legal hold stands (only
    then does an erasure read the holds), in one statement."""
    with store.connect() as conn:
        return state_of(conn.execute(STATE, state_parameters(request_id)).mappings().all())


def state_query() -> Select[Any]:
    """The rows `state_of` reads: the request's, one per step marked done; its parameters
    are `state_parameters`."""
    s = t.steps.c
    query = select(
        t.requests,
        s.store.label("step_store"),
        s.status.label("step_status"),
        s.detail.label("step_detail"),
        holds.any_standing(bindparam("state_now", type_=DateTime(timezone=True))).label(
            "holds_stand"
        ),
    ).outerjoin(t.steps, s.request_id == t.requests.c.id)
    return query.where(t.requests.c.id == bindparam("state_id"))


def state_parameters(request_id: str) -> dict[str, Any]:
    return {"state_id": request_id, "state_now": utcnow()}


# Built once: each run reads it, and building it took longer than the store runs it.
STATE = state_query()


def state_of(rows: Sequence[Mapping[Any, Any]]) -> State:
    """The request's state from the rows of `state_query` (none, or one without an id:
    there is no such request)."""
    if not rows or rows[0]["id"] is None:
        raise NotFound("no such request")
    plan = rows[0]["plan"] or {}
    steps = {name: {"status": "pending", "detail": detail} for name, detail in plan.items()}
    steps.update(
        (r["step_store"], {"status": r["step_status"], "detail": r["step_detail"]})
        for r in rows
        if r["step_store"] is not None
    )
    return from_row(rows[0]), steps, bool(rows[0]["holds_stand"])


def claim(
    store: Store,
    request: Request,
    *,
    actor: str,
    force: bool,
    prepared: Prepared | None = None,
    exports_of: Collection[str] = (),
    lock: RunLock | None = None,
) -> tuple[Request, list[str]] | None:
    """Move the request to running with a fresh lease, and store the plan `prepared` holds
    (an erasure's per-store steps, planned before anything changes) in the same
    statement, with their ledger entries; None when another worker holds it (then
    nothing is stored).

    The same statement returns the ids of the access and portability requests of the
    subject references `exports_of` (an erasure's copies step deletes their ZIPs).

    The caller holds the request's run lock (`exclusive.running_alone`; on PostgreSQL
    `lock`, whose session this runs on), so no other runner plans it meanwhile; a plan is
    stored only where none is anyway."""
    now = utcnow()
    leased = request.status == "running" and not force
    plan = None if prepared is None else prepared.plan
    parameters: dict[str, Any] = {
        "claim_id": request.id,
        "claim_from": request.status,
        "claim_now": now,
        "claim_lease": now + LEASE,
        "claim_subjects": list(exports_of),
    }
    if plan is not None:
        parameters["claim_plan"] = plan
    query = claim_statement(store.dialect, leased=leased, planned=plan is not None)
    events = [start_event(request, actor)]
    if prepared is not None:
        events.extend(plan_events(request, prepared, actor))
    row = ledger.record_change(store, query, events, parameters, on=session_of(lock))
    if row is None:
        return None
    found = row._mapping["exports"]
    exports = found if isinstance(found, list) else json.loads(found or "[]")
    return replace(request, status="running", updated_at=now, error=None), exports


@functools.cache
def claim_statement(dialect: str, *, leased: bool, planned: bool) -> Update:
    """The claim's UPDATE, built once per shape (its parameters are `claim`'s): from the
    status the request was read in, only once a live runner's lease ran out (`leased`),
    storing the plan only where none is (`planned`)."""
    c = t.requests.c
    query = update(t.requests).where(c.id == bindparam("claim_id"))
    query = query.where(c.status == bindparam("claim_from"))
    if leased:
        query = query.where(c.lease_until < bindparam("claim_now"))
    values: dict[str, Any] = {
        "status": "running",
        "lease_until": bindparam("claim_lease"),
        "updated_at": bindparam("claim_now"),
        "error": None,
    }
    if planned:
        values["plan"] = bindparam("claim_plan")
        query = query.where(c.plan.is_(None))
    return query.values(values).returning(c.id, exports_query(dialect))


def exports_query(dialect: str) -> ColumnElement[Any]:
    """The ids of the access and portability requests of the subject references
    `claim_subjects`, in any status, as one JSON array (NULL or [] when there is none): a
    column the claim returns."""
    exported = t.requests.alias("exported")
    ids = exported.c.id
    array = func.json_agg(ids) if dialect == "postgresql" else func.json_group_array(ids)
    subjects = exported.c.subject.in_(bindparam("claim_subjects", expanding=True))
    query = select(array).where(subjects, exported.c.kind.in_(READS))
    return query.scalar_subquery().label("exports")


def start_event(request: Request, actor: str) -> ledger.Event:
    """The ledger entry of a run's start: `request.started`, or `.resumed` after a crash or
    a failure."""
    event = "resumed" if request.status in ("running", "failed") else "started"
    data = {"kind": request.kind}
    return ledger.Event(f"request.{event}", actor, request.subject, request.id, data)


def plan_events(request: Request, prepared: Prepared, actor: str) -> list[ledger.Event]:
    """The ledger events of a stored plan: `request.planned`, and any guard bound staff
    overrode."""
    if prepared.plan is None:
        return []
    data = {"kind": request.kind, "stores": sorted(prepared.plan)}
    events = [ledger.Event("request.planned", actor, request.subject, request.id, data)]
    return events + override_events(request, prepared.overridden, actor)


def override_events(
    request: Request, overridden: Sequence[Refusal], actor: str
) -> list[ledger.Event]:
    """The guard's size bounds that staff let through for this request: tables and counts."""
    if not overridden:
        return []
    data = {"kind": request.kind, "tables": {r.table: r.rows for r in overridden}}
    return [ledger.Event("request.guard_overridden", actor, request.subject, request.id, data)]


def step_events(
    request: Request, steps: Mapping[str, Mapping[str, Any]], actor: str
) -> list[ledger.Event]:
    """The ledger's `request.step` entries of steps done: counts per store, never values."""
    return [
        ledger.Event(
            "request.step",
            actor,
            request.subject,
            request.id,
            {"kind": request.kind, "store": name, "rows": step_counts(detail)},
        )
        for name, detail in steps.items()
    ]


def step_counts(detail: Mapping[str, Any]) -> dict[str, int]:
    """Rows changed per table (or files deleted), for the ledger: counts, never values."""
    rows = detail.get("rows", {})
    out = {k: v if isinstance(v, int) else sum(v.values()) for k, v in rows.items()}
    if "files" in detail:
        out["files"] = int(detail["files"])
    return out


def mark_done(store: Store, request: Request, name: str, detail: Mapping[str, Any]) -> None:
    """One planned step done, as soon as its store committed (not the last one: the
    request's completion says that every store is done). A plan stored before the
    request held it (`rights_0002`) has a pending row to update."""
    s = t.steps.c
    row = {"status": "done", "detail": dict(detail), "updated_at": utcnow()}
    with store.begin() as conn:
        pending = update(t.steps).where(s.request_id == request.id, s.store == name)
        if not conn.execute(pending.values(row)).rowcount:
            conn.execute(insert(t.steps).values(request_id=request.id, store=name, **row))
        ledger.record_many(conn, step_events(request, {name: detail}, "system"))


def finish(
    store: Store,
    request: Request,
    outcome: Outcome,
    *,
    actor: str,
    claimed: bool = True,
    lock: RunLock | None = None,
) -> Request:
    """Completed, the last steps in the ledger. The steps marked done are left as they
    are, as a completed request is never resumed and its status says that every step is
    done; the stored plan, the raw identity and the corrected values are forgotten: the
    engine store keeps only the subject reference and the result.

    A request not `claimed` (an export, which changes nothing in the app) completes only
    from the status it was read in, and its start is recorded here, with its end. With
    the run's PostgreSQL `lock`, the completion runs on its session and lets it go.

    On SQLite the completion of a kind in REDONE_EXACTLY does not wait for the disk (one
    fsync fewer): a power loss just after it leaves the request as its claim did, and
    the next runner does it again to the same end (docs/rights.md, Durability)."""
    now = utcnow()
    result = json.loads(json.dumps(dict(outcome.result)))  # as the store gives it back
    fields = dict.fromkeys(request.fields, "")
    parameters = {
        "done_id": request.id,
        "done_from": request.status,
        "done_result": result,
        "done_at": now,
        "done_fields": fields,
    }
    events = [] if claimed else [start_event(request, actor)]
    events.extend(override_events(request, outcome.overridden, actor))
    events.extend(step_events(request, outcome.steps, actor))
    data = {"kind": request.kind, "summary": summary_of(outcome.result)}
    events.append(ledger.Event("request.completed", actor, request.subject, request.id, data))
    query = completion_statement(claimed=claimed, releasing=lock is not None)
    if lock is not None:
        parameters["done_lock"] = lock.key
    durable = request.kind not in REDONE_EXACTLY
    row = ledger.record_change(
        store, query, events, parameters, on=session_of(lock), durable=durable
    )
    if row is None:
        raise Conflict(f"request {request.id} changed while it ran; it was not completed")
    if lock is not None:
        lock.released = bool(row._mapping["released"])
    done = {"status": "completed", "result": result, "updated_at": now, "identity_value": None}
    return replace(request, **done, fields=fields, error=None)


@dataclass
class RunLock:
    """The PostgreSQL session that holds a request's run lock (`exclusive.running_alone`):
    the claim and the completion run on it (its server process is awake), and the
    completion lets the lock go in the same statement, a round trip fewer per request
    (`released` says whether it did)."""

    conn: Connection
    key: int
    released: bool = False


def session_of(lock: RunLock | None) -> Connection | None:
    """The run lock's connection, which the request's claim and completion run on."""
    return None if lock is None else lock.conn


@functools.cache
def completion_statement(*, claimed: bool, releasing: bool = False) -> Update:
    """The completion's UPDATE, built once (its parameters are `finish`'s); a request not
    `claimed` completes only from the status it was read in. `releasing` (on the run
    lock's session) also returns `released`, see `lock_released`."""
    c = t.requests.c
    query = update(t.requests).where(c.id == bindparam("done_id"))
    if not claimed:
        query = query.where(c.status == bindparam("done_from"))
    values: dict[str, Any] = {
        "status": "completed",
        "result": bindparam("done_result"),
        "updated_at": bindparam("done_at"),
        "lease_until": None,
        "identity_value": None,
        "fields": bindparam("done_fields"),
        "plan": null(),  # only a resumed run needs it
    }
    if releasing:
        return query.values(values).returning(c.id, lock_released().label("released"))
    return query.values(values).returning(c.id)


def lock_released() -> ColumnElement[Any]:
    """The run lock (`done_lock`) let go as a session lock once the completion's row is
    changed, and held by its transaction from then on: another runner takes it only once
    the completion has committed, and then reads the request completed.

    The transaction's hold is only tried (it is the session's own, so it is granted at
    once): a completion whose first statement failed after letting the lock go, and is
    made again (`ledger.record_change`), never waits on a runner that took it meanwhile
    (that runner's claim or completion finds the request changed and stops)."""
    key = bindparam("done_lock", type_=BigInteger)
    held = func.pg_try_advisory_xact_lock(key)
    return case((held, func.pg_advisory_unlock(key)), else_=false())


def summary_of(result: Mapping[str, Any]) -> dict[str, Any]:
    """Counts only, for the ledger: never values."""
    keys = ("rows", "found", "files", "blobs", "purposes")
    return {k: v for k, v in result.items() if k in keys}


def fail(
    store: Store, request: Request, error: str, *, actor: str, claimed: bool = True
) -> Request:
    """Mark the request failed with `error`. One not `claimed` yet (it failed while being
    planned) fails only from the status it was read in, and the ledger records the
    attempt's start first, as a claim would have."""
    c = t.requests.c
    with store.begin() as conn:
        query = update(t.requests).where(c.id == request.id)
        if not claimed:
            query = query.where(c.status == request.status)
        changed = conn.execute(
            query.values(status="failed", error=error[:2000], updated_at=utcnow(), lease_until=None)
        ).rowcount
        if changed:
            data = {"kind": request.kind}
            events = [ledger.Event("request.failed", actor, request.subject, request.id, data)]
            ledger.record_many(conn, events if claimed else [start_event(request, actor), *events])
        return fetch(conn, request.id)


@dataclass
class Prepared:
    """An erasure's plan per store, before it is stored, and the bounds staff overrode."""

    plan: dict[str, dict[str, Any]] | None = None
    overridden: list[Refusal] = field(default_factory=list)


@dataclass
class Outcome:
    """What carrying out a request gave: its result, the steps still to mark done, and the
    guard bounds staff overrode (for the ledger)."""

    result: dict[str, Any]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    overridden: list[Refusal] = field(default_factory=list)
