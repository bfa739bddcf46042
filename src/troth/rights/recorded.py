"""Restriction, objection, consent withdrawal and opt-out of sale/sharing: recorded,
with the consent decisions they imply written to the consent ledger."""

from __future__ import annotations

from typing import Any

from troth.consent.events import record_consent
from troth.policy.model import ConsentMode, LegalBasis, Policy
from troth.rights.context import Context
from troth.rights.lifecycle import Request
from troth.store import Store

EFFECTS = {
    "restriction": "processing restricted to storage and legal claims",
    "objection": "processing for the purpose stops",
    "withdraw_consent": "consent withdrawn; processing that relied on it stops",
    "opt_out_sale": "no sale or sharing of the subject's data",
}


def affected(policy: Policy, request: Request) -> list[str]:
    """The purposes the request concerns, per troth.yaml."""
    if request.purpose is not None:
        return [request.purpose]
    if request.kind == "withdraw_consent":
        return [p.key for p in policy.purposes if p.consent != ConsentMode.none]
    if request.kind == "opt_out_sale":
        return [p.key for p in policy.purposes if p.sale_or_share]
    return [p.key for p in policy.purposes if p.legal_basis != LegalBasis.legal_obligation]


def record_effects(ctx: Context, store: Store, request: Request) -> dict[str, Any]:
    purposes = affected(ctx.policy, request)
    decision = "denied" if request.kind == "opt_out_sale" else "withdrawn"
    recorded = []
    if request.kind != "restriction" and request.source != "consent":
        subject = f"{request.identity_kind}:{request.identity_value}"
        for key in purposes:
            purpose = ctx.policy.purpose(key)
            if purpose is None or purpose.consent == ConsentMode.none:
                continue
            record_consent(
                ctx.project,
                store,
                subject,
                key,
                decision,
                source="cli" if request.source == "cli" else "api",
                evidence={"request_id": request.id},
            )
            recorded.append(key)
    return {"effect": EFFECTS[request.kind], "purposes": purposes, "consent_recorded": recorded}
