"""One person, several identities: the account row an identity names, and its other identities.

An account table is a table that links point to and whose primary key column is an
identity of the data map (the reference app's `users`, whose `id` is `user_id`). An
identity value names an account when exactly one account row holds it; a value held by
several accounts (a shared phone) names none, so one person's choices never reach
another person's account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from troth.appdata.context import load_context
from troth.appdata.identities import match, normalize, stored_form
from troth.appdata.reach import Found, chunks, link_targets, reflect, table_order
from troth.datamap import sql_engine
from troth.datamap.model import DataMap, Normalize
from troth.errors import TrothError
from troth.project import Project


@dataclass(frozen=True)
class AccountTable:
    key: str
    kind: str  # the identity held in the primary key column


@dataclass(frozen=True)
class Account:
    table: str  # the account table's key, e.g. app.users
    kind: str  # the key identity: the subject the account is known by
    value: str


def account_tables(datamap: DataMap) -> list[AccountTable]:
    """The account tables of the SQL stores, link targets first in table order."""
    targets = link_targets(datamap)
    sql = datamap.sql_stores()
    found = []
    for key in table_order(datamap):
        spec = datamap.tables[key]
        if key not in targets or datamap.store_of(key) not in sql or len(spec.primary_key) != 1:
            continue
        kinds = [k for k, column in spec.identities.items() if column == spec.primary_key[0]]
        if kinds:
            found.append(AccountTable(key, kinds[0]))
    return found


def find_accounts(
    project: Project, identity_kind: str, values: Iterable[str], *, normalized: bool = False
) -> dict[str, Account]:
    """Normalized value -> the one account it names; values naming no account are left
    out. One indexed statement per account table and 50 values. `normalized`: the values
    are already in `identities.normalize` form (checked by the caller)."""
    if not project.datamap_path.exists():
        return {}
    datamap = load_context(project).datamap
    wanted = set(values) if normalized else {normalize(datamap, identity_kind, v) for v in values}
    linked: dict[str, Account] = {}
    for account in account_tables(datamap):
        todo = sorted(wanted - set(linked))
        if identity_kind not in datamap.tables[account.key].identities or not todo:
            continue
        found = account_rows(project, datamap, account, identity_kind, todo)
        linked.update(
            (v, Account(account.key, account.kind, keys[0]))
            for v, keys in found.items()
            if len(keys) == 1
        )
    return linked


def account_rows(
    project: Project, datamap: DataMap, account: AccountTable, identity_kind: str, values: list[str]
) -> dict[str, list[str]]:
    """Normalized value -> the keys of the account rows holding it."""
    engine = sql_engine(project, datamap, datamap.store_of(account.key))
    spec = datamap.tables[account.key]
    found: dict[str, list[str]] = {}
    try:
        table = reflect(engine, datamap, account.key)
        column = table.c[spec.identities[identity_kind]]
        key_column = table.c[spec.identities[account.kind]]
        with engine.connect() as conn:
            for part in chunks(values, 50):
                cond = match(datamap, identity_kind, column, part, conn.dialect.name)
                for raw, key in conn.execute(select(column, key_column).where(cond)):
                    value = known_form(datamap, identity_kind, raw, set(part))
                    if value is not None and key is not None:
                        found.setdefault(value, []).append(str(key))
    except SQLAlchemyError as exc:
        raise lookup_failed(datamap, account.key, exc) from None
    return found


def known_form(datamap: DataMap, kind: str, raw: object, wanted: set[str]) -> str | None:
    """`stored_form` of `raw`, skipping the costly e-mail validation when the stored text
    (lowercased, as the look-up compared it) is one of the normalized `wanted` values."""
    text = str(raw).lower() if datamap.identities[kind].normalize == Normalize.email else str(raw)
    return text if text in wanted else stored_form(datamap, kind, raw)


def account_identities(project: Project, identity_kind: str, value: str) -> dict[str, str]:
    """Every identity (kind -> normalized value) on the account row `value` names, {} if
    it names none."""
    account = next(iter(find_accounts(project, identity_kind, [value]).values()), None)
    if account is None:
        return {}
    datamap = load_context(project).datamap
    spec = datamap.tables[account.table]
    engine = sql_engine(project, datamap, datamap.store_of(account.table))
    try:
        table = reflect(engine, datamap, account.table)
        kinds = list(spec.identities)
        query = select(*(table.c[spec.identities[k]] for k in kinds)).where(
            match(
                datamap,
                account.kind,
                table.c[spec.identities[account.kind]],
                [account.value],
                engine.dialect.name,
            )
        )
        with engine.connect() as conn:
            row = conn.execute(query).one_or_none()
    except SQLAlchemyError as exc:
        raise lookup_failed(datamap, account.table, exc) from None
    if row is None:  # deleted since
        return {}
    forms = {k: stored_form(datamap, k, raw) for k, raw in zip(kinds, row, strict=True)}
    return {k: v for k, v in forms.items() if v is not None}


def identities_in(
    datamap: DataMap, found: Mapping[str, Found], identity_kind: str
) -> dict[str, str] | None:
    """`account_identities` of the request's own identity from the rows a request already
    read (`found`: its account rows are the ones that identity found), without another
    look-up; None when they cannot tell (an account table not read, or one whose column
    holds blind indexes, which the look-up does not match)."""
    for account in account_tables(datamap):
        spec = datamap.tables[account.key]
        column = spec.identities.get(identity_kind)
        if column is None:
            continue
        part = found.get(account.key)
        declared = spec.columns.get(column)
        if part is None or part.deferred or (declared is not None and declared.blind_index):
            return None
        holders = [row for row in part.rows.values() if row.direct]
        if len(holders) == 1:
            values = holders[0].values
            forms = {k: stored_form(datamap, k, values[c]) for k, c in spec.identities.items()}
            return {k: v for k, v in forms.items() if v is not None}
    return {}


def lookup_failed(datamap: DataMap, key: str, exc: SQLAlchemyError) -> TrothError:
    """The store and the error's class; the message would hold the looked-up values."""
    store = datamap.store_of(key)
    return TrothError(f"datamap.yaml stores.{store}: account look-up failed ({type(exc).__name__})")
