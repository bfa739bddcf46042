"""The admin console at /admin: the request queue, decisions, requests taken by phone,
post or e-mail (`intake`), the audit trail (`audit`), the Reports charts (`reports`,
`charts`), the data map.

Every staff role sees request metadata, the audit trail and the reports; only admin and
privacy_officer verify, approve, deny, run, take requests, answer complaints and
download exports (support never sees them). A request's page offers only the decisions
that apply to it now (`requests.actions`), and any other is refused with 409.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from troth import ledger, rights, worker
from troth.consent import tables as consent_tables
from troth.errors import AppStoreError, Conflict, Refused
from troth.server import audit, charts, drp_status, intake, reports, requests
from troth.server.auth import Staff, device_token, staff_login
from troth.server.center import correctable
from troth.server.context import Context, context
from troth.server.web import (
    CheckedForm,
    client_ip,
    current_staff,
    page,
    redirect,
    set_cookie,
    sign_in,
    sign_out,
)

router = APIRouter(prefix="/admin", include_in_schema=False)
Ctx = Annotated[Context, Depends(context)]
MaybeStaff = Annotated[Staff | None, Depends(current_staff)]
# A browser that signed in as a login before is not held by that login's lock.
DEVICE_COOKIE = "troth_staff_device"
DEVICE_LIFETIME = timedelta(days=180)


class LoginRequired(Exception):
    """Raised by `staff`; the app turns it into a redirect to the login page."""


def staff(user: MaybeStaff) -> Staff:
    if user is None:
        raise LoginRequired
    return user


def decider(user: Staff = Depends(staff)) -> Staff:
    if not user.can_decide:
        raise HTTPException(403, "Your role (support) cannot do this.")
    return user


StaffUser = Annotated[Staff, Depends(staff)]
Decider = Annotated[Staff, Depends(decider)]


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: Ctx) -> HTMLResponse:
    return page(ctx, request, "admin/login.html")


@router.post("/login", response_model=None)
def login(request: Request, ctx: Ctx, form: CheckedForm) -> Response:
    login_name, password = form.get("login", "")[:254], form.get("password", "")[:200]
    device = request.cookies.get(DEVICE_COOKIE)
    user = staff_login(ctx.project, ctx.store, login_name, password, client_ip(request), device)
    if user is None:
        message = "Wrong login or password, or too many tries: wait a few minutes."
        return page(ctx, request, "admin/login.html", 401, error=message)
    with ctx.store.begin() as conn:
        ledger.record(conn, "staff.login", actor=f"staff:{user.id}")
    response = sign_in(ctx, request, "staff", "/admin", staff_id=user.id)
    token = device_token(ctx.project, user.login)
    set_cookie(ctx, request, response, DEVICE_COOKIE, token, int(DEVICE_LIFETIME.total_seconds()))
    return response


@router.post("/logout")
def logout(request: Request, ctx: Ctx, _form: CheckedForm) -> RedirectResponse:
    return sign_out(ctx, request, "staff", "/admin/login")


CLOSED = ("completed", "denied")
SHOWN_OPEN = 100  # the queue shows the oldest open requests and the newest closed ones
RECENT_CLOSED = 50
# Counts and charts that read many rows are counted again at most this often.
FIGURES_SECONDS = 60.0
JOBS_SECONDS = 5.0
LIVE_FIGURES = ("jobs", "open")  # counted again after a staff member acts


@router.get("", response_class=HTMLResponse)
def queue(request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    active = [s for s in rights.STATUSES if s not in CLOSED]
    found = per_status(ctx, active, SHOWN_OPEN, newest_first=False)
    found += per_status(ctx, CLOSED, RECENT_CLOSED, newest_first=True)
    rows = [requests.summary(r) for r in found]
    rows.sort(key=lambda r: (r["status"] in requests.DONE, not r["overdue"], r["due_at"] is None))
    counts, _ = ctx.figures("consent", FIGURES_SECONDS, partial(consent_counts, ctx))
    jobs, _ = ctx.figures(
        "jobs", JOBS_SECONDS, partial(worker.queue_status, ctx.project, ctx.store, failures=0)
    )
    return page(
        ctx,
        request,
        "admin/queue.html",
        user=user,
        rows=rows,
        open_counts=ctx.figures(
            "open", JOBS_SECONDS, partial(reports.open_counts, ctx.store, datetime.now(UTC))
        )[0],
        shown_open=SHOWN_OPEN,
        verify=ctx.ledger_status(),
        counts=counts,
        jobs=jobs,
    )


def per_status(
    ctx: Context, statuses: Sequence[str], limit: int, *, newest_first: bool
) -> list[rights.Request]:
    """The `limit` oldest (or newest) requests of these statuses: one query per status,
    each read along the (status, created_at) index; one query for all of them would sort
    every matching request first."""
    found = [
        r
        for status in statuses
        for r in rights.list_requests(ctx.store, status, newest_first=newest_first, limit=limit)
    ]
    found.sort(key=lambda r: (r.created_at, r.id), reverse=newest_first)
    return found[:limit]


@router.post("/queue", response_model=None)
def queue_action(ctx: Ctx, user: Decider, form: CheckedForm) -> Response:
    """Pause or resume the job queue on every worker, or queue every failed request again."""
    action = form.get("action")
    if action == "pause":
        worker.pause(ctx.store)
    elif action == "resume":
        worker.resume(ctx.store)
    elif action == "retry_failed":
        worker.retry_failed(ctx.project, ctx.store, None, actor=f"staff:{user.id}")
    else:
        raise HTTPException(422, "Unknown action.")
    ctx.forget_figures(*LIVE_FIGURES)
    return redirect("/admin")


def consent_counts(ctx: Context) -> list[dict[str, Any]]:
    """Subjects per purpose and current decision (one indexed GROUP BY, read-only; the
    consent part exposes no counting function yet)."""
    query = select(
        consent_tables.current.c.purpose, consent_tables.current.c.decision, func.count()
    ).group_by(consent_tables.current.c.purpose, consent_tables.current.c.decision)
    with ctx.store.connect() as conn:
        counts = {(purpose, decision): n for purpose, decision, n in conn.execute(query)}
    return [
        {
            "key": p.key,
            "name": p.name,
            "mode": p.consent.value,
            **{d: counts.get((p.key, d), 0) for d in ("granted", "denied", "withdrawn")},
        }
        for p in ctx.policy().purposes
    ]


@router.get("/new-request", response_class=HTMLResponse)
def new_request_form(request: Request, ctx: Ctx, user: Decider) -> HTMLResponse:
    return intake_page(ctx, request, user, intake.Intake())


@router.post("/new-request", response_model=None)
def new_request(request: Request, ctx: Ctx, user: Decider, form: CheckedForm) -> Response:
    """A request taken by phone, post, e-mail or in the app, on the person's behalf."""
    taken = intake.read(form, ctx)
    made = None if taken.problems else intake.create(ctx, taken, user.id)
    if made is None:
        return intake_page(ctx, request, user, taken, 422)
    ctx.forget_figures(*LIVE_FIGURES)
    return redirect(f"/admin/requests/{made.id}")


