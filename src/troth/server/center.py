"""The privacy center at /: the notice, sign-in with an e-mailed code, and the subject's
own data, requests and choices. Every page works without JavaScript."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from markupsafe import Markup

from troth import consent, ledger, outbox, rights, worker
from troth.appdata import is_birth_date
from troth.consent.purposes import choosable, is_gpc_purpose
from troth.consent.subject import InvalidSubject, normalize
from troth.datamap import DataMap, TableKey
from troth.errors import InvalidInput, Problem
from troth.policy import Policy, taxonomy
from troth.sdk import gpc_of
from troth.server import requests
from troth.server.auth import (
    CODE_LIFETIME,
    check_code,
    issue_code,
)
from troth.server.context import Context, context
from troth.server.web import (
    SESSION_COOKIE,
    CheckedForm,
    client_ip,
    current_email,
    page,
    redirect,
    sign_in,
    sign_out,
)

router = APIRouter(include_in_schema=False)
Ctx = Annotated[Context, Depends(context)]
Email = Annotated[str | None, Depends(current_email)]
CENTER = "privacy_center"
SELF_SERVICE = ("access", "portability", "deactivation", "reactivation", "erasure", "restriction")
ON_THE_WEB = ("web", "website")
ASKS_PER_IP, ASK_WINDOW_SECONDS = 10, 15 * 60
CHANNEL_WORDS = {
    "email": "by e-mail",
    "postal": "by post",
    "phone": "by phone",
    "app": "in the app",
    "in_app": "in the app",
    "web": "on the web",
    "website": "on the web",
}


@dataclass(frozen=True)
class Offer:
    """A right troth.yaml offers, as the privacy center treats it: taken here (signed in
    with a code; `checked_by_staff` when the policy verifies it by hand, so the request
    waits for staff), or taken elsewhere, said in words."""

    right: str
    here: bool
    checked_by_staff: bool = False
    elsewhere: str = ""


def offers(policy: Policy) -> dict[str, Offer]:
    """Each right troth.yaml offers, by request kind. The center takes a right when the
    policy names the web as a channel (or names none) and does not require a sign-in to
    the app's own account, which the center cannot check."""
    found: dict[str, Offer] = {}
    for right in policy.rights.offered:
        kind = right.right.value
        channels = [c.value for c in right.channels]
        method = requests.verification(policy, kind)
        here = (
            not channels or any(c in ON_THE_WEB for c in channels)
        ) and method != "account_login"
        ways = [CHANNEL_WORDS[c] for c in channels if c not in ON_THE_WEB]
        if method == "account_login":
            ways = ["in the app, signed in to your account"]
        elsewhere = "" if here else " or ".join(dict.fromkeys(ways)) or "by contacting us"
        offer = Offer(kind, here, method == "manual", elsewhere)
        found[kind] = offer
        if kind == "deactivation":
            found["reactivation"] = offer
    return found


def offered_here(ctx: Context, kind: str) -> Offer:
    """The center's offer of `kind`, or 422 saying where the policy takes it instead."""
    offer = offers(ctx.policy()).get(kind)
    if offer is None:
        raise HTTPException(422, "Our privacy policy does not offer this request.")
    if not offer.here:
        raise HTTPException(422, f"We take this request {offer.elsewhere}, not here.")
    return offer


def signed_in(email: str | None) -> str:
    if email is None:
        raise HTTPException(401, "Please sign in first.")
    return email


def ask(
    ctx: Context,
    email: str,
    kind: str,
    *,
    verified: bool,
    purpose: str | None = None,
    fields: dict[str, str] | None = None,
) -> rights.Request:
    """A request the person asks for here, under their e-mail address."""
    return requests.create(
        ctx, owner_of(ctx, email), kind, "email", email, purpose=purpose, fields=fields,
        source=CENTER, verified=verified,
    )  # fmt: skip


def owner_of(ctx: Context, email: str) -> str:
    return ctx.project.subject_ref("email", email)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ctx: Ctx) -> HTMLResponse:
    notice = Markup(ctx.notice_html())  # rendered by troth.policy, autoescaped
    # Only which button to show depends on the cookie: no session look-up for the notice.
    signed_in = SESSION_COOKIE in request.cookies
    asks = without_sign_in(ctx.policy())
    return page(ctx, request, "notice.html", notice=notice, signed_in=signed_in, asks=asks)


