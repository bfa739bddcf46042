"""worker: procrastinate's own schema (jobs, workers, events), on PostgreSQL only.

The schema is the one procrastinate ships for its installed version; a later
procrastinate with schema changes gets a revision here that applies its migration
files (procrastinate's `schema_manager.get_migrations_path()`), so `troth` keeps
one migrate path for everything.

Revision ID: worker_0002
Revises: worker_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "worker_0002"
down_revision = "worker_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or sa.inspect(bind).has_table("procrastinate_jobs"):
        return
    from procrastinate.schema import SchemaManager

    # The raw driver cursor: the schema has `%` in it and no parameters to bind.
    raw = bind.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(SchemaManager.get_schema())
    finally:
        cursor.close()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers")
        op.execute("DROP TABLE IF EXISTS procrastinate_jobs, procrastinate_workers CASCADE")
