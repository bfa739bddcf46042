"""`troth check`: every promise of troth.yaml, what keeps it and the evidence; exit 1 when
a promise has no mechanism or its evidence is stale."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from troth.appdata import load_context
from troth.check import Promise, Report, Status, check_project
from troth.cli.common import ProjectOption, console, opened

MARK = {
    Status.kept: "[green]kept[/]",
    Status.broken: "[bold red]BROKEN[/]",
    Status.stale: "[bold yellow]STALE[/]",
    Status.attested: "[dim]attested[/]",
}


def check_command(
    as_json: Annotated[bool, typer.Option("--json", help="The report as one JSON object.")] = False,
    project: ProjectOption = None,
) -> None:
    """Every promise of troth.yaml and what keeps it; exit 1 when one is broken or stale."""
    with opened(project) as (proj, store):
        report = check_project(load_context(proj), store)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        print_report(report)
    if report.failing:
        raise typer.Exit(1)


def print_report(report: Report) -> None:
    for promise in report.promises:
        print_promise(promise)
    counts = ", ".join(f"{n} {status}" for status, n in report.counts().items() if n)
    console.print(f"{len(report.promises)} promises: {counts}", highlight=False)


def print_promise(promise: Promise) -> None:
    console.print(f"{MARK[promise.status]} {promise.key}: {promise.promise}", highlight=False)
    for label, value in (
        ("kept by", promise.mechanism),
        ("evidence", promise.evidence),
        ("problem", promise.problem),
    ):
        if value:
            console.print(f"    {label}: {value}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