def without_sign_in(policy: Policy) -> list[str]:
    """The rights troth.yaml takes here with `verification: none`: asked for with an
    e-mail address alone, no code (an objection to marketing, an opt-out of sale)."""
    return [
        kind
        for kind, offer in offers(policy).items()
        if offer.here and requests.verification(policy, kind) == "none"
    ]


@router.get("/ask", response_class=HTMLResponse)
def ask_form(request: Request, ctx: Ctx) -> HTMLResponse:
    return ask_page(ctx, request)


def ask_page(ctx: Context, request: Request, status: int = 200, **values: Any) -> HTMLResponse:
    policy = ctx.policy()
    kinds = without_sign_in(policy)
    if not kinds:
        raise HTTPException(404, "Every request here starts with signing in.")
    purposes = [p for p in policy.purposes if p.legal_basis.value != "contract"]
    return page(ctx, request, "ask.html", status, kinds=kinds, purposes=purposes, **values)


@router.post("/ask", response_class=HTMLResponse)
def ask_send(request: Request, ctx: Ctx, form: CheckedForm) -> HTMLResponse:
    """A request the policy takes without a check: made for the address given, at once
    (at most ASKS_PER_IP from one address in a quarter of an hour)."""
    kind, purpose = form.get("kind", ""), form.get("purpose") or None
    if not ctx.within_limit(f"ask:{client_ip(request)}", ASKS_PER_IP, ASK_WINDOW_SECONDS):
        return ask_page(ctx, request, 429, error="Too many requests from here: wait a few minutes.")
    try:
        email = normalize("email", form.get("email", ""))
    except InvalidSubject:
        return ask_page(ctx, request, 422, error="Enter a valid e-mail address.")
    if kind not in without_sign_in(ctx.policy()):
        return ask_page(ctx, request, 422, error="Choose one of the requests listed.")
    if kind == "objection" and purpose is None:
        return ask_page(ctx, request, 422, error="Choose the use you object to.")
    if kind not in ("objection", "withdraw_consent", "restriction"):
        purpose = None
    made = ask(ctx, email, kind, verified=True, purpose=purpose)
    return page(ctx, request, "asked.html", request_info=requests.summary(made))


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, ctx: Ctx) -> HTMLResponse:
    return page(ctx, request, "signin.html")


