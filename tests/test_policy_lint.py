"""Policy lint: each GDPR Art. 13/14 and CCPA disclosure rule, with its code, path and words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from troth.policy import load_policy
from troth.policy.lint import Finding, lint
from troth.policy.model import (
    Contacts,
    LegalBasis,
    Organization,
    Policy,
    PolicyInfo,
    RightKind,
    Source,
    Transfers,
    VaguePeriod,
)

BASE = load_policy(Path(__file__).with_name("test_policy_full.yaml"))


def edit(policy: Policy, section: str, index: int, **changes: Any) -> Policy:
    items = list(getattr(policy, section))
    items[index] = items[index].model_copy(update=changes)
    return policy.model_copy(update={section: items})


def without_rights(policy: Policy, *kinds: RightKind) -> Policy:
    offered = [r for r in policy.rights.offered if r.right not in kinds]
    return policy.model_copy(
        update={"rights": policy.rights.model_copy(update={"offered": offered})}
    )


def codes(policy: Policy) -> list[str]:
    return [f.code for f in lint(policy)]


def test_complete_policy_is_clean() -> None:
    assert lint(BASE) == []


def test_no_supervisory_authority() -> None:
    policy = BASE.model_copy(
        update={"contacts": BASE.contacts.model_copy(update={"supervisory_authority": None})}
    )
    assert lint(policy) == [
        Finding(
            "GDPR-13-2d",
            "GDPR Art. 13(2)(d)",
            "does not mention the right to lodge a complaint with a supervisory authority",
            "contacts.supervisory_authority",
        )
    ]


def test_no_contact_details_at_all() -> None:
    policy = BASE.model_copy(
        update={
            "contacts": Contacts(supervisory_authority=BASE.contacts.supervisory_authority),
            "organization": Organization(name="Storybox"),
        }
    )
    assert [str(f) for f in lint(policy)] == [
        "GDPR-13-1a (GDPR Art. 13(1)(a)) [contacts]: no contact details for the controller "
        "(e-mail, phone, postal address or form)",
        "CCPA-7011-contact (Cal. Code Regs. tit. 11 § 7011) [contacts]: gives no contact for "
        "questions about the privacy policy",
    ]


def test_dpo_without_contact() -> None:
    dpo = BASE.contacts.dpo
    assert dpo is not None
    contacts = BASE.contacts.model_copy(update={"dpo": dpo.model_copy(update={"email": None})})
    assert codes(BASE.model_copy(update={"contacts": contacts})) == ["GDPR-13-1b"]


def test_unstated_legal_basis_names_the_purpose() -> None:
    policy = edit(BASE, "purposes", 0, legal_basis=LegalBasis.unspecified)
    assert lint(policy) == [
        Finding(
            "GDPR-13-1c",
            "GDPR Art. 13(1)(c)",
            "purpose essential.service has no stated legal basis",
            "purposes[0].legal_basis",
        )
    ]


def test_legitimate_interest_must_be_named() -> None:
    policy = edit(BASE, "purposes", 1, legitimate_interests=None)
    assert [(f.code, f.path) for f in lint(policy)] == [
        ("GDPR-13-1d", "purposes[1].legitimate_interests")
    ]


def test_transfers_unstated_or_without_safeguard() -> None:
    assert codes(BASE.model_copy(update={"international_transfers": None})) == ["GDPR-13-1f"]
    bare = BASE.model_copy(update={"international_transfers": Transfers(occurs=True)})
    assert [f.message for f in lint(bare)] == [
        "transfers data to other countries without naming the safeguard"
    ]


def test_vague_retention_and_uncovered_categories() -> None:
    vague = edit(BASE, "retention", 1, period_days=None, period=VaguePeriod.as_long_as_necessary)
    assert [f.message for f in lint(vague)] == [
        "retention rule device keeps data as long as necessary (no period stated): "
        "neither a period nor the criteria for it"
    ]
    uncovered = BASE.model_copy(update={"retention": BASE.retention[:2]})
    assert [f.message for f in lint(uncovered)] == [
        "no retention rule covers user.behavior.purchase_history"
    ]


def test_each_missing_gdpr_right_is_a_finding() -> None:
    policy = without_rights(BASE, RightKind.restriction, RightKind.objection)
    assert [f.message for f in lint(policy)] == [
        "does not mention the right to restrict how we process your data (Art. 18)",
        "does not mention the right to object to processing (Art. 21)",
    ]


def test_consent_without_withdrawal() -> None:
    policy = without_rights(BASE, RightKind.withdraw_consent)
    assert [str(f) for f in lint(policy)] == [
        "GDPR-13-2c (GDPR Art. 13(2)(c)) [rights.offered]: purposes based on consent "
        "(marketing.communications.email, marketing.advertising) but no right to withdraw it"
    ]


def test_provision_and_third_party_origin() -> None:
    policy = edit(BASE, "collection", 0, required=None)
    policy = edit(policy, "collection", 3, origin=None)
    assert [(f.code, f.message) for f in lint(policy)] == [
        (
            "GDPR-13-2e",
            "does not say whether providing user.contact.email, user.name is required, "
            "or what happens if it is not provided",
        ),
        (
            "GDPR-14-2f",
            "data from third parties (user.behavior.purchase_history) without naming the source",
        ),
    ]


def test_unstated_source_and_unused_category() -> None:
    policy = edit(BASE, "collection", 2, source=Source.unspecified)
    policy = edit(policy, "purposes", 3, categories=["user.contact.email"])
    assert [(f.code, f.message) for f in lint(policy)] == [
        (
            "CCPA-110-c2",
            "does not say where user.device.cookie_id, user.device.ip_address comes from",
        ),
        ("CCPA-110-c3", "collects user.device.cookie_id for no stated purpose"),
    ]


def test_sale_without_opt_out_or_without_categories() -> None:
    assert codes(without_rights(BASE, RightKind.opt_out_sale)) == ["CCPA-120-b"]
    policy = edit(BASE, "recipients", 1, categories=[])
    policy = edit(policy, "purposes", 3, sale_or_share=False)
    assert codes(policy) == ["CCPA-115-c"]


def test_sale_statement_missing() -> None:
    policy = edit(BASE, "recipients", 1, sale_or_share=False)
    policy = edit(policy, "purposes", 3, sale_or_share=False)
    assert codes(policy.model_copy(update={"sells_or_shares": None})) == ["CCPA-130-a5C"]
    assert codes(policy.model_copy(update={"sells_or_shares": False})) == []


def test_ccpa_rights_methods_and_non_discrimination() -> None:
    rights = BASE.rights.model_copy(
        update={
            "non_discrimination": None,
            "offered": [
                r.model_copy(update={"channels": ["web", "website"]}) for r in BASE.rights.offered
            ],
        }
    )
    assert [str(f) for f in lint(BASE.model_copy(update={"rights": rights}))] == [
        "CCPA-125-a (Cal. Civ. Code § 1798.125(a)) [rights.non_discrimination]: does not promise "
        "non-discrimination for exercising privacy rights",
        "CCPA-130-a1 (Cal. Civ. Code § 1798.130(a)(1)) [rights.offered]: offers 1 method(s) to "
        "submit requests; at least two are required",
    ]


def test_minimal_policy_findings_in_fixed_order() -> None:
    policy = Policy(
        policy=PolicyInfo(name="Tiny", version="1"),
        organization=Organization(name="Tiny"),
        contacts=Contacts(privacy_email="privacy@tiny.example"),
    )
    assert codes(policy) == [
        "GDPR-13-1c",
        "GDPR-13-1e",
        "GDPR-13-1f",
        "GDPR-13-2a",
        *["GDPR-13-2b"] * 6,
        "GDPR-13-2d",
        "GDPR-13-2f",
        "CCPA-110-c1",
        "CCPA-130-a5C",
        "CCPA-110-a",
        "CCPA-105-b",
        "CCPA-106-b",
        "CCPA-125-a",
        "CCPA-130-a1",
        "CCPA-7011-date",
    ]
    assert lint(policy) == lint(policy)


def test_one_law_at_a_time() -> None:
    policy = BASE.model_copy(update={"international_transfers": None, "sells_or_shares": None})
    policy = edit(policy, "recipients", 1, sale_or_share=False)
    policy = edit(policy, "purposes", 3, sale_or_share=False)
    assert codes(policy) == ["GDPR-13-1f", "CCPA-130-a5C"]
    assert [f.code for f in lint(policy, ("ccpa",))] == ["CCPA-130-a5C"]
    assert [f.code for f in lint(policy, ("gdpr",))] == ["GDPR-13-1f"]
    with pytest.raises(ValueError, match="unknown law"):
        lint(policy, ("hipaa",))
