"""Consent for many people at once: who, among them, allows a set of purposes now.

A person may be known by several pseudonyms (their account's key, e-mail and phone); the
newest decision recorded under any of them is their decision, and a pending re-consent
under any of them counts. Read in one statement per batch of pseudonyms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import select

from troth.consent import tables as t
from troth.consent.events import aware
from troth.consent.purposes import Decision, Source, choosable, mode_of
from troth.policy import ConsentMode, Policy
from troth.store import Store

Person = TypeVar("Person")
Latest = tuple[dt.datetime, str, str]  # recorded_at, decision, source


def refused_among(
    store: Store, policy: Policy, people: Mapping[Person, Sequence[str]], purposes: Sequence[str]
) -> dict[Person, str]:
    """Person -> why their consent state does not allow every purpose of `purposes` now
    ("no consent", "opted out", "global privacy control", "consent withdrawn", "new
    consent pending", "preference revoked"); people whose state allows them all are
    left out."""
    gated = gated_purposes(policy, purposes)
    if not gated or not people:
        return {}
    refs = sorted({ref for refs in people.values() for ref in refs})
    latest, pending = read_states(store, refs, sorted(gated))
    refused: dict[Person, str] = {}
    for person, own in people.items():
        for purpose, mode in gated.items():
            reason = refusal(mode, newest(latest, own, purpose), pending, own, purpose)
            if reason is not None:
                refused[person] = reason
                break
    return refused


def gated_purposes(policy: Policy, purposes: Sequence[str]) -> dict[str, ConsentMode]:
    """The purposes among `purposes` that the person decides, and how (opt-in, opt-out;
    none for a revocable preference); a gate over none of them refuses nobody."""
    return {p.key: mode_of(p) for p in policy.purposes if p.key in purposes and choosable(p)}


def read_states(
    store: Store, refs: list[str], purposes: list[str]
) -> tuple[dict[tuple[str, str], Latest], set[tuple[str, str]]]:
    c, r = t.current.c, t.reconsent.c
    latest: dict[tuple[str, str], Latest] = {}
    pending: set[tuple[str, str]] = set()
    with store.connect() as conn:
        for part in chunks(refs):
            query = select(c.subject_ref, c.purpose, c.recorded_at, c.decision, c.source).where(
                c.subject_ref.in_(part), c.purpose.in_(purposes)
            )
            for ref, purpose, at, decision, source in conn.execute(query):
                latest[(ref, purpose)] = (aware(at), decision, source)
            query_pending = select(r.subject_ref, r.purpose).where(
                r.subject_ref.in_(part), r.purpose.in_(purposes)
            )
            pending.update((ref, purpose) for ref, purpose in conn.execute(query_pending))
    return latest, pending


def newest(
    latest: dict[tuple[str, str], Latest], refs: Sequence[str], purpose: str
) -> Latest | None:
    found = [state for ref in refs if (state := latest.get((ref, purpose))) is not None]
    return max(found, default=None)


def refusal(
    mode: ConsentMode,
    state: Latest | None,
    pending: set[tuple[str, str]],
    refs: Sequence[str],
    purpose: str,
) -> str | None:
    if state is None:
        return "no consent" if mode == ConsentMode.opt_in else None
    _, decision, source = state
    if decision == Decision.granted:
        waiting = mode == ConsentMode.opt_in and any((ref, purpose) in pending for ref in refs)
        return "new consent pending" if waiting else None
    if source == Source.gpc:
        return "global privacy control"
    if mode == ConsentMode.none:  # a revocable preference
        return "preference revoked"
    return "consent withdrawn" if decision == Decision.withdrawn else "opted out"


def chunks(values: list[Any], size: int = 5000) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
