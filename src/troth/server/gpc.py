"""Global Privacy Control's well-known file: troth honours `Sec-GPC: 1` for every purpose
troth.yaml marks as a sale or sharing, and says so, dated by the policy's effective date."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from troth.server.context import Context, context
from troth.server.web import ERRORS

router = APIRouter(tags=["consent"], responses=ERRORS)
Ctx = Annotated[Context, Depends(context)]


@router.get("/.well-known/gpc.json")
def gpc_support(ctx: Ctx) -> dict[str, Any]:
    """This site honours Global Privacy Control (the GPC specification's resource)."""
    effective = ctx.policy().policy.effective_date
    found: dict[str, Any] = {"gpc": True}
    if effective is not None:
        found["lastUpdate"] = effective.isoformat()
    return found
