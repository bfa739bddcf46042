"""Checking a data map against troth.yaml, the fideslang taxonomy and the live databases.

Errors make a data map unusable (a missing column, a mask that cannot be written,
an undeclared category); warnings point at slow or doubtful spots (an identity
column without an index, a declared category stored nowhere, a table nobody
reaches). Works through SQLAlchemy's inspector on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import URL, Connection, Dialect, Engine, Inspector, inspect
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import SAWarning, SQLAlchemyError

from troth.datamap.detect import about_one_person, column_kind, names_someone_else
from troth.datamap.graph import reached_tables
from troth.datamap.model import (
    PSEUDONYM_WIDTH,
    Column,
    ColumnErase,
    DataMap,
    Link,
    Normalize,
    Table,
    TableErase,
    TableKey,
    is_account,
)
from troth.datamap.stores import (
    blob_root,
    database_url,
    engine_for,
    sqlite_file_missing,
    store_url,
)
from troth.errors import Problem, TrothError
from troth.policy.model import Policy
from troth.policy.taxonomy import categories, covers, fideslang_categories, suggest
from troth.project import Project
from troth.yamlfile import format_path, line_of, read_yaml

Severity = Literal["error", "warning"]
Loc = tuple[str | int, ...]
TypeKind = Literal["integer", "number", "text", "other"]


@dataclass(frozen=True)
class Finding(Problem):
    """A Problem with a severity: errors must be fixed, warnings should be looked at."""

    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.severity}: {Problem.__str__(self)}"

    @property
    def index_to_add(self) -> str | None:
        """The CREATE INDEX statement a missing-index warning suggests, if this is one."""
        _, found, statement = self.message.partition(ADD_INDEX)
        return statement if found else None

    @property
    def store(self) -> str | None:
        """The store a `tables.<store>.<table>...` finding is about."""
        parts = self.path.split(".")
        return parts[1] if len(parts) > 2 and parts[0] == "tables" else None


ADD_INDEX = "; add: "


@dataclass
class LiveTable:
    dialect: Dialect
    columns: dict[str, dict[str, Any]]
    leading: set[str] = field(default_factory=set)  # first column of an index, PK or unique
    lowered: set[str] = field(default_factory=set)  # columns with an index on lower(column)
    primary_key: list[str] = field(default_factory=list)
    unique: list[list[str]] = field(default_factory=list)  # unique indexes and constraints
    parent: str | None = None  # PostgreSQL: the table this one inherits from or partitions

    def is_key(self, columns: list[str]) -> bool:
        """Whether `columns` address one row: the primary key, or they include the columns
        of a unique index that are all NOT NULL (a NULL is never a duplicate)."""
        if set(columns) == set(self.primary_key):
            return True
        return any(
            set(unique) <= set(columns)
            and not any(self.columns[c].get("nullable", True) for c in unique)
            for unique in self.unique
        )


Schema = dict[str, LiveTable]


def validate(
    project: Project,
    datamap: DataMap,
    policy: Policy | None = None,
    *,
    db_url: str | None = None,
    keep: Callable[[Severity, str], bool] | None = None,
) -> list[Finding]:
    """Every finding for `datamap` (or those `keep` takes, by severity and path), errors
    first; `db_url` replaces the (single) SQL store URL. The file is read again for line
    numbers only when there is a finding to place."""
    name = project.datamap_path.name
    schemas, raw = _live_schemas(project, datamap, db_url)
    raw.extend(_category_findings(datamap, policy))
    raw.extend(_sweep_findings(datamap, policy))
    raw.extend(_reach_findings(datamap))
    raw.extend(_orphan_findings(datamap))
    raw.extend(_pointed_to_findings(datamap))
    raw.extend(_blob_findings(project, datamap))
    for key, table in datamap.tables.items():
        schema = schemas.get(datamap.store_of(key))
        if schema is not None:
            raw.extend(_table_findings(datamap, key, table, schemas, schema))
    for store, schema in schemas.items():
        mapped = {TableKey.of(k).name for k in datamap.tables if datamap.store_of(k) == store}
        for live in sorted(set(schema) - mapped):
            if schema[live].parent is None:  # a child's rows are read through its parent
                message = f"table '{store}.{live}' is not in the data map"
                raw.append(("warning", ("tables",), message))
    if keep is not None:
        raw = [r for r in raw if keep(r[0], format_path(r[1]))]
    document = read_yaml(project.datamap_path) if raw and project.datamap_path.exists() else None
    findings = [
        Finding(name, line_of(document, loc), format_path(loc), message, severity)
        for severity, loc, message in raw
    ]
    return sorted(findings, key=lambda f: f.severity != "error")


Raw = tuple[Severity, Loc, str]


def add_indexes(
    project: Project, datamap: DataMap, findings: list[Finding], *, db_url: str | None = None
) -> list[str]:
    """Run the CREATE INDEX statements that `findings` suggest; returns those it ran.

    Each index is created in its own transaction, so one that fails (say, a duplicate
    name) leaves the others in place; the error names the statement, never data."""
    added = []
    for finding in findings:
        statement, store = finding.index_to_add, finding.store
        if statement is None or store is None:
            continue
        url = _checked_url(project, datamap, store, db_url)
        try:
            with engine_for(url).begin() as conn:
                conn.exec_driver_sql(statement.rstrip(";"))
        except SQLAlchemyError as exc:
            cause = type(getattr(exc, "orig", None) or exc).__name__
            raise TrothError(f"could not run {statement} ({cause})") from None
        added.append(statement)
    return added


def _checked_url(project: Project, datamap: DataMap, store: str, db_url: str | None) -> URL:
    """The store's URL, or the `--db` URL that replaces it."""
    if db_url is not None:
        return database_url(db_url, project.root, "--db")
    return store_url(project, datamap, store)


