"""server: a DRP status callback that failed is tried again later (when, how often).

Revision ID: server_0006
Revises: server_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "server_0006"
down_revision = "server_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("server_drp_requests") as batch:
        batch.add_column(sa.Column("callback_due", sa.DateTime(timezone=True)))
        batch.add_column(
            sa.Column("callback_tries", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_index("server_drp_requests_callback_due", ["callback_due"])


def downgrade() -> None:
    with op.batch_alter_table("server_drp_requests") as batch:
        batch.drop_index("server_drp_requests_callback_due")
        batch.drop_column("callback_tries")
        batch.drop_column("callback_due")
