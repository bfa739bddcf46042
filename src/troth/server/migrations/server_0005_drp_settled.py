"""server: DRP exercises settled at once (sale:opt-in) keep their final status.

Revision ID: server_0005
Revises: server_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "server_0005"
down_revision = "server_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("server_drp_requests") as batch:
        batch.add_column(sa.Column("settled", sa.JSON()))
        batch.add_column(sa.Column("received_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("server_drp_requests") as batch:
        batch.drop_column("received_at")
        batch.drop_column("settled")