def _live_schemas(
    project: Project, datamap: DataMap, db_url: str | None
) -> tuple[dict[str, Schema], list[Raw]]:
    stores = datamap.sql_stores()
    if db_url is not None and len(stores) != 1:
        raise TrothError(f"--db needs a data map with one SQL store; this one has {len(stores)}")
    schemas: dict[str, Schema] = {}
    raw: list[Raw] = []
    for store in stores:
        url = _checked_url(project, datamap, store, db_url)
        if sqlite_file_missing(url):
            raw.append(
                ("error", ("stores", store, "url"), "the SQLite database file does not exist")
            )
            continue
        try:
            schemas[store] = read_schema(engine_for(url))
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            message = f"cannot read the database: {type(cause).__name__}"
            raw.append(("error", ("stores", store, "url"), message))
    return schemas, raw


def read_schema(engine: Engine) -> Schema:
    """Tables, columns, keys and leading index columns of a live database (each kind read
    for every table at once: on PostgreSQL a few catalog queries instead of four a table)."""
    inspector = inspect(engine)
    names = inspector.get_table_names()
    with warnings.catch_warnings():  # expression indexes: lowered_columns reads those
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        all_columns = inspector.get_multi_columns(filter_names=names)
        primaries = inspector.get_multi_pk_constraint(filter_names=names)
        all_indexes = inspector.get_multi_indexes(filter_names=names)
        all_uniques = inspector.get_multi_unique_constraints(filter_names=names)
    schema: Schema = {}
    for (owner, table), found in all_columns.items():
        columns = {c["name"]: dict(c) for c in found}
        primary = [str(c) for c in primaries[(owner, table)]["constrained_columns"] or []]
        indexes = all_indexes[(owner, table)]
        unique = [cols for _name, cols in unique_of(indexes, all_uniques[(owner, table)])]
        indexed = [list(i["column_names"]) for i in indexes]
        live = LiveTable(engine.dialect, columns, primary_key=primary, unique=unique)
        firsts: list[list[Any]] = [primary, *indexed, *unique]
        live.leading = {str(cols[0]) for cols in firsts if cols and cols[0]}
        schema[table] = live
    for table, column in lowered_columns(engine):
        if table in schema:
            schema[table].lowered.add(column)
    with engine.connect() as conn:
        for child, parent in child_tables(conn).items():
            if child in schema:
                schema[child].parent = parent
    return schema


