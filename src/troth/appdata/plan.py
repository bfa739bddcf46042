"""What a request will do, table by table, computed from the data map graph."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from troth.appdata.guard import Refusal
from troth.appdata.reach import Found, Key, Row, table_order
from troth.appdata.rowsets import RowSet
from troth.datamap.model import ColumnErase, DataMap, TableErase


@dataclass(frozen=True)
class TableStep:
    """One table a request touches: the action, how many rows, and why."""

    store: str
    table: str
    action: str
    rows: int
    detail: str = ""


@dataclass
class Plan:
    request_id: str
    kind: str
    steps: list[TableStep] = field(default_factory=list)
    blobs: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)  # the guard's findings
    refused: bool = False  # the guard would refuse to run it


@dataclass
class Erasure:
    """Keys per table and action, predicates and counts for the leaf tables (`sets`), and
    blob paths per blob store: what erasure will change."""

    delete: dict[str, list[Key]] = field(default_factory=dict)
    update: dict[str, list[Key]] = field(default_factory=dict)
    keep: dict[str, list[Key]] = field(default_factory=dict)
    shared: dict[str, int] = field(default_factory=dict)  # of `keep`: rows others own too
    blobs: dict[str, set[str]] = field(default_factory=dict)
    sets: dict[str, RowSet] = field(default_factory=dict)


def erasure_of(datamap: DataMap, found: Mapping[str, Found]) -> Erasure:
    """Owned rows get their table's (or link's) action; dependent rows go with their parent."""
    out = Erasure()
    deleted: dict[tuple[str, str], set[Any]] = {}
    pointed_at = linked_columns(datamap)
    for key in table_order(datamap):
        if key not in found:
            continue
        part = found[key]
        for row_key, row in part.rows.items():
            action = row_action(row, deleted)
            if action is None:
                continue
            {"delete": out.delete, "update": out.update, "keep": out.keep}[action].setdefault(
                key, []
            ).append(row_key)
            if action != TableErase.keep:
                collect_blobs(out, part, row, action)
            elif row.owner and row.shared:
                out.shared[key] = out.shared.get(key, 0) + 1
        rows_gone = [part.rows[k] for k in out.delete.get(key, [])]
        for column in pointed_at.get(key, ()):
            deleted[(key, column)] = {r.values[column] for r in rows_gone}
    return out


def linked_columns(datamap: DataMap) -> dict[str, set[str]]:
    """Per table, its columns that some link points to (one pass over the links)."""
    out: dict[str, set[str]] = {}
    for child, spec in datamap.tables.items():
        for link in spec.links:
            table, column = link.target(child)
            out.setdefault(table, set()).add(column)
    return out


def row_action(row: Row, deleted: Mapping[tuple[str, str], set[Any]]) -> TableErase | None:
    if row.owner:
        return TableErase.keep if row.shared else row.erase
    gone = any(value in deleted.get((table, column), ()) for table, column, value in row.parents)
    return TableErase.delete if gone else None


def recollect_blobs(erasure: Erasure, found: Mapping[str, Found]) -> None:
    """Recompute `erasure.blobs` from the rows it still deletes or updates (after some
    were moved to what it keeps)."""
    erasure.blobs = {}
    for action, per_table in (
        (TableErase.delete, erasure.delete),
        (TableErase.update, erasure.update),
    ):
        for key, keys in per_table.items():
            for row_key in keys:
                collect_blobs(erasure, found[key], found[key].rows[row_key], action)


def collect_blobs(out: Erasure, part: Found, row: Row, action: TableErase) -> None:
    for name, column in part.spec.columns.items():
        if column.blob is None or not row.values.get(name):
            continue
        if action == TableErase.delete or column.erase != ColumnErase.keep:
            out.blobs.setdefault(column.blob, set()).add(str(row.values[name]))


def erasure_steps(datamap: DataMap, erasure: Erasure) -> list[TableStep]:
    steps = []
    for key in table_order(datamap):
        spec = datamap.tables[key]
        store = datamap.store_of(key)
        counted = erasure.sets[key].counts if key in erasure.sets else {}
        rows = {a: len(getattr(erasure, a).get(key, [])) + counted.get(a, 0) for a in ACTIONS}
        if rows["update"]:
            changed = [f"{c}: {col.erase.value}" for c, col in spec.columns.items() if col.erase]
            changed = [c for c in changed if not c.endswith(": keep")]
            steps.append(TableStep(store, key, "update", rows["update"], ", ".join(changed)))
        if rows["delete"]:
            steps.append(TableStep(store, key, "delete", rows["delete"]))
        shared = erasure.shared.get(key, 0)
        if rows["keep"] > shared:
            steps.append(TableStep(store, key, "keep", rows["keep"] - shared, spec.reason or ""))
        if shared:
            steps.append(TableStep(store, key, "keep", shared, SHARED))
    return steps


SHARED = "other people's rows refer to these rows too"


ACTIONS = ("update", "delete", "keep")


def read_steps(datamap: DataMap, found: Mapping[str, Found]) -> list[TableStep]:
    steps = []
    for key in table_order(datamap):
        owned = found[key].owned() if key in found else []
        if owned:
            steps.append(TableStep(datamap.store_of(key), key, "read", len(owned)))
    return steps


def blob_counts(found: Mapping[str, Found]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in found.values():
        for row in part.owned():
            for name, column in part.spec.columns.items():
                if column.blob is not None and row.values.get(name):
                    counts[column.blob] = counts.get(column.blob, 0) + 1
    return counts
