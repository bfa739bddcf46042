"""Opening the app's stores named in a data map: SQL engines and blob folders.

`${VAR}` and `${VAR:-default}` are expanded from the environment (the default
also applies when VAR is empty, as in the shell); relative SQLite paths and
blob paths are resolved against the project folder. Errors never echo a URL,
which may hold a password.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry

from troth.datamap.model import BlobStore, DataMap, SqlStore
from troth.errors import TrothError
from troth.pooling import ping_when_idle
from troth.project import Project

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
BUSY_TIMEOUT_S = 30
_engines: dict[str, Engine] = {}  # by the URL's text (hashing a URL renders it each time)
_lock = threading.Lock()


def expand(text: str, where: str) -> str:
    """Replace `${VAR}` and `${VAR:-default}` with values from the environment."""

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match[1])
        if found:
            return found
        if match[2] is not None:
            return match[2]
        if found is None:
            raise TrothError(f"{where}: environment variable {match[1]} is not set")
        return found

    return VARIABLE.sub(value, text)


def database_url(url: str, root: Path, where: str) -> URL:
    """A checked SQLAlchemy URL with troth's drivers; relative SQLite paths under `root`."""
    return _checked(url, root, where)[0]


@functools.lru_cache(maxsize=256)
def _checked(url: str, root: Path, where: str) -> tuple[URL, str]:
    """`database_url`, and its text (the engine's key), once per URL text and folder: a
    request opens its stores' engines by them, and parsing, resolving and rendering
    the URL again cost more than a small request's statements."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise TrothError(f"{where}: not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if path and path != ":memory:" and not path.startswith("file:"):
            parsed = parsed.set(database=str((root / path).resolve()))
    elif backend == "postgresql":
        if "+" not in parsed.drivername:
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend in ("mysql", "mariadb"):
        if "+" not in parsed.drivername:
            parsed = parsed.set(drivername=f"{backend}+pymysql")
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    else:
        raise TrothError(f"{where}: unsupported database {backend!r} (sqlite, postgresql, mysql)")
    return parsed, parsed.render_as_string(hide_password=False)


def sqlite_file_missing(url: URL) -> bool:
    """True for an SQLite URL whose file does not exist (connecting would create it)."""
    path = url.database
    if url.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return False
    return not path.startswith("file:") and not Path(path).exists()


def store_url(project: Project, datamap: DataMap, store_name: str) -> URL:
    """The expanded, resolved URL of the SQL store `store_name`."""
    return _store_url(project, datamap, store_name)[0]


def store_key(project: Project, datamap: DataMap, store_name: str) -> str:
    """The text of the SQL store's URL, password and all: what its engine, and anything
    kept per store, is keyed by (worked out once, as the URL)."""
    return _store_url(project, datamap, store_name)[1]


def _store_url(project: Project, datamap: DataMap, store_name: str) -> tuple[URL, str]:
    store = datamap.stores.get(store_name)
    if not isinstance(store, SqlStore):
        raise TrothError(f"datamap.yaml: no SQL store named {store_name!r}")
    where = f"datamap.yaml stores.{store_name}.url"
    return _checked(expand(store.url, where), project.root, where)


def sql_engine(project: Project, datamap: DataMap, store_name: str) -> Engine:
    """The (cached) SQLAlchemy engine of the SQL store `store_name`."""
    return _engine(*_store_url(project, datamap, store_name))


def engine_for(url: URL) -> Engine:
    """One engine per URL for the whole process; SQLite gets foreign keys and a busy timeout."""
    return _engine(url, url.render_as_string(hide_password=False))


def _engine(url: URL, key: str) -> Engine:
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create(url)
            _engines[key] = engine
        return engine


def _create(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return ping_when_idle(create_engine(url, pool_use_lifo=True))


def _sqlite_pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def dispose_engines() -> None:
    """Close every cached engine (tests, and before a process forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def blob_root(project: Project, datamap: DataMap, store_name: str) -> Path:
    """The folder of the blob store `store_name`, resolved against the project folder."""
    store = datamap.stores.get(store_name)
    if not isinstance(store, BlobStore):
        raise TrothError(f"datamap.yaml: no blob store named {store_name!r}")
    return resolved_folder(
        expand(store.path, f"datamap.yaml stores.{store_name}.path"), project.root
    )


@functools.lru_cache(maxsize=256)
def resolved_folder(path: str, root: Path) -> Path:
    """`path` resolved against `root`, once per text and folder (as a store's URL is, in
    `_checked`): a resolve is a look-up per folder of the whole path."""
    return (root / path).resolve()
