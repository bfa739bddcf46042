"""The disclosure record's tables in the engine store (migrations in `migrations/`)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table

from troth.store import metadata

exports = Table(
    "disclosures_exports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("recipient", String(63), nullable=False),
    Column("form", String(16), nullable=False),
    Column("purposes", JSON, nullable=False),
    Column("legal_basis", String(32), nullable=False),
    Column("categories", JSON, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("people", Integer, nullable=False),
    Column("excluded", JSON, nullable=False),  # reason -> number of people left out
    Column("file_sha256", String(64), nullable=False),
    Column("reference", String(200)),  # court order, case number (authorities)
    Column("actor", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("disclosures_exports_recipient", "recipient", "created_at"),
)

# One row per person whose data an export carried, under the person's pseudonym; keyed
# by person first, so that one index serves the access lookup and the uniqueness.
subjects = Table(
    "disclosures_subjects",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("export_id", String(32), primary_key=True),
    sqlite_with_rowid=False,
)
