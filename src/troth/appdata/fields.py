"""Corrections the subject asks for: which column a field names, and its typed value."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import types as sqltypes

from troth.appdata.context import Context
from troth.appdata.identities import normalize
from troth.appdata.reach import reflect
from troth.datamap import sql_engine
from troth.datamap.model import DataMap, TableKey
from troth.errors import InvalidInput, Problem
from troth.policy.taxonomy import covers

BIRTH_DATE = "user.demographic.date_of_birth"


def rectify_fields(ctx: Context, fields: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """`{name or table.name: text}` -> `{table: {column: typed value}}`; InvalidInput if bad."""
    problems: list[Problem] = []
    out: dict[str, dict[str, Any]] = {}
    for name, text in fields.items():
        try:
            key, column = field_column(ctx.datamap, name)
            out.setdefault(key, {})[column] = typed_value(ctx, key, column, text)
        except ValueError as exc:
            problems.append(Problem("--field", None, name, str(exc)))
    if problems:
        raise InvalidInput(problems)
    if not out:
        raise InvalidInput([Problem("--field", None, "", "rectification needs name=value")])
    return out


def field_column(datamap: DataMap, name: str) -> tuple[str, str]:
    """The one rectifiable (table, column) that `name` ("column" or "table.column") names."""
    table_name, _, column = name.rpartition(".")
    found = [
        (key, column)
        for key, spec in datamap.tables.items()
        if column in spec.columns
        and spec.columns[column].rectify
        and (not table_name or TableKey.of(key).name == table_name or key == table_name)
    ]
    if not found:
        raise ValueError("not a field the subject may correct (rectify: true in datamap.yaml)")
    if len(found) > 1:
        raise ValueError("several tables have this field; write table.column")
    return found[0]


def typed_value(ctx: Context, key: str, column: str, text: str) -> Any:
    """`text` checked and converted to the live column's type (identities normalized)."""
    spec = ctx.datamap.tables[key]
    for kind, identity_column in spec.identities.items():
        if identity_column == column:
            try:
                return normalize(ctx.datamap, kind, text)
            except InvalidInput:
                raise ValueError(f"not a valid {kind}") from None
    engine = sql_engine(ctx.project, ctx.datamap, ctx.datamap.store_of(key))
    kind_of = reflect(engine, ctx.datamap, key).c[column].type
    if is_birth_date(spec.columns[column].categories) and isinstance(kind_of, sqltypes.String):
        return birth_date(text)
    return convert(kind_of, text)


def is_birth_date(categories: list[str]) -> bool:
    return any(covers(BIRTH_DATE, c) for c in categories)


def birth_date(text: str) -> str:
    """A birth date an app keeps as text (SQLite has no date type): a real, past day,
    written YYYY-MM-DD."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("expected a date as YYYY-MM-DD") from None
    if day > dt.date.today() or day.year < 1900:
        raise ValueError("expected a date between 1900 and today")
    return day.isoformat()


def convert(kind_of: sqltypes.TypeEngine[Any], text: str) -> Any:
    if len(text) > 10_000 or "\x00" in text:
        raise ValueError("the value is too long or holds a NUL character")
    if isinstance(kind_of, sqltypes.Integer):
        if not re.fullmatch(r"-?[0-9]{1,18}", text):
            raise ValueError("expected a whole number")
        return int(text)
    if isinstance(kind_of, sqltypes.Float | sqltypes.Numeric):
        try:
            return float(text)
        except ValueError:
            raise ValueError("expected a number") from None
    if isinstance(kind_of, sqltypes.DateTime):
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("expected a time as YYYY-MM-DDTHH:MM:SS") from None
    if isinstance(kind_of, sqltypes.Date):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError("expected a date as YYYY-MM-DD") from None
    length = getattr(kind_of, "length", None)
    if length is not None and len(text) > length:
        raise ValueError(f"longer than the column's {length} characters")
    return text


def identity_changes(datamap: DataMap, fields: Mapping[str, str]) -> list[str]:
    """The identity kinds a correction would change (an e-mail, a phone): a new value
    widens whose rows the subject reaches, so it must be proven before it is written."""
    kinds: list[str] = []
    for name in fields:
        try:
            key, column = field_column(datamap, name)
        except ValueError:
            continue  # rectify_fields reports it
        spec = datamap.tables[key]
        kinds.extend(kind for kind, held in spec.identities.items() if held == column)
    return sorted(set(kinds))
