"""What a privacy notice must disclose under GDPR Art. 13/14 and the CCPA, and this one does not.

Each rule reads only the declared policy, so findings are deterministic; they come in
the order of RULES, and within a rule in file order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from troth.policy import words
from troth.policy.model import (
    Channel,
    ConsentMode,
    Form,
    LegalBasis,
    Policy,
    RightKind,
    Safeguard,
    Source,
    VaguePeriod,
)
from troth.policy.taxonomy import covered_by_any, covers

LAWS = ("gdpr", "ccpa")


@dataclass(frozen=True)
class Finding:
    code: str
    law: str
    message: str
    path: str = ""

    def __str__(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        return f"{self.code} ({self.law}){where}: {self.message}"


Rule = Callable[[Policy], Iterator[Finding]]


def lint(policy: Policy, laws: tuple[str, ...] = LAWS) -> list[Finding]:
    """Every missing disclosure for the given laws ('gdpr', 'ccpa'), in a fixed order."""
    unknown = set(laws) - set(LAWS)
    if unknown:
        raise ValueError(f"unknown law(s): {', '.join(sorted(unknown))}")
    return [f for law in laws for rule in RULES[law] for f in rule(policy)]


def gdpr(code: str, article: str, message: str, path: str = "") -> Finding:
    return Finding(f"GDPR-{code}", f"GDPR Art. {article}", message, path)


def ccpa(code: str, section: str, message: str, path: str = "") -> Finding:
    return Finding(f"CCPA-{code}", f"Cal. Civ. Code § 1798.{section}", message, path)


def has_contact(policy: Policy) -> bool:
    c = policy.contacts
    people = [p for p in (c.grievance_officer, c.dpo) if p]
    return any(
        (c.privacy_email, c.phone, c.postal_address, c.contact_form, policy.organization.address)
    ) or any(p.email or p.phone or p.address for p in people)


def controller_contact(policy: Policy) -> Iterator[Finding]:
    if not has_contact(policy):
        yield gdpr(
            "13-1a",
            "13(1)(a)",
            "no contact details for the controller (e-mail, phone, postal address or form)",
            "contacts",
        )


def dpo_contact(policy: Policy) -> Iterator[Finding]:
    dpo = policy.contacts.dpo
    if dpo and not (dpo.email or dpo.phone or dpo.address):
        yield gdpr(
            "13-1b",
            "13(1)(b)",
            "a data protection officer is named without contact details",
            "contacts.dpo",
        )


def purposes_and_bases(policy: Policy) -> Iterator[Finding]:
    if not policy.purposes:
        yield gdpr("13-1c", "13(1)(c)", "no purposes of processing", "purposes")
    for i, p in enumerate(policy.purposes):
        if p.legal_basis == LegalBasis.unspecified:
            yield gdpr(
                "13-1c",
                "13(1)(c)",
                f"purpose {p.key} has no stated legal basis",
                f"purposes[{i}].legal_basis",
            )


def legitimate_interests(policy: Policy) -> Iterator[Finding]:
    for i, p in enumerate(policy.purposes):
        if p.legal_basis == LegalBasis.legitimate_interest and not p.legitimate_interests:
            yield gdpr(
                "13-1d",
                "13(1)(d)",
                f"purpose {p.key} relies on legitimate interests without naming them",
                f"purposes[{i}].legitimate_interests",
            )


def recipients(policy: Policy) -> Iterator[Finding]:
    if not policy.recipients:
        yield gdpr(
            "13-1e", "13(1)(e)", "names no recipients or categories of recipients", "recipients"
        )
    for i, r in enumerate(policy.recipients):
        if r.receives == Form.hashed:
            yield gdpr(
                "4-5",
                "4(5)",
                f"recipient {r.key} receives hashed identifiers: a dictionary of e-mail "
                "addresses or phone numbers reverses a plain hash, so this is personal data "
                "(pseudonymised at best), not anonymous",
                f"recipients[{i}].receives",
            )


def transfers(policy: Policy) -> Iterator[Finding]:
    t = policy.international_transfers
    if t is None:
        yield gdpr(
            "13-1f",
            "13(1)(f)",
            "does not say whether data is transferred to other countries",
            "international_transfers",
        )
    elif t.occurs and t.safeguard in (None, Safeguard.unspecified):
        yield gdpr(
            "13-1f",
            "13(1)(f)",
            "transfers data to other countries without naming the safeguard",
            "international_transfers.safeguard",
        )


def retention(policy: Policy) -> Iterator[Finding]:
    if not policy.retention:
        yield gdpr("13-2a", "13(2)(a)", "states no retention period or criteria", "retention")
    vague = (VaguePeriod.unspecified, VaguePeriod.as_long_as_necessary)
    for i, rule in enumerate(policy.retention):
        if rule.period_days is None and rule.period in vague:
            yield gdpr(
                "13-2a",
                "13(2)(a)",
                f"retention rule {rule.key} keeps data {words.VAGUE[rule.period]}: "
                "neither a period nor the criteria for it",
                f"retention[{i}].period",
            )
    kept = [c for rule in policy.retention for c in rule.categories]
    uncovered = [c for c in collected(policy) if not covered_by_any(c, kept)]
    if policy.retention and uncovered:
        yield gdpr(
            "13-2a",
            "13(2)(a)",
            f"no retention rule covers {words.join(uncovered)}",
            "retention",
        )


GDPR_RIGHTS = (
    (RightKind.access, "15"),
    (RightKind.rectification, "16"),
    (RightKind.erasure, "17"),
    (RightKind.restriction, "18"),
    (RightKind.portability, "20"),
    (RightKind.objection, "21"),
)


def rights(policy: Policy) -> Iterator[Finding]:
    for kind, article in GDPR_RIGHTS:
        if policy.right(kind) is None:
            yield gdpr(
                "13-2b",
                "13(2)(b)",
                f"does not mention the right to {words.RIGHT[kind]} (Art. {article})",
                "rights.offered",
            )


def consent_withdrawal(policy: Policy) -> Iterator[Finding]:
    based = [
        p.key
        for p in policy.purposes
        if p.legal_basis == LegalBasis.consent or p.consent == ConsentMode.opt_in
    ]
    if based and policy.right(RightKind.withdraw_consent) is None:
        yield gdpr(
            "13-2c",
            "13(2)(c)",
            f"purposes based on consent ({words.join(based)}) but no right to withdraw it",
            "rights.offered",
        )


def complaint(policy: Policy) -> Iterator[Finding]:
    if policy.contacts.supervisory_authority is None:
        yield gdpr(
            "13-2d",
            "13(2)(d)",
            "does not mention the right to lodge a complaint with a supervisory authority",
            "contacts.supervisory_authority",
        )


def provision(policy: Policy) -> Iterator[Finding]:
    unstated = unique(
        c
        for entry in policy.collection
        if entry.source == Source.provided and entry.required is None
        for c in entry.categories
    )
    if unstated:
        yield gdpr(
            "13-2e",
            "13(2)(e)",
            f"does not say whether providing {words.join(unstated)} is required, "
            "or what happens if it is not provided",
            "collection",
        )


def automated_decisions(policy: Policy) -> Iterator[Finding]:
    if policy.automated_decisions is None:
        yield gdpr(
            "13-2f",
            "13(2)(f)",
            "does not say whether automated decision-making or profiling is used",
            "automated_decisions",
        )


def third_party_sources(policy: Policy) -> Iterator[Finding]:
    for i, entry in enumerate(policy.collection):
        if entry.source == Source.third_party and not entry.origin:
            yield gdpr(
                "14-2f",
                "14(2)(f)",
                f"data from third parties ({words.join(entry.categories)}) without naming "
                "the source",
                f"collection[{i}].origin",
            )


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def collected(policy: Policy) -> list[str]:
    return unique(c for entry in policy.collection for c in entry.categories)


def categories_collected(policy: Policy) -> Iterator[Finding]:
    if not policy.collection:
        yield ccpa(
            "110-c1",
            "110(c)(1)",
            "does not list the categories of personal information collected",
            "collection",
        )


def sources(policy: Policy) -> Iterator[Finding]:
    for i, entry in enumerate(policy.collection):
        if entry.source == Source.unspecified:
            yield ccpa(
                "110-c2",
                "110(c)(2)",
                f"does not say where {words.join(entry.categories)} comes from",
                f"collection[{i}].source",
            )


def business_purposes(policy: Policy) -> Iterator[Finding]:
    used = [c for p in policy.purposes for c in p.categories]
    unused = [c for c in collected(policy) if not any(covers(c, u) or covers(u, c) for u in used)]
    if unused:
        yield ccpa(
            "110-c3",
            "110(c)(3)",
            f"collects {words.join(unused)} for no stated purpose",
            "purposes",
        )


def selling(policy: Policy) -> list[list[str]]:
    """The categories of each purpose and recipient marked as a sale or share."""
    return [x.categories for x in policy.purposes if x.sale_or_share] + [
        x.categories for x in policy.recipients if x.sale_or_share
    ]


def sells(policy: Policy) -> bool:
    return policy.sells_or_shares is True or policy.sells is True or bool(selling(policy))


def sale_statement(policy: Policy) -> Iterator[Finding]:
    """CCPA § 1798.130(a)(5)(C): whether it sells, and whether it shares, each said."""
    said = (("sold", policy.says_sells()), ("shared", policy.says_shares()))
    unstated = [verb for verb, stated in said if stated is None]
    if unstated and not sells(policy):
        yield ccpa(
            "130-a5C",
            "130(a)(5)(C)",
            f"does not say whether personal information is {' or '.join(unstated)}",
            "sells" if "sold" in unstated else "shares",
        )


def sold_categories(policy: Policy) -> Iterator[Finding]:
    if sells(policy) and not any(selling(policy)):
        yield ccpa(
            "115-c",
            "115(c)",
            "sells or shares personal information without listing which categories",
            "recipients",
        )


def opt_out(policy: Policy) -> Iterator[Finding]:
    if sells(policy) and policy.right(RightKind.opt_out_sale) is None:
        yield ccpa(
            "120-b",
            "120(b)",
            "sells or shares personal information but offers no right to opt out",
            "rights.offered",
        )


CCPA_RIGHTS = (
    (RightKind.access, "110(a)", "know what personal information is collected (access)"),
    (RightKind.erasure, "105(b)", "delete personal information"),
    (RightKind.rectification, "106(b)", "correct inaccurate personal information"),
)


def ccpa_rights(policy: Policy) -> Iterator[Finding]:
    for kind, section, what in CCPA_RIGHTS:
        if policy.right(kind) is None:
            code = section.replace("(", "-").rstrip(")")
            yield ccpa(code, section, f"does not mention the right to {what}", "rights.offered")


def non_discrimination(policy: Policy) -> Iterator[Finding]:
    if policy.rights.non_discrimination is not True:
        yield ccpa(
            "125-a",
            "125(a)",
            "does not promise non-discrimination for exercising privacy rights",
            "rights.non_discrimination",
        )


SAME_METHOD = {Channel.web: Channel.website, Channel.in_app: Channel.app}


def request_methods(policy: Policy) -> Iterator[Finding]:
    methods = {SAME_METHOD.get(c, c) for r in policy.rights.offered for c in r.channels}
    if len(methods) < 2:
        yield ccpa(
            "130-a1",
            "130(a)(1)",
            f"offers {len(methods)} method(s) to submit requests; at least two are required",
            "rights.offered",
        )


def contact_for_questions(policy: Policy) -> Iterator[Finding]:
    if not has_contact(policy):
        yield Finding(
            "CCPA-7011-contact",
            "Cal. Code Regs. tit. 11 § 7011",
            "gives no contact for questions about the privacy policy",
            "contacts",
        )


def last_updated(policy: Policy) -> Iterator[Finding]:
    if policy.policy.effective_date is None:
        yield Finding(
            "CCPA-7011-date",
            "Cal. Code Regs. tit. 11 § 7011",
            "does not say when the policy was last updated",
            "policy.effective_date",
        )


RULES: dict[str, tuple[Rule, ...]] = {
    "gdpr": (
        controller_contact,
        dpo_contact,
        purposes_and_bases,
        legitimate_interests,
        recipients,
        transfers,
        retention,
        rights,
        consent_withdrawal,
        complaint,
        provision,
        automated_decisions,
        third_party_sources,
    ),
    "ccpa": (
        categories_collected,
        sources,
        business_purposes,
        sale_statement,
        sold_categories,
        opt_out,
        ccpa_rights,
        non_discrimination,
        request_methods,
        contact_for_questions,
        last_updated,
    ),
}
