"""The checkable facts of a troth.yaml, to measure how much of a hand-written policy a draft
recovers. A fact is one of: a collected data category, a purpose key, a recipient type, a
non-raw form a recipient receives, a retention period with its trigger, an age limit, a
contact (e-mail, phone, grievance officer, DPO), a right, the sale statement
and the change-notice rules.

A category declared by the policy itself (not in fideslang) counts as its nearest fideslang
ancestor below `user`; one whose only ancestor is `user` names nothing a reader could map, and
is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from troth.policy import taxonomy
from troth.policy.model import Policy


@dataclass(frozen=True)
class Recall:
    expected: frozenset[str]
    found: frozenset[str]

    @property
    def missing(self) -> frozenset[str]:
        return self.expected - self.found

    @property
    def share(self) -> float:
        return len(self.expected & self.found) / len(self.expected) if self.expected else 1.0


def recall(expected: Policy, draft: Policy) -> Recall:
    return Recall(frozenset(facts(expected)), frozenset(facts(draft)))


def facts(policy: Policy) -> set[str]:
    return (
        {f"category:{c}" for c in collected(policy)}
        | {f"purpose:{p.key}" for p in policy.purposes}
        | {f"recipient:{r.type.value}" for r in policy.recipients}
        | {f"receives:{r.receives.value}" for r in policy.recipients if r.receives.value != "raw"}
        | {f"retention:{retention_period(r)}:{r.trigger.value}" for r in policy.retention}
        | {f"right:{r.right.value}" for r in policy.rights.offered}
        | age_facts(policy)
        | contact_facts(policy)
        | change_facts(policy)
    )


def collected(policy: Policy) -> set[str]:
    known = taxonomy.fideslang_categories()
    keys = {key for entry in policy.collection for key in entry.categories}
    return {mapped for key in keys if (mapped := fideslang_ancestor(key, known)) is not None}


def fideslang_ancestor(key: str, known: dict[str, taxonomy.Term]) -> str | None:
    if key in known:
        return key
    parts = key.split(".")
    while len(parts) > 2:
        parts.pop()
        if ".".join(parts) in known:
            return ".".join(parts)
    return None


def retention_period(rule: object) -> str:
    days = getattr(rule, "period_days", None)
    period = getattr(rule, "period", None)
    return f"{days}d" if days is not None else str(getattr(period, "value", period))


def age_facts(policy: Policy) -> set[str]:
    out = set()
    if policy.children.minimum_age is not None:
        out.add(f"age:{policy.children.minimum_age}")
    if policy.children.purchase_minimum_age is not None:
        out.add(f"purchase_age:{policy.children.purchase_minimum_age}")
    return out


def contact_facts(policy: Policy) -> set[str]:
    contacts = policy.contacts
    pairs = (
        ("email", contacts.privacy_email),
        ("phone", contacts.phone),
        ("grievance_officer", contacts.grievance_officer),
        ("dpo", contacts.dpo),
    )
    out = {f"contact:{name}:{str(value).lower()}" for name, value in pairs[:2] if value}
    return out | {f"contact:{name}" for name, value in pairs[2:] if value}


def change_facts(policy: Policy) -> set[str]:
    out = {f"notify:{c.value}" for c in policy.changes.notify}
    if policy.changes.existing_users_bound_after_days is not None:
        out.add(f"bound_after:{policy.changes.existing_users_bound_after_days}")
    if policy.sells_or_shares is not None:
        out.add(f"sells:{policy.sells_or_shares}")
    return out
