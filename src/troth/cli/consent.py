"""`troth consent ...` commands."""

from __future__ import annotations

import typer

group = typer.Typer(help="consent commands.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="consent")
