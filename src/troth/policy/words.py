"""Policy values in plain English, shared by render, diff and lint."""

from __future__ import annotations

from collections.abc import Iterable

from troth.policy.model import (
    Control,
    ControlKind,
    ExceptionKind,
    Form,
    LegalBasis,
    RetentionAction,
    RetentionException,
    RetentionRule,
    RightKind,
    Trigger,
    VaguePeriod,
)

LEGAL_BASIS = {
    LegalBasis.consent: "your consent",
    LegalBasis.contract: "performance of our contract with you",
    LegalBasis.legal_obligation: "compliance with a legal obligation",
    LegalBasis.legitimate_interest: "our legitimate interests",
    LegalBasis.vital_interest: "protection of someone's vital interests",
    LegalBasis.public_task: "a task in the public interest",
    LegalBasis.unspecified: "not stated",
}

FORM = {
    Form.raw: "personal data as we hold it",
    Form.pseudonym: "a keyed pseudonym instead of your identity",
    Form.hashed: "hashed identifiers only",
    Form.aggregate: "aggregated data only",
    Form.anonymized: "anonymized data only",
}

VAGUE = {
    VaguePeriod.while_account_active: "while the account is active",
    VaguePeriod.as_long_as_necessary: "as long as necessary (no period stated)",
    VaguePeriod.as_required_by_law: "as long as the law requires",
    VaguePeriod.unspecified: "for a period the policy does not state",
}

TRIGGER = {
    Trigger.collection: "collection",
    Trigger.last_activity: "the last activity on the account",
    Trigger.account_deletion: "account deletion",
    Trigger.consent_withdrawal: "withdrawal of consent",
    Trigger.purpose_fulfilled: "the purpose is fulfilled",
}

ACTION = {
    RetentionAction.delete: "deleted",
    RetentionAction.anonymize: "anonymized",
    RetentionAction.delete_or_anonymize: "deleted or anonymized",
}

RIGHT = {
    RightKind.access: "access your personal data",
    RightKind.portability: "receive your data in a portable format",
    RightKind.rectification: "have inaccurate data corrected",
    RightKind.erasure: "have your data deleted",
    RightKind.deactivation: "deactivate your account (hidden, kept, can be reactivated)",
    RightKind.restriction: "restrict how we process your data",
    RightKind.objection: "object to processing",
    RightKind.withdraw_consent: "withdraw consent at any time",
    RightKind.opt_out_sale: "opt out of the sale or sharing of your personal information",
    RightKind.complaint: "complain to us about how we handle your data",
}


CONTROL = {
    ControlKind.encryption_at_rest: "Encryption at rest",
    ControlKind.encryption_in_transit: "Encryption in transit",
    ControlKind.access_control: "Access control",
    ControlKind.audits: "Security audits",
    ControlKind.minimization: "Data minimization",
    ControlKind.other: "Other measure",
}


def control(claim: Control) -> str:
    """A security claim in the notice's words, else its kind."""
    return claim.text or CONTROL[claim.kind]


EXCEPTION = {
    ExceptionKind.legal_obligation: "the law requires us to keep it",
    ExceptionKind.legal_hold: "a legal hold covers it",
    ExceptionKind.dispute: "it is needed for a dispute",
    ExceptionKind.authority_inquiry: "an authority's inquiry needs it",
    ExceptionKind.shared_with_others: "it also belongs to someone else",
    ExceptionKind.other: "another reason",
}


def exception(kept: RetentionException) -> str:
    if kept.kind == ExceptionKind.other and kept.note:
        return kept.note
    return EXCEPTION[kept.kind] + (f" ({kept.note})" if kept.note else "")


def period(rule: RetentionRule) -> str:
    """How long, e.g. '30 days after account deletion' or 'while the account is active'."""
    if rule.period_days is not None:
        days = "day" if rule.period_days == 1 else "days"
        return f"{rule.period_days} {days} after {TRIGGER[rule.trigger]}"
    return VAGUE[rule.period or VaguePeriod.unspecified]


def label(value: str) -> str:
    """An enum value as words: 'legitimate_interest' -> 'legitimate interest'."""
    return value.replace("_", " ")


def join(items: Iterable[str]) -> str:
    return ", ".join(items)
