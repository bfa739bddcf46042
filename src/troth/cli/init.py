"""`troth init [DIR]`: make a project folder."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
