"""May the app use a subject's data for a purpose now, and which rule decided.

Every purpose gets an answer, not only consent ones. The first rule that refuses
decides, in this order: a restriction (every purpose but a legal obligation), an
objection to the purpose (or a broader one), an age limit (the policy's minimum age for
everything, its purchase age for the purposes that are purchases), data the policy keeps
for another purpose "only", and then the consent state: a decision, a pending
re-consent, a revoked preference, or the default. The facts about the person
(restriction, objections, age) are gathered by the caller: rights and the app's rows
sit outside this part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from troth.consent.events import ConsentState
from troth.consent.purposes import Decision, Source, mode_of
from troth.policy import ConsentMode, LegalBasis, Policy, Purpose


class Rule(StrEnum):
    """What decided an answer."""

    restriction = "restriction"
    objection = "objection"
    age = "age"
    only_use = "only_use"
    consent = "consent"
    reconsent = "reconsent"
    revoked = "revoked"
    gpc = "gpc"
    default = "default"


@dataclass(frozen=True)
class Limits:
    """What the person's completed requests and age say, whatever their consent."""

    restricted: bool = False
    objected: frozenset[str] = frozenset()
    # Why the person is under the policy's minimum age (for everything) or its purchase
    # age (for `children.purchase_purposes`); None where not, or no birth date is known.
    underage: str | None = None
    under_purchase_age: str | None = None


NO_LIMITS = Limits()


@dataclass(frozen=True)
class Answer:
    purpose: str
    allowed: bool
    rule: Rule
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"allowed": self.allowed, "rule": self.rule.value, "reason": self.reason}


def decide(policy: Policy, purpose: Purpose, state: ConsentState, limits: Limits) -> Answer:
    """The answer for one purpose from the person's limits and consent state."""
    return person_refusal(policy, purpose, limits) or consent_answer(purpose, state)


def person_refusal(policy: Policy, purpose: Purpose, limits: Limits) -> Answer | None:
    """A legal obligation goes on whatever the person's requests or age."""
    key = purpose.key
    if purpose.legal_basis == LegalBasis.legal_obligation:
        return None
    if limits.restricted:
        reason = "processing is restricted (a restriction request)"
        return Answer(key, False, Rule.restriction, reason)
    objected = next((o for o in sorted(limits.objected) if covers(o, key)), None)
    if objected is not None:
        return Answer(key, False, Rule.objection, f"the person objected to {objected}")
    return age_refusal(policy, purpose, limits)


def age_refusal(policy: Policy, purpose: Purpose, limits: Limits) -> Answer | None:
    if limits.underage is not None:
        return Answer(purpose.key, False, Rule.age, limits.underage)
    buying = purpose.key in policy.children.purchase_purposes
    if buying and limits.under_purchase_age is not None:
        return Answer(purpose.key, False, Rule.age, limits.under_purchase_age)
    return None


def only_use_refusal(policy: Policy, purpose: str, categories: Sequence[str]) -> Answer | None:
    """Refused when one of `categories` is data the policy keeps for other purposes only."""
    for category in categories:
        reserved = policy.only_for(category)
        if reserved is not None and purpose not in reserved[1]:
            owner, uses = reserved
            quote = f' ("{owner.only.quote}")' if owner.only and owner.only.quote else ""
            reason = f"{category} is used only for {', '.join(uses)}{quote}"
            return Answer(purpose, False, Rule.only_use, reason)
    return None


def consent_answer(purpose: Purpose, state: ConsentState) -> Answer:
    key, mode = purpose.key, mode_of(purpose)
    if state.decision is None:
        return default_answer(purpose)
    if mode == ConsentMode.none:  # a revocable preference
        if state.allowed:
            return Answer(key, True, Rule.consent, "the person allowed it again")
        return Answer(key, False, Rule.revoked, "the person revoked this choice")
    if state.decision == Decision.granted:
        if not state.allowed:
            return Answer(
                key, False, Rule.reconsent, "consent must be given again (policy changed)"
            )
        return Answer(key, True, Rule.consent, f"consent granted ({state.source})")
    if state.source == Source.gpc.value:
        return Answer(key, False, Rule.gpc, "opted out by Global Privacy Control")
    word = "withdrawn" if state.decision == Decision.withdrawn else "denied"
    return Answer(key, False, Rule.consent, f"consent {word} ({state.source})")


def default_answer(purpose: Purpose) -> Answer:
    """The answer before any decision."""
    key, mode = purpose.key, mode_of(purpose)
    if mode == ConsentMode.opt_in:
        return Answer(key, False, Rule.default, "needs consent (opt-in), none given")
    if mode == ConsentMode.opt_out:
        return Answer(key, True, Rule.default, "allowed until the person opts out")
    if purpose.revocable:
        return Answer(key, True, Rule.default, "allowed until the person revokes it")
    if not purpose.consent_stated:
        return Answer(key, True, Rule.default, "no consent asked (the policy does not say)")
    return Answer(key, True, Rule.default, f"no consent needed (legal basis {purpose.legal_basis})")


def covers(broader: str, key: str) -> bool:
    return key == broader or key.startswith(broader + ".")
