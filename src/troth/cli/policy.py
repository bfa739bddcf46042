"""`troth policy ...` commands."""

from __future__ import annotations

import typer

group = typer.Typer(help="policy commands.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="policy")
