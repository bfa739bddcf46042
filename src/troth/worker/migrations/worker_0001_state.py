"""worker: the queue's shared state (paused or not), and webhook deliveries.

Revision ID: worker_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "worker_0001"
down_revision = None
branch_labels = ("worker",)
depends_on = None

WHEN = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "worker_state",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_table(
        "worker_webhooks",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # pending | delivered | gave_up
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", WHEN, nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("delivered_at", WHEN),
        sa.UniqueConstraint("url", "event", "request_id", name="worker_webhooks_once"),
    )
    op.create_index("worker_webhooks_due", "worker_webhooks", ["status", "next_at"])


def downgrade() -> None:
    op.drop_table("worker_webhooks")
    op.drop_table("worker_state")
