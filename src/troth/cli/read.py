"""`troth read POLICY` (a policy's text into a draft troth.yaml, or its disagreements with
the declared policy and the data map) and `troth reader ...`."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from troth.cli.common import console
from troth.reader import read_document, read_policy, render_yaml, write_draft
from troth.reader.compare import Finding, compare
from troth.reader.corpus import load_corpus

if TYPE_CHECKING:
    from troth.reader.model import Model

reader = typer.Typer(
    help="Train and evaluate the policy reader's classifier.", no_args_is_help=True
)

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
    model: Annotated[
        Path | None,
        typer.Option(
            "--model", help="Label sections with this trained model, not the rules.", dir_okay=False
        ),
    ] = None,
) -> None:
    """Read a privacy policy's text into a draft troth.yaml; every value quotes its evidence.
    With --compare or --datamap, list the disagreements instead (exit 1 if there are any).

    Example: troth read policy.txt --out draft.yaml
    """
    if against is not None or datamap is not None:
        findings = compare(read_document(policy), policy.name, against, datamap)
        show(findings, as_json)
        raise typer.Exit(1 if findings else 0)
    found = read_policy(policy, load_model(model) if model else None)
    if out is None:
        beside = "the .evidence.json file that --out writes beside the draft"
        typer.echo(render_yaml(found, policy.name, beside), nl=False)
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


CorpusDir = Annotated[
    Path, typer.Argument(help="A folder in OPP-115's layout.", file_okay=False, exists=True)
]


@reader.command("train")
def train_command(
    corpus: CorpusDir,
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the model here.")],
) -> None:
    """Train the segment classifier on a corpus in OPP-115's layout.

    Example: troth reader train ../shared/opp115 --out /tmp/reader.model
    """
    from troth.reader import model as trained  # scikit-learn loads only for these commands

    segments = load_corpus(corpus)
    started = time.perf_counter()
    trained.save(trained.train(segments), out)
    policies = len({s.policy for s in segments})
    took = time.perf_counter() - started
    typer.echo(f"trained on {len(segments)} segments of {policies} policies in {took:.1f} s")
    typer.echo(f"wrote {out}", err=True)


@reader.command("eval")
def eval_command(
    corpus: CorpusDir,
    model: Annotated[
        Path | None, typer.Option("--model", help="Score this model (default: the rules).")
    ] = None,
    folds: Annotated[
        int,
        typer.Option(
            "--folds", help="Instead, train and score K models on K folds split by policy.", min=0
        ),
    ] = 0,
) -> None:
    """Segment-level F1 per category against the annotators' majority (2 of 3).

    Example: troth reader eval ../shared/opp115 --model /tmp/reader.model
    """
    from troth.reader import crossval

    segments = load_corpus(corpus)
    if folds >= 2:
        scores = crossval.cross_validate(segments, folds)
    else:
        predict = crossval.with_model(load_model(model)) if model else crossval.rules
        scores = crossval.evaluate(segments, predict)
    table = Table("category", "F1", "segments")
    for label, value in scores.per_label.items():
        table.add_row(label, f"{value:.3f}", str(scores.support[label]))
    table.add_row("macro-F1", f"{scores.macro:.3f}", "")
    table.add_row("micro-F1", f"{scores.micro:.3f}", str(len(segments)))
    console.print(table)


def load_model(path: Path) -> Model:
    from troth.reader.model import load

    return load(path)


def register(app: typer.Typer) -> None:
    app.command("read")(read)
    app.add_typer(reader, name="reader")
