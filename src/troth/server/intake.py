"""Requests staff take on someone's behalf: by phone, post, e-mail or in the app.

Staff choose how the person's identity was checked. A check already made (staff checked
it by hand, or the person was signed in to their app account) creates the request
verified, so it goes ahead; a one-time code leaves it waiting until the person signs in
to the privacy center with that e-mail address; "not yet" leaves it for a later check
from the request's page. No check at all is allowed only where troth.yaml says the right
needs none. The channel and the check go to the ledger with the staff member's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from troth import ledger
from troth.consent.subject import InvalidSubject, normalize
from troth.errors import Invalid, InvalidInput
from troth.policy import Policy
from troth.rights import Request
from troth.server import requests
from troth.server.center import correctable
from troth.server.context import Context

CHANNELS = {
    "phone": "By phone",
    "postal": "By post",
    "email": "By e-mail",
    "in_app": "In the app (support chat, a form)",
}
CHECKS = {
    "manual": "I checked who they are (documents, security questions, a call back)",
    "account_login": "They were signed in to their account in the app when they asked",
    "code": "They confirm with a one-time code: they sign in to the privacy center with the e-mail",
    "later": "Not checked yet: someone checks it from the request's page",
    "none": "No check: troth.yaml asks none for this right",
}
DECLARED = {  # how troth.yaml checks identity, in the form's words
    "code": "by a one-time code",
    "account_login": "by an app login",
    "manual": "by hand",
    "none": "not at all",
}
VERIFIED_BY = ("manual", "account_login", "none")  # checks that make the request verified
PURPOSE_KINDS = ("objection", "withdraw_consent", "restriction")


@dataclass
class Intake:
    """The form's fields, and what is wrong with them."""

    kind: str = ""
    identity_kind: str = "email"
    identity_value: str = ""
    channel: str = ""
    check: str = ""
    purpose: str = ""
    column: str = ""  # a correction: the column and its new value
    value: str = ""
    problems: list[str] = field(default_factory=list)


def kinds(policy: Policy) -> list[str]:
    """The kinds of request staff can take: the rights troth.yaml offers."""
    offered = [r.right.value for r in policy.rights.offered]
    if "deactivation" in offered:
        offered.append("reactivation")
    return offered


def read(form: Mapping[str, str], ctx: Context) -> Intake:
    policy = ctx.policy()
    found = Intake(
        kind=form.get("kind", ""),
        identity_kind=form.get("identity_kind", ""),
        identity_value=form.get("identity_value", "").strip()[:254],
        channel=form.get("channel", ""),
        check=form.get("check", ""),
        purpose=form.get("purpose", ""),
        column=form.get("column", ""),
        value=form.get("value", "").strip()[:1000],
    )
    if found.kind not in kinds(policy):
        found.problems.append("Choose the right the person asks for.")
    if found.identity_kind not in ctx.datamap().identities:
        found.problems.append("Choose how the person is identified.")
    if not found.identity_value:
        found.problems.append("Give the person's e-mail address, phone number or id.")
    if found.channel not in CHANNELS:
        found.problems.append("Choose how the request came in.")
    if found.check not in CHECKS:
        found.problems.append("Choose how their identity was checked.")
    elif found.check == "code" and found.identity_kind != "email":
        found.problems.append("A one-time code goes to an e-mail address: identify them by e-mail.")
    elif (
        found.check == "none" and found.kind and requests.verification(policy, found.kind) != "none"
    ):
        found.problems.append("troth.yaml checks identity for this right: choose how it was.")
    if found.kind == "rectification":
        if found.column not in {c["name"] for c in correctable(ctx.datamap())}:
            found.problems.append("Choose the detail to correct.")
        elif not found.value:
            found.problems.append("Give the corrected value.")
    if found.kind in PURPOSE_KINDS and found.purpose:
        return found
    if found.kind == "objection":
        found.problems.append("Choose the purpose the person objects to.")
    found.purpose = ""
    return found


def owner(ctx: Context, intake: Intake, actor: str) -> str:
    """Who follows the request: the person, when they gave an e-mail address (the privacy
    center lists it once they sign in with it), else the staff member who took it."""
    if intake.identity_kind != "email":
        return actor
    try:
        return ctx.project.subject_ref("email", normalize("email", intake.identity_value))
    except InvalidSubject:
        return actor  # the rights engine names the problem


def create(ctx: Context, intake: Intake, staff_id: int) -> Request | None:
    """The request, or None with the problems that stopped it added to `intake`."""
    actor = f"staff:{staff_id}"
    try:
        made = requests.create(
            ctx,
            owner(ctx, intake, actor),
            intake.kind,
            intake.identity_kind,
            intake.identity_value,
            purpose=intake.purpose or None,
            fields={intake.column: intake.value} if intake.kind == "rectification" else None,
            source=intake.channel,
            verified=intake.check in VERIFIED_BY,
        )
    except InvalidInput as exc:
        intake.problems += [p.message for p in exc.problems]
        return None
    except Invalid as exc:
        intake.problems.append(str(exc))
        return None
    with ctx.store.begin() as conn:
        data = {"kind": made.kind, "channel": intake.channel, "checked": intake.check}
        ledger.record(
            conn, "request.intake", actor=actor, subject=made.subject, ref=made.id, data=data
        )
    return made
