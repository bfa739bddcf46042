"""`troth request ...`: create, plan, run, list, show, export, verify, approve, deny."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from troth import rights, worker
from troth.cli.common import ProjectOption, console, print_rows, project_from
from troth.errors import InvalidInput, Problem, Refused, TrothError
from troth.project import Project
from troth.store import Store, open_store

group = typer.Typer(help="Data-subject requests: create, plan, run, export.", no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="The request id.")]
ACTOR = "cli"


@contextmanager
def opened(path: Path | None) -> Iterator[tuple[Project, Store]]:
    project = project_from(path)
    store = open_store(project.store_url)
    try:
        yield project, store
    finally:
        store.dispose()


def identity_of(
    email: str | None, phone: str | None, user_id: str | None, cookie: str | None
) -> tuple[str, str]:
    given = [
        (kind, value)
        for kind, value in (
            ("email", email),
            ("phone", phone),
            ("user_id", user_id),
            ("cookie_id", cookie),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput(
            [
                Problem(
                    "request", None, "", "give exactly one of --email, --phone, --user-id, --cookie"
                )
            ]
        )
    return given[0]


def fields_of(pairs: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput([Problem("--field", None, "", "expected name=value")])
        fields[name.strip()] = value
    return fields


@group.command()
def create(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(rights.KINDS)}.")],
    email: Annotated[str | None, typer.Option(help="The subject's e-mail address.")] = None,
    phone: Annotated[str | None, typer.Option(help="The subject's phone number.")] = None,
    user_id: Annotated[str | None, typer.Option("--user-id", help="The account id.")] = None,
    cookie: Annotated[str | None, typer.Option(help="The visitor cookie id.")] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", help="name=value to correct (repeatable).")
    ] = None,
    purpose: Annotated[str | None, typer.Option(help="Purpose key (objection).")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="e.g. gdpr or ccpa.")] = None,
    verified: Annotated[
        bool, typer.Option("--verified", help="The identity was checked outside troth.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Create a request and print its id."""
    identity_kind, value = identity_of(email, phone, user_id, cookie)
    with opened(project) as (proj, store):
        request = rights.create_request(
            proj,
            store,
            kind,
            identity_kind,
            value,
            fields=fields_of(field or []) or None,
            purpose=purpose,
            jurisdiction=jurisdiction,
            source="cli",
        )
        if verified and request.status == "received":  # not a duplicate of an open one
            request = rights.verify_request(proj, store, request.id, actor=ACTOR)
        worker.enqueue(proj, store, [request.id])
    print(request.id)


@group.command()
def plan(request_id: IdArg, project: ProjectOption = None) -> None:
    """Print every store and table the request will touch, with row counts."""
    with opened(project) as (proj, store):
        found = rights.plan_request(proj, store, request_id)
    table = Table("store", "table", "action", "rows", "detail", title=f"{found.kind} {request_id}")
    for step in found.steps:
        table.add_row(step.store, step.table, step.action, str(step.rows), step.detail)
    for name, count in found.blobs.items():
        table.add_row(
            name,
            "(files)",
            "read" if found.kind in ("access", "portability") else "delete",
            str(count),
            "",
        )
    console.print(table)
    for note in found.notes:
        console.print(note, highlight=False)
    if found.refusals:
        verdict = "refuse" if found.refused else "allow only with --allow-large"
        console.print(f"[bold red]The guard would {verdict} this plan:[/]", highlight=False)
        for refusal in found.refusals:
            console.print(f"  {refusal}", highlight=False)
    if found.refused:
        raise typer.Exit(Refused.exit_code)


