"""`troth check` in the console (/admin/check): every promise of troth.yaml, what keeps it
and the evidence, the same report the command prints. Every staff role may read it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from troth.appdata import load_context
from troth.check import FAILING, check_project
from troth.server.admin import StaffUser
from troth.server.context import Context, context
from troth.server.web import page

router = APIRouter(prefix="/admin", include_in_schema=False)
Ctx = Annotated[Context, Depends(context)]


@router.get("/check", response_class=HTMLResponse)
def check_page(request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    report = check_project(load_context(ctx.project), ctx.store)
    return page(ctx, request, "admin/check.html", user=user, report=report, failing=FAILING)
