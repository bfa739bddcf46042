"""A request's rows in the tables that lead nowhere, as statements over its predicate.

Leaf tables (`guard.leaves`: no link points to them, no accounts in them) hold most
of a busy subject's rows (messages, visits, phonebook lines), and no row in them
leads a request anywhere else. So `resolve_lean` leaves them unread and keeps the
lookups that reach them. Access streams their rows from a server-side cursor a
batch at a time; erasure counts them with one statement per table and changes them
with one statement per table and action over the subject's predicate:

    DELETE FROM web_visits WHERE user_id IN (:subject) OR lower(cookie_id) IN (:cookies)
    DELETE FROM comments WHERE author_id IN (:subject) OR story_id IN (:deleted stories)

The stored plan (`RowSet`) holds the predicate's values (the subject's own keys and
identities, the keys of parents it deletes) and counts, never the leaf rows' keys.
Applying it again after a crash changes nothing more: it only reads columns that the
erasure leaves as they are (tables where it would not are read row by row instead,
`plain_tables`). Rows the app adds for the subject between planning and running go
too; they are the subject's by the same predicate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    func,
    not_,
    or_,
    select,
)

from troth.appdata.failures import app_statements
from troth.appdata.guard import Counted, leaves, owner_links, shape_of, subject_accounts
from troth.appdata.plan import Erasure
from troth.appdata.reach import Found, materialize, resolve, scoped
from troth.appdata.rowsets import RowSet, either, form, term
from troth.datamap.model import ColumnErase, DataMap, TableErase

BATCH = 1_000  # rows per batch from a server-side cursor
READ = "read"  # the action of a set an export reads


def resolve_lean(
    datamap: DataMap, conns: Mapping[str, Connection], identity_kind: str, value: str
) -> dict[str, Found]:
    """`resolve`, with the leaf tables left unread (their lookups kept)."""
    return resolve(datamap, conns, identity_kind, value, defer=leaves(datamap))


_statements: dict[tuple[Any, ...], Any] = {}
_statements_lock = threading.Lock()


def reused(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """The statement built for `key` (a purpose, the live Table itself, a predicate's
    shape) by the first request that needed it: a reused statement skips SQLAlchemy's
    construction and cache-key work, which cost more than a small subject's statements
    take to run. Keyed by the reflected Table, never its name, so another database's
    table of the same name (another project, a changed schema) gets its own."""
    with _statements_lock:
        found = _statements.get(key)
    if found is None:
        found = build()
        with _statements_lock:
            if len(_statements) > 512:
                _statements.clear()
            _statements[key] = found
    return found


def owned_set(part: Found) -> RowSet:
    """The subject's own rows of a deferred table, as a set to read (`READ`)."""
    return RowSet(READ, merged_owners(part, direct=True))


def merged_owners(part: Found, direct: bool) -> list[tuple[str, bool, list[Any]]]:
    """(column, lowered, values) of the lookups that reach the subject's own rows (those
    an identity value found too, if `direct`), one entry per column."""
    merged: dict[tuple[str, bool], set[Any]] = {}
    for w in part.lookups:
        if w.action is not None and (direct or not w.direct):
            merged.setdefault((w.column, w.lower), set()).update(w.values)
    return [(c, low, sorted(v, key=str)) for (c, low), v in merged.items()]


def stream(conn: Connection, part: Found, rows: RowSet) -> Iterator[list[dict[str, Any]]]:
    """The rows of `part` in `rows`, BATCH at a time.

    A first statement reads at most BATCH + 1 rows in one round trip; when there are more,
    they all come again from a server-side cursor, a batch at a time. On PostgreSQL such a
    cursor costs three more round trips (DECLARE, the FETCH that finds the end, CLOSE),
    most of a small subject's read of the table."""
    dialect = conn.dialect.name
    shape = rows.shape(dialect)

    def build() -> Any:
        return scoped(select(part.table), part.table).where(rows.where(part, READ, dialect))

    query = reused(("stream", part.table, *shape), build)
    first = reused(("stream first", part.table, *shape), lambda: query.limit(BATCH + 1))
    with app_statements(conn, part.key):
        few = [dict(r) for r in conn.execute(first, rows.params()).mappings()]
        if len(few) <= BATCH:
            if few:
                yield few
            return
        result = conn.execution_options(yield_per=BATCH).execute(query, rows.params())
        for batch in result.mappings().partitions(BATCH):
            yield [dict(r) for r in batch]


def owned_batches(conn: Connection, part: Found) -> Iterator[list[dict[str, Any]]]:
    """The subject's own rows of `part` (deferred or not), BATCH at a time."""
    if not part.deferred:
        owned = part.owned()
        for start in range(0, len(owned), BATCH):
            yield [r.values for r in owned[start : start + BATCH]]
        return
    yield from stream(conn, part, owned_set(part))


