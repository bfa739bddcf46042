"""How each table is reached from each identity: the data map as a forest of paths.

A table is a root for an identity kind when it has a column of that kind; every
table with a link to a reached table hangs below it, and so does every table a
reached table `owns` a row of (users.address_id: the user's address). A table can appear more
than once (comments by the subject, and comments on the subject's stories), but
its own subtree is grown only the first time in each identity's tree (later
appearances are marked `repeated`), so cycles end and the tree stays as small
as the links.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from troth.datamap.model import DataMap, Link


@dataclass
class Node:
    """`table` reached by `column`: an identity column (roots) or a link column."""

    table: str
    column: str
    link: Link | None = None
    children: list[Node] = field(default_factory=list)
    repeated: bool = False  # its subtree is shown where the table first appears
    owned: bool = False  # reached the other way, through an `owns` link of the row above

    @property
    def owner(self) -> bool:
        if self.link is None:
            return True
        return self.link.owns if self.owned else self.link.owner


def identity_trees(datamap: DataMap) -> dict[str, list[Node]]:
    """For each identity kind, the tables that hold it and what hangs below them."""
    trees: dict[str, list[Node]] = {}
    for kind in datamap.identities:
        grown: set[str] = set()
        trees[kind] = [
            _grow(datamap, Node(key, table.identities[kind]), grown)
            for key, table in datamap.tables.items()
            if kind in table.identities
        ]
    return trees


def _grow(datamap: DataMap, node: Node, grown: set[str]) -> Node:
    below = datamap.links_to(node.table)
    if node.table in grown:
        node.repeated = bool(below)
        return node
    grown.add(node.table)
    node.children = [_grow(datamap, Node(key, link.column, link), grown) for key, link in below]
    node.children += [
        _grow(datamap, Node(*link.target(node.table), link, owned=True), grown)
        for link in datamap.tables[node.table].links
        if link.owns and link.target(node.table)[0] in datamap.tables
    ]
    return node


def reached_tables(datamap: DataMap) -> set[str]:
    """Every table some identity reaches."""
    found: set[str] = set()
    stack = [node for roots in identity_trees(datamap).values() for node in roots]
    while stack:
        node = stack.pop()
        found.add(node.table)
        stack.extend(node.children)
    return found
