"""Consent: an append-only ledger of decisions, the current state, GPC, policy versions.

Subjects are app identities `kind:value` (`user_id:42`, `cookie:abc`, `email:bob@x.com`);
the store keeps only their keyed pseudonyms (`Project.subject_ref`).
"""

from troth.consent.allowed import Answer, Rule
from troth.consent.among import gated_purposes, refused_among
from troth.consent.api import GpcConflict, api_payload, apply_choices, purposes_payload
from troth.consent.erasure import (
    PendingErasure,
    erasure_queue,
    mark_handed_off,
    only_under,
    pending_erasures,
)
from troth.consent.events import (
    ConsentRecord,
    ConsentState,
    Event,
    current_consent,
    decision_counts,
    history,
    record_choices,
    record_consent,
    record_gpc,
    record_many,
)
from troth.consent.published import ChangeNotice, Publication, Version
from troth.consent.purposes import Decision, Source, UnknownPurpose
from troth.consent.subject import InvalidSubject, Subject, parse_subject, resolve_subject
from troth.consent.versions import (
    accept_policy,
    binding_version,
    change_notice,
    list_versions,
    publish_policy,
    published_on,
)

__all__ = [
    "Answer",
    "ChangeNotice",
    "ConsentRecord",
    "ConsentState",
    "Decision",
    "Event",
    "GpcConflict",
    "InvalidSubject",
    "PendingErasure",
    "Publication",
    "Rule",
    "Source",
    "Subject",
    "UnknownPurpose",
    "Version",
    "accept_policy",
    "api_payload",
    "apply_choices",
    "binding_version",
    "change_notice",
    "current_consent",
    "decision_counts",
    "erasure_queue",
    "gated_purposes",
    "history",
    "list_versions",
    "mark_handed_off",
    "only_under",
    "parse_subject",
    "pending_erasures",
    "publish_policy",
    "published_on",
    "purposes_payload",
    "record_choices",
    "record_consent",
    "record_gpc",
    "record_many",
    "refused_among",
    "resolve_subject",
]
