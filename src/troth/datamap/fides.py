"""Fides dataset YAML in and out: one Fides dataset per SQL store, one collection per table.

What both can say travels as Fides itself says it: data categories, identities
(`fides_meta.identity`), links (`fides_meta.references` with `direction: from`,
the referenced field's value finds this row), primary keys, identity data
types, row deletion (collection `masking_strategy_override: delete`) and field
erasure (`null_rewrite`, `string_rewrite` with `rewrite_value`, `hmac`).

What only troth can say rides in the dataset's free-form `meta` under the
`troth` key (Fides keeps `meta` as it is): the store URL, blob stores, identity
normalization, table erase `update`/`keep` with its reason, deactivation, the
account flag, link ownership (always written) and overrides, and per-column
reason, blob store, provided and rectify flags. Importing a Fides dataset
without that key gives troth's defaults (a link whose ownership is not stated
is `owner: false`, with a note), and every Fides feature troth cannot use is
reported, not silently dropped. Link order and composite key order follow the field order (Fides
sorts fields by name); a composite key's order is kept in `meta.troth`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fideslang.models import Dataset
from pydantic import BaseModel, Field, ValidationError

from troth.datamap.load import check_datamap
from troth.datamap.model import (
    Anonymize,
    BlobStore,
    Column,
    ColumnErase,
    DataMap,
    Deactivate,
    Identity,
    Link,
    Name,
    Normalize,
    SqlStore,
    Strict,
    Table,
    TableErase,
    TableKey,
)
from troth.errors import InvalidInput, Problem
from troth.yamlfile import format_path, read_yaml, validation_problems

EXTENSION = "troth"
FIELD_STRATEGY = {
    ColumnErase.null: "null_rewrite",
    ColumnErase.mask: "string_rewrite",
    ColumnErase.hash: "hmac",
}
COLUMN_ONLY = {"reason", "blob", "provided", "rectify", "anonymize"} | {
    "encrypted",
    "subject",
    "blind_index",
}
RETENTION = ("created_at", "last_activity", "deleted_at", "deleted_when", "sweeps")


class LinkExtra(Strict):
    owner: bool | None = None  # always written by export; missing: owner: false and a note
    owns: bool = False
    erase: TableErase | None = None
    reason: str | None = None


class ColumnExtra(Strict):
    reason: str | None = None
    blob: Name | None = None
    provided: bool = True
    rectify: bool = False
    anonymize: Anonymize | None = None
    encrypted: bool = False
    subject: str | None = None
    blind_index: bool = False
    erase: Literal[ColumnErase.shred] | None = None  # Fides has no crypto-shredding


class TableExtra(Strict):
    erase: TableErase | None = None
    reason: str | None = None
    account: bool | None = None
    aliases: bool = False
    deactivate: Deactivate | None = None
    primary_key: list[Name] | None = None
    links: dict[str, LinkExtra] = Field(default_factory=dict)  # "column -> store.table.column"
    columns: dict[str, ColumnExtra] = Field(default_factory=dict)
    not_in_columns: list[str] = Field(default_factory=list)
    created_at: str | None = None
    last_activity: str | None = None
    deleted_at: str | None = None
    deleted_when: dict[str, str | int] | None = None
    sweeps: list[str] | None = None


class Extension(Strict):
    """What a Fides dataset carries for troth in `meta.troth`."""

    store: SqlStore | None = None
    identities: dict[Name, Identity] = Field(default_factory=dict)
    blob_stores: dict[Name, BlobStore] = Field(default_factory=dict)
    collections: dict[str, TableExtra] = Field(default_factory=dict)


def extension_of(dataset: dict[str, Any]) -> Extension:
    return Extension.model_validate(_extension_node(dataset) or {})


def _extension_node(dataset: dict[str, Any]) -> Any:
    meta = dataset.get("meta")
    return meta.get(EXTENSION) if isinstance(meta, dict) else None


# ---- export -------------------------------------------------------------------------------


def to_fides(datamap: DataMap) -> dict[str, Any]:
    """The data map as a Fides manifest (`dataset: [...]`), checked with fideslang."""
    datasets = [_dataset(datamap, name, store) for name, store in datamap.sql_stores().items()]
    for dataset in datasets:
        Dataset.model_validate(dataset)
    return {"dataset": datasets}


def _dataset(datamap: DataMap, name: str, store: SqlStore) -> dict[str, Any]:
    tables = {k: t for k, t in datamap.tables.items() if datamap.store_of(k) == name}
    extension: dict[str, Any] = {
        "store": store.model_dump(mode="json", exclude_defaults=True),
        "identities": {k: v.model_dump(mode="json") for k, v in datamap.identities.items()},
        "blob_stores": {
            k: v.model_dump(mode="json", exclude={"type"}, exclude_defaults=True)
            for k, v in datamap.blob_stores().items()
        },
        "collections": {TableKey.of(k).name: _table_extension(k, t) for k, t in tables.items()},
    }
    dataset: dict[str, Any] = {"fides_key": name, "name": name}
    if store.description:
        dataset["description"] = store.description
    dataset["meta"] = {EXTENSION: extension}
    dataset["collections"] = [_collection(datamap, k, t) for k, t in tables.items()]
    return dataset


def _link_key(column: str, target: str, target_column: str) -> str:
    return f"{column} -> {target}.{target_column}"


def _table_extension(key: str, table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if table.erase != TableErase.delete:
        out["erase"] = table.erase.value
    if table.reason:
        out["reason"] = table.reason
    if table.account is not None:
        out["account"] = table.account
    if table.aliases:
        out["aliases"] = True
    if table.deactivate:
        out["deactivate"] = table.deactivate.model_dump(mode="json")
    if len(table.primary_key) > 1:
        out["primary_key"] = table.primary_key
    for name in RETENTION:
        if getattr(table, name) is not None:
            out[name] = getattr(table, name)
    links = {
        _link_key(link.column, *link.target(key)): link.model_dump(
            mode="json", exclude={"column", "to"}, exclude_defaults=True
        )
        for link in table.links
    }
    if any(links.values()):
        out["links"] = {k: v for k, v in links.items() if v}
    columns = {
        name: spec.model_dump(mode="json", include=COLUMN_ONLY, exclude_defaults=True)
        | ({"erase": "shred"} if spec.erase == ColumnErase.shred else {})
        for name, spec in table.columns.items()
    }
    if any(columns.values()):
        out["columns"] = {k: v for k, v in columns.items() if v}
    unlisted = [c for c in _field_names(table) if c not in table.columns]
    if unlisted:
        out["not_in_columns"] = unlisted
    return out


def _field_names(table: Table) -> list[str]:
    names = list(table.columns)
    extra = [*table.primary_key, *table.identities.values(), *(ln.column for ln in table.links)]
    return names + [c for c in dict.fromkeys(extra) if c not in table.columns]


def _collection(datamap: DataMap, key: str, table: Table) -> dict[str, Any]:
    collection: dict[str, Any] = {"name": TableKey.of(key).name}
    if table.description:
        collection["description"] = table.description
    if table.erase == TableErase.delete:
        collection["fides_meta"] = {"masking_strategy_override": {"strategy": "delete"}}
    collection["fields"] = [_field(datamap, key, table, name) for name in _field_names(table)]
    return collection


def _field(datamap: DataMap, key: str, table: Table, name: str) -> dict[str, Any]:
    spec = table.columns.get(name, Column())
    out: dict[str, Any] = {"name": name}
    if spec.description:
        out["description"] = spec.description
    if spec.categories:
        out["data_categories"] = list(spec.categories)
    meta: dict[str, Any] = {}
    kinds = [kind for kind, column in table.identities.items() if column == name]
    if kinds:
        meta["identity"] = kinds[0]
        integer = datamap.identities[kinds[0]].normalize == Normalize.integer
        meta["data_type"] = "integer" if integer else "string"
    if name in table.primary_key:
        meta["primary_key"] = True
    references = [
        {"dataset": TableKey.of(target).store, "field": f"{TableKey.of(target).name}.{column}"}
        for target, column in (link.target(key) for link in table.links if link.column == name)
    ]
    if references:
        meta["references"] = [{**ref, "direction": "from"} for ref in references]
    if spec.erase in FIELD_STRATEGY:
        override: dict[str, Any] = {"strategy": FIELD_STRATEGY[spec.erase]}
        if spec.erase == ColumnErase.mask:
            override["configuration"] = {"rewrite_value": spec.mask}
        meta["masking_strategy_override"] = override
    if meta:
        out["fides_meta"] = meta
    return out


# ---- import -------------------------------------------------------------------------------


@dataclass
class Imported:
    datamap: DataMap
    notes: list[str] = field(default_factory=list)  # what Fides said that troth did not keep


def read_fides(path: Path) -> Imported:
    """A data map from a Fides dataset YAML file; raises InvalidInput naming line and key."""
    name = str(path)
    document = read_yaml(path)
    raw = document.get("dataset") if isinstance(document, dict) else None
    if not isinstance(raw, list) or not raw:
        raise InvalidInput([Problem(name, 1, "dataset", "expected a list of Fides datasets")])
    problems: list[Problem] = []
    for i, item in enumerate(raw):
        problems += _problems(name, f"dataset[{i}]", item, Dataset)
        node = _extension_node(item) if isinstance(item, dict) else None
        problems += _problems(name, f"dataset[{i}].meta.{EXTENSION}", node or {}, Extension)
    if problems:
        raise InvalidInput(problems)
    imported = from_fides([_plain(item) for item in raw], name)
    check_datamap(imported.datamap, {}, name)
    return imported


def _problems(name: str, prefix: str, node: Any, model: type[BaseModel]) -> list[Problem]:
    """`node` checked as `model`: its errors as Problems under `prefix`, with lines."""
    try:
        model.model_validate(_plain(node))
    except ValidationError as exc:
        return [
            Problem(name, p.line, f"{prefix}.{p.path}" if p.path else prefix, p.message)
            for p in validation_problems(name, node, exc)
        ]
    return []


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers as plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def from_fides(datasets: list[dict[str, Any]], source: str = "fides") -> Imported:
    """A data map from already-validated Fides datasets; InvalidInput for what troth cannot
    hold (a field name that is not an SQL identifier, ...)."""
    problems: list[Problem] = []
    notes: list[str] = []
    stores: dict[str, SqlStore | BlobStore] = {}
    identities: dict[str, Identity] = {}
    tables: dict[str, Table] = {}
    for i, dataset in enumerate(datasets):
        key = str(dataset["fides_key"])
        extension = extension_of(dataset)
        store = extension.store or SqlStore(url=f"${{{key.upper()}_DB_URL}}")
        if dataset.get("description"):
            store = store.model_copy(update={"description": dataset["description"]})
        stores[key] = store
        for blob, spec in extension.blob_stores.items():
            stores.setdefault(blob, spec)
        identities.update(extension.identities)
        notes.extend(_unsupported(f"dataset {key}", dataset, ("data_categories", "data_uses")))
        for j, collection in enumerate(dataset.get("collections") or []):
            extra = extension.collections.get(collection["name"], TableExtra())
            try:
                tables[f"{key}.{collection['name']}"] = _table(key, collection, extra, notes)
            except ValidationError as exc:
                where = f"dataset[{i}].collections[{j}]"
                problems += [
                    Problem(source, None, where, f"{format_path(e['loc'])}: {e['msg']}")
                    for e in exc.errors(include_url=False)
                ]
    if problems:
        raise InvalidInput(problems)
    for kind, data_type in _identity_types(datasets).items():
        identities.setdefault(kind, _guess_identity(kind, data_type))
    try:
        datamap = DataMap(stores=stores, identities=identities, tables=tables)
    except ValidationError as exc:
        raise InvalidInput(
            [
                Problem(source, None, format_path(e["loc"]), f"{e['msg']} (as troth names it)")
                for e in exc.errors(include_url=False)
            ]
        ) from None
    return Imported(datamap, notes)


def _identity_types(datasets: list[dict[str, Any]]) -> dict[str, str | None]:
    """Fides identity kind -> the data_type of a field holding it."""
    found: dict[str, str | None] = {}
    for dataset in datasets:
        for collection in dataset.get("collections") or []:
            for item in collection.get("fields") or []:
                meta = item.get("fides_meta") or {}
                if meta.get("identity"):
                    found[str(meta["identity"])] = meta.get("data_type")
    return found


def _guess_identity(kind: str, data_type: str | None) -> Identity:
    """A Fides identity without troth's extension: normalization from its name and type."""
    if data_type == "integer":
        return Identity(normalize=Normalize.integer)
    if "email" in kind:
        return Identity(normalize=Normalize.email)
    if "phone" in kind:
        return Identity(normalize=Normalize.phone)
    return Identity()


