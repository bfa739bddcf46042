"""Options and helpers shared by every command group."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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


def print_rows(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table where it fits the terminal; else one line per row, its first cell (an id)
    then `header: value`, wrapped by the terminal: an id or a status is never cut short
    (ids are copied from here into the next command)."""
    listed = list(rows)
    widths = [max([len(h), *(len(r[i]) for r in listed)]) for i, h in enumerate(headers)]
    if sum(widths) + 3 * len(headers) + 1 <= console.width:
        table = Table(*headers)
        for row in listed:
            table.add_row(*row)
        console.print(table)
        return
    for first, *rest in listed:
        named = (f"{h}: {v}" for h, v in zip(headers[1:], rest, strict=True) if v)
        console.print("  ".join((first, *named)), markup=False, highlight=False, soft_wrap=True)