def unique_keys(inspector: Inspector, table: str) -> list[tuple[str, list[str]]]:
    """(name, columns) of every unique index and unique constraint on `table`."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        indexes = inspector.get_indexes(table)
        constraints = inspector.get_unique_constraints(table)
    return unique_of(indexes, constraints)


def unique_of(indexes: Sequence[Any], constraints: Sequence[Any]) -> list[tuple[str, list[str]]]:
    """(name, columns) of the unique ones among a table's `indexes`, and its unique
    `constraints`, as the inspector reports them."""
    keys = [(str(i["name"]), list(i["column_names"])) for i in indexes if i.get("unique")]
    keys += [(str(u["name"]), list(u["column_names"])) for u in constraints]
    return [(name, [str(c) for c in cols]) for name, cols in keys if cols and None not in cols]


CHILD_TABLES_SQL = (
    "SELECT c.relname, p.relname FROM pg_inherits i"
    " JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent"
    " WHERE c.relnamespace = current_schema()::regnamespace"
    " AND p.relnamespace = c.relnamespace"
)


def child_tables(conn: Connection) -> dict[str, str]:
    """PostgreSQL's partitions and inheritance children -> their parent table. A query on
    the parent reads their rows too, so they are never tables of their own in a data map."""
    if conn.dialect.name != "postgresql":
        return {}
    return {str(child): str(parent) for child, parent in conn.exec_driver_sql(CHILD_TABLES_SQL)}


LOWER_INDEX_SQL = {
    "sqlite": "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    "postgresql": (
        "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    ),
}
LOWER_INDEX = re.compile(r'^[^(]*\(\s*lower\(\s*\(?"?(\w+)"?\)?(?:::\w+)?\s*\)', re.IGNORECASE)


def lowered_columns(engine: Engine) -> Iterator[tuple[str, str]]:
    """(table, column) pairs whose first index key is lower(column).

    SQLAlchemy does not reflect expression indexes on every dialect, so this reads the
    catalog. MariaDB/MySQL compare case-insensitively by collation and need none."""
    query = LOWER_INDEX_SQL.get(engine.dialect.name)
    if query is None:
        return
    with engine.connect() as conn:
        for table, definition in conn.exec_driver_sql(query):
            found = LOWER_INDEX.match(str(definition))
            if found:
                yield str(table), found.group(1)


def type_kind(column: dict[str, Any]) -> TypeKind:
    kind = column["type"]
    if isinstance(kind, sqltypes.Integer):
        return "integer"
    if isinstance(kind, sqltypes.Numeric | sqltypes.Float):  # Float is no Numeric in 2.1
        return "number"
    if isinstance(kind, sqltypes.String):
        return "text"
    return "other"


def _category_findings(datamap: DataMap, policy: Policy | None) -> Iterator[Raw]:
    known = set(categories(policy) if policy else fideslang_categories())
    declared = declared_categories(policy) if policy else set()
    stored: set[str] = set()
    for key, table in datamap.tables.items():
        for column, spec in table.columns.items():
            for i, category in enumerate(spec.categories):
                stored.add(category)
                loc: Loc = ("tables", key, "columns", column, "categories", i)
                if category not in known:
                    nearest = suggest(category, known)
                    hint = f"; did you mean {nearest!r}?" if nearest else ""
                    message = f"unknown category {category!r}: in neither the fideslang taxonomy"
                    yield "error", loc, f"{message} nor troth.yaml's categories{hint}"
                elif policy and not any(covers(d, category) for d in declared):
                    yield "error", loc, f"category {category!r} is not declared in troth.yaml"
    for category in sorted(declared):
        if category in known and not any(covers(category, s) for s in stored):
            yield (
                "warning",
                (),
                f"category {category!r} is declared in troth.yaml but stored nowhere",
            )


def _reach_findings(datamap: DataMap) -> Iterator[Raw]:
    reached = reached_tables(datamap)
    for key in datamap.tables:
        if key not in reached:
            yield (
                "warning",
                ("tables", key),
                "no identity reaches this table (add identities or links)",
            )


def _orphan_findings(datamap: DataMap) -> Iterator[Raw]:
    """Rows erasure keeps must not point at rows erasure deletes."""
    for key, table in datamap.tables.items():
        for i, link in enumerate(table.links):
            parent = datamap.tables.get(link.target(key)[0])
            kept = (link.erase or table.erase) != TableErase.delete
            if parent is not None and parent.erase == TableErase.delete and kept:
                yield (
                    "warning",
                    ("tables", key, "links", i),
                    f"rows kept here would point at {link.target(key)[0]} rows that erasure "
                    "deletes; erase that table by update (a tombstone) or delete these rows",
                )


def _pointed_to_findings(datamap: DataMap) -> Iterator[Raw]:
    """An account row that points at a row of personal data (users.address_id,
    users.profile_id) without `owns: true`: links are followed from a row to the rows
    that refer to it, so nothing reaches that row from the account."""
    for key, table in datamap.tables.items():
        for i, link in enumerate(table.links):
            target = link.target(key)[0]
            if link.owns and target == key:
                yield "error", ("tables", key, "links", i, "owns"), OWNS_ITSELF
            if link.owns or not owns_its_rows(table) or target == key:
                continue
            if names_someone_else(link.column, TableKey.of(target).name):
                continue
            held = about_one_person(personal_categories(datamap.tables.get(target)))
            if not held or owns_its_rows(datamap.tables[target]):
                continue
            kinds = sorted(datamap.tables[target].identities)
            unless = f" (a request by {' or '.join(kinds)} finds them)" if kinds else ""
            yield (
                "warning",
                ("tables", key, "links", i),
                f"{key} rows belong to a person and point to {target} rows, which hold "
                f"personal data ({', '.join(held)}), but links are followed from a row to "
                f"the rows that refer to it, not to the row it refers to: access and erasure "
                f"leave the person's {target} rows out{unless}; if they are that person's "
                "own, set `owns: true` on this link",
            )


OWNS_ITSELF = (
    "a link to its own table cannot own the row it refers to (the rows are people's: "
    "an inviter, a manager); use owner: false"
)


def owns_its_rows(table: Table) -> bool:
    """An account table, or one whose rows belong to the row a link points to."""
    return is_account(table) or any(link.owner for link in table.links)


def personal_categories(table: Table | None) -> list[str]:
    if table is None:
        return []
    return sorted({c for column in table.columns.values() for c in column.categories})


def _blob_findings(project: Project, datamap: DataMap) -> Iterator[Raw]:
    for name in datamap.blob_stores():
        if not blob_root(project, datamap, name).is_dir():
            yield "warning", ("stores", name, "path"), "the blob folder does not exist"


def _table_findings(
    datamap: DataMap, key: str, table: Table, schemas: dict[str, Schema], schema: Schema
) -> Iterator[Raw]:
    store, name = TableKey.of(key)
    at: Loc = ("tables", key)
    live = schema.get(name)
    if live is None:
        yield "error", at, f"no table {name!r} in store {store!r}"
        return

    if live.parent is not None:
        yield (
            "warning",
            at,
            f"a partition or inheritance child of {live.parent!r}: reading {live.parent!r} "
            "reads its rows too; leave it out of the data map",
        )
    yield from _key_findings(name, table, live, at)
    for loc, column in _referenced_columns(table, at):
        if column not in live.columns:
            yield "error", loc, f"no column {column!r} in table {name!r}"
    for kind, column in table.identities.items():
        if column in live.columns:
            loc = (*at, "identities", kind)
            yield from _identity_findings(datamap, name, kind, live, column, loc)
    for i, link in enumerate(table.links):
        if link.column in live.columns:
            yield from _link_findings(key, name, link, live, schemas, (*at, "links", i))
    yield from _deactivate_findings(table, live, at)
    yield from _timestamp_findings(name, table, live, at)
    for column, spec in table.columns.items():
        if column in live.columns:
            yield from _erase_findings(table, live.columns[column], spec, (*at, "columns", column))
    unlisted = sorted(set(live.columns) - set(table.columns))
    if unlisted:
        yield "warning", (*at, "columns"), f"columns not in the data map: {', '.join(unlisted)}"


def _referenced_columns(table: Table, at: Loc) -> Iterator[tuple[Loc, str]]:
    """Every column the table's entry names, with where it names it (but the primary key:
    `_key_findings`)."""
    for kind, column in table.identities.items():
        yield (*at, "identities", kind), column
    for i, link in enumerate(table.links):
        yield (*at, "links", i, "column"), link.column
    if table.deactivate:
        for column in table.deactivate.set:
            yield (*at, "deactivate", "set", column), column
        for column in table.deactivate.restore:
            yield (*at, "deactivate", "restore", column), column
    for column in table.columns:
        yield (*at, "columns", column), column
    for name in ("created_at", "last_activity", "deleted_at"):
        named = getattr(table, name)
        if named is not None:
            yield (*at, name), named
    for column in table.deleted_when or {}:
        yield (*at, "deleted_when", column), column


def _key_findings(name: str, table: Table, live: LiveTable, at: Loc) -> Iterator[Raw]:
    """troth addresses rows by the data map's primary key: it must exist and be unique."""
    declared = table.primary_key
    loc: Loc = (*at, "primary_key")
    missing = [c for c in declared if c not in live.columns]
    actual = f"the table's primary key is ({', '.join(live.primary_key)})"
    if missing:
        hint = f"; {actual}" if live.primary_key else "; the table has none: add one"
        yield "error", loc, f"primary key column {missing[0]!r} is not in table {name!r}{hint}"
    elif not live.is_key(declared):
        add = create_index(name, declared, live, unique=True)
        hint = (f"{actual}: write that" if live.primary_key
                else f"add a primary key or a unique index{ADD_INDEX}{add}")  # fmt: skip
        yield (
            "error",
            loc,
            f"primary key ({', '.join(declared)}) is neither the table's primary key nor "
            f"covered by a unique index on NOT NULL columns; {hint}",
        )


