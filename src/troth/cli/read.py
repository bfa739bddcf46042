"""`troth read POLICY` (a policy's text into a draft troth.yaml) and `troth reader ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from troth.reader import read_policy, render_yaml, write_draft

PolicyText = Annotated[
    Path, typer.Argument(help="The policy's text: .txt, .md or .html.", dir_okay=False)
]


def read(
    policy: PolicyText,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the draft here (and its evidence beside it)."),
    ] = None,
) -> None:
    """Read a privacy policy's text into a draft troth.yaml; every value quotes its evidence.

    Example: troth read policy.txt --out draft.yaml
    """
    found = read_policy(policy)
    if out is None:
        typer.echo(render_yaml(found, policy.name, "--out FILE.evidence.json"), nl=False)
        return
    sidecar = write_draft(found, out, policy.name)
    typer.echo(f"wrote {out} ({len(found.evidence)} values with evidence in {sidecar})", err=True)


def register(app: typer.Typer) -> None:
    app.command("read")(read)
