"""Shared fixtures: a fresh database per test on SQLite, PostgreSQL and MariaDB.

PostgreSQL (127.0.0.1:5432, trust) and MariaDB (127.0.0.1:3306, root, no password)
run on the developer's machine and in CI. Under CI=true a test that cannot reach
its server fails; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get(
    "TROTH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_ADMIN_URL = os.environ.get("TROTH_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/")
IN_CI = os.environ.get("CI") == "true"


def _unreachable(server: str, exc: Exception) -> None:
    reason = f"{server} is not reachable: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    if IN_CI:
        pytest.fail(reason + " (CI=true needs it)")
    pytest.skip(reason)


def _fresh_database(admin_url: str, server: str) -> Iterator[str]:
    """Create an empty database with a unique name, yield its URL, drop it afterwards."""
    name = f"troth_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # any driver error means the server is not usable
        _unreachable(server, exc)
    url = make_url(admin_url).set(database=name)
    if server == "MariaDB":
        url = url.update_query_dict({"charset": "utf8mb4"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if server == "PostgreSQL":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database."""
    yield from _fresh_database(PG_ADMIN_URL, "PostgreSQL")


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database."""
    yield from _fresh_database(MARIADB_ADMIN_URL, "MariaDB")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """The same test on a fresh database of each engine."""
    fixture = {"sqlite": "sqlite_url", "postgresql": "pg_url", "mariadb": "mariadb_url"}
    return str(request.getfixturevalue(fixture[request.param]))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh engine-store database: SQLite (the default) and PostgreSQL (at scale)."""
    fixture = {"sqlite": "sqlite_url", "postgresql": "pg_url"}
    return str(request.getfixturevalue(fixture[request.param]))


SHARED = Path(__file__).resolve().parents[1].parent / "shared"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def shared_dir() -> Path:
    return SHARED
