"""`troth init [DIR]`: make a project folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from troth.cli.common import console
from troth.project import init_project
from troth.store import open_store


def init(
    directory: Annotated[Path, typer.Argument(help="Project folder to create.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite existing starter files.")] = False,
) -> None:
    """Make a project folder: troth.yaml, datamap.yaml, troth.toml and the engine store."""
    project = init_project(directory, force=force)
    store = open_store(project.store_url)
    store.dispose()
    console.print(f"Created a troth project in [bold]{project.root}[/]:")
    for name in ("troth.yaml", "datamap.yaml", "troth.toml", ".troth/"):
        console.print(f"  {name}")
    console.print("Next: edit troth.yaml, then [bold]troth policy validate troth.yaml[/].")


def register(app: typer.Typer) -> None:
    app.command()(init)