@router.post("/signin", response_class=HTMLResponse)
def signin_send(request: Request, ctx: Ctx, fields: CheckedForm) -> HTMLResponse:
    try:
        email = normalize("email", fields.get("email", ""))
    except InvalidSubject:
        return page(ctx, request, "signin.html", 422, error="Enter a valid e-mail address.")
    code = issue_code(ctx.project, ctx.store, email, client_ip(request))
    if code is not None:
        minutes = int(CODE_LIFETIME.total_seconds() // 60)
        body = (
            f"Your sign-in code for the {ctx.policy().organization.name} privacy center is "
            f"{code}.\n\nIt expires in {minutes} minutes. If you did not ask for it, ignore "
            "this message."
        )
        outbox.send(ctx.project, email, "Your privacy center sign-in code", body, kind="otp")
    # The same page whether the address is known, unknown or rate-limited.
    return page(ctx, request, "code.html", email=email)


@router.post("/signin/code", response_model=None)
def signin_check(request: Request, ctx: Ctx, fields: CheckedForm) -> Response:
    try:
        email = normalize("email", fields.get("email", ""))
    except InvalidSubject:
        return redirect("/signin")
    code = fields.get("code", "").strip()
    ip = client_ip(request)
    if not (
        code.isdigit() and len(code) == 6 and check_code(ctx.project, ctx.store, email, code, ip)
    ):
        message = "That code is wrong or has expired. Check the e-mail or ask for a new code."
        return page(ctx, request, "code.html", 401, email=email, error=message)
    with ctx.store.begin() as conn:
        ledger.record(conn, "subject.signin", subject=owner_of(ctx, email))
    verify_waiting(ctx, email)
    return sign_in(ctx, request, "subject", "/me", email=email)


def verify_waiting(ctx: Context, email: str) -> None:
    """The code just proved the address: the subject's requests made with it that waited
    for verification (from the API or the CLI) go ahead."""
    waiting = rights.list_requests(ctx.store, "received", subject=owner_of(ctx, email))
    verified = [
        rights.verify_request(ctx.project, ctx.store, r.id, actor="subject").id
        for r in waiting
        if r.identity_kind == "email"
    ]
    if verified:
        worker.enqueue(ctx.project, ctx.store, verified)


@router.post("/signout")
def signout(request: Request, ctx: Ctx, _form: CheckedForm) -> RedirectResponse:
    return sign_out(ctx, request, "subject", "/")


@router.get("/me", response_class=HTMLResponse)
def my_data(request: Request, ctx: Ctx, email: Email) -> HTMLResponse:
    email = signed_in(email)
    found = ctx.subject_summary(email)
    states = consent.current_consent(ctx.project, ctx.store, f"email:{email}")
    mine = requests.subject_requests(ctx, owner_of(ctx, email))
    return page(
        ctx,
        request,
        "me.html",
        email=email,
        found=found,
        category_name=partial(taxonomy.category_name, ctx.policy()),
        purposes=purpose_rows(ctx.policy(), states),
        requests=[requests.summary(r) for r in mine],
        offers=offers(ctx.policy()),
        contact=ctx.policy().contacts.privacy_email,
    )


def purpose_rows(policy: Policy, states: dict[str, Any]) -> list[dict[str, Any]]:
    """Each purpose with what the subject can do: switch it off and on (consent, or a
    preference troth.yaml makes revocable), or object."""
    return [
        {
            "key": p.key,
            "name": p.name,
            "description": p.description,
            "basis": p.legal_basis.value.replace("_", " "),
            "switch": choosable(p),
            "objectable": p.legal_basis.value == "legitimate_interest",
            "allowed": states[p.key].allowed if p.key in states else True,
        }
        for p in policy.purposes
    ]


@router.post("/me/requests", response_model=None)
def my_new_request(request: Request, ctx: Ctx, email: Email, fields: CheckedForm) -> Response:
    email = signed_in(email)
    kind = fields.get("kind", "")
    purpose = fields.get("purpose") or None
    if kind not in (*SELF_SERVICE, "objection"):
        raise HTTPException(422, "Unknown kind of request.")
    offer = offered_here(ctx, kind)
    if kind == "objection" and purpose not in {p.key for p in ctx.policy().purposes}:
        raise HTTPException(422, "Choose a purpose to object to.")
    if kind == "erasure" and fields.get("confirm") != "yes":
        return redirect("/me/delete")
    created = ask(ctx, email, kind, verified=not offer.checked_by_staff, purpose=purpose)
    ctx.forget_summary(email)  # the job changes the data; the page is read again after it
    return redirect(f"/me/requests/{created.id}")


@router.get("/me/requests/{request_id}", response_class=HTMLResponse)
def my_request(request_id: str, request: Request, ctx: Ctx, email: Email) -> HTMLResponse:
    """The request's progress (the job runs it; reloading shows where it is). A completed
    erasure signed its subject out everywhere, so its page is shown without a session:
    the unguessable id in the link is all it tells anyone, and all it says is that the
    account is deleted."""
    if email is None:
        return erased_page(ctx, request, request_id)
    found = requests.owned(ctx, request_id, owner_of(ctx, email))
    return page(ctx, request, "request.html", request_info=requests.summary(found))


def erased_page(ctx: Context, request: Request, request_id: str) -> HTMLResponse:
    try:
        found = requests.any_request(ctx, request_id)
    except HTTPException:
        found = None
    if found is None or (found.kind, found.status, found.source) != (
        "erasure",
        "completed",
        CENTER,
    ):
        signed_in(None)
    response = page(ctx, request, "deleted.html")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me/requests/{request_id}/export")
def my_export(request_id: str, ctx: Ctx, email: Email) -> StreamingResponse:
    email = signed_in(email)
    found = requests.owned(ctx, request_id, owner_of(ctx, email))
    return requests.export_download(ctx, found, "my-data.zip")


def correctable(datamap: DataMap) -> list[dict[str, Any]]:
    """The columns a subject may correct, once per column name."""
    seen: dict[str, dict[str, Any]] = {}
    for key, table in datamap.tables.items():
        for name, column in table.columns.items():
            if column.rectify and name not in seen:
                seen[name] = {"name": name, "table": key, "categories": column.categories,
                              "date": is_birth_date(column.categories)}  # fmt: skip
    return list(seen.values())


@router.get("/me/correct", response_class=HTMLResponse)
def correct_form(request: Request, ctx: Ctx, email: Email) -> HTMLResponse:
    email = signed_in(email)
    offered_here(ctx, "rectification")
    return correction_page(ctx, request, email)


@router.post("/me/correct", response_model=None)
def correct_send(request: Request, ctx: Ctx, email: Email, form: CheckedForm) -> Response:
    email = signed_in(email)
    offer = offered_here(ctx, "rectification")
    allowed = {f["name"] for f in correctable(ctx.datamap())}
    changes = {k: v.strip() for k, v in form.items() if k in allowed and v.strip()}
    if not changes:
        return correction_page(ctx, request, email, ["Fill in at least one field to correct."])
    try:
        created = ask(
            ctx, email, "rectification", verified=not offer.checked_by_staff, fields=changes
        )
    except InvalidInput as exc:  # a value the app cannot take: say which, queue nothing
        return correction_page(ctx, request, email, [field_problem(p) for p in exc.problems])
    ctx.forget_summary(email)
    return redirect(f"/me/requests/{created.id}")


def correction_page(
    ctx: Context, request: Request, email: str, errors: list[str] | None = None
) -> HTMLResponse:
    """The form with each field's current value (the subject's own, beside its field);
    refused with 422 and the problems in words when `errors`."""
    fields = correctable(ctx.datamap())
    current = ctx.subject_summary(email).current
    status = 422 if errors else 200
    return page(ctx, request, "correct.html", status, fields=fields, errors=errors or [],
                current=current, today=today())  # fmt: skip


def today() -> str:
    return dt.date.today().isoformat()


def field_problem(problem: Problem) -> str:
    """ "Username: another account has this username", never the value itself."""
    name = problem.path.rpartition(".")[2].replace("_", " ").capitalize()
    return f"{name}: {problem.message}." if name else f"{problem.message}."


def kept_reasons(datamap: DataMap, policy: Policy) -> list[dict[str, str]]:
    """What erasure keeps and why, from the data map's `keep` entries, in words: a kept
    column by the kind of data it holds, never by its name."""
    kept: list[dict[str, str]] = []
    for key, table in datamap.tables.items():
        name = TableKey.of(key).name.replace("_", " ")
        if table.erase == "keep" and table.reason:
            kept.append({"what": name, "reason": table.reason})
        for link in table.links:
            if link.erase == "keep" and link.reason:
                kept.append({"what": name, "reason": link.reason})
        for spec in table.columns.values():
            if spec.erase == "keep" and spec.reason and spec.categories:
                kinds = ", ".join(taxonomy.category_name(policy, c) for c in spec.categories)
                kept.append({"what": f"{name}: {kinds}", "reason": spec.reason})
    return kept


@router.get("/me/delete", response_class=HTMLResponse)
def delete_form(request: Request, ctx: Ctx, email: Email) -> HTMLResponse:
    signed_in(email)
    offered_here(ctx, "erasure")
    return page(ctx, request, "delete.html", kept=kept_reasons(ctx.datamap(), ctx.policy()))


@router.post("/me/consent", response_model=None)
def my_consent(request: Request, ctx: Ctx, email: Email, form: CheckedForm) -> Response:
    """Allow or stop a purpose. Allowing one that Global Privacy Control covers while the
    browser sends GPC asks the person to confirm first; a confirmed grant stands."""
    email = signed_in(email)
    purpose, decision = form.get("purpose", ""), form.get("decision", "")
    if decision not in ("granted", "withdrawn"):
        raise HTTPException(422, "Choose allow or stop.")
    found = ctx.policy().purpose(purpose)
    gpc = gpc_of(request.headers.get("sec-gpc"), request.headers.get("cookie"))
    source = "app"
    if gpc and decision == "granted" and found is not None and is_gpc_purpose(found):
        if form.get("confirm_gpc") != "yes":
            return page(ctx, request, "confirm_gpc.html", purpose=found)
        source = "gpc_confirmed"
    consent.record_consent(
        ctx.project,
        ctx.store,
        f"email:{email}",
        purpose,
        decision,
        source=source,
        policy_version=ctx.policy().policy.version,
    )
    rights.take_withdrawals(ctx.project, ctx.store)
    return redirect("/me#choices")
