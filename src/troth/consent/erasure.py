"""Withdrawal has effects: data kept only under the withdrawn consent is queued for erasure.

The queue row is written in the same transaction as the withdrawal (so it cannot be
lost), then handed to the rights engine as a `withdraw_consent` request limited to the
purpose. The raw identity the rights engine needs is kept only until that hand-off.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, insert, or_, select, update

from troth import ledger
from troth.consent import tables as t
from troth.consent.purposes import Decision, mode_of
from troth.errors import TrothError
from troth.policy import ConsentMode, Policy
from troth.project import Project
from troth.store import Store

if TYPE_CHECKING:
    from troth.consent.events import _Row

logger = logging.getLogger(__name__)
STALE_CLAIM = dt.timedelta(minutes=10)


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
    rows: list[_Row],
    prior: set[tuple[str, str]],
    *,
    unique: bool,
) -> int:
    """Queue an erasure for each (subject, purpose) whose grant `rows` took back and did
    not give again. `prior`: the pairs stored as granted that a row refuses; `unique`: no
    pair occurs twice in `rows`."""
    from troth.consent.events import states_of, utcnow

    granted = Decision.granted.value
    last = dict.fromkeys(prior, granted)
    taken_back: dict[tuple[str, str], _Row] = {}
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
        allowed = {k for k, state in states_of(conn, policy, ref).items() if state.allowed}
        categories = only_under(policy, purpose, allowed)
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
                created_at=utcnow(),
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


def _claim(store: Store, queue_id: int, now: dt.datetime) -> tuple[str, str, str, str] | None:
    """Mark one queued row as being handed off, unless another process has it."""
    q = t.erasure_queue
    free = or_(q.c.claimed_at.is_(None), q.c.claimed_at < now - STALE_CLAIM)
    with store.begin() as conn:
        claimed = conn.execute(
            update(q)
            .where(q.c.id == queue_id, q.c.request_id.is_(None), free)
            .values(claimed_at=now)
        )
        if claimed.rowcount != 1:
            return None
        row = conn.execute(
            select(q.c.identity_kind, q.c.identity_value, q.c.purpose, q.c.categories).where(
                q.c.id == queue_id
            )
        ).one()
    return row[0], row[1], row[2], row[3]


def hand_off_erasures(project: Project, store: Store) -> int:
    """Turn queued erasures into rights requests; returns how many were handed off.
    Rows stay queued (and are retried later) while the rights engine refuses them."""
    from troth.consent.events import utcnow

    q = t.erasure_queue
    now = utcnow()
    pending = (
        select(q.c.id)
        .where(and_(q.c.request_id.is_(None), q.c.identity_value.is_not(None)))
        .order_by(q.c.id)
    )
    with store.connect() as conn:
        ids = list(conn.execute(pending).scalars())
    if not ids:
        return 0
    from troth.rights import create_request, verify_request  # loaded only when needed

    done = 0
    for queue_id in ids:
        claimed = _claim(store, queue_id, now)
        if claimed is None:
            continue
        kind, value, purpose, _categories = claimed
        try:
            request = create_request(
                project, store, "withdraw_consent", kind, value, purpose=purpose, source="consent"
            )
        except TrothError as exc:
            # The withdrawal itself is recorded; the erasure waits in the queue for staff.
            logger.warning("consent erasure %s not handed to rights: %s", queue_id, exc)
            continue
        with store.begin() as conn:
            handed = {"request_id": request.id, "identity_value": None}
            conn.execute(update(q).where(q.c.id == queue_id).values(**handed))
        # The decision was recorded by the app, the banner or staff, so there is no
        # one-time code to wait for: the request goes straight to the rights queue.
        verify_request(project, store, request.id, actor="consent")
        done += 1
    return done


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
