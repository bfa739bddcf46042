"""`troth scan URL`: propose a datamap.yaml from a live database."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
