"""Carrying out the changes of a request in the app's stores, set-based.

Each SQL store is changed in one transaction: the leaf tables' rows first (one
statement per table and action over the subject's predicate, see
`troth.appdata.sets`), then updates (tombstones, nulled foreign keys), then deletes
with children before parents; those work on IN-lists of primary keys (in chunks).
Erasure is idempotent: a delete of a gone row does nothing, null and mask write the
same value again, and a keyed pseudonym is never applied to a value that already is
one.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, case, delete, select, update

from troth.appdata.context import Context, checkpoint
from troth.appdata.failures import app_statements
from troth.appdata.guard import people_tables
from troth.appdata.reach import (
    CHUNK,
    Found,
    Key,
    chunks,
    key_condition,
    reflect,
    scoped,
    table_order,
)
from troth.appdata.rowsets import RowSet, either, form, member
from troth.appdata.sets import reused
from troth.datamap import DataMap, blob_root
from troth.datamap.model import PSEUDONYM_HEX, PSEUDONYM_PREFIX, ColumnErase
from troth.datamap.model import Table as MapTable
from troth.vault import (
    column_subject,
    field_of,
    held,
    hold,
    release,
    row_ref,
    shred_reads,
    shred_subjects,
    template_columns,
    vault_for,
)

PSEUDONYM = re.compile(rf"^{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_HEX}}}$")
REUSED_UP_TO = 16  # keyed pseudonyms a tombstone's reused UPDATE binds; more: built anew


class Counter:
    """Counts statements so that a crash test can stop the process between any two."""

    def __init__(self) -> None:
        self.statements = 0

    def step(self) -> None:
        self.statements += 1
        checkpoint(f"statement:{self.statements}")


def pseudonym(ctx: Context, table_key: str, column: str, value: object) -> str:
    mac = ctx.project.keyed_hash(f"erase:{table_key}.{column}", str(value))
    return PSEUDONYM_PREFIX + mac[:PSEUDONYM_HEX]


def erase_store(
    conn: Connection,
    ctx: Context,
    store: str,
    plan: Mapping[str, Mapping[str, list[Key]]],
    sets: Mapping[str, RowSet] | None = None,
) -> dict[str, dict[str, int]]:
    """Apply one store's part of an erasure plan (keys per table and action, and the leaf
    tables' `sets`) inside `conn`'s transaction."""
    counter = Counter()
    order = [k for k in table_order(ctx.datamap) if ctx.datamap.store_of(k) == store]
    sets = {k: v for k, v in (sets or {}).items() if k in order}
    counts: dict[str, dict[str, int]] = {}
    shred_keys(conn, ctx, order, plan, sets)
    for key, rows in sets.items():
        with app_statements(conn, key):
            counts[key] = erase_set(conn, ctx, key, rows, counter)
    for key in order:
        keys = plan.get(key, {}).get("update", [])
        if keys:
            with app_statements(conn, key):
                counts.setdefault(key, {})["updated"] = tombstone(conn, ctx, key, keys, counter)
    for key in reversed(order):
        keys = plan.get(key, {}).get("delete", [])
        if keys:
            with app_statements(conn, key):
                counts.setdefault(key, {})["deleted"] = remove(conn, ctx, key, keys, counter)
    return counts


def erase_set(
    conn: Connection, ctx: Context, key: str, rows: RowSet, counter: Counter
) -> dict[str, int]:
    """A leaf table's part of an erasure: one DELETE, and the updates, over its predicate."""
    table = reflect(conn.engine, ctx.datamap, key)
    part = Found(key, ctx.datamap.tables[key], table, deferred=True)
    dialect = conn.dialect.name
    done: dict[str, int] = {}
    if rows.counts.get("delete"):

        def build() -> Any:
            return scoped(delete(table), table).where(rows.where(part, "delete", dialect))

        statement = reused(("delete", table, *rows.shape(dialect)), build)
        done["deleted"] = conn.execute(statement, rows.params()).rowcount
        counter.step()
    if rows.counts.get("update"):
        where = rows.where(part, "update", dialect)
        done["updated"] = tombstone_where(conn, ctx, part, where, rows.params(), counter)
    return done


