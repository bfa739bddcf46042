"""Withdrawal has effects: data kept only under the withdrawn consent is queued for erasure.

The queue row is written in the same transaction as the withdrawal (so it cannot be
lost). The rights engine, which sits above consent, takes it from there
(`troth.rights.take_withdrawals`): it creates a `withdraw_consent` request and marks the
row handed off in one transaction. The raw identity it needs is kept only until then.
A decision made by a rights request (its evidence names the request) queues nothing:
that request carries out the erasure itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, and_, insert, select, update

from troth import ledger
from troth.consent import tables as t
from troth.consent.purposes import Decision, mode_of
from troth.consent.subject import Subject
from troth.policy import ConsentMode, Policy
from troth.store import Store


class Decided(Protocol):
    """One decision being recorded (consent.events' rows)."""

    @property
    def subject(self) -> Subject: ...
    @property
    def ref(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def decision(self) -> Decision: ...


@dataclass(frozen=True)
class QueuedErasure:
    id: int
    subject_ref: str
    purpose: str
    categories: list[str]
    request_id: str | None


def only_under(policy: Policy, purpose: str, allowed: set[str]) -> list[str]:
    """Categories of `purpose` that no other purpose allowed for the subject still covers."""
    own = policy.purpose(purpose)
    if own is None:
        return []
    covered = {c for p in policy.purposes if p.key in allowed - {purpose} for c in p.categories}
    return sorted(set(own.categories) - covered)


def queue_erasures(
    conn: Connection,
    policy: Policy,
    rows: Sequence[Decided],
    prior: set[tuple[str, str]],
    *,
    unique: bool,
    allowed_of: Callable[[str], set[str]],
    now: dt.datetime,
) -> int:
    """Queue an erasure for each (subject, purpose) whose grant `rows` took back and did
    not give again. `prior`: the pairs stored as granted that a row refuses; `unique`: no
    pair occurs twice in `rows`; `allowed_of(ref)`: the purposes the subject now allows."""
    granted = Decision.granted.value
    last = dict.fromkeys(prior, granted)
    taken_back: dict[tuple[str, str], Decided] = {}
    if unique:  # one decision per pair: each refusal of a stored grant takes it back
        if prior:
            taken_back = {(r.ref, r.purpose): r for r in rows if (r.ref, r.purpose) in prior}
            last.update((key, row.decision.value) for key, row in taken_back.items())
    else:
        opt_in = {p.key for p in policy.purposes if mode_of(p) == ConsentMode.opt_in}
        for row in rows:
            if row.purpose not in opt_in:
                continue
            key = (row.ref, row.purpose)
            if row.decision != granted and last.get(key) == granted:
                taken_back[key] = row
            last[key] = row.decision.value
    queued = 0
    for (ref, purpose), row in taken_back.items():
        if last[(ref, purpose)] == Decision.granted.value:
            continue
        categories = only_under(policy, purpose, allowed_of(ref))
        if not categories:
            continue
        event_id = conn.execute(
            select(t.current.c.event_id).where(
                t.current.c.subject_ref == ref, t.current.c.purpose == purpose
            )
        ).scalar_one()
        queue_id = conn.execute(
            insert(t.erasure_queue)
            .returning(t.erasure_queue.c.id)
            .values(
                event_id=event_id,
                subject_ref=ref,
                purpose=purpose,
                categories=json.dumps(categories),
                identity_kind=row.subject.kind,
                identity_value=row.subject.value,
                created_at=now,
            )
        ).scalar_one()
        data = {"purpose": purpose, "categories": categories}
        ledger.record(
            conn,
            "consent.erasure_queued",
            subject=ref,
            ref=f"consent-erasure:{queue_id}",
            data=data,
        )
        queued += 1
    return queued


@dataclass(frozen=True)
class PendingErasure:
    """A queued erasure not yet handed to the rights engine, with the raw identity it
    needs (kept only until the hand-off)."""

    id: int
    identity_kind: str
    identity_value: str
    purpose: str


def pending_erasures(store: Store, limit: int = 1000) -> list[PendingErasure]:
    """Queued erasures waiting for the rights engine, oldest first."""
    q = t.erasure_queue
    query = (
        select(q.c.id, q.c.identity_kind, q.c.identity_value, q.c.purpose)
        .where(and_(q.c.request_id.is_(None), q.c.identity_value.is_not(None)))
        .order_by(q.c.id)
        .limit(limit)
    )
    with store.connect() as conn:
        return [PendingErasure(*row) for row in conn.execute(query)]


def mark_handed_off(conn: Connection, queue_id: int, request_id: str) -> bool:
    """In the caller's transaction (the one that creates the request): tie the queued
    erasure to `request_id` and forget the raw identity. False when another process
    handed it off first, so that no erasure becomes two requests."""
    q = t.erasure_queue
    changed = conn.execute(
        update(q)
        .where(q.c.id == queue_id, q.c.request_id.is_(None))
        .values(request_id=request_id, identity_value=None, claimed_at=dt.datetime.now(dt.UTC))
    )
    return changed.rowcount == 1


def erasure_queue(store: Store, subject_ref: str | None = None) -> list[QueuedErasure]:
    """Queued and handed-off erasures, oldest first."""
    q = t.erasure_queue
    query = select(q.c.id, q.c.subject_ref, q.c.purpose, q.c.categories, q.c.request_id)
    if subject_ref is not None:
        query = query.where(q.c.subject_ref == subject_ref)
    with store.connect() as conn:
        return [
            QueuedErasure(r.id, r.subject_ref, r.purpose, json.loads(r.categories), r.request_id)
            for r in conn.execute(query.order_by(q.c.id))
        ]
