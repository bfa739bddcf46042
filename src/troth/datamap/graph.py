"""How each table is reached from each identity: the data map as a forest of paths.

A table is a root for an identity kind when it has a column of that kind; every
table with a link to a reached table hangs below it. A table can appear more
than once (comments by the subject, and comments on the subject's stories),
but never twice on the same path, so cycles in the links end.
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

    @property
    def owner(self) -> bool:
        return self.link is None or self.link.owner


def identity_trees(datamap: DataMap) -> dict[str, list[Node]]:
    """For each identity kind, the tables that hold it and what hangs below them."""
    return {
        kind: [
            _grow(datamap, Node(key, table.identities[kind]), (key,))
            for key, table in datamap.tables.items()
            if kind in table.identities
        ]
        for kind in datamap.identities
    }


def _grow(datamap: DataMap, node: Node, path: tuple[str, ...]) -> Node:
    for key, table in datamap.tables.items():
        if key in path:
            continue
        for link in table.links:
            if link.target(key)[0] == node.table:
                child = Node(key, link.column, link)
                node.children.append(_grow(datamap, child, (*path, key)))
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
