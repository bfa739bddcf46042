"""Sharing in the console (/admin/sharing) and the API (/api/sharing): the recipients
register, exports run and downloaded, and disclosure requests from authorities.

Every staff role sees the register and the record of what left; only privacy officers
and admins run exports, download them, and ask for, decide and carry out disclosures
to authorities (never one they asked for themselves). API keys need the `sharing`
scope. An export run here is kept by troth, sealed at rest, for `[worker] export_days`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import suppress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import Field

from troth import disclosures, ledger, sharing
from troth.appdata import load_context
from troth.errors import NotFound
from troth.policy.model import Form, RecipientType
from troth.server.admin import Decider, StaffUser
from troth.server.api import Identity, Input
from troth.server.audit import actor_name, staff_logins
from troth.server.auth import ApiKey
from troth.server.context import Context, context
from troth.server.web import ERRORS, CheckedForm, StrictJsonRoute, api_key, page, redirect

router = APIRouter(prefix="/admin/sharing", include_in_schema=False)
api = APIRouter(
    prefix="/api/sharing", responses=ERRORS, route_class=StrictJsonRoute, tags=["sharing"]
)
Ctx = Annotated[Context, Depends(context)]
SharingKey = Annotated[ApiKey, Depends(api_key("sharing"))]
FormatName = Annotated[str, Field(pattern=f"^({'|'.join(sharing.FORMATS)})$")]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


# --- what both serve -------------------------------------------------------------------


def run_export(
    ctx: Context, recipient: str, form: Form | None, fmt: str, purpose: str | None, actor: str
) -> sharing.ShareReport:
    return sharing.share_export(
        load_context(ctx.project), ctx.store, recipient, None, form=form, fmt=fmt,
        purpose=purpose, actor=actor,
    )  # fmt: skip


def download(ctx: Context, disclosure_id: str, actor: str) -> StreamingResponse:
    """The kept file of an export, on the record as a download."""
    found = disclosures.get_export(ctx.store, disclosure_id)
    path = sharing.find_kept(ctx.project, found.id)
    with ctx.store.begin() as conn:
        ledger.record(conn, "staff.share_download", actor=actor, ref=found.id)
    headers = {"content-disposition": f'attachment; filename="{found.recipient}-{path.name}"'}
    chunks = sharing.read_kept(ctx.project, path)
    return StreamingResponse(chunks, media_type=sharing.media_type(path), headers=headers)


def request_disclosure(
    ctx: Context, recipient: str, subject: tuple[str, str], reference: str, reason: str | None,
    actor: str,
) -> sharing.DisclosureRequest:  # fmt: skip
    return sharing.request_disclosure(
        load_context(ctx.project), ctx.store, recipient, subject, reference=reference,
        actor=actor, reason=reason,
    )  # fmt: skip


def disclose(ctx: Context, request_id: str, fmt: str, actor: str) -> sharing.ShareReport:
    return sharing.export_request(
        load_context(ctx.project), ctx.store, request_id, None, actor=actor, fmt=fmt
    )


# --- the console ----------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def sharing_page(request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    policy = ctx.policy()
    return page(
        ctx,
        request,
        "admin/sharing.html",
        user=user,
        policy=policy,
        exporters=[r for r in policy.recipients if r.type != RecipientType.authority],
        authorities=[r for r in policy.recipients if r.type == RecipientType.authority],
        exports=disclosures.list_exports(ctx.store, limit=50),
        requests=sharing.list_requests(ctx.store) if user.can_decide else [],
        me=f"staff:{user.id}",
        kinds=sorted(ctx.datamap().identities),
        formats=sharing.FORMATS,
        who=names(ctx),
    )


@router.post("/exports", response_model=None)
def console_export(ctx: Ctx, user: Decider, form: CheckedForm) -> RedirectResponse:
    chosen = form.get("form") or None
    if chosen is not None and chosen not in Form.__members__:
        raise HTTPException(422, "Choose a form from the list.")
    report = run_export(
        ctx,
        form.get("recipient", ""),
        Form(chosen) if chosen else None,
        chosen_format(form),
        form.get("purpose") or None,
        f"staff:{user.id}",
    )
    return redirect(f"/admin/sharing/exports/{report.disclosure}")


@router.get("/exports/{disclosure_id}", response_class=HTMLResponse)
def export_page(disclosure_id: str, request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    found = disclosures.get_export(ctx.store, disclosure_id)
    kept = None
    if user.can_decide:
        with suppress(NotFound):
            kept = sharing.find_kept(ctx.project, found.id).name
    return page(
        ctx, request, "admin/sharing_export.html", user=user, export=found, kept=kept,
        who=names(ctx),
    )  # fmt: skip


def names(ctx: Context) -> Callable[[str], str]:
    """Who did it, in words (a staff login, an API key), for the templates."""
    logins = staff_logins(ctx.store)
    return lambda actor: actor_name(actor, logins)


@router.get("/exports/{disclosure_id}/file")
def export_file(disclosure_id: str, ctx: Ctx, user: Decider) -> StreamingResponse:
    return download(ctx, disclosure_id, f"staff:{user.id}")


@router.post("/requests", response_model=None)
def console_request(ctx: Ctx, user: Decider, form: CheckedForm) -> RedirectResponse:
    kind, sep, value = form.get("subject", "").strip().partition(":")
    if not sep or not value.strip():
        raise HTTPException(422, "Write the person as kind:value, e.g. email:ada@example.com.")
    request_disclosure(
        ctx,
        form.get("recipient", ""),
        (kind.strip(), value.strip()),
        form.get("reference", ""),
        form.get("reason", "").strip() or None,
        f"staff:{user.id}",
    )
    return redirect("/admin/sharing#requests")


@router.post("/requests/{request_id}", response_model=None)
def console_decide(request_id: str, ctx: Ctx, user: Decider, form: CheckedForm) -> RedirectResponse:
    action, actor = form.get("action"), f"staff:{user.id}"
    if action in ("approve", "deny"):
        sharing.decide(ctx.store, request_id, actor, approve=action == "approve")
        return redirect("/admin/sharing#requests")
    if action == "disclose":
        report = disclose(ctx, request_id, chosen_format(form), actor)
        return redirect(f"/admin/sharing/exports/{report.disclosure}")
    raise HTTPException(422, "Unknown action.")


def chosen_format(form: dict[str, str]) -> str:
    value = form.get("format", sharing.FORMATS[0])
    if value not in sharing.FORMATS:
        raise HTTPException(422, f"The format must be one of {', '.join(sharing.FORMATS)}.")
    return value


# --- the API --------------------------------------------------------------------------


class ExportIn(Input):
    recipient: Key
    form: Form | None = None
    format: FormatName = sharing.FORMATS[0]
    purpose: Key | None = None


class DisclosureRequestIn(Input):
    recipient: Key
    subject: Identity
    reference: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=500)


class DiscloseIn(Input):
    format: FormatName = sharing.FORMATS[0]


@api.get("/recipients")
def api_recipients(ctx: Ctx, _key: SharingKey) -> dict[str, Any]:
    """The register: every recipient troth.yaml names and the forms it may receive."""
    policy = ctx.policy()
    return {
        "closed": policy.recipients_closed,
        "recipients": [
            r.model_dump(mode="json") | {"forms": [f.value for f in sharing.allowed_forms(r)]}
            for r in policy.recipients
        ],
    }


@api.get("/exports")
def api_exports(
    ctx: Ctx,
    _key: SharingKey,
    recipient: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The record of exports, newest first: counts and hashes, never personal data."""
    return [dataclasses.asdict(d) for d in disclosures.list_exports(ctx.store, recipient, limit)]


