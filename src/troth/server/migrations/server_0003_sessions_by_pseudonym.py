"""server: sessions keep the subject's pseudonym, not their e-mail; failed code checks.

Subject sessions made before this held a raw e-mail and cannot be turned into a pseudonym
here (that needs the project key, which migrations do not see): they are deleted, which
signs those subjects out (a session lives an hour at most). Staff sessions stay.

Revision ID: server_0003
Revises: server_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "server_0003"
down_revision = "server_0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    sessions = sa.table("server_sessions", sa.column("kind", sa.String))
    op.execute(sessions.delete().where(sessions.c.kind == "subject"))
    with op.batch_alter_table("server_sessions") as batch:
        batch.drop_column("email")
        batch.add_column(sa.Column("subject_ref", sa.String(64)))
        batch.create_index("server_sessions_subject", ["subject_ref"])
    op.create_table(
        "server_code_failures",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("email_hash", sa.String(64), nullable=False),
        sa.Column("ip_hash", sa.String(64), nullable=False),
        sa.Column("at", WHEN, nullable=False),
    )
    op.create_index("server_code_failures_email", "server_code_failures", ["email_hash", "at"])
    op.create_index("server_code_failures_ip", "server_code_failures", ["ip_hash", "at"])


def downgrade() -> None:
    op.drop_table("server_code_failures")
    with op.batch_alter_table("server_sessions") as batch:
        batch.drop_index("server_sessions_subject")
        batch.drop_column("subject_ref")
        batch.add_column(sa.Column("email", sa.String(320)))