def others(
    conn: Connection,
    datamap: DataMap,
    found: Mapping[str, Found],
    key: str,
    rows: RowSet | None = None,
    actions: Sequence[str] = (READ,),
) -> dict[str, int]:
    """Per path, the rows `rows` (or by default the set of every row the subject owns)
    gives `actions`, reached as the subject's, whose owner links all name other accounts
    (the guard's rule, counted by statements)."""
    links = owner_links(datamap, key)
    part = found[key]
    if not links:
        return {}
    rows = rows or owned_set(part)
    mine = subject_accounts(shape_of(datamap), found)
    targets = dict(links)
    reached = [w for w in part.lookups if w.action is not None and not w.direct]
    if all(w.column in targets and set(w.values) <= mine[targets[w.column]] for w in reached):
        return {}  # every path ends at the subject's own account row
    dialect = conn.dialect.name
    direct = either(
        [term(part, w.column, w.lower, w.values, dialect) for w in part.lookups if w.direct]
    )
    named = or_(
        *(term(part, c, False, sorted(mine[t], key=str), dialect) for c, t in links),
        and_(*(part.table.c[c].is_(None) for c, _t in links)),
    )
    where = either([rows.where(part, a, dialect) for a in actions])
    counts: dict[str, int] = {}
    earlier: list[Any] = []
    for w in reached:
        this = term(part, w.column, w.lower, w.values, dialect)
        query = select(func.count()).select_from(part.table)
        query = query.where(where, this, not_(either(earlier)), not_(direct), not_(named))
        n = int(conn.execute(scoped(query, part.table), rows.params()).scalar_one())
        earlier.append(this)
        if n:
            counts[w.via] = counts.get(w.via, 0) + n
    return counts


def plain_tables(datamap: DataMap, found: Mapping[str, Found]) -> set[str]:
    """Deferred tables an erasure must read row by row: their owned rows get more than one
    action, an update changes a column their predicate reads, or identity values find
    rows of a table without a one-column primary key."""
    out = set()
    for key, part in found.items():
        if not part.deferred:
            continue
        actions = {w.action for w in part.lookups if w.action is not None}
        changed = {c for c, col in part.spec.columns.items() if col.erase != ColumnErase.keep}
        read = {w.column for w in part.lookups}
        keyless = len(part.spec.primary_key) != 1 and any(w.direct for w in part.lookups)
        if len(actions) > 1 or (actions == {TableErase.update} and read & changed) or keyless:
            out.add(key)
    return out


def read_in(
    conns: Mapping[str, Connection],
    datamap: DataMap,
    found: Mapping[str, Found],
    keys: Collection[str],
) -> dict[str, Found]:
    """`found` with the deferred tables `keys` (or all, given every key) read row by row."""
    return {
        key: materialize(conns[datamap.store_of(key)], part) if key in keys else part
        for key, part in found.items()
    }


def row_set(conn: Connection, part: Found, deleted: Mapping[tuple[str, str], set[Any]]) -> RowSet:
    """A deferred table's erasure; `deleted`: (table, column) -> values on deleted rows.

    Rows an identity value found are named by their primary keys (a stored plan holds
    no e-mail address or phone number); those are few: a sign-up, a ticket."""
    actions = {w.action for w in part.lookups if w.action is not None}
    action = actions.pop() if actions else TableErase.delete
    owners = merged_owners(part, direct=False)
    direct = [w for w in part.lookups if w.direct]
    if direct:
        dialect = conn.dialect.name
        (pk,) = part.spec.primary_key

        def build() -> Any:
            terms = [
                term(part, w.column, w.lower, w.values, dialect, f"d{i}")
                for i, w in enumerate(direct)
            ]
            return scoped(select(part.table.c[pk]).where(either(terms)), part.table)

        shape = tuple((w.column, w.lower, form(w.values, dialect)) for w in direct)
        query = reused(("direct", part.table, dialect, shape), build)
        params = {f"d{i}": w.values for i, w in enumerate(direct)}
        with app_statements(conn, part.key):
            keys = conn.execute(query, params).scalars()
            owners.append((pk, False, sorted(keys, key=str)))
    parents = []
    for link in part.spec.links:
        target = link.target(part.key)
        gone = deleted.get(target, set()) - {None}
        if (link.owner or link.erase == TableErase.delete) and gone:
            parents.append((link.column, sorted(gone, key=str)))
    return RowSet(str(action.value), owners, parents)


def deleted_values(
    datamap: DataMap, found: Mapping[str, Found], erasure: Erasure
) -> dict[tuple[str, str], set[Any]]:
    """(table, column) -> the values of `column` on the rows `erasure` deletes, for every
    column a deferred table's link points to."""
    wanted = {
        link.target(key) for key, part in found.items() if part.deferred for link in part.spec.links
    }
    out: dict[tuple[str, str], set[Any]] = {}
    for table, column in wanted:
        rows = found[table].rows if table in found else {}
        out[(table, column)] = {rows[k].values[column] for k in erasure.delete.get(table, [])}
    return out


