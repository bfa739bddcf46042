import pytest
from sqlalchemy import inspect

from troth.errors import TrothError
from troth.store import open_store


def test_open_store_creates_alembic_version(store_url: str) -> None:
    store = open_store(store_url)
    assert "alembic_version" in inspect(store.engine).get_table_names()
    store.upgrade()  # a second upgrade is a no-op
    store.dispose()


def test_sqlite_reader_does_not_wait_for_a_writer(sqlite_url: str) -> None:
    """A reader on SQLite begins deferred: an open write transaction does not block it."""
    store = open_store(sqlite_url)
    with store.begin() as writer:
        writer.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with store.begin() as writer:
        writer.exec_driver_sql("INSERT INTO t VALUES (1)")
        with store.connect() as reader:
            # The reader sees the last committed state, not the writer's open insert.
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    with store.connect() as reader:
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 1
    store.dispose()


def test_sqlite_store_commits_reach_the_disk(sqlite_url: str) -> None:
    """WAL with synchronous FULL: a committed ledger entry or plan survives a power loss."""
    store = open_store(sqlite_url)
    with store.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
    store.dispose()


def test_bad_store_url_is_not_echoed() -> None:
    with pytest.raises(TrothError, match="not a valid SQLAlchemy URL") as caught:
        open_store("postgresql://troth:s3cret@db:5432:5433/troth")
    assert "s3cret" not in str(caught.value)
    assert caught.value.__cause__ is None
