"""`troth serve` and `troth demo`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
