"""server: Data Rights Protocol 1.0 (signed bodies seen, agents' request ids, revokes).

Revision ID: server_0004
Revises: server_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "server_0004"
down_revision = "server_0003"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "server_drp_seen",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("expires_at", WHEN, nullable=False),
    )
    op.create_index("server_drp_seen_expires", "server_drp_seen", ["expires_at"])
    op.create_table(
        "server_drp_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.String(100), nullable=False),
        sa.Column("agent_request_id", sa.String(100)),
        sa.Column("status_callback", sa.String(2000)),
        sa.Column("api_base", sa.String(500), nullable=False),
        sa.Column("revoked_at", WHEN),
    )


def downgrade() -> None:
    op.drop_table("server_drp_requests")
    op.drop_table("server_drp_seen")
