"""`troth refapp ...` commands: the reference app the demo, tests and benchmarks run on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from troth.cli.common import ProjectOption, console
from troth.refapp import generate as generate_refapp
from troth.vault import open_vault

group = typer.Typer(
    help="The reference app: generate its database and blobs.", no_args_is_help=True
)


@group.command("generate")
def generate(
    users: Annotated[int, typer.Option("--users", "-n", min=1, help="Number of user accounts.")],
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar="REFAPP_DB_URL",
            help="SQLAlchemy URL of the app database (sqlite, postgresql or mariadb).",
        ),
    ],
    blobs: Annotated[
        Path | None,
        typer.Option(
            "--blobs",
            envvar="REFAPP_BLOBS",
            file_okay=False,
            help="Folder for avatar, story and cover files (default: none written).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Same seed and --as-of day, same data.")] = 0,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Reference day (default: today)."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop existing reference-app tables and blobs first.")
    ] = False,
    vault: Annotated[
        bool,
        typer.Option(
            "--vault",
            help="Seal messages.body and users.date_of_birth with the project's vault.",
        ),
    ] = False,
    big_subjects: Annotated[
        int,
        typer.Option(
            "--big-subjects",
            min=0,
            help="Give this many active users a million rows each (messages and web visits).",
        ),
    ] = 0,
    project: ProjectOption = None,
) -> None:
    """Create the reference-app tables and fill them with realistic fake data."""
    sealer = open_vault(project) if vault else None
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("generating", total=None)
        stats = generate_refapp(
            db,
            users=users,
            blobs_dir=blobs,
            seed=seed,
            replace=replace,
            as_of=as_of.date() if as_of else None,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            vault=sealer,
            big_subjects=big_subjects,
        )
    if sealer is not None:
        sealer.store.dispose()
    table = Table("table", "rows", title=f"reference app: {stats.users:,} users")
    for name, count in stats.rows.items():
        table.add_row(name, f"{count:,}")
    table.add_row("[bold]total", f"[bold]{stats.total_rows:,}")
    console.print(table)
    rate = stats.total_rows / stats.seconds if stats.seconds else 0.0
    console.print(
        f"{stats.total_rows:,} rows and {stats.blobs:,} blob files "
        f"in {stats.seconds:.1f} s ({rate:,.0f} rows/s)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="refapp")
