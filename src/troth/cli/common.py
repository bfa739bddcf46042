"""Options and helpers shared by every command group."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from troth.project import Project, open_project
from troth.store import Store, open_store

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


@contextmanager
def opened(path: Path | None) -> Iterator[tuple[Project, Store]]:
    """The project at `path` and its engine store, disposed of on the way out."""
    project = project_from(path)
    store = open_store(project.store_url)
    try:
        yield project, store
    finally:
        store.dispose()
