"""`troth datamap ...` commands: validate, graph, export-fides, import-fides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.tree import Tree

from troth.cli.common import ProjectOption, console, err_console, project_from
from troth.datamap import load_datamap
from troth.datamap.dump import dump_datamap, to_yaml
from troth.datamap.fides import read_fides, to_fides
from troth.datamap.graph import Node, identity_trees
from troth.datamap.validate import add_indexes, validate
from troth.errors import Problem, TrothError
from troth.policy import load_policy

group = typer.Typer(help="Check and convert the data map (datamap.yaml).", no_args_is_help=True)


@group.command("validate")
def validate_command(
    project_dir: ProjectOption = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Check this database URL instead of the SQL store's.")
    ] = None,
    add_missing_indexes: Annotated[
        bool,
        typer.Option(
            "--add-indexes", help="Create the indexes that identity and link look-ups need."
        ),
    ] = False,
) -> None:
    """Check datamap.yaml against troth.yaml, the taxonomy and the live database."""
    project = project_from(project_dir)
    datamap = load_datamap(project)
    policy = load_policy(project.policy_path) if project.policy_path.exists() else None
    findings = validate(project, datamap, policy, db_url=db)
    if add_missing_indexes:
        for statement in add_indexes(project, datamap, findings, db_url=db):
            console.print(f"added: {statement}", highlight=False, soft_wrap=True)
        findings = validate(project, datamap, policy, db_url=db)
    for finding in findings:
        style = "red" if finding.severity == "error" else "yellow"
        err_console.print(
            f"[{style}]{finding.severity}:[/] {Problem.__str__(finding)}",
            highlight=False,
            soft_wrap=True,
        )
    errors = sum(f.severity == "error" for f in findings)
    console.print(f"{errors} errors, {len(findings) - errors} warnings")
    if errors:
        raise typer.Exit(1)


@group.command("graph")
def graph_command(project_dir: ProjectOption = None) -> None:
    """Show how each table is reached from each identity, with the link columns."""
    datamap = load_datamap(project_from(project_dir))
    for kind, roots in identity_trees(datamap).items():
        tree = Tree(f"[bold]{kind}[/] (normalize {datamap.identities[kind].normalize.value})")
        for root in roots:
            _add(tree, root, None)
        if not roots:
            tree.add("[dim]no table holds this identity[/]")
        console.print(tree)


def _add(parent: Tree, node: Node, above: Node | None) -> None:
    label = f"[bold]{node.table}[/] by {node.column}"
    if above is not None and node.link is not None and node.owned:
        label = f"[bold]{node.table}[/] by {node.column} ← {above.table}.{node.link.column} (owns)"
    elif above is not None and node.link is not None:
        label += f" → {above.table}.{node.link.target(node.table)[1]}"
        if not node.owner and above.owned:
            label += f" [dim](someone else's rows: {above.table} is kept while they refer to it)[/]"
        elif not node.owner:
            label += " [dim](not the subject's rows: they go with their parent)[/]"
    if node.repeated:
        label += " [dim](see above)[/]"
    branch = parent.add(label)
    for child in node.children:
        _add(branch, child, node)


@group.command("export-fides")
def export_fides_command(
    file: Annotated[Path, typer.Argument(help="Fides dataset YAML file to write.", dir_okay=False)],
    project_dir: ProjectOption = None,
) -> None:
    """Write datamap.yaml as a Fides dataset manifest (troth-only fields under meta.troth)."""
    datamap = load_datamap(project_from(project_dir))
    file.write_text(to_yaml(to_fides(datamap)))
    console.print(f"Wrote {len(datamap.sql_stores())} Fides dataset(s) to {file}")


@group.command("import-fides")
def import_fides_command(
    file: Annotated[Path, typer.Argument(help="Fides dataset YAML file to read.", dir_okay=False)],
    project_dir: ProjectOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Where to write (default: the project's datamap.yaml).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Make datamap.yaml from a Fides dataset manifest; reports what troth did not keep."""
    target = out or project_from(project_dir).datamap_path
    if target.exists() and not force:
        raise TrothError(f"{target} exists; use --force to overwrite it")
    imported = read_fides(file)
    for note in imported.notes:
        err_console.print(f"[yellow]not kept:[/] {note}", highlight=False, soft_wrap=True)
    target.write_text(dump_datamap(imported.datamap, f"# imported from {file.name}\n"))
    console.print(f"Wrote {len(imported.datamap.tables)} tables to {target}")


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="datamap")
