"""The app's database refused a statement: say which store, table and constraint.

Driver messages often quote the rejected values (PostgreSQL's DETAIL lines,
MariaDB's "Duplicate entry '…'"), which are personal data. So the message is
built from the error's structured parts (constraint and column names) and the
schema, never from the value-bearing text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, inspect
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from troth.datamap.model import TableKey
from troth.errors import AppStoreError

SQLITE_SAFE = re.compile(r"^(NOT NULL|UNIQUE|CHECK) constraint failed: [\w.,\s]+$")
MYSQL_FK = re.compile(
    r"\(`[^`]*`\.`(?P<child>[^`]+)`, CONSTRAINT `[^`]*` FOREIGN KEY \(`(?P<column>[^`]+)`\) "
    r"REFERENCES `(?P<parent>[^`]+)`"
)
MYSQL_NULL = re.compile(r"^Column '(?P<column>\w+)' cannot be null$")
MYSQL_KEY = re.compile(r"for key '(?P<key>[\w.]+)'$")
FOREIGN_KEY_HINT = (
    "; rows elsewhere still refer to the rows this changes: keep those rows (erase: update),"
    " or let the rows that refer to them go too (a link with erase: delete)"
)
PG_KINDS = {"23503": "FOREIGN KEY", "23502": "NOT NULL", "23505": "UNIQUE", "23514": "CHECK"}


@contextmanager
def app_statements(conn: Connection, key: str) -> Iterator[None]:
    """Statements on the app's table `key` inside: a refused one raises AppStoreError."""
    try:
        yield
    except IntegrityError as exc:
        message = constraint_failed(conn, key, exc)
        if message.startswith("FOREIGN KEY"):
            message += FOREIGN_KEY_HINT
        raise AppStoreError(f"{key}: {message}") from None
    except DBAPIError as exc:
        cause = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
        raise AppStoreError(f"{key}: the database refused the statement ({cause})") from None


def constraint_failed(conn: Connection, key: str, exc: IntegrityError) -> str:
    dialect = conn.dialect.name
    orig = exc.orig
    if dialect == "sqlite":
        return sqlite_message(conn, key, str(orig))
    if dialect == "postgresql":
        return postgres_message(conn, key, orig)
    return mysql_message(conn, key, orig)


def sqlite_message(conn: Connection, key: str, text: str) -> str:
    if text == "FOREIGN KEY constraint failed":
        return f"{text} ({referring(conn, key)})"
    return text if SQLITE_SAFE.match(text) else "a constraint failed"


def postgres_message(conn: Connection, key: str, orig: Any) -> str:
    diag = getattr(orig, "diag", None)
    state = getattr(orig, "sqlstate", None) or ""
    kind = PG_KINDS.get(state, "a")
    if diag is None:
        return f"{kind} constraint failed"
    if kind == "FOREIGN KEY":
        return f"FOREIGN KEY constraint failed ({referring(conn, key, diag.constraint_name)})"
    if kind == "NOT NULL" and diag.column_name:
        return f"NOT NULL constraint failed: {diag.table_name}.{diag.column_name}"
    return f"{kind} constraint failed ({diag.constraint_name or 'unnamed'})"


def mysql_message(conn: Connection, key: str, orig: Any) -> str:
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    text = str(args[1]) if len(args) > 1 else ""
    if found := MYSQL_FK.search(text):
        link = f"{found['child']}.{found['column']} → {found['parent']}"
        return f"FOREIGN KEY constraint failed ({link})"
    if found := MYSQL_NULL.match(text):
        return f"NOT NULL constraint failed: {TableKey.of(key).name}.{found['column']}"
    if found := MYSQL_KEY.search(text):
        return f"UNIQUE constraint failed ({found['key']})"
    return "a constraint failed"


def referring(conn: Connection, key: str, constraint: str | None = None) -> str:
    """The foreign keys that point at table `key` ("invoices.customer_id → customers"),
    or the one named `constraint`; read from the schema, never from the error."""
    name = TableKey.of(key).name
    found = []
    try:  # a fresh connection: the failed statement may have aborted `conn`'s transaction
        inspector = inspect(conn.engine)
        for child in inspector.get_table_names():
            for fk in inspector.get_foreign_keys(child):
                if constraint is not None and fk.get("name") != constraint:
                    continue
                if constraint is None and fk["referred_table"] != name:
                    continue
                columns = ", ".join(fk["constrained_columns"])
                found.append(f"{child}.{columns} → {fk['referred_table']}")
    except SQLAlchemyError:
        return "the schema could not be read"
    return "; ".join(found) or "a foreign key"
