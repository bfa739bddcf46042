"""`troth policy ...` commands: validate, render, diff, lint."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from troth.cli.common import ProjectOption, project_from
from troth.errors import InvalidInput
from troth.policy import load_policy
from troth.policy.diff import diff
from troth.policy.lint import LAWS, lint
from troth.policy.model import Policy
from troth.policy.render import render

group = typer.Typer(help="policy commands.", no_args_is_help=True)

PolicyFile = Annotated[
    Path | None,
    typer.Argument(help="A troth.yaml file (default: the project's).", dir_okay=False),
]


class Format(StrEnum):
    md = "md"
    html = "html"


class Law(StrEnum):
    gdpr = "gdpr"
    ccpa = "ccpa"


def policy_path(file: Path | None, project: Path | None) -> Path:
    return file if file is not None else project_from(project).policy_path


def load(path: Path) -> Policy:
    """The policy at `path`, or every problem on stderr and exit code 2."""
    try:
        return load_policy(path)
    except InvalidInput as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        count = len(exc.problems)
        typer.echo(f"{count} problem{'s' if count != 1 else ''}; nothing was changed.", err=True)
        raise typer.Exit(exc.exit_code) from None


@group.command()
def validate(file: PolicyFile = None, project: ProjectOption = None) -> None:
    """Check a troth.yaml; exit 0 when valid, 2 listing every problem."""
    file = policy_path(file, project)
    policy = load(file)
    typer.echo(
        f"{file}: valid ({len(policy.purposes)} purposes, {len(policy.recipients)} recipients, "
        f"{len(policy.retention)} retention rules, {len(policy.rights.offered)} rights)"
    )


@group.command("render")
def render_command(
    file: PolicyFile = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="md or html.")] = Format.md,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Render the notice a reader sees, as Markdown or HTML."""
    text = render(load(policy_path(file, project)), "html" if fmt == Format.html else "md")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)


@group.command("diff")
def diff_command(
    old: Annotated[Path, typer.Argument(help="The earlier troth.yaml.", dir_okay=False)],
    new: Annotated[Path, typer.Argument(help="The later troth.yaml.", dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list of changes.")] = False,
) -> None:
    """What changed between two versions, in words; marks material and re-consent changes."""
    changes = diff(load(old), load(new))
    if as_json:
        typer.echo(json.dumps([asdict(c) for c in changes], indent=2))
        return
    for change in changes:
        flags = [
            f
            for f, on in (("material", change.material), ("re-consent", change.needs_reconsent))
            if on
        ]
        typer.echo(f"- {change.message}" + (f"  [{', '.join(flags)}]" if flags else ""))
    if not changes:
        typer.echo("no changes")


@group.command("lint")
def lint_command(
    file: PolicyFile = None,
    law: Annotated[
        list[Law] | None, typer.Option("--law", help="Check only this law (repeatable).")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """What GDPR Art. 13/14 and the CCPA require a notice to say and this one does not."""
    laws = tuple(x.value for x in law) if law else LAWS
    findings = lint(load(policy_path(file, project)), laws)
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        typer.echo(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}", err=True)
        raise typer.Exit(1)
    typer.echo("no findings")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="policy")
