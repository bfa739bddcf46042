"""What of the app's data a recipient receives: the tables holding its categories, the
columns that leave (and in which shape), and how each row names its person."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.sql import sqltypes

from troth.appdata import AccountTable, Context, Owner, anonymized, co_owners, owner_of, table_order
from troth.datamap.model import Column, DataMap
from troth.policy.model import Form
from troth.policy.taxonomy import covered_by_any
from troth.sharing.forms import PERSON, Role, role_of, transform
from troth.sharing.people import account_columns
from troth.vault import template_columns

Transform = Callable[[Any], Any]
TEXT, NUMBER = sqltypes.String(), sqltypes.Float()


@dataclass(frozen=True)
class Source:
    table: str
    owner: Owner
    columns: dict[str, Transform]  # column that leaves -> its value as it leaves
    reads: tuple[str, ...]  # the columns read from the store
    dimensions: dict[str, Transform] = field(default_factory=dict)
    sums: tuple[str, ...] = ()
    # the other people each row belongs to, by the column holding their account's key
    co_owners: dict[str, AccountTable] = field(default_factory=dict)

    def countable_by_store(self, datamap: DataMap) -> bool:
        """Whether the store can count this aggregate itself: values grouped as they are
        (none generalized), none sealed by the vault, and rows of one person each."""
        spec = datamap.tables[self.table]
        plain = all(change is unchanged for change in self.dimensions.values())
        sealed = any(spec.columns[c].encrypted for c in [*self.dimensions, *self.sums])
        return plain and not sealed and not self.co_owners and self.owner.account is not None

    def out_columns(self, form: Form) -> list[str]:
        return ([PERSON] if form == Form.pseudonym else []) + list(self.columns)


def covers(declared: list[str], held: list[str]) -> bool:
    """Whether one of the `held` categories falls under a `declared` one."""
    return any(covered_by_any(h, declared) for h in held)


@dataclass(frozen=True)
class Plan:
    sources: list[Source]
    skipped: dict[str, str]  # table -> why it is not exported
    dropped: dict[str, list[str]]  # table -> columns the form does not let leave


def plan_sources(
    ctx: Context,
    categories: list[str],
    form: Form,
    key: bytes,
    *,
    dimensions: list[str] | None = None,
    sums: list[str] | None = None,
) -> Plan:
    """The tables and columns a recipient of `categories` receives in `form`."""
    datamap = ctx.datamap
    sources, skipped, dropped = [], {}, {}
    for table in table_order(datamap):
        if datamap.store_of(table) not in datamap.sql_stores():
            continue
        spec = datamap.tables[table]
        held = {n: c for n, c in spec.columns.items() if covers(categories, c.categories)}
        if not held:
            continue
        owner = owner_of(datamap, table)
        if owner is None:
            skipped[table] = "its rows name no person the data map can tell"
            continue
        others = co_owners(datamap, table, owner)
        if form == Form.aggregate:
            source = aggregate_source(datamap, table, owner, held, dimensions, sums)
            sources.append(with_co_owners(source, others))
            continue
        columns, gone = leaving(datamap, table, held, form, key)
        if gone:
            dropped[table] = gone
        if columns:
            source = Source(table, owner, columns, reads_of(datamap, table, owner, columns))
            sources.append(with_co_owners(source, others))
    return Plan(sources, skipped, dropped)


def with_co_owners(source: Source, others: dict[str, AccountTable]) -> Source:
    reads = tuple(dict.fromkeys([*source.reads, *others]))
    return dataclasses.replace(source, reads=reads, co_owners=others)


def leaving(
    datamap: DataMap, table: str, held: dict[str, Column], form: Form, key: bytes
) -> tuple[dict[str, Transform], list[str]]:
    columns: dict[str, Transform] = {}
    gone = []
    for name, column in held.items():
        role = role_of(datamap, table, name, column)
        category = column.categories[0] if column.categories else name
        change = transform(form, role, category, key, generalizer(role))
        if change is None:
            gone.append(name)
        else:
            columns[name] = change
    return columns, gone


def unchanged(value: Any) -> Any:
    return value


def generalizer(role: Role) -> Transform:
    action = role.generalize
    if action is None:
        return unchanged
    return lambda value: anonymized(value, action, TEXT if isinstance(value, str) else NUMBER)


def aggregate_source(
    datamap: DataMap,
    table: str,
    owner: Owner,
    held: dict[str, Column],
    dimensions: list[str] | None,
    sums: list[str] | None,
) -> Source:
    dims: dict[str, Transform] = {}
    summed = []
    for name, column in held.items():
        role = role_of(datamap, table, name, column)
        if role.identifier or role.free_text:
            continue
        if sums and covers(sums, column.categories):
            summed.append(name)
        elif not dimensions or covers(dimensions, column.categories):
            dims[name] = generalizer(role)
    picked = {
        name: generalizer(role_of(datamap, table, name, held[name])) for name in [*dims, *summed]
    }
    return Source(table, owner, {}, reads_of(datamap, table, owner, picked), dims, tuple(summed))


def reads_of(
    datamap: DataMap, table: str, owner: Owner, columns: dict[str, Transform]
) -> tuple[str, ...]:
    """The columns to read: those that leave, those their vault subjects are made of,
    and on an account table what decides whether the account is in."""
    wanted = [*columns, *vault_reads(datamap, table, list(columns))]
    if is_account(owner):
        wanted += account_columns(datamap.tables[table])
    return tuple(dict.fromkeys(wanted))


def is_account(owner: Owner) -> bool:
    return owner.account is not None and not owner.hops


def vault_reads(datamap: DataMap, table: str, names: list[str]) -> list[str]:
    spec = datamap.tables[table]
    return [
        used
        for name in names
        if spec.columns[name].encrypted and spec.columns[name].subject
        for used in template_columns(str(spec.columns[name].subject))
    ]
