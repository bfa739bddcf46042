"""`troth vault ...`: the key-encryption keys and the data keys they wrap."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from troth import vault
from troth.cli.common import ProjectOption, console, opened

group = typer.Typer(help="Field encryption: KEKs, data keys, rotation.", no_args_is_help=True)


@group.command()
def status(project: ProjectOption = None) -> None:
    """Show the KEKs the provider holds and how many data keys each wraps.

    Example: troth vault status
    """
    with opened(project) as (proj, store):
        found = vault.status(vault.Vault(proj, store))
    if not found.current:
        console.print("no key-encryption key yet: the first sealed value makes one")
        return
    console.print(f"key-encryption keys from {found.provider}", highlight=False)
    table = Table("KEK", "data keys", "state")
    for kek_id, retired in found.keks or [(found.current, None)]:
        state = "current" if kek_id == found.current else f"retired {retired or '(pending)'}"
        table.add_row(kek_id, f"{found.usage.get(kek_id, 0):,}", state)
    for kek_id in sorted(set(found.usage) - {k for k, _ in found.keks} - {found.current}):
        table.add_row(kek_id, f"{found.usage[kek_id]:,}", "[bold red]missing")
    console.print(table)
    console.print(f"{sum(found.usage.values()):,} data keys, {found.shredded:,} shredded")


@group.command()
def rotate(
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Data keys re-wrapped per transaction.")
    ] = 500,
    project: ProjectOption = None,
) -> None:
    """Re-wrap every data key under a new KEK (or finish an interrupted rotation).

    Example: troth vault rotate
    """
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with (
        opened(project) as (proj, store),
        Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar,
    ):
        task = bar.add_task("re-wrapping", total=None)
        done = vault.rotate(
            vault.Vault(proj, store),
            batch=batch,
            progress=lambda n, total: bar.update(task, completed=n, total=total),
            actor="cli",
        )
    how = "new KEK" if done.new_kek else "KEK"
    console.print(f"{done.rewrapped:,} data keys re-wrapped under {how} {done.kek_id}")
    if done.retired:
        console.print(f"retired: {', '.join(done.retired)} (troth vault prune deletes them)")


@group.command()
def prune(
    keep_days: Annotated[
        int, typer.Option("--keep-days", min=0, help="Keep retired KEKs this many days.")
    ] = 30,
    project: ProjectOption = None,
) -> None:
    """Delete retired KEKs older than the window: key-store backups from before are dead.

    Example: troth vault prune --keep-days 30
    """
    with opened(project) as (proj, store):
        gone = vault.prune(vault.Vault(proj, store), keep_days=keep_days)
    console.print(f"deleted KEKs: {', '.join(gone)}" if gone else "no retired KEK is due")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="vault")
