"""Whether a correction would write a value the app holds only once (a username, an
e-mail address) that another person's row already has.

The app would refuse such a write when the request runs; asking first lets the person
hear it when they ask, in words, with nothing queued."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, UniqueConstraint, literal, not_, or_, select

from troth.appdata.context import Context
from troth.appdata.identities import match, normalize
from troth.appdata.reach import reflect
from troth.datamap import sql_engine
from troth.errors import Problem


def taken(
    ctx: Context, changes: Mapping[str, Mapping[str, Any]], identity: tuple[str, str]
) -> list[Problem]:
    """A problem for each value of `changes` ({table: {column: value}}, as
    `rectify_fields` gives them) that another row than the person's own holds in a
    column the app keeps unique. The person is known by `identity` (kind, value); a
    table that holds no column of that kind is not checked (the run reports it)."""
    kind, value = identity
    value = normalize(ctx.datamap, kind, value)
    problems = []
    for key, columns in changes.items():
        own = ctx.datamap.tables[key].identities.get(kind)
        if own is None:
            continue
        engine = sql_engine(ctx.project, ctx.datamap, ctx.datamap.store_of(key))
        table = reflect(engine, ctx.datamap, key)
        with engine.connect() as conn:
            mine = match(ctx.datamap, kind, table.c[own], [value], conn.dialect.name)
            held = {c: k for k, c in ctx.datamap.tables[key].identities.items()}
            for column, new in columns.items():
                if not unique(table, column):
                    continue
                same = (
                    match(ctx.datamap, held[column], table.c[column], [new], conn.dialect.name)
                    if column in held
                    else table.c[column] == new
                )
                others = or_(table.c[own].is_(None), not_(mine))
                query = select(literal(1)).where(same, others).limit(1)
                if conn.execute(query).first() is not None:
                    name = column.replace("_", " ")
                    problems.append(Problem(key, None, column, f"another account has this {name}"))
    return problems


def unique(table: Table, column: str) -> bool:
    """Whether the live table keeps `column` unique on its own (a constraint or index)."""
    if table.c[column].unique or list(table.primary_key.columns.keys()) == [column]:
        return True
    alone = [[c.name for c in index.columns] for index in table.indexes if index.unique] + [
        [c.name for c in constraint.columns]
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    ]
    return [column] in alone
