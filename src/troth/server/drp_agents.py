"""Data Rights Protocol 1.0 agents: who they are, their pairwise tokens, signed bodies.

[drp]
business_id = "acme"                      # the business-id agents must address
[[drp.agents]]
id = "cr-agent"                           # the agent-id the agent signs with
verify_key = "base64 Ed25519 public key"  # from the agent's service directory entry

A signed body is the libsodium combined form (signature + message) in base64, sent as
text/plain; the message is a JSON object. A body is accepted once: its signature's hash
is kept until it expires, so the same body sent again is a replay. A refused body is a
`Refused` error: the protocol's `fatal`, since the same body can never succeed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from troth.errors import TrothError
from troth.project import Project
from troth.server import tables
from troth.server.web import no_duplicate_keys
from troth.store import Store

CLOCK_SKEW = timedelta(minutes=5)
LONGEST_LIFE = timedelta(days=1)
MAX_ID = 60  # request owners are `drp:<id>`, at most 64 characters
ENVELOPE = {"agent-id", "business-id", "issued-at", "expires-at"}


class Refused(HTTPException):
    """A signed body this business will never accept as it is (the error is `fatal`)."""


@dataclass(frozen=True)
class Agent:
    id: str
    verify_key: VerifyKey


def business_id(project: Project) -> str:
    found = project.settings.get("drp", {}).get("business_id")
    if not isinstance(found, str) or not found:
        raise TrothError("troth.toml [drp] business_id: must name this business")
    return found


def agents(project: Project) -> dict[str, Agent]:
    """The agents troth.toml lists; a bad entry is a TrothError naming it."""
    found: dict[str, Agent] = {}
    for n, entry in enumerate(project.settings.get("drp", {}).get("agents", [])):
        where = f"troth.toml [[drp.agents]] #{n + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise TrothError(f"{where}: needs an id and a verify_key")
        if not 0 < len(entry["id"]) <= MAX_ID:
            raise TrothError(f"{where}: id must be 1 to {MAX_ID} characters")
        try:
            key = VerifyKey(base64.b64decode(str(entry.get("verify_key")), validate=True))
        except (binascii.Error, ValueError, TypeError):
            raise TrothError(f"{where}: verify_key is not a base64 Ed25519 key") from None
        found[entry["id"]] = Agent(entry["id"], key)
    return found


def agent(project: Project, agent_id: str) -> Agent:
    found = agents(project).get(agent_id)
    if found is None:
        raise Refused(403, "this agent is not registered with this business")
    return found


def token(project: Project, agent_id: str) -> str:
    """The agent's pairwise bearer token with this business (derived, never stored)."""
    return project.keyed_hash("drp-agent-token", agent_id)


def authorized(project: Project, agent_id: str, authorization: str) -> bool:
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token(project, agent_id).encode()
    )


def opened(raw: bytes, key: VerifyKey) -> dict[str, Any]:
    """The JSON object a signed body carries; 400 when it is not one, 403 when forged."""
    try:
        signed = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Refused(400, "the body must be a base64 libsodium signed message") from None
    try:
        message = key.verify(signed)
    except (BadSignatureError, ValueError):
        raise Refused(403, "the signature does not match this agent's key") from None
    try:
        body = json.loads(message, object_pairs_hook=no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused(400, "the signed message is not JSON") from None
    except HTTPException as exc:  # a key named twice
        raise Refused(exc.status_code, str(exc.detail)) from None
    if not isinstance(body, dict):
        raise Refused(400, "the signed message must be a JSON object")
    return body


def when(body: dict[str, Any], name: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(body[name]))
    except (KeyError, ValueError):
        raise Refused(400, f"{name} must be an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def checked(project: Project, agent_id: str, body: dict[str, Any]) -> datetime:
    """The body's expires-at once it is addressed from `agent_id` to this business and
    within its lifetime; 400/403 otherwise."""
    if body.get("agent-id") != agent_id:
        raise Refused(403, "agent-id does not match the agent that signed")
    if body.get("business-id") != business_id(project):
        raise Refused(403, "business-id does not name this business")
    issued, expires, now = when(body, "issued-at"), when(body, "expires-at"), datetime.now(UTC)
    if issued > now + CLOCK_SKEW:
        raise Refused(400, "issued-at is in the future")
    if expires < now:
        raise Refused(400, "the request has expired (expires-at is in the past)")
    if expires <= issued or expires - issued > LONGEST_LIFE:
        raise Refused(400, "expires-at must follow issued-at by at most a day")
    return expires


def signed_body(project: Project, store: Store, agent_id: str, raw: bytes) -> dict[str, Any]:
    """A verified, addressed, fresh body from `agent_id`, refused when seen before."""
    body = opened(raw, agent(project, agent_id).verify_key)
    forget_after(store, raw, checked(project, agent_id, body))
    return body


def revoke_body(project: Project, store: Store, agent_id: str, raw: bytes) -> dict[str, Any]:
    """A verified revoke body from `agent_id`. The protocol's revoke body is only
    `{"reason": ...}` (section 2.04): the addressing and times are checked, and the
    body kept against replays, when it carries them, as a careful agent's does."""
    body = opened(raw, agent(project, agent_id).verify_key)
    if ENVELOPE & body.keys():
        forget_after(store, raw, checked(project, agent_id, body))
    return body


def forget_after(store: Store, raw: bytes, expires: datetime) -> None:
    """Keep the body's hash until `expires`; a replay (the same body again) is a 409."""
    digest = hashlib.sha256(raw.strip()).hexdigest()
    with store.begin() as conn:
        conn.execute(
            delete(tables.drp_seen).where(tables.drp_seen.c.expires_at < datetime.now(UTC))
        )
        try:
            conn.execute(insert(tables.drp_seen).values(digest=digest, expires_at=expires))
        except IntegrityError:
            raise Refused(409, "this signed request was already received") from None
