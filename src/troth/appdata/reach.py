"""Finding a subject's rows: identities to rows, then links, transitively.

Every table is read with a few indexed statements (one per identity column and
one per link, IN-lists in chunks), never one statement per row.

The identities held on the subject's account rows (rows of a table that links
point to, found by the requested identity) are searched for too, in the tables
that no link points to: the account's phone finds the entries in other people's
phonebooks, its e-mail the newsletter sign-ups. Only values the subject cannot
set unproven count: kinds the data map marks `verified` (the app proved them
before storing them) and the account's own key. A phone typed into a profile
without a code could be anyone's, and must not reach their phonebook entries;
it reaches them when a request names that phone and proves it. Accounts themselves are searched
only with the requested identity, so that a shared phone number never pulls in
another account. Identities on rows reached through links are not followed: a
phonebook entry's number belongs to the contact, not to the entry's owner, and
the data map cannot tell that apart from a visit's cookie (a cookie's visits
before log-in are reached by a request for that cookie id).
"""

from __future__ import annotations

import dataclasses
import graphlib
import threading
import warnings
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    MetaData,
    Select,
    Table,
    and_,
    bindparam,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.exc import NoSuchTableError, SAWarning
from sqlalchemy.sql.dml import Delete, Update

from troth.appdata.failures import app_statements
from troth.appdata.identities import lowered, stored_form, stored_values, within
from troth.datamap.memo import per_map
from troth.datamap.model import DataMap, Link, TableErase, TableKey
from troth.datamap.model import Table as MapTable
from troth.errors import TrothError
from troth.vault import blind_digest

CHUNK = 500
MAX_PASSES = 6
Key = tuple[Any, ...]
STATEMENTS = "troth.appdata.lookups"  # key of the statement cache in a reflected Table's info
ONLY = "troth.appdata.only"  # in a reflected Table's info: read and change its own rows only
INHERITING = text(
    "SELECT p.relname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace"
    " WHERE n.nspname = current_schema() AND NOT c.relispartition"
)
CHILDREN = "troth.appdata.children"  # in a store's reflected MetaData's info: parent -> children
S = TypeVar("S", Select[Any], Update, Delete)
ERASE_RANK = {TableErase.delete: 0, TableErase.update: 1, TableErase.keep: 2}

# Per engine (a URL would be rendered to be hashed, at each look-up): table key -> its
# live table, and store -> its map tables, reflected.
_reflected: weakref.WeakKeyDictionary[Engine, dict[str, Table]] = weakref.WeakKeyDictionary()
_stores: weakref.WeakKeyDictionary[Engine, dict[str, MetaData]] = weakref.WeakKeyDictionary()
_reflect_lock = threading.Lock()


def reflect(engine: Engine, datamap: DataMap, key: str) -> Table:
    """The live table behind `key`, checked against the data map (cached per engine)."""
    with _reflect_lock:
        tables = _reflected.setdefault(engine, {})
        found = tables.get(key)
        if found is None:
            found, children = live_table(engine, datamap, key)
            spec = datamap.tables[key]
            missing = [c for c in (*spec.primary_key, *spec.columns) if c not in found.c]
            if missing:
                raise TrothError(
                    f"datamap.yaml tables.{key}: no column {missing[0]!r} in the store"
                )
            found.info[ONLY] = bool(children & mapped_in(datamap, key))
            tables[key] = found
        return found


def live_table(engine: Engine, datamap: DataMap, key: str) -> tuple[Table, set[str]]:
    """The table `key` as the store has it, and the tables that inherit from it. The first
    one asked for reflects every table of the data map in its store at once: a dozen
    catalog queries on PostgreSQL, where a table alone took about twenty (and its foreign
    keys' tables were reflected again with it), 0.9 s for the reference app's 14 tables
    in a new process. A table made since is reflected alone."""
    name = TableKey.of(key).name
    stores = _stores.setdefault(engine, {})
    store = datamap.store_of(key)
    with warnings.catch_warnings():  # expression indexes such as lower(email)
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
        meta = stores.get(store)
        if meta is None:
            names = mapped_in(datamap, key)
            meta = MetaData(info={CHILDREN: inheritance_children(engine)})
            meta.reflect(engine, views=True, only=lambda table, _meta: table in names)
            stores[store] = meta
        if name in meta.tables:
            return meta.tables[name], meta.info[CHILDREN].get(name, set())
        try:
            table = Table(name, MetaData(), autoload_with=engine)
        except NoSuchTableError:
            raise TrothError(f"datamap.yaml tables.{key}: no such table in the store") from None
        return table, inheritance_children(engine).get(name, set())


