"""Data Rights Protocol (Consumer Reports DRP 0.9) endpoints mapped onto the rights engine.

An authorized agent is an API key with the `requests:write` scope: its key is the
agent's pair-wise bearer token. Requests are plain JSON; the spec's libsodium message
signatures are not checked (a deployment fronts this with the key, not a signature).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from troth import rights
from troth.server import requests
from troth.server.auth import ApiKey
from troth.server.context import Context, context
from troth.server.web import ERRORS, StrictJsonRoute, api_key

router = APIRouter(tags=["data rights protocol"], responses=ERRORS, route_class=StrictJsonRoute)
Ctx = Annotated[Context, Depends(context)]
DRP_VERSION = "0.9.4"
DrpStatus = Literal["open", "in_progress", "fulfilled", "denied"]
DrpReason = Literal["other", "no_match"]
# DRP action -> rights request kind
ACTIONS = {
    "sale:opt_out": "opt_out_sale",
    "deletion": "erasure",
    "access": "access",
    "access:categories": "access",
    "access:specific": "access",
}
# rights status -> (DRP status, reason)
STATUSES: dict[str, tuple[DrpStatus, DrpReason | None]] = {
    "received": ("open", None),
    "verified": ("in_progress", None),
    "approved": ("in_progress", None),
    "running": ("in_progress", None),
    "completed": ("fulfilled", None),
    "denied": ("denied", "other"),
    "failed": ("denied", "other"),
}


class ExerciseIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    agent_id: str = Field(alias="agent-id", min_length=1, max_length=100)
    business_id: str = Field(alias="business-id", min_length=1, max_length=100)
    issued_at: datetime = Field(alias="issued-at")
    expires_at: datetime = Field(alias="expires-at")
    drp_version: str = Field(alias="drp.version", max_length=16)
    exercise: Literal["sale:opt_out", "deletion", "access", "access:categories", "access:specific"]
    regime: Literal["ccpa", "voluntary"] | None = None
    email: str | None = Field(default=None, max_length=320)
    phone_number: str | None = Field(default=None, max_length=40)


class StatusOut(BaseModel):
    request_id: str
    status: DrpStatus
    reason: DrpReason | None = None
    received_at: datetime | None = None
    expected_by: datetime | None = None
    processing_details: str | None = None


@router.get("/.well-known/data-rights.json")
def discovery(request: Request) -> dict[str, Any]:
    """Where agents send requests and which actions this business supports."""
    return {
        "version": DRP_VERSION,
        "api_base": str(request.base_url).rstrip("/") + "/v1",
        "actions": list(ACTIONS),
        "user_relationships": [],
    }


def status_out(request: rights.Request) -> StatusOut:
    info = requests.summary(request)
    status, reason = STATUSES.get(info["status"], ("in_progress", None))
    if info["no_data"]:  # the protocol's word for "we hold nothing about this person"
        status, reason = "denied", "no_match"
    return StatusOut(
        request_id=info["id"],
        status=status,
        reason=reason,
        received_at=info["created_at"],
        expected_by=info["due_at"],
    )


@router.post("/v1/data-rights-request", response_model=StatusOut)
def exercise(
    body: ExerciseIn, ctx: Ctx, key: ApiKey = Depends(api_key("requests:write"))
) -> StatusOut:
    """Exercise a right on behalf of a user the agent has verified."""
    if body.expires_at.astimezone(UTC) < datetime.now(UTC):
        raise HTTPException(400, "the request has expired (expires-at is in the past)")
    if body.email:
        identity = ("email", body.email)
    elif body.phone_number:
        identity = ("phone", body.phone_number)
    else:
        raise HTTPException(422, "give the user's email or phone_number")
    jurisdiction = "ccpa" if body.regime == "ccpa" else None
    request = requests.create(
        ctx,
        key.owner,
        ACTIONS[body.exercise],
        *identity,
        source="drp",
        verified=True,
        jurisdiction=jurisdiction,
    )
    return status_out(request)


@router.get("/v1/data-rights-request/{request_id}", response_model=StatusOut)
def status(
    request_id: str, ctx: Ctx, key: ApiKey = Depends(api_key("requests:write"))
) -> StatusOut:
    """The request's status; 403 when another agent manages it (DRP 2.02.1)."""
    found = requests.any_request(ctx, request_id)
    if requests.owner_of(ctx, request_id) != key.owner:
        raise HTTPException(403, "another agent manages this request")
    return status_out(found)
