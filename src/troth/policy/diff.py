"""What changed between two versions of a policy, in words and as data.

`material` marks a change that widens what is done with personal data or weakens a
promise: subjects must be notified. `needs_reconsent` marks a change to an opt-in
consent purpose (new, widened, newly consent-based, more recipients): consent given
under the old version does not cover it; `purposes` names the purposes concerned.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from troth.policy import words
from troth.policy.model import ConsentMode, LegalBasis, Policy, Purpose, Recipient, RetentionRule
from troth.policy.taxonomy import covered_by_any


class ChangeKind(StrEnum):
    version = "policy.version"
    organization = "organization"
    contacts = "contacts"
    collection_added = "collection.added"
    collection_removed = "collection.removed"
    purpose_added = "purpose.added"
    purpose_removed = "purpose.removed"
    purpose_widened = "purpose.widened"
    purpose_narrowed = "purpose.narrowed"
    legal_basis = "purpose.legal_basis"
    consent_mode = "purpose.consent"
    purpose_sale = "purpose.sale_or_share"
    purpose_revocable = "purpose.revocable"
    purpose_only = "purpose.only"
    recipient_added = "recipient.added"
    recipient_removed = "recipient.removed"
    recipient_widened = "recipient.widened"
    recipient_narrowed = "recipient.narrowed"
    recipient_form = "recipient.receives"
    recipient_sale = "recipient.sale_or_share"
    retention_added = "retention.added"
    retention_removed = "retention.removed"
    retention_longer = "retention.longer"
    retention_shorter = "retention.shorter"
    retention_changed = "retention.changed"
    right_added = "right.added"
    right_removed = "right.removed"
    deadline_longer = "right.deadline_longer"
    deadline_shorter = "right.deadline_shorter"
    sells_or_shares = "sells_or_shares"
    transfers = "international_transfers"
    automated_decisions = "automated_decisions"
    children = "children"
    security_added = "security.added"
    security_removed = "security.removed"
    change_notice = "changes"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    key: str
    message: str
    material: bool
    needs_reconsent: bool = False
    purposes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.message


def diff(old: Policy, new: Policy) -> list[Change]:
    """Every difference that matters to a data subject, in a fixed order."""
    return [
        *header(old, new),
        *collection(old, new),
        *purposes(old, new),
        *recipients(old, new),
        *retention(old, new),
        *rights(old, new),
        *disclosures(old, new),
        *children(old, new),
        *security(old, new),
        *change_notice(old, new),
    ]


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def pairs(old: Sequence[K], new: Sequence[K]) -> tuple[list[K], list[tuple[K, K]], list[K]]:
    """(added, kept as (old, new), removed), matched by key, in file order."""
    before, after = {x.key: x for x in old}, {x.key: x for x in new}
    added = [x for x in new if x.key not in before]
    kept = [(before[x.key], x) for x in new if x.key in before]
    removed = [x for x in old if x.key not in after]
    return added, kept, removed


def gained(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Categories in `new` not covered by any in `old` ('user.contact' covers its children)."""
    return [c for c in new if not covered_by_any(c, old)]


def header(old: Policy, new: Policy) -> Iterator[Change]:
    if old.policy.version != new.policy.version:
        yield Change(
            ChangeKind.version,
            "policy.version",
            f"changes version from {old.policy.version} to {new.policy.version}",
            material=False,
        )
    if old.organization.name != new.organization.name:
        yield Change(
            ChangeKind.organization,
            "organization.name",
            f"changes the organization from {old.organization.name} to {new.organization.name}",
            material=True,
        )
    if old.contacts != new.contacts:
        yield Change(ChangeKind.contacts, "contacts", "changes contact details", material=False)


def collected(policy: Policy) -> list[tuple[str, str]]:
    seen = {(c, entry.source.value): None for entry in policy.collection for c in entry.categories}
    return list(seen)


def collection(old: Policy, new: Policy) -> Iterator[Change]:
    before, after = collected(old), collected(new)
    for category, source in after:
        if not covered_by_any(category, [c for c, s in before if s == source]):
            yield Change(
                ChangeKind.collection_added,
                category,
                f"starts collecting {category} ({words.label(source)})",
                material=True,
            )
    for category, source in before:
        if not covered_by_any(category, [c for c, s in after if s == source]):
            yield Change(
                ChangeKind.collection_removed,
                category,
                f"stops collecting {category} ({words.label(source)})",
                material=False,
            )