def inheritance_children(engine: Engine) -> dict[str, set[str]]:
    """The PostgreSQL tables that inherit from each table of the current schema
    (partitions do not: a partitioned table holds no rows of its own)."""
    out: dict[str, set[str]] = {}
    if engine.dialect.name != "postgresql":
        return out
    with engine.connect() as conn:
        for parent, child in conn.execute(INHERITING):
            out.setdefault(parent, set()).add(child)
    return out


def mapped_in(datamap: DataMap, key: str) -> set[str]:
    """The names of the data map's tables in `key`'s store."""
    store = datamap.store_of(key)
    return {TableKey.of(k).name for k in datamap.tables if datamap.store_of(k) == store}


def scoped(statement: S, table: Table) -> S:
    """`statement` on `table`'s own rows only (PostgreSQL's ONLY) when the data map also
    lists tables that inherit from it: each physical row is then read and changed once,
    through the table it belongs to."""
    if not table.info.get(ONLY):
        return statement
    if isinstance(statement, Select):
        return statement.with_hint(table, "ONLY", "postgresql")
    return statement.with_hint("ONLY", dialect_name="postgresql")


def lookup(table: Table, column: str, *, lower: bool = False) -> Select[Any]:
    """`SELECT * FROM table WHERE column IN :values` (or `lower(column)`), built once per
    reflected table: a reused statement skips SQLAlchemy's per-statement cache-key work."""
    statements: dict[tuple[str, bool], Select[Any]] = table.info.setdefault(STATEMENTS, {})
    query = statements.get((column, lower))
    if query is None:
        compared = func.lower(table.c[column]) if lower else table.c[column]
        query = scoped(select(table), table).where(
            compared.in_(bindparam("values", expanding=True))
        )
        statements[(column, lower)] = query
    return query


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def key_condition(
    table: Table, pk: Sequence[str], keys: Sequence[Key], dialect: str | None = None
) -> ColumnElement[bool]:
    """`pk IN (keys)`: a plain IN for one column; for a composite key, row values behind
    an IN on the first column, which lets SQLite use the primary key's index too."""
    first = within(table.c[pk[0]], sorted({k[0] for k in keys}), dialect)
    if len(pk) == 1:
        return first
    return and_(first, tuple_(*(table.c[c] for c in pk)).in_(list(keys)))


@dataclass
class Row:
    values: dict[str, Any]
    owner: bool = False
    erase: TableErase | None = None  # the strictest action over the owner paths
    parents: set[tuple[str, str, Any]] = field(default_factory=set)  # goes if one of them goes
    via: str = ""  # the first path that reached the row: "identity email", "link user_id"
    direct: bool = False  # found by one of the subject's identity values, not by a link
    shared: bool = False  # an `owns` row someone else's row refers to too: erasure keeps it


@dataclass
class Lookup:
    """One read that reaches a table's rows: `column` (or `lower(column)`) IN `values`.

    Owned rows get `action`; rows read as dependants (`action` None) go with their
    `parent` (a linked table and column)."""

    column: str
    values: list[Any]
    lower: bool = False
    action: TableErase | None = None
    parent: tuple[str, str] | None = None
    via: str = ""
    learn: bool = False

    @property
    def direct(self) -> bool:
        """Found by one of the subject's identity values, not by a link."""
        return self.parent is None and self.via.startswith("identity")


@dataclass
class Found:
    """The rows reached in one table, by primary key.

    A deferred table (see `resolve`'s `defer`) holds no rows: only the lookups that
    reach them, which `troth.appdata.sets` runs as statements over the subject's
    predicate (streamed reads, counts, set-based changes)."""

    key: str
    spec: MapTable
    table: Table
    rows: dict[Key, Row] = field(default_factory=dict)
    deferred: bool = False
    lookups: list[Lookup] = field(default_factory=list)
    # the identity values known to be the subject's, by kind (see `subject_identities`)
    subject: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def owned(self) -> list[Row]:
        return [r for r in self.rows.values() if r.owner]

    def owned_keys(self) -> list[Key]:
        """The primary keys of the subject's own rows (`rows` is keyed by them)."""
        return [k for k, r in self.rows.items() if r.owner]


