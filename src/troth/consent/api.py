"""The JSON the consent banner exchanges with the server (routes built in troth.server).

    GET  /api/consent/purposes  -> purposes_payload(policy)
        {"policy": {"name", "version", "effective_date", "url"},
         "purposes": [{"key", "name", "description", "consent": "opt_in"|"opt_out",
                       "sale_or_share": bool, "gpc": bool}]}
    GET  /api/consent           -> api_payload(project, store, subject, gpc=...)
    POST /api/consent           body {"choices": {purpose: bool}, "policy_version": str,
                                      "notice_version": str | null}
        (the version the banner showed is kept as evidence; the event's policy
        version is the one the server has published)
                                -> apply_choices(project, store, subject, body, gpc=...)
        {"subject_known": bool, "policy_version": str, "gpc": bool, "reprompt": bool,
         "purposes": {purpose: {"allowed": bool,
                                "decision": "granted"|"denied"|"withdrawn"|null,
                                "needs_reconsent": bool}},
         "notice": null | {"version", "posted_at", "changes": [str], "reconsent": [str],
                           "url"}}
    POST /api/consent/notice    body {"version": str}: the notice was shown and taken
                                (recorded as accepting that version)

The subject is the server's business (the visitor cookie `troth_consent` as
`cookie:<id>`, or the signed-in user); `gpc` is the request's `Sec-GPC: 1`. Only
purposes the person decides are listed: those that rely on consent, and those troth.yaml
makes `revocable` (listed with `"revocable": true`, on until turned off). `reprompt` is
true while an opt-in purpose is undecided or must be consented to again after a policy
change. `notice` is the in-app notice of a material change (`versions.change_notice`)
for a subject who has decided something before, where the policy announces changes in
the app.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from troth.consent.events import (
    confirmed_over_gpc,
    current_consent,
    published_version,
    record_choices,
    record_gpc,
)
from troth.consent.purposes import Source, choosable, is_gpc_purpose, mode_of, policy_of
from troth.consent.versions import change_notice
from troth.errors import Conflict, InvalidInput, Problem
from troth.policy import ConsentMode, Policy
from troth.project import Project
from troth.store import Store
from troth.yamlfile import format_path

MAX_CHOICES = 200


class ChoicesBody(BaseModel):
    """A banner's POST body."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    choices: dict[str, bool] = Field(max_length=MAX_CHOICES)
    policy_version: str | None = Field(default=None, max_length=64, pattern=r"^[\w.:-]+$")
    notice_version: str | None = Field(default=None, max_length=64, pattern=r"^[\w.:-]+$")
    # The browser's navigator.globalPrivacyControl (a page cannot send Sec-GPC itself),
    # and the purposes the person confirmed allowing although GPC is on.
    gpc: bool = False
    confirm_gpc: list[str] = Field(default_factory=list, max_length=MAX_CHOICES)


class GpcConflict(Conflict):
    """Choices that would allow what Global Privacy Control turns off, unconfirmed:
    nothing was recorded; the person is asked to confirm (`confirm_gpc`)."""

    def __init__(self, purposes: list[str]) -> None:
        self.purposes = purposes
        super().__init__(
            "Global Privacy Control is on and asks not to sell or share data; confirm "
            f"allowing {', '.join(purposes)} (confirm_gpc) or leave it off. Nothing was recorded."
        )


def purposes_payload(policy: Policy) -> dict[str, Any]:
    """The purposes a banner offers: every one that relies on consent."""
    info = policy.policy
    return {
        "policy": {
            "name": info.name,
            "version": info.version,
            "effective_date": info.effective_date.isoformat() if info.effective_date else None,
            "url": info.url,
        },
        "purposes": [
            {
                "key": p.key,
                "name": p.name,
                "description": p.description,
                "consent": mode_of(p).value,
                "revocable": p.revocable,
                "sale_or_share": p.sale_or_share,
                "gpc": is_gpc_purpose(p),
            }
            for p in policy.purposes
            if choosable(p)
        ],
    }


def api_payload(
    project: Project, store: Store, subject: str | None, *, gpc: bool = False
) -> dict[str, Any]:
    """The subject's consent state as the banner reads it (`subject` None: defaults)."""
    policy = policy_of(project.policy_path)
    with store.connect() as conn:
        version = published_version(conn) or policy.policy.version
    if subject is not None and gpc:
        record_gpc(project, store, subject)
    states = current_consent(project, store, subject) if subject is not None else None
    purposes: dict[str, Any] = {}
    reprompt = False
    for purpose in policy.purposes:
        mode = mode_of(purpose)
        if not choosable(purpose):
            continue
        state = states[purpose.key] if states else None
        allowed = state.allowed if state else mode != ConsentMode.opt_in
        confirmed = state is not None and confirmed_over_gpc(state)
        if gpc and is_gpc_purpose(purpose) and not confirmed:
            allowed = False
        decision = state.decision.value if state and state.decision else None
        needs = bool(state and state.needs_reconsent)
        reprompt = reprompt or needs or (mode == ConsentMode.opt_in and decision is None)
        purposes[purpose.key] = {
            "allowed": allowed,
            "decision": decision,
            "needs_reconsent": needs,
            "confirmed_over_gpc": confirmed,
        }
    known = bool(states and any(s.decision for s in states.values()))
    notice = change_notice(project, store, subject, known_only=True) if known and subject else None
    return {
        "subject_known": known,
        "policy_version": version,
        "gpc": gpc,
        "reprompt": reprompt,
        "purposes": purposes,
        "notice": notice.as_dict() if notice else None,
    }


def apply_choices(
    project: Project,
    store: Store,
    subject: str,
    body: Any,
    *,
    gpc: bool = False,
    source: str = Source.banner.value,
) -> dict[str, Any]:
    """Validate and record a banner's (or an app's) choices; returns the new `api_payload`.

    Under GPC (`Sec-GPC: 1`, or the body's `gpc` from navigator.globalPrivacyControl) a
    grant of a sale/sharing or targeted-advertising purpose is recorded only when the
    person confirmed it (`confirm_gpc`), and then stands against later GPC signals;
    unconfirmed, GpcConflict is raised and nothing is recorded."""
    try:
        checked = ChoicesBody.model_validate(body)
    except ValidationError as exc:
        problems = [
            Problem("request body", None, format_path(e["loc"]), e["msg"])
            for e in exc.errors(include_url=False)
        ]
        raise InvalidInput(problems) from None
    gpc = gpc or checked.gpc
    policy = policy_of(project.policy_path)
    choices = dict(checked.choices)
    confirmed: dict[str, bool] = {}
    if gpc:
        states = current_consent(project, store, subject)
        wanted = [
            p.key
            for p in policy.purposes
            if is_gpc_purpose(p) and choices.get(p.key) and not confirmed_over_gpc(states[p.key])
        ]
        unconfirmed = [key for key in wanted if key not in checked.confirm_gpc]
        if unconfirmed:
            raise GpcConflict(unconfirmed)
        confirmed = {key: True for key in wanted}
        choices = {k: v for k, v in choices.items() if k not in confirmed}
        record_gpc(project, store, subject)
    evidence = {"notice_version": checked.notice_version or checked.policy_version}
    record_choices(project, store, subject, choices, source=source, evidence=evidence)
    if confirmed:  # the source says it was confirmed over GPC
        over = Source.gpc_confirmed.value
        record_choices(project, store, subject, confirmed, source=over, evidence=evidence)
    return api_payload(project, store, subject, gpc=gpc)