def _table(store: str, collection: dict[str, Any], ext: TableExtra, notes: list[str]) -> Table:
    where = f"collection {store}.{collection['name']}"
    notes.extend(_unsupported(where, collection, ("data_categories", "data_uses")))
    meta = collection.get("fides_meta") or {}
    for unused in ("after", "erase_after", "skip_processing", "partitioning"):
        if meta.get(unused):
            notes.append(f"{where}: fides_meta.{unused} is not used by troth")
    fields = collection.get("fields") or []
    overridden = any((f.get("fides_meta") or {}).get("masking_strategy_override") for f in fields)
    deletes = (meta.get("masking_strategy_override") or {}).get("strategy") == "delete"
    erase = ext.erase or (TableErase.delete if deletes or not overridden else TableErase.update)
    if ext == TableExtra() and not deletes and not overridden:
        notes.append(f"{where}: no masking override; troth deletes its rows on erasure")
    columns: dict[str, Column] = {}
    identities: dict[str, str] = {}
    links: list[Link] = []
    primary: list[str] = []
    for item in fields:
        name = str(item["name"])
        fmeta = item.get("fides_meta") or {}
        if item.get("fields"):
            notes.append(f"{where}.{name}: nested fields are not supported and were dropped")
        notes.extend(_unsupported(f"{where}.{name}", item, ("data_uses", "data_subjects")))
        if fmeta.get("identity"):
            identities[str(fmeta["identity"])] = name
        if fmeta.get("primary_key"):
            primary.append(name)
        links.extend(_links(name, fmeta.get("references") or [], ext.links, where, notes))
        if name not in ext.not_in_columns:
            columns[name] = _column(item, fmeta, ext.columns.get(name), erase, where, notes)
    if ext.primary_key and set(ext.primary_key) == set(primary):
        primary = list(ext.primary_key)
    if erase == TableErase.update:
        columns = {n: _keep_key(c) if n in primary else c for n, c in columns.items()}
    spec: dict[str, Any] = {
        "identities": identities,
        "links": links,
        "erase": erase,
        "columns": columns,
        "reason": ext.reason,
        "account": ext.account,
        "aliases": ext.aliases,
        "deactivate": ext.deactivate,
        "description": collection.get("description"),
        **{name: getattr(ext, name) for name in RETENTION},
    }
    if primary:
        spec["primary_key"] = primary
    return Table(**spec)


