"""`troth scan URL`: propose a datamap.yaml from a live database."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from troth.cli.common import err_console
from troth.datamap.scan import DEFAULT_SAMPLE, scan
from troth.errors import TrothError

HEADER = """\
# Proposed by `troth scan` ({tables} tables, {annotated} of {columns} columns annotated).
# Review before use: every table is erased by `delete`; set `erase`, `reason`, `blob:`
# stores and `deactivate` where the app needs them, then run `troth datamap validate`.
# A link is `owner: true` only where its comment says why; comments marked `review`
# ({review}) need a decision.
# Each comment gives the confidence and the rule that fired; sampled values are never
# written here.
"""


def scan_command(
    url: Annotated[
        str, typer.Argument(help="SQLAlchemy URL to reflect; ${VAR} and ${VAR:-default} expand.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of to stdout.")
    ] = None,
    sample: Annotated[
        int, typer.Option(help="Rows sampled per table (read-only, LIMIT).")
    ] = DEFAULT_SAMPLE,
    store: Annotated[str, typer.Option(help="Name of the SQL store in the proposal.")] = "app",
    force: Annotated[bool, typer.Option(help="Overwrite an existing --out file.")] = False,
) -> None:
    """Reflect a live database and propose a datamap.yaml with confidences and evidence."""
    if out is not None and out.exists() and not force:
        raise TrothError(f"{out} exists; use --force to overwrite it")
    proposal = scan(url, sample=sample, store=store)
    tables = len(proposal.datamap.tables)
    text = proposal.to_yaml(
        HEADER.format(
            tables=tables,
            annotated=proposal.annotated,
            columns=proposal.columns,
            review=proposal.to_review,
        )
    )
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
    err_console.print(
        f"{tables} tables, {proposal.annotated} of {proposal.columns} columns annotated; "
        f"links: {proposal.owner_links} owner: true, {proposal.other_links} owner: false; "
        f"{proposal.to_review} to review" + (f"; wrote {out}" if out else "")
    )


def register(app: typer.Typer) -> None:
    app.command("scan")(scan_command)