def others_go(rows: RowSet) -> bool:
    """Whether rows of others go with a set whose own rows are not deleted: those holding
    a deleted parent's value."""
    return rows.action != TableErase.delete and bool(rows.parents)


def count_sets(conn: Connection, sets: Sequence[tuple[Found, RowSet]]) -> list[dict[str, int]]:
    """How many rows each set deletes, updates and keeps: one statement for all of them
    (a count per set, two for a set whose own rows are not deleted but others' rows go
    with it), reused per shape."""
    if not sets:
        return []
    dialect = conn.dialect.name

    def counted(part: Found, where: Any) -> Any:
        query = select(func.count()).select_from(part.table).where(where)
        return scoped(query, part.table).scalar_subquery()

    def build() -> Any:
        columns = []
        for n, (part, rows) in enumerate(sets):
            owned = rows.where(part, rows.action, dialect, f"t{n}")
            if others_go(rows):
                gone_with = rows.where(part, TableErase.delete, dialect, f"t{n}")
                columns.append(counted(part, either([owned, gone_with])))
            columns.append(counted(part, owned))
        return select(*columns)

    shapes = tuple((part.table, *rows.shape(dialect)) for part, rows in sets)
    query = reused(("counts", *shapes), build)
    params = {k: v for n, (_p, rows) in enumerate(sets) for k, v in rows.params(f"t{n}").items()}
    with app_statements(conn, ", ".join(part.key for part, _r in sets)):
        got = list(conn.execute(query, params).one())
    out = []
    for _part, rows in sets:
        total = int(got.pop(0)) if others_go(rows) else None
        mine = int(got.pop(0))
        counts = {rows.action: mine}
        if total is not None and total - mine:
            counts["delete"] = total - mine
        out.append({a: n for a, n in counts.items() if n})
    return out


def blob_paths(conn: Connection, part: Found, rows: RowSet) -> dict[str, set[str]]:
    """The files of the rows the set deletes, and those its updates erase."""
    out: dict[str, set[str]] = {}
    dialect = conn.dialect.name
    table = part.table
    for action in ("delete", "update"):
        columns = [
            (name, column.blob)
            for name, column in part.spec.columns.items()
            if column.blob is not None and (action == "delete" or column.erase != ColumnErase.keep)
        ]
        if not columns or not rows.counts.get(action):
            continue

        def build(action: str = action, columns: list[tuple[str, str]] = columns) -> Any:
            query = select(*(table.c[c] for c, _b in columns))
            return scoped(query.where(rows.where(part, action, dialect)), table)

        query = reused(("files", table, action, tuple(columns), *rows.shape(dialect)), build)
        found = conn.execution_options(yield_per=BATCH).execute(query, rows.params())
        for row in found:
            for (_name, blob), value in zip(columns, row, strict=True):
                if value:
                    out.setdefault(blob, set()).add(str(value))
    return out


def set_erasure(
    datamap: DataMap,
    conns: Mapping[str, Connection],
    found: Mapping[str, Found],
    erasure: Erasure,
) -> dict[str, Counted]:
    """Add every deferred table's `RowSet` (counted) and files to `erasure`; what the guard
    checks for them."""
    deleted = deleted_values(datamap, found, erasure)
    counted: dict[str, Counted] = {}
    by_store: dict[str, list[tuple[Found, RowSet]]] = {}
    for key, part in found.items():
        if part.deferred and part.lookups:
            conn = conns[datamap.store_of(key)]
            by_store.setdefault(datamap.store_of(key), []).append(
                (part, row_set(conn, part, deleted))
            )
    for name, sets in by_store.items():
        conn = conns[name]
        for (part, rows), counts in zip(sets, count_sets(conn, sets), strict=True):
            rows.counts = counts
            if counts:
                counted |= counted_set(conn, datamap, found, erasure, part, rows)
    return counted


def counted_set(
    conn: Connection,
    datamap: DataMap,
    found: Mapping[str, Found],
    erasure: Erasure,
    part: Found,
    rows: RowSet,
) -> dict[str, Counted]:
    """Add a counted set and its files to `erasure`; what the guard checks for it."""
    erasure.sets[part.key] = rows
    for blob, paths in blob_paths(conn, part, rows).items():
        erasure.blobs.setdefault(blob, set()).update(paths)
    changed = rows.counts.get("delete", 0) + rows.counts.get("update", 0)
    if not changed:
        return {}
    changes = others(conn, datamap, found, part.key, rows, ("delete", "update"))
    return {part.key: Counted(changed, changes)}