def _timestamp_findings(name: str, table: Table, live: LiveTable, at: Loc) -> Iterator[Raw]:
    """Retention reads rows by these columns: without an index every sweep scans."""
    for field_name in ("created_at", "last_activity", "deleted_at"):
        column = getattr(table, field_name)
        if column in live.columns and column not in live.leading:
            add = create_index(name, column, live)
            yield (
                "warning",
                (*at, field_name),
                f"retention finds due rows by {column!r}, which no index leads{ADD_INDEX}{add}",
            )


def _sweep_findings(datamap: DataMap, policy: Policy | None) -> Iterator[Raw]:
    rules = {rule.key for rule in policy.retention} if policy else None
    for key, table in datamap.tables.items():
        for i, rule in enumerate(table.sweeps or []):
            if rules is not None and rule not in rules:
                known = ", ".join(sorted(rules)) or "none"
                message = f"no retention rule {rule!r} in troth.yaml (rules: {known})"
                yield "error", ("tables", key, "sweeps", i), message


def _deactivate_findings(table: Table, live: LiveTable, at: Loc) -> Iterator[Raw]:
    if table.deactivate is None:
        return
    for part, values in (("set", table.deactivate.set), ("restore", table.deactivate.restore)):
        for column, value in values.items():
            if column in live.columns and isinstance(value, str) and _numeric(live, column):
                kind = type_kind(live.columns[column])
                loc = (*at, "deactivate", part, column)
                yield "error", loc, f"a text value for a column of type {kind}"


