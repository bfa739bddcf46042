"""Rows that are due, by a timestamp column, and what a retention sweep does to them:
batches of primary keys in key order (so a sweep resumes after any batch), deleted or
anonymized set-based inside the app's own transaction.

Anonymization is irreversible and idempotent (a year stays its year, a network its
network), so a batch applied twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy.sql import sqltypes

from troth.appdata.context import Context
from troth.appdata.execute import Counter, remove
from troth.appdata.failures import app_statements
from troth.appdata.identities import within
from troth.appdata.reach import Key, cascades, chunks, key_condition, reflect, scoped
from troth.appdata.times import EPOCH_MS, as_datetime, stored_cutoff
from troth.datamap import sql_engine
from troth.datamap.model import Anonymize, Link
from troth.errors import TrothError

SWEEP_CHUNK = 5000  # keys per statement in a sweep (a batch is written in one or a few)


@dataclass(frozen=True)
class Spare:
    """Rows a sweep leaves alone: `column` holds one of `values` (a case's legal hold)."""

    column: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Due:
    """The rows of `table` whose `column` is older than `cutoff` (newer, with `newer`: a
    birth date after it), not older than `since` (what an earlier sweep left), with the
    values `where`, without those of `unless`, and not `spare`d."""

    table: str
    column: str | None  # None: no time condition (an account the app marked deleted)
    cutoff: dt.datetime | None = None
    since: dt.datetime | None = None
    newer: bool = False
    where: Mapping[str, Any] = field(default_factory=dict)
    unless: Mapping[str, Any] = field(default_factory=dict)
    spare: tuple[Spare, ...] = ()


def table_of(conn: Connection, ctx: Context, due: Due) -> Table:
    table = reflect(conn.engine, ctx.datamap, due.table)
    named = (due.column, *due.where, *due.unless, *(s.column for s in due.spare))
    for column in filter(None, named):
        if column not in table.c:
            raise TrothError(f"datamap.yaml tables.{due.table}: no column {column!r} in the store")
    return table


def due_condition(conn: Connection, ctx: Context, due: Due) -> ColumnElement[bool] | None:
    """The SQL condition of `due`, or None when nothing can be due (no value stored yet)."""
    table = table_of(conn, ctx, due)
    parts: list[ColumnElement[bool]] = []
    if due.column is not None and due.cutoff is not None:
        column = table.c[due.column]
        where = f"tables.{due.table} column {due.column}"
        cutoff = stored_cutoff(conn, column, where, due.cutoff)
        if cutoff is None:
            return None
        parts.append(column > cutoff if due.newer else column < cutoff)
        if due.since is not None:
            parts.append(column >= stored_cutoff(conn, column, where, due.since))
    parts += [table.c[c] == v for c, v in due.where.items()]
    parts += [or_(table.c[c].is_(None), table.c[c] != v) for c, v in due.unless.items()]
    for spare in due.spare:
        held = table.c[spare.column]
        parts.append(or_(held.is_(None), not_(within(held, list(spare.values)))))
    return and_(*parts)


def due_keys(
    conn: Connection, ctx: Context, due: Due, *, after: Key | None, limit: int
) -> list[Key]:
    """Up to `limit` due primary keys after `after`, in key order."""
    condition = due_condition(conn, ctx, due)
    if condition is None:
        return []
    table = table_of(conn, ctx, due)
    pk = [table.c[c] for c in ctx.datamap.tables[due.table].primary_key]
    query = scoped(select(*pk), table).where(condition)
    if after is not None:
        query = query.where(tuple_(*pk) > tuple_(*after) if len(pk) > 1 else pk[0] > after[0])
    with app_statements(conn, due.table):
        rows = conn.execute(query.order_by(*pk).limit(limit)).all()
    return [tuple(r) for r in rows]


def due_summary(conn: Connection, ctx: Context, due: Due) -> tuple[int, dt.datetime | None]:
    """How many rows are due, and the oldest one's timestamp."""
    condition = due_condition(conn, ctx, due)
    if condition is None:
        return 0, None
    table = table_of(conn, ctx, due)
    column = table.c[due.column or ctx.datamap.tables[due.table].primary_key[0]]
    counted = cast(Select[Any], select(func.count(), func.min(column)))
    query = scoped(counted, table).where(condition)
    with app_statements(conn, due.table):
        count, oldest = conn.execute(query).one()
    return int(count), as_datetime(oldest) if due.column else None


def delete_keys(
    conn: Connection, ctx: Context, table_key: str, keys: Sequence[Key]
) -> dict[str, int]:
    """Delete the rows `keys` and the rows that go with them (rows of other tables that
    belong to them, or a reviewed cascade), dependents first; rows deleted per table."""
    counts: dict[str, int] = {}
    delete_tree(conn, ctx, table_key, list(keys), counts, {table_key})
    return counts


def delete_tree(
    conn: Connection,
    ctx: Context,
    table_key: str,
    keys: list[Key],
    counts: dict[str, int],
    path: set[str],
) -> None:
    if not keys:
        return
    table = reflect(conn.engine, ctx.datamap, table_key)
    pk = ctx.datamap.tables[table_key].primary_key
    for child, link in dependents(ctx, table_key):
        if child in path:
            continue  # a cycle of links: the database's own keys decide
        column = link.target(child)[1]
        values = referred_values(conn, table, pk, keys, column)
        child_keys = keys_referring(conn, ctx, child, link.column, values)
        delete_tree(conn, ctx, child, child_keys, counts, path | {child})
    with app_statements(conn, table_key):
        gone = remove(conn, ctx, table_key, keys, Counter(), SWEEP_CHUNK)
    counts[table_key] = counts.get(table_key, 0) + gone


def dependents(ctx: Context, table_key: str) -> list[tuple[str, Link]]:
    """(table, link) of every link whose rows go with the rows of `table_key`."""
    return [
        (child, link)
        for child, spec in ctx.datamap.tables.items()
        for link in spec.links
        if link.target(child)[0] == table_key
        and cascades(link)
        and child != table_key
        and ctx.datamap.store_of(child) == ctx.datamap.store_of(table_key)
    ]


def referred_values(
    conn: Connection, table: Table, pk: Sequence[str], keys: Sequence[Key], column: str
) -> list[Any]:
    if list(pk) == [column]:
        return [k[0] for k in keys]
    out: list[Any] = []
    for part in chunks(keys):
        query = select(table.c[column]).where(key_condition(table, pk, part))
        out.extend(v for v in conn.execute(query).scalars() if v is not None)
    return out


def keys_referring(
    conn: Connection, ctx: Context, table_key: str, column: str, values: Sequence[Any]
) -> list[Key]:
    table = reflect(conn.engine, ctx.datamap, table_key)
    pk = [table.c[c] for c in ctx.datamap.tables[table_key].primary_key]
    out: list[Key] = []
    with app_statements(conn, table_key):
        for part in chunks(sorted(set(values), key=str)):
            query = scoped(select(*pk), table).where(within(table.c[column], list(part)))
            out.extend(tuple(r) for r in conn.execute(query))
    return out


def anonymize_keys(
    conn: Connection,
    ctx: Context,
    table_key: str,
    keys: Sequence[Key],
    actions: Mapping[str, Anonymize],
) -> int:
    """Each column's anonymization on the rows `keys`; returns how many rows changed
    (a row already anonymized is not counted again). Nulls and empty text alone run as
    one statement per chunk; generalizations are computed per row and written by key."""
    table = reflect(conn.engine, ctx.datamap, table_key)
    pk = ctx.datamap.tables[table_key].primary_key
    acting = {c: a for c, a in actions.items() if a != Anonymize.keep}
    if not acting:
        return 0
    in_sql = {c: sql_anonymized(table.c[c], a) for c, a in acting.items()}
    done = 0
    with app_statements(conn, table_key):
        for part in chunks(keys, SWEEP_CHUNK):
            where = key_condition(table, pk, part, conn.dialect.name)
            if all(v is not None for v in in_sql.values()):
                values = {c: v for c, v in in_sql.items() if v is not None}
                changed = or_(
                    *(differs(as_kept(table.c[c], acting[c]), v) for c, v in values.items())
                )
                statement = scoped(update(table), table).where(where, changed).values(values)
                done += conn.execute(statement).rowcount
                continue
            params = generalized_rows(conn, table, pk, where, acting)
            if params:
                conn.execute(keyed_update(table, pk, acting), params)
            done += len(params)
    return done


def sql_anonymized(column: ColumnElement[Any], action: Anonymize) -> ColumnElement[Any] | None:
    """`action` as an SQL expression of `column` (the same result `anonymized` gives in
    Python), or None where it takes Python: an IP's network, epoch numbers, coordinates
    kept as text."""
    kind = column.type
    if action in (Anonymize.null, Anonymize.drop):
        return literal(fixed_value(action), type_=kind) if action == Anonymize.drop else null()
    if action == Anonymize.coarse and isinstance(kind, sqltypes.Float | sqltypes.Numeric):
        return func.round(sql_cast(column, sqltypes.Numeric(30, 10)), 1)
    if action in (Anonymize.year, Anonymize.month) and isinstance(kind, sqltypes.String):
        return iso_start(column, action)
    return None


def iso_start(column: ColumnElement[Any], action: Anonymize) -> ColumnElement[Any]:
    """ISO text cut to its year or month, the rest of its shape kept with zeros (what
    `coarse_time` does); text that does not start like a date becomes NULL."""
    head = (
        func.substr(column, 1, 7) + "-01"
        if action == Anonymize.month
        else (func.substr(column, 1, 4) + "-01-01")
    )
    tail: ColumnElement[Any] = func.substr(column, 11)
    for digit in "123456789":
        tail = func.replace(tail, digit, "0")
    return case((column.like("____-__-__%"), head + tail), else_=null())


def as_kept(column: ColumnElement[Any], action: Anonymize) -> ColumnElement[Any]:
    """The stored value as `differs` compares it: a rounded coordinate in a single
    precision column (MariaDB's FLOAT) reads back as 52.5000038..., still the same."""
    if action == Anonymize.coarse:
        return sql_cast(column, sqltypes.Numeric(30, 1))
    return column


def differs(column: ColumnElement[Any], value: ColumnElement[Any]) -> ColumnElement[bool]:
    """The row's value would change (NULL to NULL is no change)."""
    return or_(and_(column.is_(None), value.is_not(None)), and_(column.is_not(None),
               or_(value.is_(None), column != value)))  # fmt: skip


def is_fixed(action: Anonymize) -> bool:
    return action in (Anonymize.null, Anonymize.drop)


def fixed_value(action: Anonymize) -> str | None:
    return None if action == Anonymize.null else ""


def generalized_rows(
    conn: Connection,
    table: Table,
    pk: Sequence[str],
    where: ColumnElement[bool],
    actions: Mapping[str, Anonymize],
) -> list[dict[str, Any]]:
    """The rows whose anonymized values differ from the stored ones, as update params."""
    columns = [*pk, *actions]
    rows = conn.execute(scoped(select(*(table.c[c] for c in columns)), table).where(where))
    params = []
    for row in rows.mappings():
        new = {c: anonymized(row[c], a, table.c[c].type) for c, a in actions.items()}
        if any(new[c] != row[c] for c in actions):
            keys = {f"k_{c}": row[c] for c in pk}
            params.append({**keys, **{f"v_{c}": v for c, v in new.items()}})
    return params


def keyed_update(table: Table, pk: Sequence[str], columns: Collection[str]) -> Any:
    where = and_(*(table.c[c] == bindparam(f"k_{c}") for c in pk))
    values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns}
    return scoped(update(table), table).where(where).values(values)


