"""Connecting to the engine store and keeping its schema current."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import ConnectionPoolEntry

from troth.errors import TrothError
from troth.pooling import ping_when_idle
from troth.project import PRIVATE_DIR, PRIVATE_FILE

metadata = MetaData()

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
BUSY_TIMEOUT_MS = 30_000
MIGRATION_LOCK_ID = 0x7E07_0001
READ_ONLY_OPTION = "troth_read_only"
# The database and the files SQLite creates beside it when needed, with the database's mode.
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def migration_folders() -> list[Path]:
    """Every part's `migrations/` folder: one Alembic branch per part."""
    return sorted(p for p in PACKAGE_ROOT.glob("*/migrations") if p.is_dir())


def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    # Python's sqlite3 opens transactions lazily; take control so that BEGIN IMMEDIATE works.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A commit waits until its WAL frames are on disk: the ledger, a request's stored plan
    # and its completion survive a power loss, as PostgreSQL's commits do (NORMAL keeps
    # them through a crash of the process only, while the app's own erasure may be
    # durable already).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer (Store.begin) takes the write lock at BEGIN IMMEDIATE, so concurrent
    # writers queue on the busy timeout instead of failing with "database is locked"
    # when a deferred transaction tries to upgrade. A reader (Store.connect) begins
    # deferred: under WAL it never waits for, nor blocks, a writer.
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """A handle on the engine store: an SQLAlchemy engine plus transaction helpers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self, *, durable: bool = True) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any error.

        Not `durable`, its commit does not wait for the disk: a crash of the process
        keeps it, a power loss (or on PostgreSQL a crash of the server) may lose it,
        never half of it, until the next durable commit or `sync` takes it to disk
        (SQLite's `synchronous=NORMAL`, PostgreSQL's `synchronous_commit = off`). Only for
        what a resumed run writes again exactly (`troth.rights.lifecycle.finish`)."""
        if durable or self.dialect != "sqlite":
            with self.engine.begin() as conn:
                if not durable:
                    commit_without_waiting(conn)
                yield conn
            return
        with self.engine.connect() as conn:
            driver = conn.connection.dbapi_connection  # outside any transaction of its own
            assert driver is not None
            driver.execute("PRAGMA synchronous=NORMAL")
            try:
                with conn.begin():
                    yield conn
            finally:  # the pool hands out durable connections only
                driver.execute("PRAGMA synchronous=FULL")

    def sync(self) -> None:
        """Wait until every commit so far is on disk, not-durable ones included (before
        anything outside the store speaks for them: the ledger's head file). SQLite: the
        WAL file's fsync; PostgreSQL: a durable commit, whose flush takes every earlier
        commit's WAL with it (the transaction id makes it write a commit record)."""
        if self.dialect == "postgresql":
            with self.engine.begin() as conn:
                conn.exec_driver_sql("SELECT txid_current()")
            return
        database = self.engine.url.database if self.dialect == "sqlite" else None
        if not database or database == ":memory:":
            return
        try:
            fd = os.open(f"{database}-wal", os.O_RDONLY)
        except FileNotFoundError:  # no WAL: the last checkpoint wrote it all and synced
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading; write through `begin()` instead.

        On PostgreSQL it runs without a transaction: each read is its own statement, as
        under READ COMMITTED it would see its own snapshot anyway, without the BEGIN
        and ROLLBACK round trips around it."""
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if self.dialect == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        with self.engine.connect() as conn:
            yield conn.execution_options(**options)

    def upgrade(self) -> None:
        """Bring every part's tables to its newest migration."""
        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "alembic"))
        config.set_main_option("version_locations", " ".join(str(p) for p in migration_folders()))
        config.set_main_option("path_separator", "space")
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several processes may start at once; one migrates, the others wait.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            config.attributes["connection"] = conn
            command.upgrade(config, "heads")

    def dispose(self) -> None:
        self.engine.dispose()


def commit_without_waiting(conn: Connection) -> None:
    """Let the transaction open on `conn` commit without waiting for the WAL flush
    (PostgreSQL; SQLite sets it between transactions, see `Store.begin`)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")


def insert_rows(conn: Connection, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert plain values (text, numbers) in `table`'s column order through the
    driver's executemany: for the many rows of one record (a disclosure's people),
    without SQLAlchemy's per-row parameter processing."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(table.columns.keys())
    marks = ", ".join([mark] * len(table.columns))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({columns}) VALUES ({marks})", list(rows))


def create_store_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception:
        # Never echo the URL: it may hold a password.
        raise TrothError("the store URL is not a valid SQLAlchemy URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # The connection used last is handed out first: its server process is awake and its
    # prepared statements warm, where a round robin wakes each idle one in turn.
    return ping_when_idle(create_engine(parsed, pool_use_lifo=True))


def private_sqlite_file(path: Path) -> None:
    """Create the database file owner-only (0600) before SQLite opens it, so the WAL and
    shared-memory files it creates later get the same mode; tighten an older store's.

    A folder made here is owner-only too (0700); an existing one is the owner's choice."""
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    with suppress(FileExistsError):  # an existing store is checked below
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
    for suffix in SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            if stat.S_IMODE(companion.stat().st_mode) & 0o077:
                companion.chmod(PRIVATE_FILE)
        except FileNotFoundError:
            continue


def open_store(url: str, *, upgrade: bool = True) -> Store:
    """Open the engine store at `url`, creating or migrating its tables first."""
    store = Store(create_store_engine(url))
    if upgrade:
        store.upgrade()
    return store
