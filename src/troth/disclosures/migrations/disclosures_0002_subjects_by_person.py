"""disclosures: the people of an export keyed by person first, in one index.

One primary key (subject, export_id) serves both the access lookup by person and the
uniqueness of a person within an export; the second index and the per-row foreign key
check are gone (record_export writes an export and its people in one transaction), which
made recording a 100,000-person export two to five times slower.

Revision ID: disclosures_0002
Revises: disclosures_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "disclosures_0002"
down_revision = "disclosures_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosures_subjects_new",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("export_id", sa.String(32), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO disclosures_subjects_new (subject, export_id) "
        "SELECT subject, export_id FROM disclosures_subjects"
    )
    op.drop_table("disclosures_subjects")
    op.rename_table("disclosures_subjects_new", "disclosures_subjects")


def downgrade() -> None:
    op.create_table(
        "disclosures_subjects_old",
        sa.Column(
            "export_id", sa.String(32), sa.ForeignKey("disclosures_exports.id"), primary_key=True
        ),
        sa.Column("subject", sa.String(64), primary_key=True),
    )
    op.execute(
        "INSERT INTO disclosures_subjects_old (export_id, subject) "
        "SELECT export_id, subject FROM disclosures_subjects"
    )
    op.drop_table("disclosures_subjects")
    op.rename_table("disclosures_subjects_old", "disclosures_subjects")
    op.create_index("disclosures_subjects_subject", "disclosures_subjects", ["subject"])
