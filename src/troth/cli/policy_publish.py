"""`troth policy publish FILE`: record a new policy version (see troth.consent)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
