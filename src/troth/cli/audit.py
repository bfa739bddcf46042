"""`troth audit ...`: staff notes, reading and checking the tamper-evident ledger."""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import json
from typing import Annotated

import typer
from rich.table import Table

from troth import ledger
from troth.cli.common import ProjectOption, console, err_console, opened
from troth.ledger.screen import LedgerInputError

group = typer.Typer(help="The tamper-evident audit ledger.", no_args_is_help=True)
MAX_NOTE = 2000


def _login_actor() -> str:
    try:
        return f"staff:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in this environment
        return "staff"


@group.command()
def note(
    text: Annotated[str, typer.Argument(help="The note; no personal data.")],
    actor: Annotated[
        str | None, typer.Option(help="Who writes it (default: staff:<login name>).")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Record a staff note in the ledger, then seal the ledger with a checkpoint."""
    if not text.strip() or len(text) > MAX_NOTE:
        raise LedgerInputError(f"a note must have 1 to {MAX_NOTE} characters")
    with opened(project) as (proj, store):
        with store.begin() as conn:
            seq = ledger.record(
                conn, "audit.note", actor=actor or _login_actor(), data={"text": text}
            )
        ledger.checkpoint(store, proj)
    console.print(f"noted as entry {seq}")


@group.command()
def show(
    ref: Annotated[str | None, typer.Option(help="Only entries about this object id.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind, or kinds below it (request).")
    ] = None,
    since: Annotated[
        dt.datetime | None, typer.Option(help="Only entries recorded at or after (UTC).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many of the newest entries.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    project: ProjectOption = None,
) -> None:
    """The newest ledger entries, oldest of them first."""
    with opened(project) as (_proj, store):
        found = list(reversed(ledger.entries(store, ref=ref, kind=kind, since=since, limit=limit)))
    if as_json:
        for entry in found:
            typer.echo(json.dumps(_as_dict(entry), ensure_ascii=False))
        return
    table = Table("seq", "at (UTC)", "kind", "actor", "subject", "ref", "data")
    for entry in found:
        table.add_row(
            str(entry.seq),
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.kind,
            entry.actor,
            entry.subject or "",
            entry.ref or "",
            json.dumps(entry.data, ensure_ascii=False, sort_keys=True),
        )
    console.print(table)


def _as_dict(entry: ledger.Entry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "kind": entry.kind,
        "actor": entry.actor,
        "subject": entry.subject,
        "ref": entry.ref,
        "data": entry.data,
        "hash": entry.hash,
    }


@group.command()
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="The result as one JSON object.")] = False,
    project: ProjectOption = None,
) -> None:
    """Check the whole ledger; exit 1 naming the first bad entry when it was tampered with."""
    with opened(project) as (proj, store):
        result = ledger.verify(store, proj)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(result)))
    else:
        for line in result.notes:
            err_console.print(f"note: {line}", highlight=False, soft_wrap=True)
        if result.ok:
            console.print(str(result), highlight=False, soft_wrap=True)
        else:
            err_console.print(str(result), style="bold red", highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)


@group.command()
def checkpoint(project: ProjectOption = None) -> None:
    """Sign the ledger's head with the project key (table and .troth/ledger.head).

    Cheap and idempotent: run it from cron or after batch jobs, so that cutting off the
    ledger's tail is detected up to the newest checkpoint.
    """
    with opened(project) as (proj, store):
        point = ledger.checkpoint(store, proj)
    if point is None:
        console.print("the ledger is empty; nothing to sign")
    else:
        console.print(f"signed checkpoint at entry {point.seq}")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="audit")
