"""A leaf table's part of an erasure as a set: the predicate's values and counts, and
the SQL terms it is made of (`column IN (values)` of any length on every backend)."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    String,
    TypeDecorator,
    and_,
    any_,
    bindparam,
    false,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import False_

from troth.appdata.keyjson import key_from_json, key_to_json
from troth.appdata.reach import Found
from troth.datamap.model import TableErase

# An IN list longer than this is written into the statement's text, so that no backend's
# bind-parameter limit (SQLite 32,766, MariaDB and PostgreSQL 65,535) caps a subject's size;
# PostgreSQL takes any list as one array parameter instead.

LITERAL_OVER = 2_000
# On SQLite a list of more strings than this (a phone number's written forms) is bound as
# one JSON text and read back by `json_each`: SQLAlchemy spends more on expanding a long
# list into parameters, one name each, than SQLite spends on the statement. Strings only:
# SQLite compares them to every column affinity as it compares bound strings, which is
# not so for numbers against a TEXT column.
JSON_OVER = 16


def literal(values: Sequence[Any]) -> bool:
    """Whether an IN list of `values` is written into the statement's text."""
    return len(values) > LITERAL_OVER and all(type(v) in (int, str) for v in values)


def as_json(values: Sequence[Any], dialect: str) -> bool:
    """Whether an IN list of `values` is bound as one JSON text (see JSON_OVER)."""
    return (
        dialect == "sqlite"
        and len(values) > JSON_OVER
        and all(type(v) is str for v in values)
        and json_each_works()
    )


def form(values: Sequence[Any], dialect: str) -> str:
    """How an IN list of `values` is written: part of a reused statement's shape."""
    if as_json(values, dialect):
        return "json"
    return "literal" if literal(values) else "bound"


@functools.cache
def json_each_works() -> bool:
    """Whether this SQLite library has `json_each` (built in since 3.38, often before)."""
    try:
        sqlite3.connect(":memory:").execute("SELECT value FROM json_each('[1]')").close()
    except sqlite3.Error:
        return False
    return True


class JsonList(TypeDecorator[Sequence[Any]]):
    """A list of values bound as one JSON text."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Sequence[Any] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(list(value))


def member(
    expr: ColumnElement[Any], values: Sequence[Any], dialect: str, name: str | None = None
) -> ColumnElement[bool]:
    """`expr IN (values)`, of any length on every backend; with a `name`, the values are
    bound when the statement runs (as `{name: values}`), so that it can be reused."""
    given = None if name else list(values)
    if dialect == "postgresql":
        return expr == any_(bindparam(name, given, type_=ARRAY(expr.type)))
    if as_json(values, dialect):
        listed = func.json_each(bindparam(name, given, type_=JsonList())).table_valued("value")
        return expr.in_(select(listed.c.value).scalar_subquery())
    wanted = bindparam(
        name, given, expanding=True, literal_execute=literal(values), type_=expr.type
    )
    return expr.in_(wanted)


def term(
    part: Found,
    column: str,
    lower: bool,
    values: Sequence[Any],
    dialect: str,
    name: str | None = None,
) -> Any:
    """`column IN (values)`, false (never NULL) on a row whose column is NULL."""
    col = part.table.c[column]
    compared = func.lower(col, type_=col.type) if lower else col
    if not values and name is None:
        return false()
    return and_(col.is_not(None), member(compared, values, dialect, name))


def either(terms: Sequence[Any]) -> Any:
    """`terms` joined by OR, leaving out constant falses: SQLite plans `a OR b OR 0 = 1`
    as a scan of the whole table, where `a OR b` searches an index per term."""
    kept = [t for t in terms if not isinstance(t, False_)]
    return or_(*kept) if kept else false()


@dataclass
class RowSet:
    """A leaf table's part of an erasure: the predicate's values and the counts.

    The subject's own rows (`owners`: column, lowered, values) all get `action`; rows of
    others go when they hold a deleted parent's value (`parents`: column, values)."""

    action: str
    owners: list[tuple[str, bool, list[Any]]] = field(default_factory=list)
    parents: list[tuple[str, list[Any]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "owners": [[c, low, key_to_json(tuple(v))] for c, low, v in self.owners],
            "parents": [[c, key_to_json(tuple(v))] for c, v in self.parents],
            "counts": self.counts,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RowSet:
        return cls(
            data["action"],
            [(c, low, list(key_from_json(v))) for c, low, v in data["owners"]],
            [(c, list(key_from_json(v))) for c, v in data["parents"]],
            dict(data["counts"]),
        )

    def where(self, part: Found, action: str, dialect: str, prefix: str = "") -> Any:
        """The rows this set gives `action` (delete, update or keep), with the values
        bound by name (`params`, each name after `prefix`)."""
        owned = [
            term(part, c, low, v, dialect, f"{prefix}o{i}")
            for i, (c, low, v) in enumerate(self.owners)
        ]
        gone_with = [
            term(part, c, False, v, dialect, f"{prefix}p{i}")
            for i, (c, v) in enumerate(self.parents)
        ]
        if action == TableErase.delete and self.action == action:
            return either(owned + gone_with)
        if action == TableErase.delete:
            return and_(not_(either(owned)), either(gone_with)) if gone_with else false()
        return either(owned) if self.action == action else false()

    def params(self, prefix: str = "") -> dict[str, list[Any]]:
        """The values `where` binds."""
        out = {f"{prefix}o{i}": v for i, (_c, _low, v) in enumerate(self.owners)}
        return out | {f"{prefix}p{i}": v for i, (_c, v) in enumerate(self.parents)}

    def shape(self, dialect: str) -> tuple[Any, ...]:
        """What a statement over this set is built from, but for the values."""
        owners = tuple((c, low, form(v, dialect)) for c, low, v in self.owners)
        return (dialect, self.action, owners, tuple((c, form(v, dialect)) for c, v in self.parents))
