"""The rights engine's tables in the engine store (migrations in `migrations/`)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, String, Table, Text

from troth.store import metadata

requests = Table(
    "rights_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("identity_kind", String(63), nullable=False),
    Column("identity_value", String(254)),  # cleared once the request completes or is denied
    Column("subject", String(64), nullable=False),
    Column("fields", JSON),
    Column("purpose", String(200)),
    Column("jurisdiction", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("lease_until", DateTime(timezone=True)),
    Column("reason", Text),
    Column("result", JSON),
    Column("error", Text),
    # An erasure's per-store plan (store -> detail), stored by the claim that starts it;
    # a store's step is in `steps` once it is done (a completed request is done in all).
    Column("plan", JSON),
    Index("rights_requests_status", "status", "created_at"),
    Index("rights_requests_subject", "subject"),
)

steps = Table(
    "rights_steps",
    metadata,
    Column("request_id", String(32), ForeignKey("rights_requests.id"), primary_key=True),
    Column("store", String(63), primary_key=True),
    Column("status", String(16), nullable=False),  # done (pending: a plan stored before 0002)
    Column("detail", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
