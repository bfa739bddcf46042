"""`troth share ...`: the recipients register, exports in the promised form, the
disclosure record, and requests from authorities."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from troth import disclosures, sharing
from troth.appdata import load_context
from troth.cli.common import ProjectOption, console, opened, print_rows
from troth.errors import InvalidInput, Problem
from troth.policy import load_policy
from troth.policy.model import Form

group = typer.Typer(help="Share data with recipients, as the policy allows.", no_args_is_help=True)

ActorOption = Annotated[
    str, typer.Option("--actor", help="Who does it (a name, not an e-mail address).")
]
OutOption = Annotated[Path, typer.Option("--out", help="FILE.csv, FILE.jsonl or FILE.zip")]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="csv, jsonl or zip (default: from --out)")
]


@group.command("recipients")
def recipients_command(project: ProjectOption = None) -> None:
    """The recipients troth.yaml names: role, form, purposes and consent gate."""
    with opened(project) as (proj, _store):
        policy = load_policy(proj.policy_path)
    table = Table("recipient", "role", "receives", "may also get", "purposes", "consent")
    for r in policy.recipients:
        safer = [f.value for f in sharing.allowed_forms(r) if f != r.receives]
        role = r.type.value + (" (sale)" if r.sold else " (share)" if r.sale_or_share else "")
        table.add_row(
            r.key, role, r.receives.value, ", ".join(safer), ", ".join(r.purposes), r.consent or ""
        )
    console.print(table)
    if policy.recipients_closed:
        console.print("The policy says personal data goes only to these recipients.")


@group.command("export")
def export_command(
    recipient: Annotated[str, typer.Argument(help="A recipient key of troth.yaml.")],
    out: OutOption,
    form: Annotated[
        Form | None, typer.Option("--form", help="A safer form than the recipient's own.")
    ] = None,
    fmt: FormatOption = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="One of the recipient's purposes.")
    ] = None,
    actor: ActorOption = "cli",
    project: ProjectOption = None,
) -> None:
    """Write what RECIPIENT may receive, and record the disclosure."""
    with opened(project) as (proj, store):
        report = sharing.share_export(
            load_context(proj), store, recipient, out, form=form, fmt=fmt, purpose=purpose,
            actor=actor,
        )  # fmt: skip
    show(report)


def show(report: sharing.ShareReport) -> None:
    table = Table("table", "rows")
    for name, rows in report.tables.items():
        suppressed = report.suppressed_groups.get(name)
        note = f" ({suppressed} small groups suppressed)" if suppressed else ""
        table.add_row(name, f"{rows:,}{note}")
    console.print(table)
    console.print(
        f"{report.people:,} people in {report.form} form to {report.recipient}: {report.path}"
    )
    for reason, count in sorted(report.excluded.items()):
        console.print(f"  left out, {reason}: {count:,}")
    for name, rows in report.withheld.items():
        console.print(f"  withheld, rows also of someone left out: {name} {rows:,}")
    for name, columns in report.dropped.items():
        console.print(f"  not sent in this form: {name} {', '.join(columns)}")
    for name, why in report.skipped.items():
        console.print(f"  [yellow]not exported[/] {name}: {why}", highlight=False)
    console.print(f"Disclosure {report.disclosure}, sha256 {report.sha256}")


@group.command("log")
def log_command(
    recipient: Annotated[str | None, typer.Argument(help="Only this recipient.")] = None,
    project: ProjectOption = None,
) -> None:
    """The disclosure record, newest first."""
    with opened(project) as (_proj, store):
        found = disclosures.list_exports(store, recipient)
    rows = [
        (d.id, f"{d.created_at:%Y-%m-%d %H:%M}" if d.created_at else "", d.recipient, d.form,
         f"{d.people:,}", f"{d.rows:,}", d.reference or "")
        for d in found
    ]  # fmt: skip
    print_rows(("id", "when", "recipient", "form", "people", "rows", "reference"), rows)


@group.command("request")
def request_command(
    recipient: Annotated[str, typer.Argument(help="An authority of troth.yaml.")],
    subject: Annotated[str, typer.Option("--subject", help="The person, as kind:value.")],
    reference: Annotated[str, typer.Option("--reference", help="Court order, case no.")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    actor: ActorOption = "cli",
    project: ProjectOption = None,
) -> None:
    """Ask to disclose one person's data to an authority (needs approval)."""
    kind, sep, value = subject.partition(":")
    if not sep or not value:
        raise InvalidInput([Problem("request", None, "subject", "expected kind:value")])
    with opened(project) as (proj, store):
        found = sharing.request_disclosure(
            load_context(proj), store, recipient, (kind, value), reference=reference,
            actor=actor, reason=reason,
        )  # fmt: skip
    console.print(f"Disclosure request {found.id} waits for a privacy officer's approval.")


@group.command("requests")
def requests_command(project: ProjectOption = None) -> None:
    """Disclosure requests from authorities, newest first."""
    with opened(project) as (_proj, store):
        found = sharing.list_requests(store)
    rows = [
        (r.id, r.recipient, r.reference, r.status, r.requested_by, r.decided_by or "")
        for r in found
    ]
    print_rows(("id", "recipient", "reference", "status", "asked by", "decided by"), rows)


@group.command("approve")
def approve_command(
    request_id: str, actor: ActorOption = "cli", project: ProjectOption = None
) -> None:
    """Approve a disclosure request (not your own)."""
    decide(request_id, actor, project, approve=True)
    console.print(f"Approved {request_id}: `troth share disclose {request_id} --out FILE`")


@group.command("deny")
def deny_command(
    request_id: str, actor: ActorOption = "cli", project: ProjectOption = None
) -> None:
    """Deny a disclosure request."""
    decide(request_id, actor, project, approve=False)
    console.print(f"Denied {request_id}.")


def decide(request_id: str, actor: str, project: Path | None, *, approve: bool) -> None:
    with opened(project) as (_proj, store):
        sharing.decide(store, request_id, actor, approve=approve)


@group.command("disclose")
def disclose_command(
    request_id: str,
    out: OutOption,
    fmt: FormatOption = None,
    actor: ActorOption = "cli",
    project: ProjectOption = None,
) -> None:
    """Export an approved request's person to its authority."""
    with opened(project) as (proj, store):
        report = sharing.export_request(
            load_context(proj), store, request_id, out, actor=actor, fmt=fmt
        )
    show(report)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="share")
