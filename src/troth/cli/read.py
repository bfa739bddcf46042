"""`troth read POLICY` (a policy's text into a draft troth.yaml, or its disagreements with
the declared policy and the data map) and `troth reader ...`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from troth.reader import read_document, read_policy, render_yaml, write_draft
from troth.reader.compare import Finding, compare

PolicyText = Annotated[
    Path, typer.Argument(help="The policy's text: .txt, .md or .html.", dir_okay=False)
]


def read(
    policy: PolicyText,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the draft here (and its evidence beside it)."),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--compare", help="Report where the text and this troth.yaml disagree.", dir_okay=False
        ),
    ] = None,
    datamap: Annotated[
        Path | None,
        typer.Option("--datamap", help="Also compare with this datamap.yaml.", dir_okay=False),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Findings as one JSON list.")] = False,
) -> None:
    """Read a privacy policy's text into a draft troth.yaml; every value quotes its evidence.
    With --compare or --datamap, list the disagreements instead (exit 1 if there are any).

    Example: troth read policy.txt --out draft.yaml
    """
    if against is not None or datamap is not None:
        findings = compare(read_document(policy), policy.name, against, datamap)
        show(findings, as_json)
        raise typer.Exit(1 if findings else 0)
    found = read_policy(policy)
    if out is None:
        typer.echo(render_yaml(found, policy.name, "--out FILE.evidence.json"), nl=False)
        return
    sidecar = write_draft(found, out, policy.name)
    typer.echo(f"wrote {out} ({len(found.evidence)} values with evidence in {sidecar})", err=True)


def show(findings: list[Finding], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([asdict(f) for f in findings], indent=2))
        return
    for finding in findings:
        typer.echo(f"{finding.kind}: {finding.message}")
        for quote in (finding.one, finding.other):
            typer.echo(f"    {quote.where}: {quote.text}")
    count = len(findings)
    typer.echo(f"{count} finding{'s' if count != 1 else ''}" if count else "no findings", err=True)


def register(app: typer.Typer) -> None:
    app.command("read")(read)
