"""The engine's own state, in SQLite (default) or PostgreSQL, through SQLAlchemy 2.

Each part of troth declares its tables on `metadata` in its own `tables.py` and
ships its Alembic migrations in its own `migrations/` folder as a branch named
after the part; `open_store` upgrades every branch to its head.
"""

from troth.store.engine import Store, commit_without_waiting, insert_rows, metadata, open_store

__all__ = ["Store", "commit_without_waiting", "insert_rows", "metadata", "open_store"]
