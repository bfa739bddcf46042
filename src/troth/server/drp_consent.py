"""DRP `sale:opt-in` ("reconsent or opt-in to data sale") mapped onto the consent ledger.

An opt-in is not a rights request: the person agrees again to the sale or sharing of
their data, so troth records a `granted` decision for every purpose troth.yaml marks
`sale_or_share` (and that relies on consent), under the person's account, with the DRP
request id as evidence. It is settled at once: the exercise's answer is final.
"""

from __future__ import annotations

from typing import Any

from troth.consent import InvalidSubject, Subject, record_many
from troth.consent.events import ConsentRecord
from troth.consent.subject import account_subjects, parse_in, project_datamap
from troth.policy import ConsentMode, Policy
from troth.project import Project
from troth.server.drp_agents import Refused
from troth.store import Store


def sale_purposes(policy: Policy) -> list[str]:
    return [p.key for p in policy.purposes if p.sale_or_share and p.consent != ConsentMode.none]


def account_of(project: Project, identity_kind: str, value: str) -> Subject | None:
    """The account the identity names in the app's data, or None; 400 when not valid."""
    try:
        subject = parse_in(project_datamap(project), f"{identity_kind}:{value}")
    except InvalidSubject as exc:
        raise Refused(400, str(exc)) from None
    return account_subjects(project, {subject}).get(subject)


def opt_in(
    project: Project,
    store: Store,
    policy: Policy,
    request_id: str,
    identity: tuple[str, str],
    verified: bool,
) -> dict[str, Any]:
    """Record the opt-in; the status fields it ends with (fulfilled or denied). An
    identity the agent has not verified is denied: an opt-in allows a sale."""
    if not verified:
        details = "the agent has not verified this person's e-mail or phone number"
        return {"status": "denied", "reason": "insuf_verification", "processing_details": details}
    purposes = sale_purposes(policy)
    if not purposes:
        details = "this business does not sell or share personal information"
        return {"status": "denied", "reason": "claim_not_covered", "processing_details": details}
    account = account_of(project, *identity)
    if account is None:
        details = "no account matches this person"
        return {"status": "denied", "reason": "no_match", "processing_details": details}
    records = [ConsentRecord(str(account), key, "granted") for key in purposes]
    record_many(
        project, store, records, source="api", evidence={"request_id": request_id}, ledger_each=True
    )
    details = "sale and sharing allowed again for: " + ", ".join(purposes)
    return {"status": "fulfilled", "processing_details": details}
