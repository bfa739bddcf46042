"""The recipients register: who may receive what, in which form, for which purposes.

Everything here is read from troth.yaml; a recipient or a form the policy does not allow
is refused with the words that forbid it.
"""

from __future__ import annotations

from troth.errors import NotFound, Refused
from troth.policy import Policy
from troth.policy.model import Form, Recipient, RecipientType

# Least identifying first: a recipient may receive its declared form or a safer one.
RANK = {
    Form.aggregate: 0,
    Form.anonymized: 1,
    Form.pseudonym: 2,
    Form.hashed: 3,
    Form.raw: 4,
}
# Forms that carry personal data: each person they carry is on the disclosure record.
PERSONAL = frozenset({Form.pseudonym, Form.hashed, Form.raw})


def recipient_of(policy: Policy, key: str) -> Recipient:
    found = policy.recipient(key)
    if found is None:
        known = ", ".join(r.key for r in policy.recipients) or "none"
        closed = " (the policy lists its recipients as closed)" if policy.recipients_closed else ""
        raise NotFound(f"troth.yaml names no recipient {key!r}{closed}; known: {known}")
    return found


def where(policy: Policy, recipient: Recipient) -> str:
    return f"troth.yaml recipients[{policy.recipients.index(recipient)}]"


def clause(recipient: Recipient) -> str:
    """The policy's words about the recipient, for a refusal."""
    words = recipient.quote or recipient.note or recipient.condition
    return f'; the policy: "{words}"' if words else ""


def allowed_forms(recipient: Recipient) -> list[Form]:
    return [f for f in RANK if RANK[f] <= RANK[recipient.receives]]


def check_form(policy: Policy, recipient: Recipient, form: Form) -> None:
    if form not in allowed_forms(recipient):
        allowed = ", ".join(f.value for f in allowed_forms(recipient))
        raise Refused(
            f"recipient {recipient.key} may receive only {allowed} data, not {form.value} "
            f"({where(policy, recipient)}.receives: {recipient.receives.value}){clause(recipient)}"
        )


def check_purpose(policy: Policy, recipient: Recipient, purpose: str | None) -> list[str]:
    """The purposes the export is for: `purpose` when given (one of the recipient's and
    none of its `never_for` uses), else all the recipient's purposes."""
    if purpose is None:
        return list(recipient.purposes)
    for use in recipient.never_for:
        if purpose == use or purpose.startswith(use + "."):
            raise Refused(
                f"recipient {recipient.key} may never use data for {use} "
                f"({where(policy, recipient)}.never_for){clause(recipient)}"
            )
    if purpose not in recipient.purposes:
        allowed = ", ".join(recipient.purposes) or "none stated"
        raise Refused(
            f"recipient {recipient.key} receives data for {allowed}, not {purpose} "
            f"({where(policy, recipient)}.purposes)"
        )
    return [purpose]


def shared_categories(policy: Policy, recipient: Recipient, purposes: list[str]) -> list[str]:
    """The categories the recipient may receive: its own, else those of its purposes."""
    if recipient.categories:
        return list(recipient.categories)
    found = [c for key in purposes if (p := policy.purpose(key)) for c in p.categories]
    if not found:
        raise Refused(
            f"{where(policy, recipient)} names no categories, nor do its purposes: "
            "troth.yaml must say what the recipient receives before anything is exported"
        )
    return list(dict.fromkeys(found))


def gate_purposes(recipient: Recipient, purposes: list[str]) -> list[str]:
    """The purposes whose consent state decides who is in."""
    gate = [recipient.consent] if recipient.consent else []
    return list(dict.fromkeys([*gate, *purposes]))


def legal_basis(policy: Policy, recipient: Recipient, purposes: list[str]) -> str:
    if recipient.type == RecipientType.authority:
        return "legal_obligation"
    if recipient.consent:
        return "consent"
    bases = sorted({p.legal_basis.value for key in purposes if (p := policy.purpose(key))})
    return "+".join(bases) or "unspecified"
