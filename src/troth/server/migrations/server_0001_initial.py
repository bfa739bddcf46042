"""server: staff, API keys, sessions, one-time codes, request owners.

Revision ID: server_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "server_0001"
down_revision = None
branch_labels = ("server",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


TABLES = (
    "server_request_owners",
    "server_codes",
    "server_sessions",
    "server_api_keys",
    "server_staff",
)


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("server_staff"):
        op.create_table(
            "server_staff",
            sa.Column("id", ID, primary_key=True, autoincrement=True),
            sa.Column("login", sa.String(254), nullable=False, unique=True),
            sa.Column("role", sa.String(32), nullable=False),
            sa.Column("password_hash", sa.String(200), nullable=False),
            sa.Column("created_at", WHEN, nullable=False),
        )
    if _missing("server_api_keys"):
        op.create_table(
            "server_api_keys",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("secret_hash", sa.String(64), nullable=False),
            sa.Column("scopes", sa.Text(), nullable=False),
            sa.Column("created_at", WHEN, nullable=False),
            sa.Column("revoked_at", WHEN),
        )
    if _missing("server_sessions"):
        op.create_table(
            "server_sessions",
            sa.Column("token_hash", sa.String(64), primary_key=True),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("staff_id", ID),
            sa.Column("email", sa.String(320)),
            sa.Column("expires_at", WHEN, nullable=False),
        )
        op.create_index("server_sessions_expires", "server_sessions", ["expires_at"])
    if _missing("server_codes"):
        op.create_table(
            "server_codes",
            sa.Column("id", ID, primary_key=True, autoincrement=True),
            sa.Column("email_hash", sa.String(64), nullable=False),
            sa.Column("ip_hash", sa.String(64), nullable=False),
            sa.Column("code_hash", sa.String(64), nullable=False),
            sa.Column("created_at", WHEN, nullable=False),
            sa.Column("expires_at", WHEN, nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("used", sa.Integer(), nullable=False),
        )
        op.create_index("server_codes_email", "server_codes", ["email_hash", "created_at"])
        op.create_index("server_codes_ip", "server_codes", ["ip_hash", "created_at"])
    if _missing("server_request_owners"):
        op.create_table(
            "server_request_owners",
            sa.Column("request_id", sa.String(64), primary_key=True),
            sa.Column("owner", sa.String(64), nullable=False),
        )
        op.create_index("server_request_owners_owner", "server_request_owners", ["owner"])


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
