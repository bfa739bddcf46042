"""A draft troth.yaml from what the extractors found, each value beside its evidence.

Only what the text states goes in. Where troth.yaml needs a value that the text does not
give, the draft says `unspecified` (legal basis, source, verification, retention period) or
leaves the key out; `receives: raw` is the one default the model forces, and the evidence
notes it (the text named no restriction on what the recipient gets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from troth.reader import (
    collection,
    commitments,
    notice,
    purposes,
    recipients,
    retention,
    rights,
    transfers,
)
from troth.reader.evidence import Evidence, Found
from troth.reader.text import Document

Doc = dict[str, Any]


@dataclass(frozen=True)
class Section:
    """A block of the text and the OPP-115 practice labels its classifier gave it."""

    start: int
    end: int
    labels: tuple[str, ...]


@dataclass
class Draft:
    """The troth.yaml document, and the evidence for each key path in it."""

    document: Doc = field(default_factory=dict)
    evidence: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)

    def put(self, path: str, found: Found[Any] | tuple[Evidence, ...]) -> None:
        evidence = found.evidence if isinstance(found, Found) else found
        old = self.evidence.get(path, ())
        self.evidence[path] = old + tuple(e for e in evidence if e not in old)


def draft(document: Document) -> Draft:
    out = Draft({"troth": 1})
    about = notice.notice(document)
    add_notice(out, about)
    add_collection(out, collection.collected(document))
    add_purposes(out, purposes.purposes(document))
    add_recipients(out, document)
    add_retention(out, retention.retention(document))
    add_rights(out, rights.rights(document))
    add_children(out, commitments.children(document))
    add_security(out, commitments.security(document))
    add_changes(out, commitments.changes(document))
    add_transfers(out, transfers.transfers(document))
    return out


def add_notice(out: Draft, about: notice.Notice) -> None:
    brand = about.name.value if about.name else "unspecified"
    out.document["policy"] = {
        "name": f"{brand} Privacy Policy" if about.name else "unspecified",
        "version": "unspecified",
    }
    out.document["organization"] = {"name": brand}
    if about.name:  # the policy is named after its publisher: the same evidence
        out.put("policy.name", about.name)
        out.put("organization.name", about.name)
    if about.date:
        out.document["policy"] |= {
            "version": about.date.value.isoformat(),
            "effective_date": about.date.value,
        }
        out.put("policy.version", about.date)
        out.put("policy.effective_date", about.date)
    if about.website:
        out.document["policy"]["url"] = out.document["organization"]["website"] = (
            about.website.value
        )
        out.put("organization.website", about.website)
    if about.legal_name:
        out.document["organization"]["legal_name"] = about.legal_name.value
        out.put("organization.legal_name", about.legal_name)
    add_contacts(out, about)


def add_contacts(out: Draft, about: notice.Notice) -> None:
    contacts: Doc = {}
    if about.emails:
        contacts["privacy_email"] = about.emails[0].value
        out.put("contacts.privacy_email", about.emails[0])
    if about.phones:
        contacts["phone"] = about.phones[0].value
        out.put("contacts.phone", about.phones[0])
    if about.grievance_officer:
        contacts["grievance_officer"] = {"title": about.grievance_officer.value}
        out.put("contacts.grievance_officer", about.grievance_officer)
    out.document["contacts"] = contacts


def add_collection(out: Draft, found: list[collection.Collected]) -> None:
    entries = []
    for i, item in enumerate(found):
        entries.append({"categories": [c.value for c in item.categories], "source": item.source})
        for j, category in enumerate(item.categories):
            out.put(f"collection[{i}].categories[{j}]", category)
    out.document["collection"] = entries


def add_purposes(out: Draft, found: list[purposes.Used]) -> None:
    entries = []
    for i, used in enumerate(found):
        entry: Doc = {
            "key": used.key,
            "name": used.name,
            "categories": [c.value for c in used.categories],
        }
        entry["legal_basis"] = "consent" if used.consent == "opt_in" else used.basis
        if used.consent != "none":
            entry["consent"] = used.consent
        entries.append(entry)
        out.put(f"purposes[{i}]", used.evidence)
    out.document["purposes"] = entries


def add_recipients(out: Draft, document: Document) -> None:
    entries = []
    for i, receiver in enumerate(recipients.recipients(document)):
        entries.append(
            {
                "key": receiver.key,
                "name": receiver.name,
                "type": receiver.type,
                "receives": receiver.receives,
                "categories": [c.value for c in receiver.categories],
            }
        )
        out.put(f"recipients[{i}]", receiver.evidence)
    out.document["recipients"] = entries
    sales = recipients.sale_statements(document)
    if sales and len({s.value for s in sales}) == 1:  # both said: a contradiction, left unstated
        out.document["sells_or_shares"] = sales[0].value
        for sale in sales:
            out.put("sells_or_shares", sale)


def add_retention(out: Draft, found: list[retention.Kept]) -> None:
    entries = []
    for i, kept in enumerate(found):
        entry: Doc = {
            "key": kept.key,
            "categories": ["user"],
            "trigger": kept.trigger,
            "action": kept.action,
        }
        entry |= (
            {"period_days": kept.period_days}
            if kept.period_days is not None
            else {"period": kept.period}
        )
        if kept.exceptions:
            entry["exceptions"] = kept.exceptions
        if kept.notify_first:
            entry["notify_first"] = True
        entries.append(entry)
        out.put(f"retention[{i}]", kept.evidence)
    out.document["retention"] = entries


def add_rights(out: Draft, found: list[rights.Offered]) -> None:
    offered = []
    for i, right in enumerate(found):
        offered.append(
            {"right": right.right, "channels": right.channels, "verification": "unspecified"}
        )
        out.put(f"rights.offered[{i}]", right.evidence)
    out.document["rights"] = {"deadlines": {}, "offered": offered}


def add_children(out: Draft, rules: commitments.ChildRules) -> None:
    children: Doc = {"on_underage": "delete" if rules.deletes_underage else "unspecified"}
    for key, found in (
        ("minimum_age", rules.minimum_age),
        ("purchase_minimum_age", rules.purchase_minimum_age),
    ):
        if found is not None:
            children[key] = found.value
            out.put(f"children.{key}", found)
    if rules.deletes_underage:
        out.put("children.on_underage", rules.deletes_underage)
    out.document["children"] = children


def add_security(out: Draft, claims: list[commitments.Claim]) -> None:
    out.document["security"] = {
        "controls": [
            {"kind": c.kind, **({"categories": c.categories} if c.categories else {}),
             "text": c.found.value}
            for c in claims
        ]
    }  # fmt: skip
    for i, claim in enumerate(claims):
        out.put(f"security.controls[{i}]", claim.found)


def add_changes(out: Draft, rules: commitments.ChangeRules) -> None:
    changes: Doc = {"notify": [n.value for n in rules.notify], "new_users_bound_immediately": None}
    for i, channel in enumerate(rules.notify):
        out.put(f"changes.notify[{i}]", channel)
    changes["existing_users_bound_after_days"] = (
        rules.bound_after_days.value if rules.bound_after_days else None
    )
    if rules.bound_after_days:
        out.put("changes.existing_users_bound_after_days", rules.bound_after_days)
    if rules.new_users_immediately:
        changes["new_users_bound_immediately"] = True
        out.put("changes.new_users_bound_immediately", rules.new_users_immediately)
    out.document["changes"] = changes


def add_transfers(out: Draft, found: transfers.Transfer | None) -> None:
    """Absent when the text does not say; `occurs: true` with what it does say otherwise."""
    if found is None:
        return
    entry: Doc = {"occurs": True, "destinations": found.destinations}
    entry["safeguard"] = found.safeguard or "unspecified"
    out.document["international_transfers"] = entry
    out.put("international_transfers", found.evidence)
