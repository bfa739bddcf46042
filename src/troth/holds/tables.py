"""The legal holds' tables in the engine store (migrations in `migrations/`)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, String, Table, Text

from troth.store import metadata

holds = Table(
    "holds_holds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("reference", String(200)),
    Column("placed_by", String(200), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True)),
    Column("released_at", DateTime(timezone=True)),
    Column("released_by", String(200)),
    Column("filter", JSON),  # {"table": "app.orders", "column": "dispute_id", "values": [...]}
    Index("holds_holds_open", "released_at"),
)

# The subjects a hold covers: the pseudonym it is matched by, and the identity it finds
# the rows with while it stands (cleared when it is released).
subjects = Table(
    "holds_subjects",
    metadata,
    Column("hold_id", String(32), ForeignKey("holds_holds.id"), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("identity_kind", String(63), nullable=False),
    Column("identity_value", String(254)),
    Index("holds_subjects_subject", "subject"),
)

# Erasures a hold held back: they run again when it is released or ends.
postponed = Table(
    "holds_postponed",
    metadata,
    Column("hold_id", String(32), ForeignKey("holds_holds.id"), primary_key=True),
    Column("request_id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),  # erasure | withdraw_consent
    Column("purpose", String(200)),
    Column("identity_kind", String(63), nullable=False),
    Column("identity_value", String(254)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