def _links(
    name: str,
    references: list[dict[str, Any]],
    extras: dict[str, LinkExtra],
    where: str,
    notes: list[str],
) -> Iterator[Link]:
    for ref in references:
        direction = ref.get("direction") or "from"
        if direction != "from":
            notes.append(f"{where}.{name}: reference with direction 'to' was dropped")
            continue
        to = f"{ref['dataset']}.{ref['field']}"
        extra = extras.get(f"{name} -> {to}", LinkExtra())
        if extra.owner is None:
            notes.append(
                f"{where}.{name}: ownership not stated; owner: false (set owner: true if its "
                "rows belong to the subject of the row it refers to)"
            )
        spec = extra.model_dump(exclude_defaults=True) | {"owner": bool(extra.owner)}
        yield Link(column=name, to=to, **spec)


def _column(
    item: dict[str, Any],
    fmeta: dict[str, Any],
    extra: ColumnExtra | None,
    erase: TableErase,
    where: str,
    notes: list[str],
) -> Column:
    name = str(item["name"])
    spec: dict[str, Any] = extra.model_dump(exclude_defaults=True) if extra else {}
    spec["categories"] = list(item.get("data_categories") or [])
    spec["description"] = item.get("description")
    override = fmeta.get("masking_strategy_override") or {}
    strategy = override.get("strategy")
    if strategy == "string_rewrite":
        spec["erase"] = ColumnErase.mask
        spec["mask"] = str((override.get("configuration") or {}).get("rewrite_value", ""))
    elif strategy in ("hmac", "hash"):
        spec["erase"] = ColumnErase.hash
    elif strategy == "null_rewrite":
        spec["erase"] = ColumnErase.null
    elif strategy:
        notes.append(f"{where}.{name}: masking strategy {strategy!r} has no troth equivalent")
    if (
        erase == TableErase.update
        and spec["categories"]
        and "erase" not in spec
        and not spec.get("reason")
        and not fmeta.get("primary_key")
    ):
        spec["erase"] = ColumnErase.null
        notes.append(f"{where}.{name}: no masking override; troth sets it to null on erasure")
    return Column(**spec)


def _keep_key(column: Column) -> Column:
    """A kept row keeps its primary key."""
    if column.erase != ColumnErase.keep or column.reason or not column.categories:
        return column
    return column.model_copy(update={"reason": "primary key of a row kept on erasure"})


def _unsupported(where: str, item: dict[str, Any], keys: tuple[str, ...]) -> Iterator[str]:
    for key in keys:
        if item.get(key):
            yield f"{where}: {key} is not kept by troth"
