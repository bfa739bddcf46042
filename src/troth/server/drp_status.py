"""Data Rights Protocol 1.0 request statuses, mapped from troth's, and status callbacks.

Each DRP request remembers its agent, the agent's own request id, where to call back,
the API base its results URL is made from, and when the agent revoked it; an exercise
settled at once (`sale:opt-in`, which has no rights request) keeps its final status. A callback is
a POST of the status object to the agent's `status_callback` with the agent's pairwise
token, made when a job finishes a request and when the agent revokes one; it is best
effort (the agent can always poll the status endpoint).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import BackgroundTasks
from pydantic import BaseModel
from sqlalchemy import select, update

from troth import ledger, rights, worker
from troth.errors import NotFound
from troth.project import Project
from troth.rights import Request
from troth.server import drp_agents, tables
from troth.store import Store

log = logging.getLogger(__name__)
CALLBACK_TIMEOUT_SECONDS = 5.0
GONE = "the download has expired: ask again for a new one"
DrpStatus = Literal["open", "in_progress", "fulfilled", "revoked", "denied", "expired"]
DrpReason = Literal[
    "need_user_verification",
    "suspected_fraud",
    "insuf_verification",
    "no_match",
    "claim_not_covered",
    "outside_jurisdiction",
    "too_many_requests",
    "other",
]
# troth status -> DRP status
STATUSES: dict[str, DrpStatus] = {
    "received": "open",
    "verified": "in_progress",
    "approved": "in_progress",
    "running": "in_progress",
    "failed": "in_progress",  # staff retry or deny a failed request; it is not final
    "completed": "fulfilled",
    "denied": "denied",
}
# words in a staff denial reason -> the protocol's reason
DENIALS: tuple[tuple[tuple[str, ...], DrpReason], ...] = (
    (("fraud",), "suspected_fraud"),
    (("verif", "identity"), "insuf_verification"),
    (("no match", "not found", "unknown"), "no_match"),
    (("jurisdiction",), "outside_jurisdiction"),
    (("too many", "duplicate"), "too_many_requests"),
    (("not covered", "exempt"), "claim_not_covered"),
)


class StatusOut(BaseModel):
    """The protocol's Exercise Status object (section 3.03); fields without a value are
    left out of the JSON."""

    request_id: str
    agent_request_id: str | None = None
    status: DrpStatus
    reason: DrpReason | None = None
    processing_details: str | None = None
    received_at: datetime | None = None
    expected_by: datetime | None = None
    results_url: str | None = None
    expires_at: datetime | None = None


def record(
    store: Store,
    request_id: str,
    agent_id: str,
    api_base: str,
    agent_request_id: str | None,
    status_callback: str | None,
    settled: dict[str, Any] | None = None,
) -> None:
    """Remember the agent's request id, callback and API base (kept from the first ask);
    `settled`: the final status fields of an exercise done at once."""
    row = {
        "request_id": request_id,
        "agent_id": agent_id,
        "agent_request_id": agent_request_id,
        "status_callback": status_callback,
        "api_base": api_base,
        "settled": settled,
        "received_at": datetime.now(UTC) if settled is not None else None,
    }
    with store.begin() as conn:
        known = conn.execute(
            select(tables.drp_requests.c.request_id).where(
                tables.drp_requests.c.request_id == request_id
            )
        ).first()
        if known is None:
            conn.execute(tables.drp_requests.insert().values(**row))


def mark_revoked(store: Store, request_id: str) -> None:
    with store.begin() as conn:
        conn.execute(
            update(tables.drp_requests)
            .where(tables.drp_requests.c.request_id == request_id)
            .values(revoked_at=datetime.now(UTC))
        )


def recorded(store: Store, request_id: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(
            select(tables.drp_requests).where(tables.drp_requests.c.request_id == request_id)
        ).first()
    return dict(row._mapping) if row is not None else None


def denial(reason: str | None) -> DrpReason:
    text = (reason or "").lower()
    for words, drp_reason in DENIALS:
        if any(word in text for word in words):
            return drp_reason
    return "other"


def results(project: Project, request: Request, api_base: str) -> dict[str, Any]:
    """Where a fulfilled access can be downloaded, and until when; `expired` once that
    time has passed or the download is gone (section 3.02: after `expires_at`)."""
    if request.kind != "access":
        return {}
    expires_at = download_expires(project, request.id)
    if past(expires_at):
        return {"status": "expired", "processing_details": GONE, "expires_at": expires_at}
    return {
        "results_url": f"{api_base}/data-rights-request/{request.id}/results",
        "expires_at": expires_at,
    }


def past(expires_at: datetime | None) -> bool:
    """Is a download that expires at `expires_at` (None: already deleted) gone?"""
    return expires_at is None or expires_at <= datetime.now(UTC)


def download_expires(project: Project, request_id: str) -> datetime | None:
    """When the access export of `request_id` expires; None when it is gone."""
    try:
        made = Path(rights.export_path(project, request_id)).stat().st_mtime
    except FileNotFoundError:
        return None
    keep = timedelta(days=worker.worker_settings(project).export_days)
    return datetime.fromtimestamp(made, UTC) + keep


def aware(when: datetime) -> datetime:
    """`when` in UTC: SQLite gives back the times it keeps without their zone."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def current(project: Project, store: Store, row: dict[str, Any]) -> StatusOut:
    """The protocol's status of the request `row` records."""
    if row["settled"] is not None:
        return StatusOut(
            request_id=row["request_id"],
            agent_request_id=row["agent_request_id"],
            received_at=aware(row["received_at"]),
            **row["settled"],
        )
    return status_of(project, store, rights.get_request(store, row["request_id"]), row)


