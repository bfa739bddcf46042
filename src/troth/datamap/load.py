"""Loading datamap.yaml: schema validation, then checks that cross keys.

Store URLs and paths are kept as written (`${VAR}` and all): they are expanded
only when a store is opened (`troth.datamap.stores`), so that a data map can be
read, graphed and exported without the app's secrets in the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from troth.datamap.model import BlobStore, DataMap, SqlStore, TableErase
from troth.errors import InvalidInput, Problem
from troth.project import Project
from troth.yamlfile import format_path, line_of, load_model

Loc = tuple[str | int, ...]


def load_datamap(project: Project, path: Path | str | None = None) -> DataMap:
    """Load and check the project's datamap.yaml (or `path`); raises InvalidInput."""
    file = Path(path) if path is not None else project.datamap_path
    datamap, document = load_model(file, DataMap)
    check_datamap(datamap, document, str(file))
    datamap.use_secret(lambda: project.secret_key)
    return datamap


def check_datamap(datamap: DataMap, document: Any, name: str) -> None:
    """Raise InvalidInput for every reference in the map that points nowhere."""
    problems = [
        Problem(name, line_of(document, loc), format_path(loc), message)
        for loc, message in cross_problems(datamap)
    ]
    if problems:
        raise InvalidInput(problems)


def cross_problems(datamap: DataMap) -> Iterator[tuple[Loc, str]]:
    for key, table in datamap.tables.items():
        at: Loc = ("tables", key)
        store = datamap.stores.get(datamap.store_of(key))
        if store is None:
            yield at, f"store {datamap.store_of(key)!r} is not declared in stores"
        elif not isinstance(store, SqlStore):
            yield at, f"store {datamap.store_of(key)!r} is a blob store, not an SQL store"
        for kind in table.identities:
            if kind not in datamap.identities:
                yield (*at, "identities", kind), f"identity {kind!r} is not declared in identities"
        for i, link in enumerate(table.links):
            target, _column = link.target(key)
            if target not in datamap.tables:
                yield (*at, "links", i, "to"), f"table {target!r} is not in the data map"
            elif target == key and link.owner:
                yield (
                    (*at, "links", i, "owner"),
                    "a link to its own table is never ownership (a manager, a parent comment, "
                    "an inviter is another person's row): write owner: false",
                )
        if table.aliases and (not table.identities or len(datamap.alias_links(key)) != 1):
            yield (
                (*at, "aliases"),
                (
                    "aliases: true needs identities and exactly one owner: true link to an account "
                    "table (the account whose own e-mail addresses or phones these rows hold)"
                ),
            )
        for column, spec in table.columns.items():
            if spec.blob is not None and not isinstance(datamap.stores.get(spec.blob), BlobStore):
                yield (*at, "columns", column, "blob"), f"{spec.blob!r} is not a blob store"
            if (
                table.erase == TableErase.update
                and spec.categories
                and spec.erase == "keep"
                and not spec.reason
            ):
                yield (
                    (*at, "columns", column),
                    "personal data kept when the row is erased needs a `reason`",
                )
