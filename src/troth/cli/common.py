"""Options and helpers shared by every command group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from troth.project import Project, open_project

console = Console()
err_console = Console(stderr=True)

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="Project folder (default: $TROTH_PROJECT, else the current folder).",
        file_okay=False,
    ),
]


def project_from(path: Path | None) -> Project:
    return open_project(path)
