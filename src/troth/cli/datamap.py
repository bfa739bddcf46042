"""`troth datamap ...` commands: validate, graph, export-fides, import-fides."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.tree import Tree

from troth.cli.common import ProjectOption, console, err_console, project_from
from troth.datamap import load_datamap
from troth.datamap.graph import Node, identity_trees
from troth.datamap.validate import validate
from troth.errors import Problem
from troth.policy import load_policy

group = typer.Typer(help="Check and convert the data map (datamap.yaml).", no_args_is_help=True)


@group.command("validate")
def validate_command(
    project_dir: ProjectOption = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Check this database URL instead of the SQL store's.")
    ] = None,
) -> None:
    """Check datamap.yaml against troth.yaml, the taxonomy and the live database."""
    project = project_from(project_dir)
    datamap = load_datamap(project)
    policy = load_policy(project.policy_path) if project.policy_path.exists() else None
    findings = validate(project, datamap, policy, db_url=db)
    for finding in findings:
        style = "red" if finding.severity == "error" else "yellow"
        err_console.print(
            f"[{style}]{finding.severity}:[/] {Problem.__str__(finding)}", highlight=False
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
    if above is not None and node.link is not None:
        label += f" → {above.table}.{node.link.target(node.table)[1]}"
        if not node.owner:
            label += " [dim](not the subject's rows: they go with their parent)[/]"
    branch = parent.add(label)
    for child in node.children:
        _add(branch, child, node)


def register(app: typer.Typer) -> None:
    app.add_typer(group, name="datamap")
