"""Data Rights Protocol 1.0 endpoints (Consumer Reports' DRP) mapped onto the rights engine.

An authorized agent listed in troth.toml `[[drp.agents]]` pairs with `POST /v1/agent/{id}`
(a body signed with its Ed25519 key) and gets its pairwise bearer token; every exercise
and revoke after is signed too and carries the token. Errors are the protocol's
`{"code", "message", "fatal"}`; a refused body changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from troth import rights
from troth.errors import TrothError
from troth.server import drp_agents, drp_consent, drp_status, requests
from troth.server.context import Context, context
from troth.server.drp_status import StatusOut

DRP_VERSION = "1.0"
# DRP action -> rights request kind; OPT_IN is a consent decision instead (drp_consent)
ACTIONS = {
    "sale:opt-out": "opt_out_sale",
    "deletion": "erasure",
    "access": "access",
    "access:categories": "access",
    "access:specific": "access",
}
OPT_IN = "sale:opt-in"
# the 0.9 spellings (OSIRAA 1.0 still sends `sale:opt_in`)
OLD_ACTIONS = {"sale:opt_out": "sale:opt-out", "sale:opt_in": "sale:opt-in"}
VERIFICATIONS = {"email": "email", "phone_number": "phone"}  # DRP claim -> identity kind
Ctx = Annotated[Context, Depends(context)]
M = TypeVar("M", bound=BaseModel)
REVOCABLE = ("received", "verified", "approved")  # not yet run nor closed
TOO_LATE = "the request has already been carried out or closed; it cannot be revoked"


class DrpRoute(APIRoute):
    """Every error as the protocol's `{code, message, fatal}` body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def protocol_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                fatal = isinstance(exc, drp_agents.Refused)
                return error(exc.status_code, str(exc.detail), exc.headers, fatal=fatal)
            except RequestValidationError as exc:
                return error(400, invalid_fields(exc.errors()))
            except TrothError as exc:  # e.g. troth.toml's [drp] table is wrong
                return error(exc.http_status, str(exc))

        return protocol_errors


def error(
    status: int, message: str, headers: Mapping[str, str] | None = None, *, fatal: bool = False
) -> JSONResponse:
    """The protocol's error (section 3.06); `fatal` when the same body can never succeed,
    so the agent should not send it again."""
    body = {"code": str(status), "message": message, "fatal": fatal}
    return JSONResponse(body, status_code=status, headers=headers)


def invalid_fields(errors: Any) -> str:
    """Which fields are wrong, never their values (they may be personal data)."""
    names = sorted({".".join(str(part) for part in e["loc"] if part != "body") for e in errors})
    return "invalid or missing: " + ", ".join(names)


class DrpErrorOut(BaseModel):
    """The protocol's error: the HTTP status as text, what is wrong, whether retrying the
    same body is pointless."""

    code: str
    message: str
    fatal: bool


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": DrpErrorOut, "description": text}
    for status, text in (
        (400, "Not a signed JSON body, a field is invalid, or the times are wrong."),
        (401, "A paired agent's bearer token is required."),
        (403, "Forged, another agent's, or addressed to another business (pairing: no body)."),
        (404, "No such request."),
        (409, "Already received (a replay), or too late to revoke."),
    )
}
SIGNED = {
    "requestBody": {
        "required": True,
        "content": {"text/plain": {"schema": {"type": "string", "format": "byte"}}},
        "description": "A base64 libsodium signed message whose message is a JSON object.",
    }
}
router = APIRouter(tags=["data rights protocol"], responses=ERRORS, route_class=DrpRoute)


