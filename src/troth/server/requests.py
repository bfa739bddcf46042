"""Rights requests as the server sees them: created for an owner, read only by that owner.

The owner is an API key (`key:<id>`) or a subject (`Project.subject_ref("email", ...)`);
ids are the rights engine's unguessable tokens, and every read checks the owner too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import HTTPException
from fastapi.responses import StreamingResponse
from sqlalchemy import insert, select

from troth import ledger, rights, worker
from troth.appdata import load_context
from troth.errors import NotFound
from troth.policy import Policy, RightKind
from troth.project import Project
from troth.rights import Request
from troth.server import drp_status, tables
from troth.server.auth import end_subject_sessions
from troth.server.context import Context
from troth.store import Store

KINDS = rights.KINDS
DONE = ("completed", "denied", "failed")
OPEN = ("received", "verified", "approved")
# How a request came in (its source), in words.
CHANNEL_WORDS = {
    "privacy_center": "through the privacy center",
    "api": "from the app, through the API",
    "cli": "from the command line",
    "drp": "from an authorized agent (Data Rights Protocol)",
    "retention": "from a retention rule",
    "consent": "from a consent withdrawal",
    "phone": "by phone",
    "postal": "by post",
    "email": "by e-mail",
    "in_app": "in the app",
}
# A failure's stored text, matched by what it contains, and what staff can do about it.
FAILURES = (
    (
        "FOREIGN KEY",
        "The app's database refused to change rows that other rows still point to. "
        "Change the data map so those rows are kept or go too, then retry.",
    ),
    (
        "NOT NULL",
        "The app's database needs a value that this request would clear. Keep that column "
        "in the data map (or give it a mask), then retry.",
    ),
    (
        "UNIQUE",
        "The new value is already taken by another account, so the app's database refused "
        "it. Ask the person for another value, or deny the request.",
    ),
    (
        "was refused; nothing was changed",
        "troth stopped before changing anything: the plan would reach other people's data "
        "or more rows than one person has. Check the plan below; fix the data map and retry, "
        "or deny the request.",
    ),
    (
        "no longer holds its identity",
        "The request no longer holds the identity it was made with, so troth cannot find "
        "the person's data. Deny it and ask the person to make a new request.",
    ),
    (
        "in the app's store",
        "The app's database failed or could not be reached. Check that it is running, then retry.",
    ),
)


def create(
    ctx: Context,
    owner: str,
    kind: str,
    identity_kind: str,
    identity_value: str,
    *,
    source: str,
    verified: bool,
    fields: dict[str, str] | None = None,
    purpose: str | None = None,
    jurisdiction: str | None = None,
) -> Request:
    """Create a request for `owner`; `verified` when the caller has proven the identity.

    The same owner asking again while its request is open gets that request back (the
    rights engine links the duplicate); another owner always gets a request of its own,
    which it alone can follow."""
    made = partial(
        rights.create_request,
        ctx.project,
        ctx.store,
        kind,
        identity_kind,
        identity_value,
        fields=fields,
        purpose=purpose,
        jurisdiction=jurisdiction,
        source=source,
    )
    request = made()
    holder = owner_of(ctx, request.id)
    if holder == owner:
        return request
    if holder is not None:
        request = made(link_duplicates=False)
    with ctx.store.begin() as conn:
        conn.execute(insert(tables.owners).values(request_id=request.id, owner=owner))
    if verified:
        request = rights.verify_request(ctx.project, ctx.store, request.id)
        worker.enqueue(ctx.project, ctx.store, [request.id])
    return request


def owner_of(ctx: Context, request_id: str) -> str | None:
    if len(request_id) > 64:
        return None
    with ctx.store.connect() as conn:
        return conn.execute(
            select(tables.owners.c.owner).where(tables.owners.c.request_id == request_id)
        ).scalar_one_or_none()


def owned(ctx: Context, request_id: str, owner: str) -> Request:
    """The request `request_id` if `owner` made it; 404 otherwise (no hint it exists)."""
    if owner_of(ctx, request_id) != owner:
        raise HTTPException(404, "no such request")
    return any_request(ctx, request_id)


def any_request(ctx: Context, request_id: str) -> Request:
    if len(request_id) > 64:
        raise HTTPException(404, "no such request")
    try:
        return rights.get_request(ctx.store, request_id)
    except NotFound:
        raise HTTPException(404, "no such request") from None


def subject_requests(ctx: Context, subject_ref: str) -> list[Request]:
    """The requests the subject made in the privacy center, newest first (two queries at
    most)."""
    with ctx.store.connect() as conn:
        mine = set(
            conn.execute(
                select(tables.owners.c.request_id).where(tables.owners.c.owner == subject_ref)
            ).scalars()
        )
    if not mine:
        return []
    about = rights.list_requests(ctx.store, subject=subject_ref, limit=1000)
    return sorted((r for r in about if r.id in mine), key=lambda r: r.created_at, reverse=True)


def export_download(ctx: Context, request: Request, filename: str) -> StreamingResponse:
    """The finished access export of `request` as a download, opened from the vault as
    it streams when it is sealed at rest (404/409 saying why there is none)."""
    export_file(ctx, request)
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    chunks = rights.read_export(ctx.project, request.id)
    return StreamingResponse(chunks, media_type="application/zip", headers=headers)


def export_file(ctx: Context, request: Request) -> Path:
    """The finished access export of `request`, or 404/409 saying why there is none."""
    if request.kind not in ("access", "portability"):
        raise HTTPException(404, "this request has no export")
    path = Path(rights.export_path(ctx.project, request.id))
    if request.status != "completed" or not path.is_file():
        raise HTTPException(409, "the export is not ready yet")
    return path


def run(
    ctx: Context, request: Request, *, actor: str = "system", allow_large: bool = False
) -> Request:
    """Run `request`; a completed erasure also signs its subject out of every session."""
    done = rights.run_request(
        ctx.project, ctx.store, request.id, actor=actor, allow_large=allow_large
    )
    if done.kind == "erasure" and done.status == "completed":
        end_subject_sessions(ctx.store, done.subject)
    return done


def signed_out_if_erased(store: Store, request: Request) -> None:
    """After a job finished a request: an erased subject is signed out everywhere."""
    if request.kind == "erasure" and request.status == "completed":
        end_subject_sessions(store, request.subject)


def job_runtime(project: Project, store: Store) -> worker.Runtime:
    """What the worker's jobs run with, in `troth worker` and in the server's own job
    thread (SQLite): erased subjects signed out, DRP agents called back."""
    hooks = [signed_out_if_erased, drp_status.after_request(project)]
    again = [drp_status.retry_callbacks(project)]
    return worker.Runtime(project, store, after_request=hooks, redeliver=again)


def verification(policy: Policy, kind: str) -> str:
    """How troth.yaml says a `kind` request proves who asks: `code` (a one-time code to
    the e-mail address, which is how the privacy center signs people in; troth's default
    where the policy does not say), `account_login` (signed in to the app), `manual`
    (staff check) or `none`."""
    right = policy.right(RightKind("deactivation" if kind == "reactivation" else kind))
    method = right.verification if right is not None else "email_code"
    return "code" if method in ("email_code", "unspecified") else method


def failure_in_words(error: str) -> str:
    """What a failed request's stored error means for staff, in plain words."""
    for found, words in FAILURES:
        if found in error:
            return words
    return "It stopped with the error below. Fix its cause, then retry, or deny the request."