def anonymized(value: Any, action: Anonymize, kind: sqltypes.TypeEngine[Any]) -> Any:
    """`value` with `action` applied; what cannot be generalized becomes NULL, never kept."""
    if value is None or action == Anonymize.null:
        return None
    if action == Anonymize.drop:
        return ""
    if action in (Anonymize.year, Anonymize.month):
        return coarse_time(value, action)
    if action == Anonymize.network:
        return network_of(str(value))
    if action == Anonymize.coarse:
        return coarse_number(value, kind)
    raise ValueError(action)


def coarse_time(value: Any, action: Anonymize) -> Any:
    month = action == Anonymize.month
    if isinstance(value, dt.datetime):
        return value.replace(month=value.month if month else 1, day=1, hour=0, minute=0,
                             second=0, microsecond=0)  # fmt: skip
    if isinstance(value, dt.date):
        return value.replace(month=value.month if month else 1, day=1)
    if isinstance(value, int | float):
        start = coarse_time(as_datetime(value), action)
        return int(start.timestamp()) * (1000 if abs(value) >= EPOCH_MS else 1)
    text = str(value)
    if as_datetime(text) is None:
        return None
    kept = text[:7] + "-01" if month else text[:4] + "-01-01"
    rest = text[10:]
    return kept + "".join("0" if ch.isdigit() else ch for ch in rest)


def network_of(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def coarse_number(value: Any, kind: sqltypes.TypeEngine[Any]) -> Any:
    """One decimal, half away from zero (as SQL's round does)."""
    try:
        rounded = Decimal(str(value)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return None
    return str(rounded) if isinstance(kind, sqltypes.String) else float(rounded)


def account_values(
    ctx: Context, table_key: str, keys: Sequence[Key], columns: Sequence[str]
) -> dict[Key, dict[str, Any]]:
    """`columns` of the rows `keys` of `table_key` (its own read transaction)."""
    store = ctx.datamap.store_of(table_key)
    engine = sql_engine(ctx.project, ctx.datamap, store)
    table = reflect(engine, ctx.datamap, table_key)
    pk = ctx.datamap.tables[table_key].primary_key
    out: dict[Key, dict[str, Any]] = {}
    with engine.connect() as conn, app_statements(conn, table_key):
        for part in chunks(keys):
            query = select(*(table.c[c] for c in {*pk, *columns})).where(
                key_condition(table, pk, part)
            )
            for row in conn.execute(query).mappings():
                out[tuple(row[c] for c in pk)] = {c: row[c] for c in columns}
    return out