def table_order(datamap: DataMap) -> tuple[str, ...]:
    """Tables with every link target before the tables that point to it (worked out
    once per data map: every request walks them in this order, several times)."""
    return per_map("table order", datamap, lambda: ordered_tables(datamap))


def ordered_tables(datamap: DataMap) -> tuple[str, ...]:
    graph = {
        key: {link.target(key)[0] for link in spec.links} - {key}
        for key, spec in datamap.tables.items()
    }
    try:
        return tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError:
        return tuple(datamap.tables)


def cascades(link: Link) -> bool:
    """Whether rows reached through `link` go when the row they refer to is deleted: rows
    that belong to it (owner), and rows of others only where the data map says so
    (`owner: false, erase: delete`, a reviewed cascade)."""
    return link.owner or link.erase == TableErase.delete


def link_targets(datamap: DataMap) -> set[str]:
    return {link.target(key)[0] for key, spec in datamap.tables.items() for link in spec.links}


def owns_links(datamap: DataMap) -> dict[str, list[tuple[str, Link]]]:
    """Per table, the `owns` links that point to it from other tables: (table, link)."""
    into: dict[str, list[tuple[str, Link]]] = {}
    for key, spec in datamap.tables.items():
        for link in spec.links:
            target = link.target(key)[0]
            if link.owns and target != key:
                into.setdefault(target, []).append((key, link))
    return into


