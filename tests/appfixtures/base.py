"""What the app fixtures share: subjects, hand-written expectations, dumps.

Every fixture module (`store`, `links`, `odd`) defines its tables once with
SQLAlchemy Core, so the same definition builds on SQLite, PostgreSQL and
MariaDB. PostgreSQL-only shapes (partitions, inheritance) are created with raw
DDL when the dialect is postgresql; elsewhere the same table is a plain one, so
the rows and every expected count are the same on all three.

Hand-written SQL is written with double-quoted identifiers; `sql_for` turns
them into backticks for MariaDB and fills `{only}` with `ONLY ` on PostgreSQL
(so a query on an inheritance parent reads the parent's own rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Table, select, text
from sqlalchemy.engine import Connection, Engine

Row = tuple[Any, ...]
Dump = dict[str, list[Row]]


@dataclass(frozen=True)
class Expect:
    """A hand-written query and the number of rows it returns, counted by hand.

    The query selects the key of each row (the primary key, or every column
    for a table without one).
    """

    sql: str
    count: int


@dataclass(frozen=True)
class Subject:
    """A person in a fixture, how a request names them, and which rows are theirs.

    `rows`: table -> the subject's own rows (access exports exactly these;
    erasure removes or pseudonymizes them unless the table is in the module's
    `KEPT`). `mentions`: table -> other people's rows that refer to the subject
    or hang off the subject's rows (customers of a support rep, users invited
    by the subject, replies to the subject's comments, comments and votes on
    the subject's stories): they are not the subject's, never belong in the
    subject's access export, and an erasure may change them only where a
    reviewed data map says so (rows that go with their parent, `owner: false`);
    the other persons' account rows in them never. `traces`: strings (e-mail,
    stored phone forms, names) that must not be left anywhere after an erasure,
    except in rows kept with a reason.
    """

    key: str
    description: str
    email: str | None = None
    phone: str | None = None
    phone_e164: str | None = None
    user_id: int | None = None
    rows: Mapping[str, Expect] = field(default_factory=dict)
    mentions: Mapping[str, Expect] = field(default_factory=dict)
    traces: tuple[str, ...] = ()


@dataclass(frozen=True)
class SharedPhone:
    """One phone number held by several persons (a household, a front desk)."""

    phone: str
    phone_e164: str
    subjects: tuple[str, ...]
    account_rows: Expect


def sql_for(engine: Engine | Connection, sql: str) -> str:
    """`sql` with identifiers quoted for the engine's dialect."""
    dialect = engine.dialect.name
    if dialect in ("mysql", "mariadb"):
        sql = sql.replace('"', "`")
    return sql.replace("{only}", "ONLY " if dialect == "postgresql" else "")


def query(engine: Engine, sql: str) -> list[Row]:
    """Run a hand-written query; rows sorted (for comparison)."""
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(text(sql_for(engine, sql)))]
    return sort_rows(rows)


def _key(row: Row) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, str(value)) for value in row)


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=_key)


def dump_tables(engine: Engine, tables: Sequence[Table], only: Sequence[str] = ()) -> Dump:
    """Every row of every table, sorted; each physical row exactly once.

    `only` names tables that are inheritance parents on PostgreSQL: they are
    read with `ONLY` so that their children's rows are not counted twice.
    Partitioned parents are not in `tables` (their partitions are).
    """
    out: Dump = {}
    with engine.connect() as conn:
        for table in tables:
            if table.name in only and engine.dialect.name == "postgresql":
                columns = ", ".join(f'"{c.name}"' for c in table.columns)
                stmt = text(f'SELECT {columns} FROM ONLY "{table.name}"')
                rows = [tuple(r) for r in conn.execute(stmt)]
            else:
                rows = [tuple(r) for r in conn.execute(select(table))]
            out[table.name] = sort_rows(rows)
    return out


def insert_rows(conn: Connection, table: Table, columns: str, rows: Iterable[Row]) -> None:
    """Insert tuples given in the order of the space-separated `columns`."""
    names = columns.split()
    values = [dict(zip(names, row, strict=True)) for row in rows]
    if values:
        conn.execute(table.insert(), values)


def create_all(
    engine: Engine,
    metadata: MetaData,
    load: Callable[[Connection], None],
    pg_raw: Mapping[str, str] | None = None,
) -> None:
    """Create the tables (raw DDL for those in `pg_raw` on PostgreSQL), then load rows."""
    postgres = engine.dialect.name == "postgresql"
    pg_raw = pg_raw or {}
    core = [t for t in metadata.sorted_tables if not (postgres and t.name in pg_raw)]
    with engine.begin() as conn:
        metadata.create_all(conn, tables=core)
        if postgres:
            for ddl in pg_raw.values():
                for statement in ddl.split(";"):
                    if statement.strip():
                        conn.execute(text(statement))
        load(conn)