def opt_in(purpose: Purpose | None) -> bool:
    return purpose is not None and purpose.consent == ConsentMode.opt_in


def purposes(old: Policy, new: Policy) -> Iterator[Change]:
    added, kept, removed = pairs(old.purposes, new.purposes)
    for p in added:
        yield Change(
            ChangeKind.purpose_added,
            p.key,
            f"adds purpose {p.key} ({p.name}): legal basis {words.label(p.legal_basis)}, "
            f"consent {words.label(p.consent)}",
            material=True,
            needs_reconsent=opt_in(p),
            purposes=(p.key,),
        )
    for a, b in kept:
        yield from purpose_changes(a, b)
    for p in removed:
        yield Change(ChangeKind.purpose_removed, p.key, f"removes purpose {p.key}", material=False)


def purpose_changes(a: Purpose, b: Purpose) -> Iterator[Change]:
    key, reconsent = b.key, opt_in(b)
    if wider := gained(a.categories, b.categories):
        yield Change(
            ChangeKind.purpose_widened,
            key,
            f"widens purpose {key} to categories {words.join(wider)}",
            material=True,
            needs_reconsent=reconsent,
            purposes=(key,),
        )
    if narrower := gained(b.categories, a.categories):
        yield Change(
            ChangeKind.purpose_narrowed,
            key,
            f"narrows purpose {key}: no longer uses {words.join(narrower)}",
            material=False,
        )
    if a.legal_basis != b.legal_basis:
        yield Change(
            ChangeKind.legal_basis,
            key,
            f"changes legal basis of {key} from {words.label(a.legal_basis)} "
            f"to {words.label(b.legal_basis)}",
            material=True,
            needs_reconsent=reconsent and a.legal_basis != LegalBasis.consent,
            purposes=(key,),
        )
    if a.consent != b.consent:
        yield Change(
            ChangeKind.consent_mode,
            key,
            f"changes consent for {key} from {words.label(a.consent)} to {words.label(b.consent)}",
            material=not reconsent,
            needs_reconsent=reconsent,
            purposes=(key,),
        )
    if a.sale_or_share != b.sale_or_share:
        verb = "now sells or shares" if b.sale_or_share else "no longer sells or shares"
        yield Change(
            ChangeKind.purpose_sale,
            key,
            f"purpose {key} {verb} personal information",
            material=b.sale_or_share,
            purposes=(key,),
        )
    yield from use_limits(a, b)


def use_limits(a: Purpose, b: Purpose) -> Iterator[Change]:
    """`revocable` and `only`: losing either weakens a promise (people could turn the use
    off; some data served this use alone)."""
    key = b.key
    if a.revocable != b.revocable:
        verb = "may now be turned off by people" if b.revocable else "can no longer be turned off"
        yield Change(
            ChangeKind.purpose_revocable, key, f"purpose {key} {verb}", material=a.revocable
        )
    before = set(a.only.categories) if a.only else set()
    after = set(b.only.categories) if b.only else set()
    also = set(b.only.also if b.only else []) - set(a.only.also if a.only else [])
    for items, message, material in (
        (before - after, "purpose {key} no longer keeps {items} for itself alone", True),
        (also if after else set(), "the data purpose {key} keeps for itself may now serve "
         "{items} too", True),
        (after - before, "purpose {key} now keeps {items} for itself alone", False),
    ):  # fmt: skip
        if items:
            text = message.format(key=key, items=words.join(sorted(items)))
            yield Change(ChangeKind.purpose_only, key, text, material=material)


def recipients(old: Policy, new: Policy) -> Iterator[Change]:
    added, kept, removed = pairs(old.recipients, new.recipients)
    for r in added:
        served = consent_purposes(new, r.purposes)
        yield Change(
            ChangeKind.recipient_added,
            r.key,
            f"adds recipient {r.key} ({r.name}, {words.label(r.type)}) "
            f"receiving {words.FORM[r.receives]}",
            material=True,
            needs_reconsent=bool(served),
            purposes=served,
        )
    for a, b in kept:
        yield from recipient_changes(new, a, b)
    for r in removed:
        yield Change(
            ChangeKind.recipient_removed, r.key, f"removes recipient {r.key}", material=False
        )