def _numeric(live: LiveTable, column: str) -> bool:
    return type_kind(live.columns[column]) in ("integer", "number")


def _identity_findings(
    datamap: DataMap, table: str, kind: str, live: LiveTable, column: str, loc: Loc
) -> Iterator[Raw]:
    identity = datamap.identities.get(kind)
    if identity is not None:
        yield from _identity_type_findings(identity.normalize, live.columns[column], loc)
    if identity is not None and needs_lower_index(identity.normalize, live):
        if column not in live.lowered:
            add = create_index(table, column, live, lower=True)
            yield (
                "warning",
                loc,
                f"e-mail identity without an index on lower({column}){ADD_INDEX}{add}",
            )
    elif column not in live.leading:
        yield (
            "warning",
            loc,
            f"identity column without an index{ADD_INDEX}{create_index(table, column, live)}",
        )


def _identity_type_findings(
    normalize: Normalize, column: dict[str, Any], loc: Loc
) -> Iterator[Raw]:
    """An identity is an integer key or text (PostgreSQL's uuid passes for text): a boolean
    `is_from_email` or a date is no e-mail address."""
    found = column_kind(column)
    if normalize == Normalize.integer:
        if found != "integer":
            yield "error", loc, f"normalize integer on a column of type {found}"
    elif found != "text" and not (
        normalize == Normalize.text and isinstance(column["type"], sqltypes.Uuid)
    ):
        yield (
            "error",
            loc,
            f"normalize {normalize.value} on a column of type {found}: identities other than "
            "integer keys are looked up as text",
        )


def needs_lower_index(normalize: Normalize, live: LiveTable) -> bool:
    """E-mail look-ups compare lower(column) on SQLite and PostgreSQL (troth.rights)."""
    return normalize == Normalize.email and live.dialect.name in LOWER_INDEX_SQL


