"""The JSON API under /api: requests and consent for app backends, policy, admin."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
)
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from troth import consent, ledger, rights, worker
from troth.policy.render import render
from troth.server import drp_status, requests
from troth.server.auth import ApiKey
from troth.server.context import Context, context
from troth.server.web import (
    ERRORS,
    VISITOR_COOKIE,
    StrictJsonRoute,
    api_key,
    current_email,
    require_key,
    set_cookie,
)

router = APIRouter(prefix="/api", responses=ERRORS, route_class=StrictJsonRoute)
Ctx = Annotated[Context, Depends(context)]
SubjectText = Annotated[str, Field(min_length=3, max_length=400)]
# Marks each purpose field; app.py makes it an enum of the current policy's purpose keys.
PURPOSE_MARK = "x-troth-purpose"
PurposeKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"^[a-z][a-z0-9_.]*$",
        json_schema_extra={PURPOSE_MARK: True},
    ),
]
Jurisdiction = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
VersionText = Annotated[str, Field(max_length=64, pattern=r"^[\w.:-]+$")]
CategoryKey = Annotated[str, Field(max_length=200, pattern=r"^[a-z][a-z0-9_.]*$")]
VISITOR = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]


Kind = Literal[requests.KINDS]  # type: ignore[valid-type]
Status = Literal[rights.STATUSES]  # type: ignore[valid-type]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Identity(Input):
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", examples=["email"])
    value: str = Field(min_length=1, max_length=320, examples=["ada@example.com"])


class RequestIn(Input):
    kind: Kind
    identity: Identity
    fields: dict[FieldName, Annotated[str, Field(max_length=1000)]] | None = Field(
        default=None, max_length=50
    )
    purpose: PurposeKey | None = None
    jurisdiction: Jurisdiction | None = None


class RequestOut(BaseModel):
    id: str
    kind: Kind
    status: Status
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    no_data: bool = Field(
        default=False, description="completed, and the identity matched no data: nothing to do"
    )


class ConsentIn(Input):
    subject: SubjectText | None = None
    choices: dict[PurposeKey, bool] = Field(max_length=200)
    policy_version: VersionText | None = None
    notice_version: VersionText | None = None
    gpc: bool = Field(
        default=False,
        description="The browser's navigator.globalPrivacyControl, taken like Sec-GPC: 1.",
    )
    confirm_gpc: list[PurposeKey] = Field(
        default_factory=list,
        max_length=200,
        description="Purposes the person confirmed allowing although GPC is on.",
    )


class CheckOut(BaseModel):
    allowed: bool
    rule: consent.Rule | None = Field(
        default=None, description="with explain=true: the rule that decided"
    )
    reason: str | None = Field(default=None, description="with explain=true: why, in words")


class NoticeIn(Input):
    subject: SubjectText | None = None
    version: VersionText


class DenyIn(Input):
    reason: str = Field(min_length=1, max_length=500)


def request_out(request: rights.Request) -> RequestOut:
    return RequestOut(**requests.summary(request))


# --- requests ------------------------------------------------------------------------


@router.post("/requests", status_code=201, response_model=RequestOut, tags=["requests"])
def create_request(
    body: RequestIn, ctx: Ctx, key: ApiKey = Depends(api_key("requests:write"))
) -> RequestOut:
    """Open a rights request for a user the app has already authenticated (so: verified)."""
    request = requests.create(
        ctx,
        key.owner,
        body.kind,
        body.identity.kind,
        body.identity.value,
        fields=body.fields,
        purpose=body.purpose,
        jurisdiction=body.jurisdiction,
        source="api",
        verified=True,
    )
    return request_out(request)


@router.get("/requests/{request_id}", response_model=RequestOut, tags=["requests"])
def request_status(
    request_id: str, ctx: Ctx, key: ApiKey = Depends(api_key("requests:write"))
) -> RequestOut:
    return request_out(requests.owned(ctx, request_id, key.owner))


@router.get(
    "/requests/{request_id}/export",
    response_class=StreamingResponse,
    tags=["requests"],
    responses={200: {"content": {"application/zip": {}}}},
)
def request_export(
    request_id: str, ctx: Ctx, key: ApiKey = Depends(api_key("requests:write"))
) -> StreamingResponse:
    request = requests.owned(ctx, request_id, key.owner)
    return requests.export_download(ctx, request, f"{request.id}.zip")


# --- consent -------------------------------------------------------------------------


@router.get("/consent/purposes", tags=["consent"])
def consent_purposes(ctx: Ctx) -> dict[str, Any]:
    """The purposes of the current policy that rely on consent (for banners)."""
    return consent.purposes_payload(ctx.policy())


def gpc_of(sec_gpc: str | None) -> bool:
    return sec_gpc is not None and sec_gpc.strip() == "1"


def consent_subject(
    request: Request, response: Response, ctx: Context, subject: str | None, scope: str
) -> tuple[str, bool]:
    """(subject, by_app): named by an app with an API key, else the browser's visitor
    cookie `troth_consent` (set on first use), or the signed-in privacy-center subject."""
    if subject is not None:
        require_key(request, ctx, scope)
        return str(consent.resolve_subject(ctx.project, subject)), True
    email = current_email(request, ctx)
    if email is not None:
        return f"email:{email}", False
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    if not VISITOR.match(visitor):
        visitor = secrets.token_urlsafe(18)
        set_cookie(ctx, request, response, VISITOR_COOKIE, visitor, 60 * 60 * 24 * 365)
    return f"cookie:{visitor}", False


@router.get("/consent", tags=["consent"])
def consent_state(
    request: Request,
    response: Response,
    ctx: Ctx,
    subject: Annotated[str | None, Query(min_length=3, max_length=400)] = None,
    gpc: Annotated[bool, Query(description="navigator.globalPrivacyControl")] = False,
    sec_gpc: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """The consent state: of `subject` (`kind:value`, needs a consent:read API key), or of
    this browser. With `Sec-GPC: 1` (or `gpc=true`, what a page's script can send) the
    sale/sharing purposes are opted out first, except grants confirmed over GPC."""
    name, _ = consent_subject(request, response, ctx, subject, "consent:read")
    return consent.api_payload(ctx.project, ctx.store, name, gpc=gpc or gpc_of(sec_gpc))


@router.post("/consent", tags=["consent"])
def consent_record(
    body: ConsentIn,
    request: Request,
    response: Response,
    ctx: Ctx,
    sec_gpc: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Record choices (purpose -> allowed) of `subject` (needs a consent:write API key) or
    of this browser. Under GPC (`Sec-GPC: 1` or `gpc`) a grant of a sale/sharing purpose
    needs the person's confirmation (`confirm_gpc`); without it the answer is 409 and
    nothing is recorded."""
    name, by_app = consent_subject(request, response, ctx, body.subject, "consent:write")
    choices = body.model_dump(exclude={"subject"})
    source = "api" if by_app else "banner"
    payload = consent.apply_choices(
        ctx.project, ctx.store, name, choices, gpc=gpc_of(sec_gpc), source=source
    )
    rights.take_withdrawals(ctx.project, ctx.store)
    return payload


@router.get(
    "/consent/check", response_model=CheckOut, response_model_exclude_none=True, tags=["consent"]
)
async def consent_check(
    ctx: Ctx,
    subject: Annotated[str, Query(min_length=3, max_length=400)],
    purpose: Annotated[
        str, Query(min_length=1, max_length=200, json_schema_extra={PURPOSE_MARK: True})
    ],
    _key: ApiKey = Depends(api_key("consent:read")),
    categories: Annotated[
        list[CategoryKey] | None,
        Query(max_length=50, description="the data categories to be used (checks 'only' uses)"),
    ] = None,
    explain: Annotated[bool, Query(description="say which rule decided, and why")] = False,
) -> CheckOut:
    """Whether the app may use the subject's data (`categories` of it) for `purpose` now,
    for any purpose (fast, cached); `explain=true` adds the rule that decided (restriction,
    objection, age, only_use, consent, reconsent, revoked, gpc, default) and the reason.

    Async on purpose: the answer comes from the in-process cache, refreshed with one
    small query at most every 100 ms, so a worker-thread hop would cost more than it saves."""
    answer = ctx.sdk().explain(subject, purpose, categories or ())
    if not explain:
        return CheckOut(allowed=answer.allowed)
    return CheckOut(allowed=answer.allowed, rule=answer.rule, reason=answer.reason)


@router.post("/consent/notice", tags=["consent"])
def consent_notice_seen(
    body: NoticeIn, request: Request, response: Response, ctx: Ctx
) -> dict[str, Any]:
    """The in-app notice of policy `version` was shown and taken (the banner's "Got it"):
    recorded as accepting that version, so the notice is not shown again. Of `subject`
    (needs a consent:write API key) or of this browser."""
    name, by_app = consent_subject(request, response, ctx, body.subject, "consent:write")
    source = "api" if by_app else "banner"
    added = consent.accept_policy(ctx.project, ctx.store, name, body.version, source=source)
    return {"version": body.version, "accepted": True, "new": added}


# --- policy --------------------------------------------------------------------------


@router.get("/policy", tags=["policy"])
def policy_info(ctx: Ctx) -> dict[str, Any]:
    policy = ctx.policy()
    return {
        "name": policy.policy.name,
        "version": policy.policy.version,
        "effective_date": policy.policy.effective_date,
        "organization": policy.organization.name,
    }


@router.get(
    "/policy/notice",
    # Not PlainTextResponse: FastAPI would document every error answer as text/plain too.
    response_class=Response,
    tags=["policy"],
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def policy_notice(
    ctx: Ctx, format: Annotated[Literal["md", "html"], Query()] = "md"
) -> PlainTextResponse:
    """The human-readable notice of the current policy, "last updated" on the day its
    version was published."""
    media = "text/html" if format == "html" else "text/markdown"
    policy = ctx.policy()
    updated = consent.published_on(ctx.store, policy.policy.version)
    text = render(policy, format, updated=updated)
    return PlainTextResponse(text, media_type=f"{media}; charset=utf-8")


@router.get("/policy/versions", tags=["policy"])
def policy_versions(ctx: Ctx) -> dict[str, Any]:
    """Every published version, newest first."""
    return {"versions": [_version(v) for v in reversed(consent.list_versions(ctx.store))]}


def _version(version: Any) -> dict[str, Any]:
    return {
        "version": version.version,
        "posted_at": version.posted_at,
        "new_users_bound_at": version.new_bound_at,
        "existing_users_bound_at": version.existing_bound_at,
        "material": version.material,
        "reconsent_purposes": version.reconsent_purposes,
    }


# --- admin ---------------------------------------------------------------------------

Admin = Depends(api_key("admin"))


@router.get("/admin/requests", response_model=list[RequestOut], tags=["admin"])
def admin_queue(
    ctx: Ctx,
    status: Annotated[Status | None, Query()] = None,
    _key: ApiKey = Admin,
) -> list[RequestOut]:
    return [request_out(r) for r in rights.list_requests(ctx.store, status=status)]


@router.get("/admin/requests/{request_id}/plan", tags=["admin"])
def admin_plan(request_id: str, ctx: Ctx, _key: ApiKey = Admin) -> dict[str, Any]:
    requests.any_request(ctx, request_id)
    return plan_json(rights.plan_request(ctx.project, ctx.store, request_id))


def plan_json(plan: rights.Plan) -> dict[str, Any]:
    """What running the request will touch: counts and actions, never values."""
    steps = [
        {"store": s.store, "table": s.table, "action": s.action, "rows": s.rows, "detail": s.detail}
        for s in plan.steps
    ]
    return {"kind": plan.kind, "steps": steps, "blobs": plan.blobs, "notes": plan.notes}


@router.post("/admin/requests/{request_id}/approve", response_model=RequestOut, tags=["admin"])
def admin_approve(
    request_id: str, ctx: Ctx, background: BackgroundTasks, key: ApiKey = Admin
) -> RequestOut:
    requests.any_request(ctx, request_id)
    approved = rights.approve_request(ctx.project, ctx.store, request_id, actor=key.owner)
    worker.enqueue(ctx.project, ctx.store, [approved.id])
    drp_status.call_back_later(background, ctx.project, ctx.store, approved.id)
    return request_out(approved)


@router.post("/admin/requests/{request_id}/deny", response_model=RequestOut, tags=["admin"])
def admin_deny(
    request_id: str, body: DenyIn, ctx: Ctx, background: BackgroundTasks, key: ApiKey = Admin
) -> RequestOut:
    requests.any_request(ctx, request_id)
    denied = rights.deny_request(ctx.project, ctx.store, request_id, body.reason, actor=key.owner)
    drp_status.call_back_later(background, ctx.project, ctx.store, denied.id)
    return request_out(denied)


@router.post("/admin/requests/{request_id}/run", response_model=RequestOut, tags=["admin"])
def admin_run(request_id: str, ctx: Ctx, key: ApiKey = Admin) -> RequestOut:
    found = requests.any_request(ctx, request_id)
    if found.kind == "complaint":
        raise HTTPException(409, "a complaint does not run: staff answer it in the console")
    return request_out(requests.run(ctx, found, actor=key.owner))


@router.get("/admin/ledger/verify", tags=["admin"])
def admin_verify(ctx: Ctx, _key: ApiKey = Admin) -> dict[str, Any]:
    result = ledger.verify(ctx.store, ctx.project)
    return {
        "ok": result.ok,
        "checked": result.checked,
        "head": result.head_seq,
        "first_bad": result.first_bad_seq,
        "reason": result.reason,
        "detail": result.detail,
    }