def status_of(project: Project, store: Store, request: Request, row: dict[str, Any]) -> StatusOut:
    """The protocol's status of `request`, which the agent of `row` made."""
    fields: dict[str, Any] = {"status": STATUSES.get(request.status, "in_progress")}
    if row.get("revoked_at") is not None:
        fields = {"status": "revoked", "processing_details": "revoked by the agent"}
    elif request.status == "completed" and request.result.get("found") is False:
        fields = {"status": "denied", "reason": "no_match"}
        fields["processing_details"] = "no data about this person was found"
    elif request.status == "completed":
        fields.update(results(project, request, row["api_base"]))
    elif request.status == "denied":
        fields.update(reason=denial(request.reason), processing_details=request.reason)
    elif request.status == "failed":
        fields["processing_details"] = "delayed: staff are looking into an error"
    elif request.status == "received":
        fields["processing_details"] = "waiting for the business to verify the user's identity"
    else:
        fields.update(extension(store, request.id))
    return StatusOut(
        request_id=request.id,
        agent_request_id=row.get("agent_request_id"),
        received_at=aware(request.created_at),
        expected_by=aware(request.due_at),
        **fields,
    )


def extension(store: Store, request_id: str) -> dict[str, Any]:
    """Why the deadline was extended, when it was (section 3.08: `expected_by` moved on
    and `processing_details` says why)."""
    found = ledger.entries(store, ref=request_id, kind="request.extended", exact_kind=True, limit=1)
    if not found:
        return {}
    data = found[0].data
    return {"processing_details": f"extended by {data['days']} days: {data['reason']}"}


def call_back(project: Project, store: Store, request: Request) -> bool:
    """POST the request's status to its agent's callback, when it gave one; a failure
    is tried again later (`retry_callbacks`). Did the agent take it (or want none)?"""
    row = recorded(store, request.id)
    if row is None or not row.get("status_callback"):
        return True
    body = status_of(project, store, request, row).model_dump(mode="json", exclude_none=True)
    headers = {"authorization": f"Bearer {drp_agents.token(project, row['agent_id'])}"}
    try:
        httpx.post(
            row["status_callback"], json=body, headers=headers, timeout=CALLBACK_TIMEOUT_SECONDS
        ).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("DRP status callback for request %s failed: %s", request.id, type(exc).__name__)
        try_again(store, request.id, row["callback_tries"] + 1)
        return False
    if row["callback_tries"] or row["callback_due"] is not None:
        try_again(store, request.id, 0)
    return True


def try_again(store: Store, request_id: str, tries: int) -> None:
    """Record `tries` failed callbacks in a row: the next is due after the worker's
    backoff, or never once it has been tried enough; 0 tries: delivered."""
    wait = worker.retry_after(tries) if tries else None
    due = datetime.now(UTC) + wait if wait is not None else None
    with store.begin() as conn:
        conn.execute(
            update(tables.drp_requests)
            .where(tables.drp_requests.c.request_id == request_id)
            .values(callback_due=due, callback_tries=tries)
        )


def retry_callbacks(project: Project) -> worker.Redeliver:
    """A worker hook: the status callbacks that failed and are due, tried again with the
    request's status as it is now (a later change needs no callback of its own)."""

    def again(store: Store, now: datetime) -> dict[str, int]:
        counts = {"drp_callbacks_delivered": 0, "drp_callbacks_failed": 0}
        for request_id in claim_due(store, now):
            try:
                request = rights.get_request(store, request_id)
            except NotFound:  # gone since: nothing to tell
                try_again(store, request_id, 0)
                continue
            delivered = call_back(project, store, request)
            counts["drp_callbacks_delivered" if delivered else "drp_callbacks_failed"] += 1
        return counts

    return again


def claim_due(store: Store, now: datetime, limit: int = 100) -> list[str]:
    """Requests whose callback is due, each claimed for this worker (its due time moved
    past the try's timeout) so two workers do not call an agent twice at once."""
    drp = tables.drp_requests.c
    lease = now + timedelta(seconds=4 * CALLBACK_TIMEOUT_SECONDS)
    claimed = []
    with store.begin() as conn:
        due = conn.execute(
            select(drp.request_id, drp.callback_due)
            .where(drp.callback_due <= now)
            .order_by(drp.callback_due)
            .limit(limit)
        ).all()
        for request_id, when in due:
            mine = conn.execute(
                update(tables.drp_requests)
                .where(drp.request_id == request_id, drp.callback_due == when)
                .values(callback_due=lease)
            )
            if mine.rowcount == 1:
                claimed.append(request_id)
    return claimed


def call_back_later(
    tasks: BackgroundTasks, project: Project, store: Store, request_id: str
) -> None:
    """After the response, tell the agent of a DRP request what staff just did to it
    (verified, approved, denied, extended); other requests are left alone."""
    tasks.add_task(lambda: call_back(project, store, rights.get_request(store, request_id)))


def after_request(project: Project) -> worker.AfterRequest:
    """A worker hook calling back the agent of each DRP request a job finished."""

    def hook(store: Store, request: Request) -> None:
        call_back(project, store, request)

    return hook
