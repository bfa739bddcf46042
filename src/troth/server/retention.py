"""Retention in the console (/admin/retention: what is due, legal holds, flagged
accounts) and the age check for app backends (POST /api/age-check).

Every staff role sees what is due and which holds stand; only privacy officers and
admins place and release holds. The age check answers from the policy and keeps
nothing: the birth date travels in the body, never in a URL, and is not logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from troth import holds, retention
from troth.appdata import load_context
from troth.errors import InvalidInput
from troth.server.admin import Decider, StaffUser
from troth.server.context import Context, context
from troth.server.web import ERRORS, CheckedForm, StrictJsonRoute, page, redirect

router = APIRouter(prefix="/admin", include_in_schema=False)
api = APIRouter(prefix="/api", responses=ERRORS, route_class=StrictJsonRoute)
Ctx = Annotated[Context, Depends(context)]
MAX_SUBJECTS = 100


@router.get("/retention", response_class=HTMLResponse)
def retention_page(request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    now = dt.datetime.now(dt.UTC)
    plan = retention.plan_retention(load_context(ctx.project), ctx.store, now=now)
    return page(
        ctx,
        request,
        "admin/retention.html",
        user=user,
        plan=plan,
        now=now,
        holds=holds.list_holds(ctx.store, standing_only=True),
        flagged=retention.flagged(ctx.store) if user.can_decide else [],
        kinds=sorted(load_context(ctx.project).datamap.identities),
    )


@router.post("/holds", response_model=None)
def place(ctx: Ctx, user: Decider, form: CheckedForm) -> RedirectResponse:
    """Place a hold on the subjects listed one per line as kind:value (or a case)."""
    lines = [line.strip() for line in form.get("subjects", "").splitlines() if line.strip()]
    if len(lines) > MAX_SUBJECTS:
        raise HTTPException(422, f"At most {MAX_SUBJECTS} subjects per hold.")
    identities = []
    for line in lines:
        kind, sep, value = line.partition(":")
        if not sep:
            raise HTTPException(
                422, "Write each subject as kind:value, e.g. email:ada@example.com."
            )
        identities.append((kind.strip(), value.strip()))
    case = None
    if form.get("table"):
        values = tuple(v.strip() for v in form.get("values", "").split(",") if v.strip())
        case = holds.CaseFilter(form["table"], form.get("column", ""), values)
    ends = form.get("ends", "")
    try:
        ends_at = dt.datetime.fromisoformat(ends).replace(tzinfo=dt.UTC) if ends else None
        holds.place_hold(load_context(ctx.project), ctx.store, reason=form.get("reason", ""),
                         actor=f"staff:{user.id}", identities=identities, case=case,
                         reference=form.get("reference") or None, ends_at=ends_at)  # fmt: skip
    except ValueError:
        raise HTTPException(422, "The end date is not a date (YYYY-MM-DD).") from None
    return redirect("/admin/retention")


@router.post("/holds/{hold_id}", response_model=None)
def release(hold_id: str, ctx: Ctx, user: Decider, form: CheckedForm) -> RedirectResponse:
    if form.get("action") != "release":
        raise HTTPException(422, "Unknown action.")
    retention.release(load_context(ctx.project), ctx.store, hold_id, actor=f"staff:{user.id}")
    return redirect("/admin/retention")


class AgeCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    birth_date: str = Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        examples=["2010-04-01"],
        description="YYYY-MM-DD; not stored, not logged.",
    )
    action: Literal["sign_up", "purchase"] = "sign_up"


class AgeCheckOut(BaseModel):
    allowed: bool
    minimum_age: int | None
    reason: str


@api.post("/age-check", response_model=AgeCheckOut)
def age_check(body: AgeCheckIn, ctx: Ctx) -> AgeCheckOut:
    """Whether a person born on `birth_date` may sign up (or buy) under the policy."""
    try:
        answer = retention.age_allows(ctx.policy(), body.birth_date, body.action)
    except InvalidInput as exc:
        raise HTTPException(422, str(exc)) from None
    return AgeCheckOut(allowed=answer.allowed, minimum_age=answer.minimum_age,
                       reason=answer.reason)  # fmt: skip