def actions(ctx: Context, request: Request) -> list[str]:
    """The decisions staff can take on `request` now; the console shows a button for each
    of these and no other, so no button answers with an error."""
    status, complaint = request.status, request.kind == "complaint"
    found = []
    if status == "received" and not complaint:
        found.append("verify")
    if complaint and status in OPEN:
        found.append("answer")  # a complaint never runs: staff answer it
    elif status == "verified" and rights.needs_approval(load_context(ctx.project), request):
        found.append("approve")
    elif status in ("verified", "approved", "failed"):
        found.append("run")
    if status == "failed":
        found.append("retry")
    if status in (*OPEN, "failed"):
        found.append("deny")
    extended = ledger.entries(ctx.store, ref=request.id, kind="request.extended", limit=1)
    if status in (*OPEN, "running") and not extended:
        found.append("extend")
    return found


def summary(request: Request) -> dict[str, Any]:
    """The request's metadata: what a status page or the support role may see."""
    due = request.due_at
    due = due.replace(tzinfo=UTC) if due is not None and due.tzinfo is None else due
    return {
        "id": request.id,
        "kind": request.kind,
        "status": request.status,
        "source": request.source,
        "created_at": request.created_at,
        "due_at": due,
        "overdue": bool(due and request.status not in DONE and due < datetime.now(UTC)),
        "no_data": request.status == "completed" and request.result.get("found") is False,
        "reason": request.reason,  # a denial's or an answered complaint's words
    }