@api.post("/exports", status_code=201)
def api_export(body: ExportIn, ctx: Ctx, key: SharingKey) -> dict[str, Any]:
    """Run an export to a recipient; troth keeps the file for download."""
    report = run_export(ctx, body.recipient, body.form, body.format, body.purpose, key.owner)
    return report_json(report)


@api.get("/exports/{disclosure_id}")
def api_export_record(disclosure_id: str, ctx: Ctx, _key: SharingKey) -> dict[str, Any]:
    return dataclasses.asdict(disclosures.get_export(ctx.store, disclosure_id))


@api.get("/exports/{disclosure_id}/file")
def api_export_file(disclosure_id: str, ctx: Ctx, key: SharingKey) -> StreamingResponse:
    return download(ctx, disclosure_id, key.owner)


@api.get("/requests")
def api_requests(
    ctx: Ctx,
    _key: SharingKey,
    status: Annotated[str | None, Query(pattern=r"^(pending|approved|denied|done)$")] = None,
) -> list[dict[str, Any]]:
    return [dataclasses.asdict(r) for r in sharing.list_requests(ctx.store, status)]


@api.post("/requests", status_code=201)
def api_request(body: DisclosureRequestIn, ctx: Ctx, key: SharingKey) -> dict[str, Any]:
    """Ask to disclose one person's data to an authority; another key or a privacy
    officer must approve it."""
    subject = (body.subject.kind, body.subject.value)
    found = request_disclosure(ctx, body.recipient, subject, body.reference, body.reason, key.owner)
    return dataclasses.asdict(found)


@api.post("/requests/{request_id}/approve")
def api_approve(request_id: str, ctx: Ctx, key: SharingKey) -> dict[str, Any]:
    return dataclasses.asdict(sharing.decide(ctx.store, request_id, key.owner, approve=True))


@api.post("/requests/{request_id}/deny")
def api_deny(request_id: str, ctx: Ctx, key: SharingKey) -> dict[str, Any]:
    return dataclasses.asdict(sharing.decide(ctx.store, request_id, key.owner, approve=False))


@api.post("/requests/{request_id}/disclose", status_code=201)
def api_disclose(
    request_id: str, ctx: Ctx, key: SharingKey, body: DiscloseIn | None = None
) -> dict[str, Any]:
    return report_json(disclose(ctx, request_id, (body or DiscloseIn()).format, key.owner))


def report_json(report: sharing.ShareReport) -> dict[str, Any]:
    found = report.as_dict()
    found.pop("path")  # where troth keeps it is no business of the caller
    return found | {"file": f"/api/sharing/exports/{report.disclosure}/file"}