class Reach:
    """Resolves a subject's rows over every SQL store of the data map."""

    def __init__(
        self,
        datamap: DataMap,
        conns: Mapping[str, Connection],
        identity_kind: str,
        value: str,
        defer: Collection[str] = (),
    ) -> None:
        self.datamap = datamap
        self.defer = defer
        self.conns = conns
        self.request_kind = identity_kind
        self.identities: dict[str, set[str]] = {identity_kind: {value}}
        self.found: dict[str, Found] = {}
        self.asked: dict[tuple[str, str, bool], set[Any]] = {}
        self.targets = link_targets(datamap)
        self.owns_into = owns_links(datamap)
        self.aliased = {k: datamap.alias_links(k) for k, t in datamap.tables.items() if t.aliases}

    def run(self) -> dict[str, Found]:
        order = [k for k in table_order(self.datamap) if self.datamap.store_of(k) in self.conns]
        for key in order:
            conn = self.conns[self.datamap.store_of(key)]
            table = reflect(conn.engine, self.datamap, key)
            self.found[key] = Found(
                key, self.datamap.tables[key], table, deferred=key in self.defer
            )
        for _ in range(MAX_PASSES):
            if not any([self.visit(key) for key in order]):
                break
        for key in self.owns_into:
            if key in self.found:
                self.mark_shared(self.found[key])
        subject = {kind: frozenset(values) for kind, values in self.identities.items()}
        for found in self.found.values():
            found.subject = subject
        return self.found

    def mark_shared(self, found: Found) -> None:
        """The subject's rows of `found` that a row not the subject's refers to too (a
        household's address) are `shared`: read with the subject's data, kept by erasure."""
        for source, link in self.datamap.links_to(found.key):
            referring = self.found.get(source)
            if referring is None:  # another store's rows cannot refer here
                continue
            column = link.target(source)[1]
            owned: dict[Any, list[Row]] = {}
            for row in found.rows.values():
                if row.owner:
                    owned.setdefault(row.values[column], []).append(row)
            if not owned:
                continue
            mine = {k for k, r in referring.rows.items() if r.owner}
            conn = self.conns[self.datamap.store_of(source)]
            table = referring.table
            names = [*referring.spec.primary_key, link.column]
            query = scoped(select(*(table.c[n] for n in names)), table)
            for part in chunks(sorted(owned, key=str)):
                with app_statements(conn, source):
                    rows = conn.execute(query.where(table.c[link.column].in_(list(part))))
                for values in rows:
                    if tuple(values[: len(referring.spec.primary_key)]) not in mine:
                        for row in owned[values[-1]]:
                            row.shared = True

    def visit(self, key: str) -> bool:
        """Query what is new for `key`; True when rows or identities were added."""
        found = self.found[key]
        grew = False
        for kind, column in found.spec.identities.items():
            if key in self.targets and kind != self.request_kind:
                continue
            values = self.fresh((key, "identity:" + kind, True), self.identities.get(kind, ()))
            blind = blind_column(found.spec, column)
            lower = not blind and lowered(self.datamap, kind, self.dialect(key))
            for part in chunks(values, 50):
                if blind:
                    wanted = self.blinded(kind, part)
                else:
                    wanted = stored_values(self.datamap, kind, part)
                via = f"identity {kind}"
                action = found.spec.erase
                learn = key in self.targets
                grew |= self.add(found, Lookup(column, wanted, lower, action, via=via, learn=learn))
        for link in found.spec.links:
            target, target_column = link.target(key)
            if target not in self.found:
                continue
            owned, dependent = self.values_of(target, target_column)
            action = link.erase or found.spec.erase
            via = f"link {link.column} → {target}.{target_column}"
            if link.owner:
                for part in chunks(self.fresh((key, link.column + ">o", True), owned)):
                    grew |= self.add(found, Lookup(link.column, list(part), action=action, via=via))
            if not cascades(link):
                continue
            parents = dependent if link.owner else owned | dependent
            for part in chunks(self.fresh((key, link.column + ">d", False), parents)):
                lookup_ = Lookup(link.column, list(part), parent=(target, target_column), via=via)
                grew |= self.add(found, lookup_)
        for source, link in self.owns_into.get(key, ()):
            grew |= self.visit_owned(found, source, link)
        for link in self.aliased.get(key, ()):
            grew |= self.visit_alias(found, link)
        return grew

    def visit_alias(self, found: Found, link: Link) -> bool:
        """The account whose own identity the subject's identity is on an `aliases` row
        (a second e-mail address): found as if by that identity on the account itself."""
        target, column = link.target(found.key)
        if target not in self.found:
            return False
        account = self.found[target]
        values = {r.values[link.column] for r in found.rows.values() if r.direct}
        via = f"identity, held by {found.key}.{link.column}"
        path = f"{found.key}.{link.column}>alias"
        return self.look_up(account, path, column, values, account.spec.erase, via, learn=True)

    def visit_owned(self, found: Found, source: str, link: Link) -> bool:
        """The rows of `found` that the subject's rows of `source` own through `link`
        (users.address_id: the user's address)."""
        referring = self.found.get(source)
        if referring is None:
            return False
        column = link.target(source)[1]
        values = {r.values[link.column] for r in referring.rows.values() if r.owner}
        action = link.erase or found.spec.erase
        via = f"owned through {source}.{link.column}"
        return self.look_up(found, f"{source}.{link.column}>owns", column, values, action, via)

    def look_up(
        self,
        found: Found,
        path: str,
        column: str,
        values: Iterable[Any],
        action: TableErase,
        via: str,
        *,
        learn: bool = False,
    ) -> bool:
        """Read the rows of `found` whose `column` holds one of `values` not yet asked for
        on `path`, as the subject's own rows; True when rows were added."""
        grew = False
        for part in chunks(self.fresh((found.key, path, True), values)):
            grew |= self.add(found, Lookup(column, list(part), action=action, via=via, learn=learn))
        return grew

    def blinded(self, kind: str, values: Sequence[str]) -> list[str]:
        """The blind indexes of identity values (a column the app fills with
        troth.vault.blind_index instead of the identity itself)."""
        secret = self.datamap.secret()
        return [blind_digest(secret, kind, v) for v in values]

    def dialect(self, key: str) -> str:
        return self.conns[self.datamap.store_of(key)].dialect.name

    def fresh(self, asked: tuple[str, str, bool], values: Iterable[Any]) -> list[Any]:
        """The values not yet queried for this path; remembers them as queried."""
        seen = self.asked.setdefault(asked, set())
        new = sorted({v for v in values if v is not None} - seen, key=str)
        seen.update(new)
        return new

    def values_of(self, key: str, column: str) -> tuple[set[Any], set[Any]]:
        """(values on owned rows, values on dependent rows) of `column` in `key`."""
        owned: set[Any] = set()
        dependent: set[Any] = set()
        for row in self.found[key].rows.values():
            (owned if row.owner else dependent).add(row.values[column])
        return owned, dependent - owned

    def add(self, found: Found, wanted: Lookup) -> bool:
        """Read the rows `wanted` reaches into `found` (a deferred table only remembers the
        lookup: nothing else is reached through its rows)."""
        if found.deferred:
            remember(found, wanted)
            return False
        conn = self.conns[self.datamap.store_of(found.key)]
        grew, owned = read_rows(conn, found, wanted)
        if wanted.learn:
            for values in owned:
                grew |= self.learn_identities(found, values)
        return grew

    def learn_identities(self, found: Found, values: Mapping[str, Any]) -> bool:
        grew = False
        for kind, column in found.spec.identities.items():
            if not (self.datamap.identities[kind].verified or column in found.spec.primary_key):
                continue
            if blind_column(found.spec, column):
                continue  # a digest names nobody in another table's plain column
            value = stored_form(self.datamap, kind, values[column])
            if value is not None and value not in self.identities.setdefault(kind, set()):
                self.identities[kind].add(value)
                grew = True
        return grew


