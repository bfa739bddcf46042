"""Sharing's tables in the engine store (migrations in `migrations/`)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from troth.store import metadata

# Disclosures to authorities: asked for with a reference, approved by a privacy officer
# who is not the person who asked, then exported once. The identity is kept only until
# the export is done or the request denied.
requests = Table(
    "sharing_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("recipient", String(63), nullable=False),
    Column("identity_kind", String(63), nullable=False),
    Column("identity_value", String(254)),
    Column("subject", String(64), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("reason", Text),
    Column("status", String(16), nullable=False),  # pending | approved | denied | done
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", DateTime(timezone=True)),
    Column("export_id", String(32)),
    Index("sharing_requests_status", "status", "requested_at"),
)
