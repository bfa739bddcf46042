"""The worker's tables in the engine store (migrations in `migrations/`); procrastinate's
own tables (PostgreSQL) are its business and are reached only through its API."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from troth.store import metadata

state = Table(
    "worker_state",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

webhooks = Table(
    "worker_webhooks",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("event", String(16), nullable=False),
    Column("request_id", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_at", DateTime(timezone=True), nullable=False),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("url", "event", "request_id", name="worker_webhooks_once"),
    Index("worker_webhooks_due", "status", "next_at"),
)
