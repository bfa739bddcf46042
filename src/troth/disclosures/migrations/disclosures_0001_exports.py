"""disclosures: every export to a recipient and the people it carried.

Revision ID: disclosures_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "disclosures_0001"
down_revision = None
branch_labels = ("disclosures",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosures_exports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("recipient", sa.String(63), nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("purposes", sa.JSON, nullable=False),
        sa.Column("legal_basis", sa.String(32), nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("people", sa.Integer, nullable=False),
        sa.Column("excluded", sa.JSON, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "disclosures_exports_recipient", "disclosures_exports", ["recipient", "created_at"]
    )
    op.create_table(
        "disclosures_subjects",
        sa.Column(
            "export_id",
            sa.String(32),
            sa.ForeignKey("disclosures_exports.id"),
            primary_key=True,
        ),
        sa.Column("subject", sa.String(64), primary_key=True),
    )
    op.create_index("disclosures_subjects_subject", "disclosures_subjects", ["subject"])


def downgrade() -> None:
    op.drop_table("disclosures_subjects")
    op.drop_table("disclosures_exports")
