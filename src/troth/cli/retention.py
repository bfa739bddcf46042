"""`troth retention ...`, `troth hold ...` and `troth age-check`: the policy's periods,
legal holds and age limits."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from troth import holds, retention
from troth.appdata import load_context
from troth.cli.common import ProjectOption, console, opened, print_rows
from troth.errors import InvalidInput, Problem

group = typer.Typer(help="Carry out the policy's retention rules.", no_args_is_help=True)
hold_group = typer.Typer(help="Place, list and release legal holds.", no_args_is_help=True)

RuleOption = Annotated[
    str | None, typer.Option("--rule", help="Only this retention rule of troth.yaml.")
]


def age(moment: dt.datetime | None, now: dt.datetime) -> str:
    if moment is None:
        return ""
    days = (now - moment).days
    return f"{days // 365}y {days % 365}d" if days >= 365 else f"{days}d"


@group.command("plan")
def plan_command(project: ProjectOption = None) -> None:
    """What a run would do now: rows and accounts due per rule, and the oldest's age."""
    now = dt.datetime.now(dt.UTC)
    with opened(project) as (proj, store):
        plan = retention.plan_retention(load_context(proj), store, now=now)
    table = Table("rule", "table", "action", "after", "due", "oldest")
    for item in [*plan.sweeps, *plan.accounts]:
        after = f"{item.days} days" if item.days else ""
        table.add_row(
            item.rule, item.table, item.action, after, f"{item.due:,}", age(item.oldest, now)
        )
    console.print(table)
    for gap in plan.gaps:
        where = f" ({gap.table})" if gap.table else ""
        console.print(f"[yellow]not swept[/] {gap.rule}{where}: {gap.reason}", highlight=False)
    if plan.holds:
        console.print(f"{plan.holds} legal hold(s) stand: what they cover is skipped.")


@group.command("run")
def run_command(rule: RuleOption = None, project: ProjectOption = None) -> None:
    """Sweep every rule (or one) to its end, in batches; safe to stop and run again."""
    with opened(project) as (proj, store), Progress(console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total or None)
            bar.advance(tasks[label], done)

        report = retention.run_retention(load_context(proj), store, rule=rule, progress=progress)
    for (rule_key, table), rows in report.rows.items():
        console.print(f"{rule_key}: {table}: {rows:,} row(s)", highlight=False)
    for done in report.accounts:
        counts = {"noticed": done.noticed, "handed to erasure": done.handed}
        counts |= {"spared": done.spared, "flagged": done.flagged}
        parts = [f"{n} {what}" for what, n in counts.items() if n]
        console.print(f"{done.rule}: {', '.join(parts) or 'nothing due'}", highlight=False)
    for hold_id in report.released:
        console.print(f"hold {hold_id} ended; {len(report.requested)} erasure(s) asked for again")


@group.command("flagged")
def flagged_command(project: ProjectOption = None) -> None:
    """Accounts flagged for staff review (under the minimum age)."""
    with opened(project) as (_proj, store):
        rows = retention.flagged(store)
    table = Table("rule", "subject", "table", "key", "flagged")
    for row in rows:
        table.add_row(row["rule"], row["account"], row["table_key"], str(row["key"]),
                      f"{row['seen_at']:%Y-%m-%d}")  # fmt: skip
    console.print(table)


SubjectOption = Annotated[
    list[str] | None,
    typer.Option("--subject", help="A subject as kind:value (repeat for a case)."),
]


def identities_of(subjects: list[str]) -> list[tuple[str, str]]:
    out = []
    for subject in subjects:
        kind, sep, value = subject.partition(":")
        if not sep or not value:
            raise InvalidInput([Problem("hold", None, "subject", "expected kind:value")])
        out.append((kind, value))
    return out


@hold_group.command("place")
def place_command(
    reason: Annotated[str, typer.Option("--reason", help="Why the data must be kept.")],
    subject: SubjectOption = None,
    table: Annotated[
        str | None, typer.Option("--table", help="A case: rows of store.table…")
    ] = None,
    column: Annotated[str | None, typer.Option("--column", help="…whose column…")] = None,
    value: Annotated[list[str] | None, typer.Option("--value", help="…holds this value.")] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Court order, case no.")
    ] = None,
    ends: Annotated[str | None, typer.Option("--ends", help="End date, YYYY-MM-DD.")] = None,
    actor: Annotated[
        str, typer.Option("--actor", help="Who places it (a name, not an e-mail address).")
    ] = "cli",
    project: ProjectOption = None,
) -> None:
    """Place a legal hold on subjects or a case; erasures and sweeps keep what it covers."""
    case = None
    if table or column or value:
        if not (table and column and value):
            raise InvalidInput(
                [Problem("hold", None, "table", "a case needs --table, --column and --value")]
            )
        case = holds.CaseFilter(table, column, tuple(int(v) if v.isdigit() else v for v in value))
    with opened(project) as (proj, store):
        hold = holds.place_hold(load_context(proj), store, reason=reason, actor=actor,
                                identities=identities_of(subject or []), case=case,
                                reference=reference, ends_at=end_date(ends))  # fmt: skip
    covered = f", {case.table} by {case.column}" if case else ""
    console.print(f"Placed hold {hold.id}: {len(hold.subjects)} subject(s){covered}")


def end_date(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            [Problem("hold", None, "ends", "expected a date as YYYY-MM-DD")]
        ) from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@hold_group.command("list")
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Released ones too.")] = False,
    project: ProjectOption = None,
) -> None:
    """The holds that stand (or all of them)."""
    with opened(project) as (_proj, store):
        found = holds.list_holds(store, standing_only=not all_)
    rows = [
        (hold.id, hold.reference or "", hold.reason,
         f"{len(hold.subjects)} subject(s)" + (f", {hold.case.table}" if hold.case else ""),
         f"{hold.placed_at:%Y-%m-%d} by {hold.placed_by}",
         f"{hold.ends_at:%Y-%m-%d}" if hold.ends_at else "",
         f"{hold.released_at:%Y-%m-%d}" if hold.released_at else "")
        for hold in found
    ]  # fmt: skip
    print_rows(("id", "reference", "reason", "covers", "placed", "ends", "released"), rows)


@hold_group.command("release")
def release_command(
    hold_id: Annotated[str, typer.Argument(help="The hold's id.")],
    actor: Annotated[str, typer.Option("--actor", help="Who releases it.")] = "cli",
    project: ProjectOption = None,
) -> None:
    """Release a hold; the erasures it postponed run now."""
    with opened(project) as (proj, store):
        requested = retention.release(load_context(proj), store, hold_id, actor=actor)
    console.print(f"Released {hold_id}; {len(requested)} postponed erasure(s) asked for again.")


def age_check(
    birth_date: Annotated[str, typer.Argument(help="YYYY-MM-DD; it is not stored.")],
    purchase: Annotated[bool, typer.Option("--purchase", help="May they buy?")] = False,
    project: ProjectOption = None,
) -> None:
    """May a person born on BIRTH_DATE sign up (or buy), under the policy's age limits?"""
    with opened(project) as (proj, _store):
        answer = retention.age_allows(load_context(proj).policy, birth_date,
                                      "purchase" if purchase else "sign_up")  # fmt: skip
    verdict = "[green]allowed[/]" if answer.allowed else "[red]not allowed[/]"
    console.print(f"{verdict}: {answer.reason}", highlight=False)
    if not answer.allowed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="retention")
    app.add_typer(hold_group, name="hold")
    app.command("age-check")(age_check)