def consent_purposes(policy: Policy, keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(k for k in keys if opt_in(policy.purpose(k)))


def recipient_changes(new: Policy, a: Recipient, b: Recipient) -> Iterator[Change]:
    key = b.key
    wider = gained(a.categories, b.categories) + [p for p in b.purposes if p not in a.purposes]
    if wider:
        served = consent_purposes(new, b.purposes)
        yield Change(
            ChangeKind.recipient_widened,
            key,
            f"widens recipient {key} to {words.join(wider)}",
            material=True,
            needs_reconsent=bool(served),
            purposes=served,
        )
    narrower = gained(b.categories, a.categories) + [p for p in a.purposes if p not in b.purposes]
    if narrower:
        yield Change(
            ChangeKind.recipient_narrowed,
            key,
            f"narrows recipient {key}: no longer {words.join(narrower)}",
            material=False,
        )
    if a.receives != b.receives:
        yield Change(
            ChangeKind.recipient_form,
            key,
            f"changes what recipient {key} receives from {words.label(a.receives)} "
            f"to {words.label(b.receives)}",
            material=FORM_RANK[b.receives] > FORM_RANK[a.receives],
        )
    if a.sale_or_share != b.sale_or_share:
        verb = "now counts" if b.sale_or_share else "no longer counts"
        yield Change(
            ChangeKind.recipient_sale,
            key,
            f"disclosure to recipient {key} {verb} as a sale or share",
            material=b.sale_or_share,
        )


FORM_RANK = {"anonymized": 0, "aggregate": 0, "hashed": 1, "pseudonym": 1, "raw": 2}


def retention(old: Policy, new: Policy) -> Iterator[Change]:
    added, kept, removed = pairs(old.retention, new.retention)
    for r in added:
        yield Change(
            ChangeKind.retention_added,
            r.key,
            f"adds retention rule {r.key}: {words.join(r.categories)} "
            f"{words.ACTION[r.action]} {words.period(r)}",
            material=False,
        )
    for a, b in kept:
        yield from retention_changes(a, b)
    for r in removed:
        yield Change(
            ChangeKind.retention_removed,
            r.key,
            f"removes retention rule {r.key} ({words.join(r.categories)}, {words.period(r)})",
            material=True,
        )


def retention_changes(a: RetentionRule, b: RetentionRule) -> Iterator[Change]:
    of = words.join(b.categories)
    if a.categories != b.categories:
        yield Change(
            ChangeKind.retention_changed,
            b.key,
            f"changes the data retention rule {b.key} covers from {words.join(a.categories)} "
            f"to {of}",
            material=bool(gained(b.categories, a.categories)),
        )
    same_terms = (a.trigger, a.action) == (b.trigger, b.action)
    if same_terms and a.period_days is not None and b.period_days is not None:
        if a.period_days != b.period_days:
            longer = b.period_days > a.period_days
            yield Change(
                ChangeKind.retention_longer if longer else ChangeKind.retention_shorter,
                b.key,
                f"{'lengthens' if longer else 'shortens'} retention of {of} "
                f"from {a.period_days} to {b.period_days} days",
                material=longer,
            )
    elif (words.period(a), a.action) != (words.period(b), b.action):
        yield Change(
            ChangeKind.retention_changed,
            b.key,
            f"changes retention of {of} from {words.ACTION[a.action]} {words.period(a)} "
            f"to {words.ACTION[b.action]} {words.period(b)}",
            material=True,
        )
    if (a.backups_days or 0) < (b.backups_days or 0) or (
        a.backups_days is not None and b.backups_days is None
    ):
        yield Change(
            ChangeKind.retention_longer,
            b.key,
            f"keeps backups of {of} longer ({a.backups_days} to {b.backups_days} days)",
            material=True,
        )


def rights(old: Policy, new: Policy) -> Iterator[Change]:
    before = {r.right: r for r in old.rights.offered}
    after = {r.right: r for r in new.rights.offered}
    for kind, right in after.items():
        if kind not in before:
            yield Change(ChangeKind.right_added, kind, f"adds right {kind}", material=False)
        else:
            yield from deadline(
                kind, f"the deadline for {kind}", before[kind].deadline_days, right.deadline_days
            )
    for kind in before:
        if kind not in after:
            yield Change(ChangeKind.right_removed, kind, f"removes right {kind}", material=True)
    for law, days in new.rights.deadlines.items():
        yield from deadline(
            law, f"the {law} response deadline", old.rights.deadlines.get(law), days
        )
    for law in old.rights.deadlines:
        if law not in new.rights.deadlines:
            yield Change(
                ChangeKind.deadline_longer,
                law,
                f"no longer states a {law} response deadline",
                material=True,
            )


def deadline(key: str, what: str, old: int | None, new: int | None) -> Iterator[Change]:
    if old is None or new is None or old == new:
        return
    longer = new > old
    yield Change(
        ChangeKind.deadline_longer if longer else ChangeKind.deadline_shorter,
        key,
        f"{'lengthens' if longer else 'shortens'} {what} from {old} to {new} days",
        material=longer,
    )


def disclosures(old: Policy, new: Policy) -> Iterator[Change]:
    if old.sells_or_shares != new.sells_or_shares:
        yield Change(
            ChangeKind.sells_or_shares,
            "sells_or_shares",
            f"changes whether personal information is sold or shared from "
            f"{stated(old.sells_or_shares)} to {stated(new.sells_or_shares)}",
            material=new.sells_or_shares is not False,
        )
    for field, verb, said in (
        ("sells", "sold", Policy.says_sells),
        ("shares", "shared", Policy.says_shares),
    ):
        before, after = said(old), said(new)
        if before != after and old.sells_or_shares == new.sells_or_shares:
            yield Change(
                ChangeKind.sells_or_shares,
                field,
                f"changes whether personal information is {verb} from "
                f"{stated(before)} to {stated(after)}",
                material=after is not False,
            )
    a, b = old.international_transfers, new.international_transfers
    if a != b:
        wider = (
            b is not None
            and b.occurs
            and (a is None or not a.occurs or bool(set(b.destinations) - set(a.destinations)))
        )
        yield Change(
            ChangeKind.transfers,
            "international_transfers",
            "changes international transfers"
            + (f" (to {words.join(b.destinations) or 'unnamed countries'})" if wider and b else ""),
            material=wider,
        )
    x, y = old.automated_decisions, new.automated_decisions
    if x != y:
        starts = y is not None and y.used and (x is None or not x.used)
        yield Change(
            ChangeKind.automated_decisions,
            "automated_decisions",
            "starts automated decision-making" if starts else "changes automated decision-making",
            material=starts or (y is not None and y.used),
        )


def stated(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unstated"}[value]


def number(value: int | None) -> str:
    return "unstated" if value is None else str(value)


def children(old: Policy, new: Policy) -> Iterator[Change]:
    for field, what in (("minimum_age", "minimum age"), ("purchase_minimum_age", "purchase age")):
        a, b = getattr(old.children, field), getattr(new.children, field)
        if a != b:
            lowered = b is None or (a is not None and b < a)
            yield Change(
                ChangeKind.children,
                f"children.{field}",
                f"{'lowers' if lowered else 'raises'} the {what} from {number(a)} to {number(b)}",
                material=lowered,
            )
    before, after = set(old.children.purchase_purposes), set(new.children.purchase_purposes)
    for items, message, material in (
        (before - after, "the purchase age no longer limits {items}", True),
        (after - before, "the purchase age now limits {items} too", False),
    ):
        if items:
            text = message.format(items=words.join(sorted(items)))
            yield Change(ChangeKind.children, "children.purchase_purposes", text, material=material)


def security(old: Policy, new: Policy) -> Iterator[Change]:
    before, after = old.security.controls, new.security.controls
    for control in after:
        if control not in before:
            text = words.control(control)
            yield Change(ChangeKind.security_added, text, f"adds security control: {text}", False)
    for control in before:
        if control not in after:
            text = words.control(control)
            yield Change(
                ChangeKind.security_removed, text, f"removes security control: {text}", True
            )


def change_notice(old: Policy, new: Policy) -> Iterator[Change]:
    a, b = old.changes.existing_users_bound_after_days, new.changes.existing_users_bound_after_days
    if a != b:
        yield Change(
            ChangeKind.change_notice,
            "changes.existing_users_bound_after_days",
            f"changes when existing users are bound by a new version from {number(a)} "
            f"to {number(b)} days after posting",
            material=a is not None and (b is None or b < a),
        )
    dropped = [c.value for c in old.changes.notify if c not in new.changes.notify]
    if dropped:
        yield Change(
            ChangeKind.change_notice,
            "changes.notify",
            f"stops announcing changes by {words.join(dropped)}",
            material=True,
        )