def _link_findings(
    key: str, table: str, link: Link, live: LiveTable, schemas: dict[str, Schema], loc: Loc
) -> Iterator[Raw]:
    target, column = link.target(key)
    store, name = TableKey.of(target)
    schema = schemas.get(store)
    if schema is None:
        return
    other = schema.get(name)
    if other is None:
        yield "error", (*loc, "to"), f"no table {name!r} in store {store!r}"
        return
    if column not in other.columns:
        yield "error", (*loc, "to"), f"no column {column!r} in table {name!r}"
        return
    here, there = type_kind(live.columns[link.column]), type_kind(other.columns[column])
    if here != there:
        yield "error", loc, f"links a column of type {here} to one of type {there}"
    if link.column not in live.leading:
        yield (
            "warning",
            loc,
            f"link column without an index{ADD_INDEX}{create_index(table, link.column, live)}",
        )


def _erase_findings(table: Table, live: dict[str, Any], spec: Column, loc: Loc) -> Iterator[Raw]:
    if spec.blob is not None and type_kind(live) != "text":
        yield (
            "error",
            (*loc, "blob"),
            f"blob paths need a text column, not one of type {type_kind(live)}",
        )
    if table.erase != TableErase.update:
        return
    kind, length = type_kind(live), getattr(live["type"], "length", None)
    if spec.erase == ColumnErase.null and not live.get("nullable", True):
        yield "error", (*loc, "erase"), "erase: null on a NOT NULL column"
    if spec.erase == ColumnErase.mask and spec.mask is not None:
        if kind != "text" and not _fits_number(spec.mask, kind):
            yield (
                "error",
                (*loc, "mask"),
                f"mask {spec.mask!r} cannot be written to a column of type {kind}",
            )
        elif kind == "text" and length is not None and len(spec.mask) > length:
            yield "error", (*loc, "mask"), f"mask is longer than the column ({length})"
    if spec.erase == ColumnErase.hash:
        if kind != "text":
            yield "error", (*loc, "erase"), f"erase: hash writes text into a column of type {kind}"
        elif length is not None and length < PSEUDONYM_WIDTH:
            message = f"erase: hash writes keyed pseudonyms of {PSEUDONYM_WIDTH} characters"
            yield "error", (*loc, "erase"), f"{message}; the column holds at most {length}"


def _fits_number(value: str, kind: TypeKind) -> bool:
    try:
        int(value) if kind == "integer" else float(value)
    except ValueError:
        return False
    return kind in ("integer", "number")


def create_index(
    table: str,
    column: str | list[str],
    live: LiveTable,
    *,
    lower: bool = False,
    unique: bool = False,
) -> str:
    """The CREATE [UNIQUE] INDEX to add, quoted for the dialect; MariaDB/MySQL TEXT needs a
    prefix."""
    quote = live.dialect.identifier_preparer.quote
    columns = [column] if isinstance(column, str) else column
    targets = [_index_target(c, live, lower=lower) for c in columns]
    suffix = "_lower" if lower else "_key" if unique else ""
    name = quote(f"{table}_{'_'.join(columns)}{suffix}"[:63])
    kind = "UNIQUE INDEX" if unique else "INDEX"
    return f"CREATE {kind} {name} ON {quote(table)} ({', '.join(targets)});"


def _index_target(column: str, live: LiveTable, *, lower: bool) -> str:
    target = live.dialect.identifier_preparer.quote(column)
    if lower:
        return f"lower({target})"
    if live.dialect.name in ("mysql", "mariadb") and _unbounded_text(live.columns[column]):
        return f"{target}({MYSQL_PREFIX})"
    return target


MYSQL_PREFIX = 191  # 191 utf8mb4 characters fit InnoDB's 767-byte key prefix


def _unbounded_text(column: dict[str, Any]) -> bool:
    kind = column["type"]
    return isinstance(kind, sqltypes.String) and getattr(kind, "length", None) is None


def declared_categories(policy: Policy) -> set[str]:
    """Every category troth.yaml names: custom ones, collection, purposes, recipients, retention."""
    named = {c.key for c in policy.categories}
    for group in (policy.collection, policy.purposes, policy.recipients, policy.retention):
        for item in group:
            named.update(item.categories)
    return named
