"""rights: an erasure's plan is stored on its request, with the claim that starts it.

Revision ID: rights_0002
Revises: rights_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rights_0002"
down_revision = "rights_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rights_requests") as batch:
        batch.add_column(sa.Column("plan", sa.JSON()))


def downgrade() -> None:
    with op.batch_alter_table("rights_requests") as batch:
        batch.drop_column("plan")