def tombstone_where(
    conn: Connection,
    ctx: Context,
    part: Found,
    where: Any,
    params: Mapping[str, Any],
    counter: Counter,
) -> int:
    """Each column's erase action on the rows under `where`; a hashed column gets one
    keyed pseudonym per distinct value it holds there."""
    fixed, hashed = erase_values(part.spec)
    table = part.table
    done = 0
    if fixed:
        statement = scoped(update(table), table).where(where).values(fixed)
        done = conn.execute(statement, params).rowcount
        counter.step()
    for name in hashed:
        column = table.c[name]
        read = scoped(select(column).distinct().where(where, column.is_not(None)), table)
        current = [v for v in conn.execute(read, params).scalars() if not PSEUDONYM.match(str(v))]
        counter.step()
        for values in chunks(current):
            mapping = {v: pseudonym(ctx, part.key, name, v) for v in values}
            changed = case(mapping, value=column, else_=column)
            statement = scoped(update(table), table).where(where, column.in_(values))
            n = conn.execute(statement.values({name: changed}), params).rowcount
            counter.step()
            done = done if fixed else done + n
    return done


def erase_values(
    spec: MapTable, only: Collection[str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The values erasure writes (null, mask) per column, and the columns it hashes (of
    the columns `only`, if given)."""
    fixed: dict[str, Any] = {}
    hashed = []
    for name, column in spec.columns.items():
        if only is not None and name not in only:
            continue
        if column.erase == ColumnErase.null:
            fixed[name] = None
        elif column.erase == ColumnErase.mask:
            fixed[name] = column.mask
        elif column.erase == ColumnErase.hash:
            hashed.append(name)
    return fixed, hashed


def shred_keys(
    conn: Connection,
    ctx: Context,
    order: Sequence[str],
    plan: Mapping[str, Mapping[str, list[Key]]],
    sets: Mapping[str, RowSet],
) -> int:
    """Destroy the vault keys behind the `erase: shred` columns of the rows the plan
    changes, before they change (shredding again on a resumed erasure is a no-op).

    Only keys of subjects that the planned account rows name are destroyed: a message
    the subject received is sealed for its sender, whose key stays."""
    people = people_tables(ctx.datamap)
    named: set[str] = set()
    own: set[str] = set()
    for key in order:
        spec = ctx.datamap.tables[key]
        keys = [*plan.get(key, {}).get("update", []), *plan.get(key, {}).get("delete", [])]
        columns = sorted(shred_reads(spec))
        if not keys or not columns:
            continue
        table = reflect(conn.engine, ctx.datamap, key)
        for part in chunks(keys):
            query = select(*(table.c[c] for c in columns)).where(
                key_condition(table, spec.primary_key, part)
            )
            subjects = shred_subjects(spec, conn.execute(scoped(query, table)).mappings().all())
            named |= subjects
            if key in people:
                own |= subjects
    for key in people:
        erased = [*plan.get(key, {}).get("update", []), *plan.get(key, {}).get("delete", [])]
        if erased:
            own |= linked_subjects(conn, ctx, key, erased)
    for key, rows in sets.items():
        columns = sorted(shred_reads(ctx.datamap.tables[key]))
        if columns:
            named |= set_subjects(conn, ctx, key, rows, columns)
    if not named & own:
        return 0
    return vault_for(ctx.project).shred(named & own)


def linked_subjects(conn: Connection, ctx: Context, key: str, keys: Sequence[Key]) -> set[str]:
    """The vault subjects that other tables' `erase: shred` columns name through links to
    the account rows `keys` of `key` (messages sealed for user:{sender_id}, sender_id ->
    users.id): the account row's own subjects even where it seals nothing itself."""
    templates = linked_templates(ctx.datamap, key)
    if not templates:
        return set()
    spec = ctx.datamap.tables[key]
    table = reflect(conn.engine, ctx.datamap, key)
    needed = sorted({column for _, names in templates for column in names.values()})
    found: set[str] = set()
    for part in chunks(list(keys)):
        query = select(*(table.c[c] for c in needed)).where(
            key_condition(table, spec.primary_key, part)
        )
        for row in conn.execute(scoped(query, table)).mappings():
            for template, names in templates:
                subject = column_subject(template, {c: row[a] for c, a in names.items()})
                if subject is not None:
                    found.add(subject)
    return found


def linked_templates(datamap: DataMap, key: str) -> list[tuple[str, dict[str, str]]]:
    """(template, {its column: the account column a link of it points to}) for every
    shred template whose columns are all links to the account table `key`."""
    out = []
    for other, spec in datamap.tables.items():
        into = {k.column: k.target(other)[1] for k in spec.links if k.target(other)[0] == key}
        for column in spec.columns.values():
            if column.erase != ColumnErase.shred:
                continue
            names = template_columns(str(column.subject))
            if names and all(n in into for n in names):
                out.append((str(column.subject), {n: into[n] for n in names}))
    return out


def set_subjects(
    conn: Connection, ctx: Context, key: str, rows: RowSet, columns: Sequence[str]
) -> set[str]:
    """The vault subjects the `erase: shred` columns of a leaf table's erased rows name."""
    spec = ctx.datamap.tables[key]
    table = reflect(conn.engine, ctx.datamap, key)
    part = Found(key, spec, table, deferred=True)
    dialect = conn.dialect.name
    where = either([rows.where(part, "delete", dialect), rows.where(part, "update", dialect)])
    query = scoped(select(*(table.c[c] for c in columns)).distinct().where(where), table)
    return shred_subjects(spec, conn.execute(query, rows.params()).mappings().all())


def remove(
    conn: Connection,
    ctx: Context,
    key: str,
    keys: Sequence[Key],
    counter: Counter,
    chunk: int = CHUNK,
) -> int:
    table = reflect(conn.engine, ctx.datamap, key)
    pk = ctx.datamap.tables[key].primary_key
    done = 0
    for batch in leaves_first(conn, ctx, key, keys):
        for part in chunks(batch, chunk):
            statement, params = by_keys(
                conn,
                table,
                pk,
                part,
                ("remove",),
                lambda where: scoped(delete(table), table).where(where),
            )
            done += conn.execute(statement, params).rowcount
            counter.step()
    return done


def by_keys(
    conn: Connection,
    table: Table,
    pk: Sequence[str],
    keys: Sequence[Key],
    purpose: tuple[Any, ...],
    build: Callable[[Any], Any],
    *,
    reuse: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """The statement `build(where)` over the rows `keys` of `table`, and its parameters.

    On a one-column primary key the keys are bound by name and the statement is built
    once per `purpose` (which names all else it is built from) and the keys' form
    (`sets.reused`); on a composite one, or not to `reuse`, it is built each time."""
    dialect = conn.dialect.name
    if len(pk) != 1 or not reuse:
        return build(key_condition(table, pk, keys, dialect)), {}
    values = sorted({k[0] for k in keys}, key=str)

    def condition() -> Any:
        return build(member(table.c[pk[0]], values, dialect, "keys"))

    return reused((*purpose, table, dialect, form(values, dialect)), condition), {"keys": values}


def leaves_first(
    conn: Connection, ctx: Context, key: str, keys: Sequence[Key]
) -> Iterator[Sequence[Key]]:
    """`keys` in batches that delete a thread's replies before the comments they answer.

    MySQL and MariaDB check a foreign key row by row inside one DELETE, so deleting a
    parent and its child in one statement fails when the parent comes first; SQLite and
    PostgreSQL check at the statement's end and get every key at once."""
    spec = ctx.datamap.tables[key]
    own = [(link.column, link.target(key)[1]) for link in spec.links if link.target(key)[0] == key]
    if not own or conn.dialect.name not in ("mysql", "mariadb") or len(keys) < 2:
        yield keys
        return
    table = reflect(conn.engine, ctx.datamap, key)
    columns = sorted({c for pair in own for c in pair} | set(spec.primary_key))
    rows: dict[Key, dict[str, Any]] = {}
    for part in chunks(keys):
        query = select(*(table.c[c] for c in columns)).where(
            key_condition(table, spec.primary_key, part)
        )
        for row in conn.execute(query).mappings():
            rows[tuple(row[c] for c in spec.primary_key)] = dict(row)
    while rows:
        referred = {(target, r[column]) for r in rows.values() for column, target in own}
        leaves = [k for k, r in rows.items() if not any((t, r[t]) in referred for _c, t in own)]
        batch = leaves or list(rows)  # a cycle: let the database say which key failed
        yield batch
        for done in batch:
            del rows[done]


def tombstone(
    conn: Connection,
    ctx: Context,
    key: str,
    keys: Sequence[Key],
    counter: Counter,
    only: Collection[str] | None = None,
) -> int:
    """Each column's erase action (of the columns `only`, if given) on the rows `keys`;
    hashed columns get keyed pseudonyms."""
    spec = ctx.datamap.tables[key]
    table = reflect(conn.engine, ctx.datamap, key)
    fixed, hashed = erase_values(spec, only)
    if not fixed and not hashed:
        return 0
    pk = spec.primary_key
    shape = (tuple(fixed.items()), tuple(hashed))
    done = 0
    for part in chunks(keys):
        mappings: list[dict[Any, str]] = [{} for _ in hashed]
        if hashed:
            read, params = by_keys(
                conn,
                table,
                pk,
                part,
                ("tombstone read", *shape),
                lambda where: scoped(select(*(table.c[c] for c in hashed)), table).where(where),
            )
            current = conn.execute(read, params).all()
            counter.step()
            for i, name in enumerate(hashed):
                mappings[i] = {
                    row[i]: pseudonym(ctx, key, name, row[i])
                    for row in current
                    if row[i] is not None and not PSEUDONYM.match(str(row[i]))
                }
        sizes = tuple(len(m) for m in mappings)

        def build(where: Any, sizes: tuple[int, ...] = sizes) -> Any:
            changes = dict(fixed) | keyed_values(table, hashed, sizes)
            return scoped(update(table), table).where(where).values(changes)

        reuse = sum(sizes) <= REUSED_UP_TO
        change, params = by_keys(
            conn, table, pk, part, ("tombstone", *shape, sizes), build, reuse=reuse
        )
        done += conn.execute(change, params | pseudonym_params(mappings)).rowcount
        counter.step()
    return done


def keyed_values(table: Table, hashed: Sequence[str], sizes: Sequence[int]) -> dict[str, Any]:
    """`CASE column WHEN :h<j>w<i> THEN :h<j>t<i> … ELSE column END` per hashed column with
    values to replace (`sizes`: how many, per column); `pseudonym_params` binds them."""
    out: dict[str, Any] = {}
    for j, (name, size) in enumerate(zip(hashed, sizes, strict=True)):
        if size:
            column = table.c[name]
            whens = {
                bindparam(f"h{j}w{i}", type_=column.type): bindparam(f"h{j}t{i}", type_=column.type)
                for i in range(size)
            }
            out[name] = case(whens, value=column, else_=column)
    return out


def pseudonym_params(mappings: Sequence[Mapping[Any, str]]) -> dict[str, Any]:
    """The values and their keyed pseudonyms that `keyed_values` names."""
    out: dict[str, Any] = {}
    for j, mapping in enumerate(mappings):
        for i, (value, replacement) in enumerate(mapping.items()):
            out[f"h{j}w{i}"], out[f"h{j}t{i}"] = value, replacement
    return out


def erase_categories(
    conn: Connection, ctx: Context, found: Mapping[str, Found], categories: Collection[str]
) -> dict[str, int]:
    """Apply the erase action of every column holding only `categories` (data kept on a
    basis that was withdrawn) to the subject's own rows; rows and other columns stay."""
    counter = Counter()
    counts: dict[str, int] = {}
    for key, part in found.items():
        columns = withdrawn_columns(part.spec, categories)
        owned = part.owned_keys()
        if columns and owned:
            with app_statements(conn, key):
                counts[key] = tombstone(conn, ctx, key, owned, counter, only=columns)
    return counts


def withdrawn_columns(spec: MapTable, categories: Collection[str]) -> list[str]:
    """The columns of `spec` that hold only `categories` and have an erase action."""
    return [
        name
        for name, column in spec.columns.items()
        if column.categories
        and column.erase != ColumnErase.keep
        and all(under(c, categories) for c in column.categories)
    ]


def under(category: str, parents: Collection[str]) -> bool:
    return any(category == p or category.startswith(p + ".") for p in parents)


def delete_blobs(ctx: Context, store: str, paths: Sequence[str]) -> int:
    """Delete files from a blob store (missing files are fine: a retry after a crash)."""
    root = blob_root(ctx.project, ctx.datamap, store)
    gone = 0
    for n, path in enumerate(paths, 1):
        target = inside(root, path)
        if target is not None and target.is_file():
            target.unlink()
            gone += 1
        checkpoint(f"blob:{n}")
    return gone


def inside(root: Path, path: str) -> Path | None:
    """`path` under the blob store's resolved folder `root`, or None when the database
    holds a path that leads out of it (`..`, an absolute path, a symbolic link).

    A plain relative path is checked by an lstat of each of its parts below `root`, not
    resolved from `/` (a look-up per folder of the whole path, per file)."""
    relative = PurePath(path)
    try:
        plain = not relative.is_absolute() and ".." not in relative.parts
        if plain and not any_link(root, relative.parts):
            return root / relative
        target = (root / relative).resolve()
    except ValueError:  # a NUL byte: no file has that name
        return None
    return target if target.is_relative_to(root) else None


def any_link(root: Path, parts: Sequence[str]) -> bool:
    """Whether a part of the path `parts` under `root` is a symbolic link (the parts
    after one that does not exist are not there either)."""
    here = str(root)
    for part in parts:
        here = os.path.join(here, part)
        try:
            if stat.S_ISLNK(os.lstat(here).st_mode):
                return True
        except (FileNotFoundError, NotADirectoryError):
            return False
    return False


def set_columns(
    conn: Connection,
    ctx: Context,
    found: Mapping[str, Found],
    changes: Mapping[str, dict[str, Any]],
) -> dict[str, int]:
    """UPDATE each table of `changes` for the subject's own rows; returns rows per table."""
    counter = Counter()
    counts: dict[str, int] = {}
    for key, values in changes.items():
        owned = found[key].owned_keys()
        if not owned:
            continue
        table = found[key].table
        done = 0
        with app_statements(conn, key):
            for part in chunks(owned):
                where = key_condition(table, found[key].spec.primary_key, part)
                statement = scoped(update(table), table).where(where).values(values)
                done += conn.execute(statement).rowcount
                counter.step()
        counts[key] = done
    return counts


def switch_active(
    conn: Connection, ctx: Context, found: Mapping[str, Found], store: str, deactivate: bool
) -> dict[str, int]:
    """Deactivate (or reactivate) the subject's rows per each table's `deactivate` rule.

    Only rows in the opposite state change: an erased tombstone is never reactivated.
    Columns the rule hides move into the vault first (see `hidden_values`)."""
    counts: dict[str, int] = {}
    for key, part in found.items():
        rule = part.spec.deactivate
        if rule is None or ctx.datamap.store_of(key) != store:
            continue
        new, old = (rule.set, rule.restore) if deactivate else (rule.restore, rule.set)
        owned = part.owned_keys()
        done = 0
        with app_statements(conn, key):
            if rule.hide:
                hidden_values(conn, ctx, part, deactivate)
            if deactivate:
                new = {**new, **dict.fromkeys(rule.hide)}  # held in the vault now
            for keys in chunks(owned):
                where = and_(
                    key_condition(part.table, part.spec.primary_key, keys),
                    *(part.table.c[c] == v for c, v in old.items()),
                )
                statement = scoped(update(part.table), part.table).where(where).values(new)
                done += conn.execute(statement).rowcount
        if owned:
            counts[key] = done
    return counts


def hidden_values(conn: Connection, ctx: Context, part: Found, deactivate: bool) -> None:
    """Move the rule's `hide` columns of the rows about to switch into the vault
    (deactivation: sealed and held before the row is emptied) or back (reactivation:
    the row gets them in this transaction).

    Held values are deleted only once a later request finds the row active with them
    back in it: deleting them before the app's transaction commits could lose them."""
    rule = part.spec.deactivate
    assert rule is not None and rule.subject is not None
    vault = vault_for(ctx.project)
    fields = {c: field_of(part.key, c) for c in rule.hide}
    refs: dict[Key, str] = {}
    subjects: dict[str, str] = {}
    for row_key, row in part.rows.items():
        subject = column_subject(rule.subject, row.values)
        if row.owner and subject is not None:
            refs[row_key] = row_ref(vault, part.key, row_key)
            subjects[refs[row_key]] = subject
    active = {k for k in refs if in_state(part.rows[k].values, rule.restore)}
    release(vault, [(f, refs[k]) for k in active for f in fields.values()])
    if deactivate:
        items = [
            (field, refs[k], str(part.rows[k].values[column]))
            for k in active
            for column, field in fields.items()
            if part.rows[k].values[column] is not None
        ]
        hold(vault, subjects, items)
        return
    switching = [k for k in refs if in_state(part.rows[k].values, rule.set)]
    back = held(vault, subjects, [(f, refs[k]) for k in switching for f in fields.values()])
    for k in switching:
        values = {c: back[(f, refs[k])] for c, f in fields.items() if (f, refs[k]) in back}
        if values:
            where = key_condition(part.table, part.spec.primary_key, [k])
            conn.execute(scoped(update(part.table), part.table).where(where).values(values))


def in_state(values: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    return all(values.get(c) == v for c, v in state.items())
