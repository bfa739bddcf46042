"""server: failed staff sign-ins, for throttling password guessing.

Revision ID: server_0002
Revises: server_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "server_0002"
down_revision = "server_0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("server_login_failures"):
        return
    op.create_table(
        "server_login_failures",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("login_hash", sa.String(64), nullable=False),
        sa.Column("ip_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("server_login_failures_login", "server_login_failures", ["login_hash", "at"])
    op.create_index("server_login_failures_ip", "server_login_failures", ["ip_hash", "at"])


def downgrade() -> None:
    op.drop_table("server_login_failures")
