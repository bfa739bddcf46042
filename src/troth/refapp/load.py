"""Creating the reference-app tables and bulk-loading rows, per database engine.

schema.sql is written for SQLite; SQLite itself parses it (in memory) and
SQLAlchemy reflects the result, so PostgreSQL and MariaDB get the same tables
in their own dialect: REAL becomes DOUBLE PRECISION, indexed TEXT becomes
VARCHAR(255) on MariaDB, INTEGER PRIMARY KEY keeps assigning ids (SERIAL /
AUTO_INCREMENT). Secondary indexes and foreign keys are added after the load,
which is much faster than maintaining them row by row.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Double,
    Engine,
    ForeignKeyConstraint,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.schema import AddConstraint
from sqlalchemy.types import REAL, TypeEngine

from troth.errors import TrothError

SCHEMA_PATH = Path(__file__).with_name("schema.sql")
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


@dataclass(frozen=True)
class Schema:
    """schema.sql, parsed: tables in file order, their SQLite text, and the reflection."""

    tables: tuple[str, ...]
    table_sql: tuple[str, ...]
    index_sql: tuple[str, ...]
    metadata: MetaData


@cache
def schema() -> Schema:
    memory = create_engine("sqlite://")
    with memory.connect() as conn:
        conn.connection.driver_connection.executescript(SCHEMA_PATH.read_text())  # type: ignore[union-attr]
        objects = conn.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        ).all()
        metadata = MetaData()
        metadata.reflect(conn)
    memory.dispose()
    tables = [(name, sql) for kind, name, sql in objects if kind == "table"]
    return Schema(
        tables=tuple(name for name, _ in tables),
        table_sql=tuple(sql for _, sql in tables),
        index_sql=tuple(sql for kind, _, sql in objects if kind == "index"),
        metadata=metadata,
    )


def target_engine(url: str) -> Engine:
    """An engine for the app database at `url` (never echoed: it may hold a password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise TrothError("the database URL is not a valid SQLAlchemy URL") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise TrothError(f"unsupported database {backend!r}: use sqlite, postgresql or mariadb")
    if parsed.drivername in DRIVERS:
        parsed = parsed.set(drivername=DRIVERS[parsed.drivername])
    if backend == "sqlite":
        return _sqlite_engine(parsed.render_as_string(hide_password=False))
    return create_engine(parsed)


def _sqlite_engine(url: str) -> Engine:
    """SQLite with transactional DDL (explicit BEGIN) and no fsync during the load:
    a crash rolls back through the journal, only a power cut could corrupt the file."""
    # The loader's writer thread inserts while the main thread generates; only one
    # of them uses the connection at a time.
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA cache_size=-32768")  # 32 MB: index builds sort
        dbapi_connection.execute("PRAGMA temp_store=FILE")

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


class Loader(ABC):
    """Creates the tables and loads rows inside the caller's transaction on `conn`."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.schema = schema()
        self.raw: Any = conn.connection.driver_connection

    def existing(self) -> list[str]:
        present = set(inspect(self.conn).get_table_names())
        return [t for t in self.schema.tables if t in present]

    def drop(self, tables: Sequence[str]) -> None:
        found = MetaData()
        found.reflect(self.conn, only=list(tables))
        found.drop_all(self.conn)

    @abstractmethod
    def create(self) -> None:
        """Create the tables, without secondary indexes."""

    @abstractmethod
    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
    ) -> None:
        """Bulk-insert `rows` (values in `columns` order)."""

    @abstractmethod
    def finish(self) -> None:
        """Indexes (and, off SQLite, foreign keys) once the rows are in."""

    def abort(self) -> None:  # noqa: B027 - transactional DDL: the rollback undoes everything
        """Undo what the rollback cannot (DDL that commits by itself)."""


class SqliteLoader(Loader):
    """schema.sql verbatim: the tables exactly as written, indexes after the load."""

    def create(self) -> None:
        for sql in self.schema.table_sql:
            self.conn.exec_driver_sql(sql)

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
    ) -> None:
        marks = ", ".join("?" * len(columns))
        self.raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def finish(self) -> None:
        for sql in self.schema.index_sql:
            self.conn.exec_driver_sql(sql)


class ServerLoader(Loader):
    """PostgreSQL and MariaDB: tables translated from the reflection, keys added last."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.metadata = translate(self.schema.metadata, conn.dialect.name)

    def create(self) -> None:
        self.metadata.create_all(self.conn)

    def finish(self) -> None:
        for source in self.schema.metadata.sorted_tables:
            table = self.metadata.tables[source.name]
            for index in sorted(source.indexes, key=lambda i: str(i.name)):
                Index(index.name, *(table.c[c.name] for c in index.columns)).create(self.conn)
        for source in self.schema.metadata.sorted_tables:
            table = self.metadata.tables[source.name]
            for fk in sorted(source.foreign_key_constraints, key=lambda f: list(f.column_keys)):
                target = fk.referred_table.name
                refs = [f"{target}.{element.column.name}" for element in fk.elements]
                constraint = ForeignKeyConstraint(fk.column_keys, refs)
                table.append_constraint(constraint)
                self.conn.execute(AddConstraint(constraint))


class PostgresLoader(ServerLoader):
    """COPY FREEZE (the tables are new in this transaction, so no later VACUUM is needed)."""

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
    ) -> None:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FREEZE)"
        with self.raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def finish(self) -> None:
        super().finish()
        for table in self.metadata.sorted_tables:
            column = table.autoincrement_column
            if column is not None:
                self.conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                        f"COALESCE(MAX({column.name}), 0) + 1, false) FROM {table.name}"
                    )
                )