def intake_page(
    ctx: Context, request: Request, user: Staff, taken: intake.Intake, status: int = 200
) -> HTMLResponse:
    policy = ctx.policy()
    kinds = intake.kinds(policy)
    return page(
        ctx,
        request,
        "admin/new_request.html",
        status,
        user=user,
        form=taken,
        kinds=kinds,
        declared={kind: intake.DECLARED[requests.verification(policy, kind)] for kind in kinds},
        identities=sorted(ctx.datamap().identities),
        channels=intake.CHANNELS,
        checks=intake.CHECKS,
        purposes=policy.purposes,
        columns=[c["name"] for c in correctable(ctx.datamap())],
    )


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_detail(request_id: str, request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    found = requests.any_request(ctx, request_id)
    # The plan and a failure's reason name tables and row counts of the subject's data:
    # for the roles that decide; support sees the metadata and the audit trail.
    decides = user.can_decide
    plan = None
    if decides and found.status not in requests.DONE:
        plan = rights.plan_request(ctx.project, ctx.store, found.id)
    error = found.error if decides and found.status == "failed" else None
    return page(
        ctx,
        request,
        "admin/request.html",
        user=user,
        info=requests.summary(found),
        error=error,
        error_words=requests.failure_in_words(error) if error else None,
        actions=requests.actions(ctx, found) if decides else [],
        plan=plan,
        trail=ledger.entries(ctx.store, ref=found.id),
        reason=found.reason,
        channel_words=requests.CHANNEL_WORDS,
        logins=audit.staff_logins(ctx.store),
        actor_name=audit.actor_name,
    )


@router.post("/requests/{request_id}", response_model=None)
def request_action(
    request_id: str,
    request: Request,
    ctx: Ctx,
    user: Decider,
    form: CheckedForm,
    background: BackgroundTasks,
) -> Response:
    found = requests.any_request(ctx, request_id)
    actor = f"staff:{user.id}"
    action = form.get("action")
    permitted = requests.actions(ctx, found)
    if "run" in permitted:
        permitted.append("run_large")
    if action not in permitted:
        message = f"That cannot be done to a {found.status} request; reload it to see what can."
        raise HTTPException(409, message)
    if action == "verify":
        rights.verify_request(ctx.project, ctx.store, found.id, actor=actor)
        worker.enqueue(ctx.project, ctx.store, [found.id])
    elif action == "approve":
        rights.approve_request(ctx.project, ctx.store, found.id, actor=actor)
        worker.enqueue(ctx.project, ctx.store, [found.id])
    elif action == "deny":
        reason = form.get("reason", "").strip()[:500]
        if not reason:
            raise HTTPException(422, "Give a reason to deny the request.")
        rights.deny_request(ctx.project, ctx.store, found.id, reason, actor=actor)
    elif action == "answer":
        answer = form.get("answer", "")
        rights.answer_complaint(ctx.project, ctx.store, found.id, answer, actor=actor)
    elif action == "retry":
        worker.retry_failed(ctx.project, ctx.store, [found.id], actor=actor)
    elif action == "extend":
        days = form.get("days", "")
        if not days.isdigit():
            raise HTTPException(422, "Give the extension in days.")
        reason = form.get("reason", "")
        rights.extend_deadline(ctx.project, ctx.store, found.id, int(days), reason, actor=actor)
    else:  # run or run_large
        # A refusal or an app database error is recorded as failed with its reason, which
        # the request's page shows.
        # A job already running it (Conflict) shows on the page as running.
        with suppress(Refused, AppStoreError, Conflict):
            requests.run(ctx, found, actor=actor, allow_large=action == "run_large")
    if action in ("verify", "approve", "deny", "extend"):
        drp_status.call_back_later(background, ctx.project, ctx.store, found.id)
    ctx.forget_figures(*LIVE_FIGURES)
    return redirect(f"/admin/requests/{found.id}")


@router.get("/requests/{request_id}/export")
def request_export(request_id: str, ctx: Ctx, user: Decider) -> Response:
    found = requests.any_request(ctx, request_id)
    download = requests.export_download(ctx, found, f"{found.id}.zip")
    with ctx.store.begin() as conn:
        ledger.record(conn, "staff.export_download", actor=f"staff:{user.id}", ref=found.id)
    return download


@router.get("/datamap", response_class=HTMLResponse)
def datamap(request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    return page(ctx, request, "admin/datamap.html", user=user, datamap=ctx.datamap())


@router.get("/audit", response_class=HTMLResponse)
def audit_trail(request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    """The ledger, newest first, by kind of event, request, staff member and date."""
    kinds = ledger.kinds(ctx.store)
    logins = audit.staff_logins(ctx.store)
    filters = audit.read_filters(request.query_params, kinds, logins)
    found = [] if filters.problems else audit.find(ctx.store, filters)
    shown = found[: audit.PAGE]
    older = filters.query(before=shown[-1].seq) if len(found) > audit.PAGE else None
    return page(
        ctx,
        request,
        "admin/audit.html",
        422 if filters.problems else 200,
        user=user,
        kinds=kinds,
        logins=logins,
        filters=filters,
        entries=shown,
        older=older,
        actor_name=audit.actor_name,
        details=audit.details,
    )


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, ctx: Ctx, user: StaffUser) -> HTMLResponse:
    """Charts: requests per week by kind with the on-time share, open requests by days to
    their deadline, and consent rates per purpose per week."""
    purposes = [p for p in ctx.policy().purposes if p.consent.value != "none"]
    keys = [p.key for p in purposes]
    found, counted = ctx.figures(
        "reports", FIGURES_SECONDS, partial(reports.figures, ctx.store, keys, datetime.now(UTC))
    )
    weeks = found.weeks
    kinds = sorted({kind for week in weeks for kind in week.kinds})
    starts = [week.start for week in weeks]
    return page(
        ctx,
        request,
        "admin/reports.html",
        user=user,
        counted=datetime.fromtimestamp(counted, UTC),
        figures_seconds=FIGURES_SECONDS,
        weeks=weeks,
        kinds=kinds,
        colours=[charts.colour(i) for i in range(len(kinds))],
        deadlines=found.deadlines,
        purposes=purposes,
        rates=found.rates,
        weekly_chart=charts.weekly_requests(
            starts, [w.kinds for w in weeks], [w.on_time_share for w in weeks], kinds
        ),
        deadline_chart=charts.deadline_bars(found.deadlines),
        consent_chart=charts.rate_lines(
            starts,
            [found.rates.get(k, [None] * len(weeks)) for k in keys],
            [p.name for p in purposes],
        ),
        purpose_colours=[charts.colour(i) for i in range(len(purposes))],
    )
