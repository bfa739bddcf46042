"""`troth datamap ...` commands."""

from __future__ import annotations

import typer

group = typer.Typer(help="datamap commands.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="datamap")
