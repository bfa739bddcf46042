from sqlalchemy import inspect

from troth.store import open_store


def test_open_store_creates_alembic_version(store_url: str) -> None:
    store = open_store(store_url)
    assert "alembic_version" in inspect(store.engine).get_table_names()
    store.upgrade()  # a second upgrade is a no-op
    store.dispose()