class MariadbLoader(ServerLoader):
    """Multi-row INSERTs (PyMySQL batches executemany); checks off during the load."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.created = False

    def create(self) -> None:
        self.conn.exec_driver_sql("SET foreign_key_checks = 0, unique_checks = 0")
        self.created = True
        super().create()

    def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]
    ) -> None:
        marks = ", ".join(["%s"] * len(columns))
        with self.raw.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def finish(self) -> None:
        super().finish()
        self.conn.exec_driver_sql("SET foreign_key_checks = 1, unique_checks = 1")

    def abort(self) -> None:
        """MariaDB commits DDL implicitly: drop the tables this run created."""
        if self.created:
            self.conn.exec_driver_sql("SET foreign_key_checks = 0")
            for name in reversed(self.schema.tables):
                self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
            self.conn.exec_driver_sql("SET foreign_key_checks = 1")


def loader_for(conn: Connection) -> Loader:
    loaders: dict[str, type[Loader]] = {
        "sqlite": SqliteLoader,
        "postgresql": PostgresLoader,
        "mysql": MariadbLoader,
        "mariadb": MariadbLoader,
    }
    return loaders[conn.dialect.name](conn)


def translate(source: MetaData, dialect: str) -> MetaData:
    """Copies of the reflected tables for `dialect`, without indexes or foreign keys."""
    metadata = MetaData()
    for table in source.sorted_tables:
        keyed = {c.name for c in table.primary_key.columns}
        keyed |= {c.name for i in table.indexes for c in i.columns}
        uniques = [u for u in table.constraints if isinstance(u, UniqueConstraint)]
        keyed |= {c.name for u in uniques for c in u.columns}
        columns = [
            Column(
                c.name,
                _type(c.type, dialect, c.name in keyed),
                primary_key=c.primary_key,
                nullable=c.nullable,
                server_default=c.server_default.arg if c.server_default is not None else None,  # type: ignore[attr-defined]
                autoincrement=c is table.autoincrement_column,
            )
            for c in table.columns
        ]
        unique = [UniqueConstraint(*(c.name for c in u.columns)) for u in uniques]
        Table(table.name, metadata, *columns, *unique)
    return metadata


def _type(kind: TypeEngine[Any], dialect: str, keyed: bool) -> TypeEngine[Any]:
    if isinstance(kind, REAL):
        return Double()
    if dialect in ("mysql", "mariadb") and keyed and kind.python_type is str:
        return String(255)  # MariaDB cannot index or key a TEXT column without a length
    return kind