@group.command()
def run(
    request_id: Annotated[str | None, typer.Argument(help="The request id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Work through the whole queue.")] = False,
    allow_large: Annotated[
        bool,
        typer.Option(
            "--allow-large",
            help="You checked the plan: let it past the guard's size bound (recorded in the "
            "ledger; never past the rule that a request reaches no other account).",
        ),
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Carry out one request, or every runnable one with --all."""
    if (request_id is None) == (not all_):
        raise TrothError("give a request id or --all")
    if allow_large and request_id is None:
        raise TrothError("--allow-large is for one request whose plan you checked, not --all")
    from troth.server.requests import signed_out_if_erased  # the server loads only here

    with opened(project) as (proj, store):
        if request_id is not None:
            ran = rights.run_request(proj, store, request_id, actor=ACTOR, allow_large=allow_large)
            done = [ran]
        else:
            done = rights.run_queue(proj, store, actor=ACTOR)
        for request in done:
            signed_out_if_erased(store, request)
        if all_ and not done:
            console.print(nothing_to_run(store), highlight=False)
    for request in done:
        console.print(outcome_line(request), highlight=False)
    if any(r.status == "failed" for r in done):
        raise typer.Exit(1)


def nothing_to_run(store: Store) -> str:
    """What `run --all` says when no request can run, and what the others wait for."""
    waiting = [
        (len(rights.list_requests(store, status)), what)
        for status, what in (("received", "verification"), ("verified", "approval"))
    ]
    said = [f"{n} wait(s) for {what}" for n, what in waiting if n]
    return "Nothing to run" + (f": {'; '.join(said)}." if said else ": the queue is empty.")


def outcome_line(request: rights.Request) -> str:
    """`ID KIND STATUS`, saying so when the identity matched no data, or why it failed."""
    line = f"{request.id} {request.kind} {request.status}"
    if request.status == "completed" and request.result.get("found") is False:
        return line + ": no data found for this identity"
    if request.status == "failed" and request.error:
        return f"{line}: {request.error}"
    return line


@group.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="Only requests in this status.")] = None,
    project: ProjectOption = None,
) -> None:
    """List requests, oldest first, with due dates."""
    with opened(project) as (_proj, store):
        found = rights.list_requests(store, status)
    rows = [
        (r.id, r.kind, r.status, r.identity_kind, f"{r.created_at:%Y-%m-%d %H:%M}",
         r.due_at.date().isoformat() + (" overdue" if r.overdue else ""))
        for r in found
    ]  # fmt: skip
    print_rows(("id", "type", "status", "identity", "created", "due"), rows)


@group.command()
def show(request_id: IdArg, project: ProjectOption = None) -> None:
    """Show one request: status, dates and result (never the identity value)."""
    with opened(project) as (_proj, store):
        r = rights.get_request(store, request_id)
    shown = {
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "identity": r.identity_kind,
        "subject": r.subject,
        "purpose": r.purpose,
        "fields": sorted(r.fields),
        "jurisdiction": r.jurisdiction,
        "source": r.source,
        "created_at": r.created_at.isoformat(),
        "due_at": r.due_at.isoformat(),
        "reason": r.reason,
        "error": r.error,
        "result": r.result,
    }
    print(json.dumps(shown, indent=2, default=str))


@group.command()
def export(
    request_id: IdArg,
    out: Annotated[Path, typer.Option("--out", help="Where to write the ZIP.", dir_okay=False)],
    project: ProjectOption = None,
) -> None:
    """Copy the ZIP of a completed access or portability request to --out."""
    with opened(project) as (proj, store):
        r = rights.get_request(store, request_id)
    if r.kind not in ("access", "portability") or r.status != "completed":
        raise TrothError(f"request {request_id} is a {r.status} {r.kind} request: no export")
    if not rights.export_path(proj, request_id).exists():
        raise TrothError(f"the export of request {request_id} is gone; run a new request")
    with out.open("wb") as target:  # opened from the vault as it is written, if sealed
        for chunk in rights.read_export(proj, request_id):
            target.write(chunk)
    console.print(f"wrote {out}", highlight=False)


@group.command()
def verify(request_id: IdArg, project: ProjectOption = None) -> None:
    """Mark a received request verified: staff checked the requester's identity
    (the privacy center does this itself with a one-time code)."""
    with opened(project) as (proj, store):
        r = rights.verify_request(proj, store, request_id, actor=ACTOR)
        worker.enqueue(proj, store, [r.id])
    console.print(f"{r.id} {r.status}", highlight=False)


@group.command()
def approve(request_id: IdArg, project: ProjectOption = None) -> None:
    """Approve a verified request (when the policy requires approval)."""
    with opened(project) as (proj, store):
        r = rights.approve_request(proj, store, request_id, actor=ACTOR)
        worker.enqueue(proj, store, [r.id])
    console.print(f"{r.id} {r.status}", highlight=False)


@group.command()
def deny(
    request_id: IdArg,
    reason: Annotated[str, typer.Option("--reason", help="Why the request is refused.")],
    project: ProjectOption = None,
) -> None:
    """Refuse a request that has not run, with the reason."""
    with opened(project) as (proj, store):
        r = rights.deny_request(proj, store, request_id, reason, actor=ACTOR)
    console.print(f"{r.id} {r.status}", highlight=False)


@group.command()
def extend(
    request_id: IdArg,
    days: Annotated[int, typer.Option("--days", help="Days added to the due date (1-60).")],
    reason: Annotated[str, typer.Option("--reason", help="Why, as told to the subject.")],
    project: ProjectOption = None,
) -> None:
    """Extend an open request's deadline once, with the reason; the subject is told.

    Example: troth request extend rAbc… --days 60 --reason "many requests this month"
    """
    with opened(project) as (proj, store):
        r, notified = rights.extend_deadline(proj, store, request_id, days, reason, actor=ACTOR)
    told = "notice sent to the subject" if notified else "no e-mail to notify: tell the subject"
    console.print(f"{r.id} due {r.due_at:%Y-%m-%d}; {told}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="request")
