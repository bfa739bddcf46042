"""Counts of a table's rows by group, among some accounts only, computed by the store.

Aggregates over millions of rows are the store's job: the accounts that may be counted
go into a temporary table of the connection, and one GROUP BY joined to it counts the
people and rows and sums the numbers of each group. Nothing is written to the app's
own tables; the temporary table is dropped before the connection goes back.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Float,
    Integer,
    MetaData,
    Numeric,
    Select,
    Table,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError

from troth.appdata.context import Context
from troth.appdata.failures import app_statements
from troth.appdata.owners import Hop, Owner, joined, owner_column
from troth.appdata.reach import reflect, scoped
from troth.datamap import sql_engine

CHUNK = 5000  # account keys per INSERT, below every backend's parameter limit
ARRAY_CHUNK = 50_000  # keys per PostgreSQL array


@dataclass(frozen=True)
class Group:
    key: tuple[Any, ...]  # the dimensions' values
    people: int
    rows: int
    sums: tuple[float, ...]


@dataclass(frozen=True)
class Groups:
    groups: list[Group]
    owners: list[Any]  # the account keys that have rows in the table


def owned_groups(
    ctx: Context,
    table_key: str,
    owner: Owner,
    among: Collection[Any],
    dimensions: Sequence[str],
    sums: Sequence[str],
    *,
    one_group_each: bool = False,
) -> Groups | None:
    """The rows of `table_key` whose account (through `owner`) is `among`, grouped by the
    `dimensions` columns: people, rows and `sums` per group. With `one_group_each`, a
    person counts in the group of their first row only (rows and sums are then 0).
    None when the store cannot do it (a sum over a column it holds as text, or it refuses
    a temporary table): count in Python then."""
    assert owner.account is not None
    engine = sql_engine(ctx.project, ctx.datamap, ctx.datamap.store_of(table_key))
    table = reflect(engine, ctx.datamap, table_key)
    spec = ctx.datamap.tables[owner.account.key]
    key_column = reflect(engine, ctx.datamap, owner.account.key).c[
        spec.identities[owner.account.kind]
    ]
    if not all(isinstance(table.c[s].type, Integer | Numeric | Float) for s in sums):
        return None  # the store may not add what it holds as text
    owning = owner_column(ctx, engine, owner, table)
    hops = list(joined(ctx, engine, owner, table))
    order = [table.c[c] for c in ctx.datamap.tables[table_key].primary_key]
    with engine.connect() as conn, app_statements(conn, table_key):
        try:
            with admitted_table(conn, key_column, among) as admitted:
                rows = Rows(table, owning, hops, admitted)
                query = rows.first_groups(dimensions, order) if one_group_each else (
                    rows.groups(dimensions, sums)
                )  # fmt: skip
                found = [
                    group_of(row, len(dimensions), one_group_each) for row in conn.execute(query)
                ]
                return Groups(found, list(conn.execute(rows.owners()).scalars()))
        except DBAPIError:
            return None


def group_of(row: Any, width: int, one_group_each: bool) -> Group:
    values = tuple(row)
    if one_group_each:
        return Group(values[:width], int(values[width]), 0, ())
    people, count = int(values[width]), int(values[width + 1])
    return Group(values[:width], people, count, tuple(float(v or 0) for v in values[width + 2 :]))


@contextmanager
def admitted_table(conn: Connection, like: Column[Any], keys: Collection[Any]) -> Iterator[Table]:
    """A temporary table of `keys`, typed like the account key column `like`."""
    table = Table(
        f"troth_among_{secrets.token_hex(6)}",
        MetaData(),
        Column("key", like.type, primary_key=True),
        prefixes=["TEMPORARY"],
    )
    table.create(conn)
    try:
        fill(conn, table, list(keys))
        yield table
    finally:
        conn.rollback()  # PostgreSQL drops it with the transaction
        with suppress(DBAPIError):
            table.drop(conn)  # SQLite and MariaDB keep it past a rollback
        conn.rollback()


def fill(conn: Connection, table: Table, keys: list[Any]) -> None:
    """PostgreSQL takes the keys as arrays (executemany there costs ~30 us a row), and
    is told the table's size to plan the join by; the others take executemany."""
    if conn.dialect.name != "postgresql":
        for start in range(0, len(keys), CHUNK):
            conn.execute(insert(table), [{"key": k} for k in keys[start : start + CHUNK]])
        return
    arrays = bindparam("keys", type_=ARRAY(table.c.key.type))
    statement = insert(table).from_select(["key"], select(func.unnest(arrays)))
    for start in range(0, len(keys), ARRAY_CHUNK):
        conn.execute(statement, {"keys": keys[start : start + ARRAY_CHUNK]})
    conn.exec_driver_sql(f"ANALYZE {table.name}")


@dataclass(frozen=True)
class Rows:
    """The table's rows joined through the owner links to the admitted accounts."""

    table: Table
    owning: ColumnElement[Any]
    hops: list[tuple[Table, Table, Hop]]
    admitted: Table

    def reached(self, query: Select[Any]) -> Select[Any]:
        query = scoped(query, self.table)
        for left, right, hop in self.hops:
            query = query.join(right, left.c[hop.column] == right.c[hop.target_column])
        return query

    def groups(self, dimensions: Sequence[str], sums: Sequence[str]) -> Select[Any]:
        dims = [self.table.c[d] for d in dimensions]
        query: Select[Any] = select(
            *dims,
            func.count(self.owning.distinct()),
            func.count(),
            *(func.sum(self.table.c[s]) for s in sums),
        ).select_from(self.table)
        query = self.reached(query).join(self.admitted, self.admitted.c.key == self.owning)
        return query.group_by(*dims)

    def first_groups(self, dimensions: Sequence[str], order: Sequence[Column[Any]]) -> Select[Any]:
        """People per group of their first row (by primary key)."""
        dims = [self.table.c[d] for d in dimensions]
        number = func.row_number().over(partition_by=self.owning, order_by=order)
        inner = select(*dims, number.label("troth_n")).select_from(self.table)
        inner = self.reached(inner).join(self.admitted, self.admitted.c.key == self.owning)
        first = inner.subquery()
        kept = [first.c[d] for d in dimensions]
        return select(*kept, func.count()).where(first.c.troth_n == 1).group_by(*kept)

    def owners(self) -> Select[Any]:
        """The admitted accounts that have at least one row."""
        has = self.reached(select(literal(1)).select_from(self.table))
        has = has.where(self.owning == self.admitted.c.key).correlate(self.admitted)
        return select(self.admitted.c.key).where(exists(has))
