"""Whose rows are these: every row of a table with the person it belongs to, in bulk.

Disclosures read whole tables, not one subject's rows: each row comes with its owner,
found the way the data map says rows belong to people. A row of an account table is its
own account; a row linked by owner links (`orders.user_id` -> `users.id`, possibly
through other tables) belongs to the account the chain ends at, joined in the store; a
row of a table holding an identity but no owner link (a newsletter sign-up's e-mail)
belongs to whoever holds that identity. Other tables cannot say whose their rows are.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, select

from troth.appdata.accounts import AccountTable, account_tables
from troth.appdata.context import Context
from troth.appdata.failures import app_statements
from troth.appdata.reach import reflect, scoped
from troth.datamap import sql_engine
from troth.datamap.model import DataMap

OWNER = "__owner__"


@dataclass(frozen=True)
class Hop:
    """Rows of `table` point through `column` at `target`.`target_column`."""

    table: str
    column: str
    target: str
    target_column: str


@dataclass(frozen=True)
class Owner:
    """How a table's rows name their person: the account reached through `hops` (none for
    an account table itself), or the identity `kind` held in `column`."""

    account: AccountTable | None = None
    hops: tuple[Hop, ...] = ()
    kind: str | None = None
    column: str | None = None


def owner_of(datamap: DataMap, table_key: str) -> Owner | None:
    """How rows of `table_key` name their person; None when they cannot."""
    accounts = {a.key: a for a in account_tables(datamap)}
    if table_key in accounts:
        return Owner(accounts[table_key])
    hops = owner_chain(datamap, table_key, set(accounts))
    if hops:
        return Owner(accounts[hops[-1].target], hops)
    spec = datamap.tables[table_key]
    for kind, column in spec.identities.items():
        if column not in spec.primary_key or len(spec.identities) == 1:
            return Owner(kind=kind, column=column)
    return None


def co_owners(datamap: DataMap, table_key: str, owner: Owner) -> dict[str, AccountTable]:
    """The other people a row of `table_key` belongs to besides `owner`: each of its own
    owner links that holds an account's key (a gift's recipient beside its sender), by
    column. An account table's own links (who invited whom) do not make co-owners."""
    if owner.account is None or not owner.hops:
        return {}
    accounts = {a.key: a for a in account_tables(datamap)}
    found = {}
    for link in datamap.tables[table_key].links:
        target, column = link.target(table_key)
        account = accounts.get(target)
        if not link.owner or account is None or link.column == owner.hops[0].column:
            continue
        if datamap.tables[target].identities.get(account.kind) == column:
            found[link.column] = account
    return found


def owner_chain(datamap: DataMap, start: str, accounts: set[str]) -> tuple[Hop, ...]:
    """The shortest chain of owner links in one store from `start` to an account table."""
    store = datamap.store_of(start)
    paths: list[tuple[str, tuple[Hop, ...]]] = [(start, ())]
    seen = {start}
    while paths:
        grown: list[tuple[str, tuple[Hop, ...]]] = []
        for key, hops in paths:
            for link in datamap.tables[key].links:
                target, column = link.target(key)
                if not link.owner or target in seen or target not in datamap.tables:
                    continue
                if datamap.store_of(target) != store:
                    continue
                path = (*hops, Hop(key, link.column, target, column))
                if target in accounts:
                    return path
                seen.add(target)
                grown.append((target, path))
        paths = grown
    return ()


def owned_rows(
    ctx: Context,
    table_key: str,
    columns: Sequence[str],
    owner: Owner,
    batch: int,
    *,
    by_owner: bool = False,
) -> Iterator[list[dict[str, Any]]]:
    """Every row of `table_key` as `columns` plus OWNER (the account's key value or the
    identity value), `batch` rows at a time in primary-key order (after the owner with
    `by_owner`: each person's rows together), streamed."""
    engine = sql_engine(ctx.project, ctx.datamap, ctx.datamap.store_of(table_key))
    table = reflect(engine, ctx.datamap, table_key)
    query = scoped(select(*(table.c[c] for c in columns)), table)
    owning = owner_column(ctx, engine, owner, table)
    query = query.add_columns(owning.label(OWNER))
    for left, right, hop in joined(ctx, engine, owner, table):
        query = query.join(right, left.c[hop.column] == right.c[hop.target_column])
    query = query.order_by(*([owning] if by_owner else []))
    query = query.order_by(*(table.c[c] for c in ctx.datamap.tables[table_key].primary_key))
    with engine.connect() as conn, app_statements(conn, table_key):
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
        names = list(result.keys())
        for part in result.partitions(batch):  # plain rows zipped: a third of mappings' cost
            yield [dict(zip(names, row, strict=True)) for row in part]


def needed_hops(ctx: Context, owner: Owner) -> tuple[Hop, ...]:
    """The hops to join: the last is left out when it points at the account's key."""
    if not owner.hops or owner.account is None:
        return owner.hops
    last = owner.hops[-1]
    key_column = ctx.datamap.tables[last.target].identities[owner.account.kind]
    return owner.hops[:-1] if last.target_column == key_column else owner.hops


def joined(
    ctx: Context, engine: Engine, owner: Owner, table: Table
) -> Iterator[tuple[Table, Table, Hop]]:
    left = table
    for hop in needed_hops(ctx, owner):
        right = reflect(engine, ctx.datamap, hop.target)
        yield left, right, hop
        left = right


def owner_column(ctx: Context, engine: Engine, owner: Owner, table: Table) -> ColumnElement[Any]:
    if owner.column is not None:
        return table.c[owner.column]
    assert owner.account is not None
    hops = needed_hops(ctx, owner)
    if len(hops) < len(owner.hops):  # the last link holds the account's key itself
        last = owner.hops[-1]
        holder = reflect(engine, ctx.datamap, last.table) if hops else table
        return holder.c[last.column]
    spec = ctx.datamap.tables[owner.account.key]
    return reflect(engine, ctx.datamap, owner.account.key).c[spec.identities[owner.account.kind]]
