"""consent: events, current state, change counter, re-consent, policy versions, acceptances,
erasure queue.

Revision ID: consent_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "consent_0001"
down_revision = None
branch_labels = ("consent",)
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("subject_ref", sa.String(40), nullable=False),
        sa.Column("identity_kind", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("policy_version", sa.String(64)),
        sa.Column("notice_version", sa.String(64)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("recorded_at", WHEN, nullable=False),
    )
    op.create_index("consent_events_subject", "consent_events", ["subject_ref"])
    op.create_table(
        "consent_current",
        sa.Column("subject_ref", sa.String(40), primary_key=True),
        sa.Column("purpose", sa.String(200), primary_key=True),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("policy_version", sa.String(64)),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("recorded_at", WHEN, nullable=False),
        sqlite_with_rowid=False,
    )
    changes = op.create_table(
        "consent_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("counter", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(changes, [{"id": 1, "counter": 0}])
    op.create_table(
        "consent_reconsent",
        sa.Column("subject_ref", sa.String(40), primary_key=True),
        sa.Column("purpose", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "consent_policy_versions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False, unique=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("posted_at", WHEN, nullable=False),
        sa.Column("new_bound_at", WHEN, nullable=False),
        sa.Column("existing_bound_at", WHEN, nullable=False),
        sa.Column("material", sa.Boolean, nullable=False),
        sa.Column("reconsent_purposes", sa.Text, nullable=False),
        sa.Column("notices_done_at", WHEN),
    )
    op.create_table(
        "consent_acceptances",
        sa.Column("subject_ref", sa.String(40), primary_key=True),
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("accepted_at", WHEN, nullable=False),
    )
    op.create_table(
        "consent_erasure_queue",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("subject_ref", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("identity_kind", sa.String(32), nullable=False),
        sa.Column("identity_value", sa.String(320)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("claimed_at", WHEN),
        sa.Column("request_id", sa.String(64)),
    )
    op.create_index(
        "consent_erasure_pending", "consent_erasure_queue", ["request_id", "claimed_at"]
    )


def downgrade() -> None:
    for table in (
        "consent_erasure_queue",
        "consent_acceptances",
        "consent_policy_versions",
        "consent_reconsent",
        "consent_changes",
        "consent_current",
        "consent_events",
    ):
        op.drop_table(table)
