"""Policy diff: what changed, in words, with the flags the consent part relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from troth.policy import load_policy
from troth.policy.diff import Change, ChangeKind, diff
from troth.policy.model import (
    ConsentMode,
    Form,
    LegalBasis,
    OnlyUse,
    Policy,
    Purpose,
    Recipient,
    RecipientType,
    VaguePeriod,
)

BASE = load_policy(Path(__file__).with_name("test_policy_full.yaml"))


def edit(policy: Policy, section: str, key: str, **changes: Any) -> Policy:
    """`policy` with the entry `key` of list `section` changed."""
    items = [x.model_copy(update=changes) if x.key == key else x for x in getattr(policy, section)]
    return policy.model_copy(update={section: items})


def add(policy: Policy, section: str, item: Any) -> Policy:
    return policy.model_copy(update={section: [*getattr(policy, section), item]})


def only(changes: list[Change]) -> Change:
    assert len(changes) == 1, changes
    return changes[0]


def test_identical_policies_have_no_changes() -> None:
    assert diff(BASE, BASE) == []


def test_new_opt_in_purpose_needs_reconsent() -> None:
    sms = Purpose(
        key="marketing.communications.sms",
        name="SMS offers",
        categories=["user.contact.phone_number"],
        legal_basis=LegalBasis.consent,
        consent=ConsentMode.opt_in,
    )
    assert only(diff(BASE, add(BASE, "purposes", sms))) == Change(
        ChangeKind.purpose_added,
        "marketing.communications.sms",
        "adds purpose marketing.communications.sms (SMS offers): legal basis consent, "
        "consent opt in",
        material=True,
        needs_reconsent=True,
        purposes=("marketing.communications.sms",),
    )


def test_new_contract_purpose_is_material_without_reconsent() -> None:
    ops = Purpose(key="operations", name="Operations", legal_basis=LegalBasis.contract)
    change = only(diff(BASE, add(BASE, "purposes", ops)))
    assert (change.kind, change.material, change.needs_reconsent) == (
        ChangeKind.purpose_added,
        True,
        False,
    )


def test_removed_purpose_is_not_material() -> None:
    fewer = BASE.model_copy(update={"purposes": BASE.purposes[:3]})
    change = only(diff(BASE, fewer))
    assert str(change) == "removes purpose marketing.advertising"
    assert not change.material


def test_widened_consent_purpose_needs_reconsent() -> None:
    key = "marketing.communications.email"
    wider = edit(BASE, "purposes", key, categories=["user.contact.email", "user.name"])
    change = only(diff(BASE, wider))
    assert change.message == f"widens purpose {key} to categories user.name"
    assert (change.material, change.needs_reconsent, change.purposes) == (True, True, (key,))
    narrower = only(diff(wider, BASE))
    assert narrower.message == f"narrows purpose {key}: no longer uses user.name"
    assert not narrower.material


def test_a_subcategory_of_a_used_category_does_not_widen() -> None:
    general = edit(BASE, "purposes", "essential.service", categories=["user.contact"])
    specific = edit(
        BASE, "purposes", "essential.service", categories=["user.contact", "user.contact.email"]
    )
    assert diff(general, specific) == []


def test_legal_basis_change() -> None:
    changed = edit(
        BASE, "purposes", "essential.service", legal_basis=LegalBasis.legitimate_interest
    )
    change = only(diff(BASE, changed))
    assert change.message == (
        "changes legal basis of essential.service from contract to legitimate interest"
    )
    assert change.material and not change.needs_reconsent


def test_consent_mode_changes() -> None:
    key = "marketing.communications.email"
    dropped = only(diff(BASE, edit(BASE, "purposes", key, consent=ConsentMode.opt_out)))
    assert dropped.message == f"changes consent for {key} from opt in to opt out"
    assert dropped.material and not dropped.needs_reconsent
    service = edit(BASE, "purposes", "essential.service", legal_basis=LegalBasis.consent)
    asked = edit(service, "purposes", "essential.service", consent=ConsentMode.opt_in)
    flags = [(c.kind, c.needs_reconsent) for c in diff(BASE, asked)]
    assert flags == [(ChangeKind.legal_basis, True), (ChangeKind.consent_mode, True)]


def test_retention_shortened_and_lengthened() -> None:
    shorter = edit(BASE, "retention", "account", period_days=10)
    change = only(diff(BASE, shorter))
    assert change.message == (
        "shortens retention of user.contact.email, user.name, user.content.story from 30 to 10 days"
    )
    assert change.kind == ChangeKind.retention_shorter and not change.material
    longer = only(diff(shorter, BASE))
    assert longer.kind == ChangeKind.retention_longer and longer.material


def test_retention_turned_vague() -> None:
    vague = edit(
        BASE, "retention", "device", period_days=None, period=VaguePeriod.while_account_active
    )
    change = only(diff(BASE, vague))
    assert change.message == (
        "changes retention of user.device from deleted 90 days after collection "
        "to deleted while the account is active"
    )
    assert change.material


def test_new_recipient_of_a_consent_purpose_needs_reconsent() -> None:
    mailer = Recipient(
        key="mailer",
        name="Mailing service",
        type=RecipientType.processor,
        receives=Form.raw,
        purposes=["marketing.communications.email", "essential.service"],
    )
    change = only(diff(BASE, add(BASE, "recipients", mailer)))
    assert change.message == (
        "adds recipient mailer (Mailing service, processor) receiving personal data as we hold it"
    )
    assert change.needs_reconsent and change.purposes == ("marketing.communications.email",)


def test_recipient_receiving_more_identifying_data() -> None:
    raw = edit(BASE, "recipients", "ad_partners", receives=Form.raw)
    change = only(diff(BASE, raw))
    assert change.message == "changes what recipient ad_partners receives from pseudonym to raw"
    assert change.material
    assert not only(diff(raw, BASE)).material


def test_retention_rule_covering_less_is_material() -> None:
    less = edit(BASE, "retention", "account", categories=["user.contact.email"])
    change = only(diff(BASE, less))
    assert change.message == (
        "changes the data retention rule account covers from user.contact.email, user.name, "
        "user.content.story to user.contact.email"
    )
    assert change.material
    assert not only(diff(less, BASE)).material


def test_dropped_jurisdiction_deadline_is_material() -> None:
    rights = BASE.rights.model_copy(update={"deadlines": {"gdpr": 30}})
    change = only(diff(BASE, BASE.model_copy(update={"rights": rights})))
    assert (change.message, change.material) == ("no longer states a ccpa response deadline", True)


def test_rights_and_deadlines() -> None:
    fewer = BASE.model_copy(
        update={
            "rights": BASE.rights.model_copy(
                update={"offered": BASE.rights.offered[1:], "deadlines": {"gdpr": 30, "ccpa": 30}}
            )
        }
    )
    assert [(c.message, c.material) for c in diff(BASE, fewer)] == [
        ("removes right access", True),
        ("shortens the ccpa response deadline from 45 to 30 days", False),
    ]


def test_lower_minimum_age_and_shorter_notice_are_material() -> None:
    changed = BASE.model_copy(
        update={
            "children": BASE.children.model_copy(update={"minimum_age": 0}),
            "changes": BASE.changes.model_copy(update={"existing_users_bound_after_days": 7}),
        }
    )
    assert [(c.message, c.material) for c in diff(BASE, changed)] == [
        ("lowers the minimum age from 13 to 0", True),
        (
            "changes when existing users are bound by a new version from 30 to 7 days "
            "after posting",
            True,
        ),
    ]


def test_changes_come_in_a_fixed_order() -> None:
    changed = edit(BASE, "retention", "account", period_days=60)
    changed = edit(
        changed,
        "purposes",
        "essential.service",
        legal_basis=LegalBasis.consent,
        consent=ConsentMode.opt_in,
    )
    changed = changed.model_copy(
        update={"policy": BASE.policy.model_copy(update={"version": "4"}), "sells_or_shares": False}
    )
    assert [c.kind for c in diff(BASE, changed)] == [
        ChangeKind.version,
        ChangeKind.legal_basis,
        ChangeKind.consent_mode,
        ChangeKind.retention_longer,
        ChangeKind.sells_or_shares,
    ]


def test_losing_a_use_limit_is_material_and_gaining_one_is_not() -> None:
    """`revocable` and `only` are promises: taking one back needs a notice."""
    fraud = "essential.fraud_detection"
    limited = edit(
        BASE,
        "purposes",
        fraud,
        revocable=True,
        only=OnlyUse(categories=["user.device.ip_address"]),
    )
    assert [(c.kind, c.message, c.material) for c in diff(BASE, limited)] == [
        (ChangeKind.purpose_revocable, f"purpose {fraud} may now be turned off by people", False),
        (
            ChangeKind.purpose_only,
            f"purpose {fraud} now keeps user.device.ip_address for itself alone",
            False,
        ),
    ]
    assert [(c.message, c.material) for c in diff(limited, BASE)] == [
        (f"purpose {fraud} can no longer be turned off", True),
        (f"purpose {fraud} no longer keeps user.device.ip_address for itself alone", True),
    ]
    shared = edit(
        limited,
        "purposes",
        fraud,
        only=OnlyUse(categories=["user.device.ip_address"], also=["essential.service"]),
    )
    assert [(c.message, c.material) for c in diff(limited, shared)] == [
        (f"the data purpose {fraud} keeps for itself may now serve essential.service too", True)
    ]


def test_purchase_purposes_dropped_from_the_age_limit_is_material() -> None:
    def buying(*keys: str) -> Policy:
        return BASE.model_copy(
            update={"children": BASE.children.model_copy(update={"purchase_purposes": list(keys)})}
        )

    both, one = buying("essential.service", fraud := "essential.fraud_detection"), buying(fraud)
    assert [(c.message, c.material) for c in diff(both, one)] == [
        ("the purchase age no longer limits essential.service", True)
    ]
    assert [(c.message, c.material) for c in diff(one, both)] == [
        ("the purchase age now limits essential.service too", False)
    ]