class ExerciseIn(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")
    drp_version: Literal["1.0"] = Field(alias="drp.version")
    exercise: Literal[
        "sale:opt-out",
        "sale:opt-in",
        "sale:opt_out",
        "sale:opt_in",
        "deletion",
        "access",
        "access:categories",
        "access:specific",
    ]
    regime: Literal["ccpa", "voluntary"] | None = None
    relationships: list[Annotated[str, Field(max_length=100)]] = Field(default=[], max_length=20)
    status_callback: HttpUrl | None = Field(default=None)
    agent_request_id: str | None = Field(default=None, alias="agent-request-id", max_length=100)
    email: str | None = Field(default=None, max_length=320)
    email_verified: bool | None = None
    phone_number: str | None = Field(default=None, max_length=40)
    phone_number_verified: bool | None = None

    @property
    def unverified(self) -> bool:
        """The agent says it has not verified the claim troth goes by (section 3.04)."""
        claim = self.email_verified if self.email else self.phone_number_verified
        return claim is False


class PairIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    drp_version: Literal["1.0"] = Field(alias="drp.version")


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    reason: str | None = Field(default=None, max_length=500)


class PairedOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    agent_id: str = Field(alias="agent-id")
    token: str


def parsed(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise drp_agents.Refused(400, invalid_fields(exc.errors())) from None


def calling_agent(request: Request, ctx: Ctx) -> drp_agents.Agent:
    """The agent whose pairwise token the request carries; 401 otherwise."""
    given = request.headers.get("authorization", "")
    for agent in drp_agents.agents(ctx.project).values():
        if drp_agents.authorized(ctx.project, agent.id, given):
            return agent
    raise HTTPException(401, "a paired agent's bearer token is required")


Caller = Annotated[drp_agents.Agent, Depends(calling_agent)]


def api_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/v1"


@router.get("/.well-known/data-rights.json")
def discovery(request: Request, ctx: Ctx) -> dict[str, Any]:
    """This business's entry for the DRP service directory (the Business Discovery
    Document, section 3.05.2): where agents send requests and what they may ask."""
    return {
        "id": ctx.project.settings.get("drp", {}).get("business_id"),  # None: not set up
        "name": ctx.policy().policy.name,
        "api_base": api_base(request),
        "supported_actions": [*ACTIONS, OPT_IN],
        "supported_verifications": list(VERIFICATIONS),
    }


@router.post(
    "/v1/agent/{agent_id}",
    response_model=PairedOut,
    responses={403: {"description": "The body failed validation (section 2.05.1: no body)."}},
    openapi_extra=SIGNED,
)
async def pair(agent_id: str, request: Request, ctx: Ctx) -> PairedOut | Response:
    """Pair an agent: its signed body gets back its pairwise bearer token. A body that
    fails validation is a 403 with no body, as section 2.05.1 says."""
    try:
        body = drp_agents.signed_body(ctx.project, ctx.store, agent_id, await request.body())
        parsed(PairIn, body)
    except HTTPException:
        return Response(status_code=403)
    return PairedOut(agent_id=agent_id, token=drp_agents.token(ctx.project, agent_id))


@router.get("/v1/agent/{agent_id}")
def agent_status(agent_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    """200 `{}` while the token is good for this agent; 403 for any other token."""
    drp_agents.agent(ctx.project, agent_id)
    given = request.headers.get("authorization", "")
    if not drp_agents.authorized(ctx.project, agent_id, given):
        raise HTTPException(403, "the token does not belong to this agent")
    return {}


@router.post("/v1/data-rights-request", response_model=StatusOut, response_model_exclude_none=True)
@router.post(
    "/v1/data-rights-request/",
    include_in_schema=False,
    response_model=StatusOut,
    response_model_exclude_none=True,
)
async def exercise(request: Request, ctx: Ctx, agent: Caller) -> StatusOut:
    """Exercise a right on behalf of a user the agent has verified (a signed body).

    A claim the agent marks unverified (`email_verified: false`) leaves an access or a
    deletion `open` until staff verify it, and denies an opt-in; an opt-out of sale
    needs no verification (the CCPA forbids asking for it)."""
    body = drp_agents.signed_body(ctx.project, ctx.store, agent.id, await request.body())
    wanted = parsed(ExerciseIn, body)
    action = OLD_ACTIONS.get(wanted.exercise, wanted.exercise)
    identity = identity_of(wanted)
    callback = str(wanted.status_callback) if wanted.status_callback else None
    remember = partial(
        drp_status.record,
        ctx.store,
        agent_id=agent.id,
        api_base=api_base(request),
        agent_request_id=wanted.agent_request_id,
        status_callback=callback,
    )
    if action == OPT_IN:
        request_id = str(uuid.uuid4())
        settled = drp_consent.opt_in(
            ctx.project, ctx.store, ctx.policy(), request_id, identity, not wanted.unverified
        )
        remember(request_id=request_id, settled=settled)
        return status_out(ctx, request_id)
    made = requests.create(
        ctx,
        owner(agent.id),
        ACTIONS[action],
        *identity,
        source="drp",
        verified=action == "sale:opt-out" or not wanted.unverified,
        jurisdiction="ccpa" if wanted.regime == "ccpa" else None,
    )
    remember(request_id=made.id)
    return status_out(ctx, made.id)


def identity_of(wanted: ExerciseIn) -> tuple[str, str]:
    """The troth identity of the user: the `email` claim, else `phone_number`."""
    for claim, kind in VERIFICATIONS.items():
        value = getattr(wanted, claim)
        if value:
            return kind, value
    raise drp_agents.Refused(400, "give the user's email or phone_number")


@router.get(
    "/v1/data-rights-request/{request_id}",
    response_model=StatusOut,
    response_model_exclude_none=True,
)
def status(request_id: str, ctx: Ctx, agent: Caller) -> StatusOut:
    """The request's status; 403 when another agent manages it."""
    return drp_status.current(ctx.project, ctx.store, mine(ctx, request_id, agent.id))


@router.delete(
    "/v1/data-rights-request/{request_id}",
    openapi_extra=SIGNED,
    response_model=StatusOut,
    response_model_exclude_none=True,
)
async def revoke(request_id: str, request: Request, ctx: Ctx, agent: Caller) -> StatusOut:
    """Withdraw a request that has not been carried out yet (a signed body)."""
    row = mine(ctx, request_id, agent.id)
    body = drp_agents.revoke_body(ctx.project, ctx.store, agent.id, await request.body())
    parsed(RevokeIn, body)
    found = None if row["settled"] else rights.get_request(ctx.store, request_id)
    if found is None or found.status not in REVOCABLE:
        raise drp_agents.Refused(409, TOO_LATE)  # it never will be: fatal
    done = rights.deny_request(
        ctx.project, ctx.store, request_id, "revoked by the authorized agent", actor="drp"
    )
    drp_status.mark_revoked(ctx.store, request_id)
    drp_status.call_back(ctx.project, ctx.store, done)
    return status_out(ctx, request_id)


@router.get("/v1/data-rights-request/{request_id}/results")
def results(request_id: str, ctx: Ctx, agent: Caller) -> StreamingResponse:
    """A fulfilled access request's export (the status's `results_url`)."""
    if mine(ctx, request_id, agent.id)["settled"]:
        raise HTTPException(404, "this request has no results to download")
    found = rights.get_request(ctx.store, request_id)
    if found.status == "completed" and drp_status.past(
        drp_status.download_expires(ctx.project, request_id)
    ):
        raise HTTPException(410, drp_status.GONE)
    return requests.export_download(ctx, found, f"{request_id}.zip")


def owner(agent_id: str) -> str:
    return f"drp:{agent_id}"


def mine(ctx: Context, request_id: str, agent_id: str) -> dict[str, Any]:
    """The DRP record of `request_id`: 404 when there is none, 403 for another agent's."""
    row = drp_status.recorded(ctx.store, request_id) if len(request_id) <= 64 else None
    if row is None:
        raise HTTPException(404, "no such request")
    if row["agent_id"] != agent_id:
        raise HTTPException(403, "another agent manages this request")
    return row


def status_out(ctx: Context, request_id: str) -> StatusOut:
    row = drp_status.recorded(ctx.store, request_id)
    assert row is not None  # recorded just before
    return drp_status.current(ctx.project, ctx.store, row)
