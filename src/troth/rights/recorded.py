"""Restriction, objection, consent withdrawal and opt-out of sale/sharing: recorded,
with the consent decisions they imply written to the consent ledger. A withdrawal also
revokes the preferences troth.yaml makes `revocable` (communication choices needing no
consent), so allowed() refuses them afterwards.

Withdrawal has an effect on the data too: the categories that only the withdrawn
purposes covered (no purpose still allowed for the subject needs them) are erased
from the subject's rows, column by column, per the data map's erase actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from troth.appdata import (
    Context,
    Found,
    Key,
    check,
    erase_categories,
    owned_keys,
    resolve,
    withdrawn_columns,
)
from troth.consent import current_consent, only_under, record_consent
from troth.consent.purposes import choosable
from troth.datamap import sql_engine
from troth.errors import TrothError
from troth.holds import without_rows
from troth.policy.model import ConsentMode, LegalBasis, Policy, Purpose
from troth.rights import tables as t
from troth.rights.held import kept_entries, withheld
from troth.rights.lifecycle import Request
from troth.store import Store

EVERY_PURPOSE = "*"

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
        return [p.key for p in policy.purposes if choosable(p)]
    if request.kind == "opt_out_sale":
        return [p.key for p in policy.purposes if p.sale_or_share]
    return [p.key for p in policy.purposes if p.legal_basis != LegalBasis.legal_obligation]


def record_effects(ctx: Context, store: Store, request: Request) -> dict[str, Any]:
    purposes = affected(ctx.policy, request)
    decided = [k for k in purposes if decided_by(request.kind, ctx.policy.purpose(k))]
    decision = "denied" if request.kind == "opt_out_sale" else "withdrawn"
    recorded = []
    if request.kind != "restriction" and request.source != "consent":
        subject = f"{request.identity_kind}:{request.identity_value}"
        for key in decided:
            record_consent(
                ctx.project,
                store,
                subject,
                key,
                decision,
                source="cli" if request.source == "cli" else "api",
                evidence={"request_id": request.id},
                # a withdrawal request erases below; an objection's erasure is queued
                queue_erasure=request.kind != "withdraw_consent",
            )
            recorded.append(key)
    result = {"effect": EFFECTS[request.kind], "purposes": purposes, "consent_recorded": recorded}
    if request.kind == "withdraw_consent":
        # only what was withdrawn erases: a purpose the person cannot decide keeps its data
        result.update(withdrawn=decided, **erase_withdrawn(ctx, store, request, decided))
    return result


def decided_by(kind: str, purpose: Purpose | None) -> bool:
    """Does a request of `kind` write a consent decision for `purpose`? A withdrawal
    takes back consent and revokes a revocable preference; an objection or an opt-out
    records only where consent is asked (the objection itself stops the rest)."""
    if purpose is None:
        return False
    if kind == "withdraw_consent":
        return choosable(purpose)
    return purpose.consent != ConsentMode.none


def erase_withdrawn(
    ctx: Context, store: Store, request: Request, purposes: list[str]
) -> dict[str, Any]:
    """Erase the data kept only for the withdrawn purposes; one transaction per store."""
    assert request.identity_value is not None
    subject = f"{request.identity_kind}:{request.identity_value}"
    try:
        states = current_consent(ctx.project, store, subject)
    except TrothError:  # an identity the consent ledger does not name: nothing allowed
        states = {}
    allowed = {key for key, state in states.items() if state.allowed}
    allowed |= {p.key for p in ctx.policy.purposes if not choosable(p)}
    categories = sorted({c for key in purposes for c in only_under(ctx.policy, key, allowed)})
    rows: dict[str, int] = {}
    kept: dict[str, dict[str, dict[str, int]]] = {}
    if categories:
        with ctx.reading() as conns:
            everywhere = resolve(ctx.datamap, conns, request.identity_kind, request.identity_value)
        erased = erased_keys(everywhere, categories)
        check(ctx, everywhere, erased)
        held, kept = withheld(ctx, store, request, everywhere, erased)
        for name in ctx.datamap.sql_stores():
            with sql_engine(ctx.project, ctx.datamap, name).begin() as conn:
                found = resolve(
                    ctx.datamap, {name: conn}, request.identity_kind, request.identity_value
                )
                found = without_rows(found, held)
                check(ctx, found, erased_keys(found, categories))
                rows.update(erase_categories(conn, ctx, found, categories))
    result = {"categories_erased": categories, "rows": sum(rows.values()), "tables": rows}
    return {**result, "kept": kept_entries(kept)} if kept else result


def erased_keys(found: dict[str, Found], categories: list[str]) -> dict[str, list[Key]]:
    """The subject's rows in tables holding a column of only the withdrawn categories."""
    return {
        key: keys
        for key, keys in owned_keys(found).items()
        if withdrawn_columns(found[key].spec, categories)
    }


def standing_limits(store: Store) -> dict[str, set[str]]:
    """Pseudonym -> the purposes its completed objections stopped, with EVERY_PURPOSE
    for a restriction: what a disclosure must respect. Read whole: such requests are
    few, and a disclosure checks every person it carries against them."""
    c = t.requests.c
    query = select(c.subject, c.kind, c.purpose).where(
        c.kind.in_(("restriction", "objection")), c.status == "completed"
    )
    limits: dict[str, set[str]] = {}
    with store.connect() as conn:
        for subject, kind, purpose in conn.execute(query):
            stopped = EVERY_PURPOSE if kind == "restriction" else purpose
            if stopped is not None:
                limits.setdefault(subject, set()).add(stopped)
    return limits
