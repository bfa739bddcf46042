"""One person, several identities: the account row an identity names, and its other identities.

An account table is a table that links point to and whose primary key column is an
identity of the data map (the reference app's `users`, whose `id` is `user_id`). An
identity value names an account when exactly one account row holds it; a value held by
several accounts (a shared phone) names none, so one person's choices never reach
another person's account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from troth.datamap import sql_engine
from troth.datamap.model import DataMap
from troth.errors import TrothError
from troth.project import Project
from troth.rights.context import load_context
from troth.rights.identities import match, normalize, stored_form
from troth.rights.reach import chunks, link_targets, reflect, table_order


@dataclass(frozen=True)
class AccountTable:
    key: str
    kind: str  # the identity held in the primary key column


@dataclass(frozen=True)
class Account:
    kind: str  # the key identity: the subject the account is known by
    value: str
    identities: dict[str, str]  # every identity the account row holds, kind -> value


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
    project: Project, identity_kind: str, values: Iterable[str]
) -> dict[str, Account]:
    """Normalized value -> the one account it names; values naming no account are left
    out. One indexed statement per account table and 50 values."""
    if not project.datamap_path.exists():
        return {}
    datamap = load_context(project).datamap
    wanted = sorted({normalize(datamap, identity_kind, v) for v in values})
    linked: dict[str, Account] = {}
    for account in account_tables(datamap):
        todo = [v for v in wanted if v not in linked]
        if identity_kind not in datamap.tables[account.key].identities or not todo:
            continue
        for value, rows in holders(project, datamap, account.key, identity_kind, todo).items():
            if len(rows) == 1 and account.kind in rows[0]:
                linked[value] = Account(account.kind, rows[0][account.kind], rows[0])
    return linked


def holders(
    project: Project, datamap: DataMap, key: str, identity_kind: str, values: list[str]
) -> dict[str, list[dict[str, str]]]:
    """Normalized value -> the identities of each row of table `key` holding it."""
    engine = sql_engine(project, datamap, datamap.store_of(key))
    try:
        return _holders(engine, datamap, key, identity_kind, values)
    except SQLAlchemyError as exc:  # the message would hold the values: name the store only
        store = datamap.store_of(key)
        raise TrothError(
            f"datamap.yaml stores.{store}: account look-up failed ({type(exc).__name__})"
        ) from None


def _holders(
    engine: Engine, datamap: DataMap, key: str, identity_kind: str, values: list[str]
) -> dict[str, list[dict[str, str]]]:
    spec = datamap.tables[key]
    table = reflect(engine, datamap, key)
    kinds = list(spec.identities)
    columns = [table.c[spec.identities[k]] for k in kinds]
    found: dict[str, list[dict[str, str]]] = {}
    with engine.connect() as conn:
        for part in chunks(values, 50):
            column = table.c[spec.identities[identity_kind]]
            cond = match(datamap, identity_kind, column, part, conn.dialect.name)
            for row in conn.execute(select(*columns).where(cond)):
                held = {}
                for kind, raw in zip(kinds, row, strict=True):
                    value = stored_form(datamap, kind, raw)
                    if value is not None:
                        held[kind] = value
                if identity_kind in held:
                    found.setdefault(held[identity_kind], []).append(held)
    return found


def account_identities(project: Project, identity_kind: str, value: str) -> dict[str, str]:
    """The identities of the account `value` names (kind -> normalized value), {} if none."""
    found = find_accounts(project, identity_kind, [value])
    return next((a.identities for a in found.values()), {})