def remember(found: Found, wanted: Lookup) -> None:
    """Add `wanted` to a deferred table's lookups (values of one path kept together)."""
    for known in found.lookups:
        same = (known.column, known.lower, known.action, known.parent, known.via)
        if same == (wanted.column, wanted.lower, wanted.action, wanted.parent, wanted.via):
            known.values.extend(wanted.values)
            return
    found.lookups.append(dataclasses.replace(wanted, values=list(wanted.values)))


def read_rows(conn: Connection, found: Found, wanted: Lookup) -> tuple[bool, list[dict[str, Any]]]:
    """Read the rows `wanted` reaches into `found.rows`: whether any was new or newly the
    subject's, and the values of those it reached as the subject's."""
    grew = False
    owned = []
    pk = found.spec.primary_key
    link_columns = {
        link.column: link.target(found.key) for link in found.spec.links if cascades(link)
    }
    query = lookup(found.table, wanted.column, lower=wanted.lower)
    with app_statements(conn, found.key):
        read = conn.execute(query, {"values": list(wanted.values)}).mappings().all()
    for mapping in read:
        values = dict(mapping)
        row_key = tuple(values[c] for c in pk)
        row = found.rows.get(row_key)
        if row is None:
            row = found.rows[row_key] = Row(values, via=wanted.via)
            grew = True
        row.direct |= wanted.direct
        if wanted.action is not None:
            grew |= not row.owner
            row.owner = True
            if row.erase is None or ERASE_RANK[wanted.action] > ERASE_RANK[row.erase]:
                row.erase = wanted.action
            owned.append(values)
        elif wanted.parent is not None:
            for column, target in link_columns.items():
                if target == wanted.parent:
                    row.parents.add((*target, values[column]))
    return grew, owned


def materialize(conn: Connection, found: Found) -> Found:
    """`found` with the rows its lookups reach read in (a deferred table made plain)."""
    if not found.deferred:
        return found
    plain = Found(found.key, found.spec, found.table, subject=found.subject)
    for wanted in found.lookups:
        for part in chunks(wanted.values):
            read_rows(conn, plain, dataclasses.replace(wanted, values=list(part)))
    return plain


def blind_column(spec: MapTable, column: str) -> bool:
    declared = spec.columns.get(column)
    return declared is not None and declared.blind_index


def subject_identities(found: Mapping[str, Found]) -> dict[str, set[str]]:
    """The identity values, by kind, that `resolve` knows to be the subject's own: the
    request's, and those it learned from the subject's account rows. The identities the
    subject's other rows hold may be other people's (a phonebook entry's number)."""
    known: dict[str, set[str]] = {}
    for part in found.values():
        for kind, values in part.subject.items():
            known.setdefault(kind, set()).update(values)
    return known


def resolve(
    datamap: DataMap,
    conns: Mapping[str, Connection],
    identity_kind: str,
    value: str,
    defer: Collection[str] = (),
) -> dict[str, Found]:
    """Every table of the stores in `conns` with the subject's rows (owned and dependent).

    Tables in `defer` (ones no link points to and that hold no accounts, see
    `troth.appdata.sets.leaves`) are not read: they keep the lookups that reach them."""
    return Reach(datamap, conns, identity_kind, value, defer).run()
