"""Consent withdrawals become erasure requests: the one hand-off from consent to rights.

Consent queues an erasure in the transaction that records a withdrawal (so it cannot
be lost). Here each queued erasure becomes a `withdraw_consent` request limited to its
purpose, created already verified (the decision came from the app, the banner or
staff, so there is no one-time code to wait for), and the queue row is marked handed
off in the same transaction: a crash leaves either both or neither, and two processes
taking the same row create one request.
"""

from __future__ import annotations

import logging

from troth.consent import mark_handed_off, pending_erasures
from troth.errors import TrothError
from troth.project import Project
from troth.rights.lifecycle import insert_request, new_request
from troth.store import Store

logger = logging.getLogger(__name__)


def take_withdrawals(project: Project, store: Store) -> int:
    """Turn queued consent erasures into rights requests; returns how many were taken.
    A row the rights engine refuses (say, an identity the data map no longer knows)
    stays queued for staff, and the rest go on."""
    taken = 0
    for pending in pending_erasures(store):
        try:
            row = new_request(
                project,
                "withdraw_consent",
                pending.identity_kind,
                pending.identity_value,
                purpose=pending.purpose,
                source="consent",
            )
        except TrothError as exc:
            logger.warning("consent erasure %s not taken: %s", pending.id, exc)
            continue
        row["status"] = "verified"
        with store.begin() as conn:
            if mark_handed_off(conn, pending.id, row["id"]):
                insert_request(conn, row, actor="consent")
                taken += 1
    return taken
