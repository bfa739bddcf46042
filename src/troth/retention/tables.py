"""Retention's tables in the engine store (migrations in `migrations/`)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Index, Integer, String, Table

from troth.store import metadata

# Per rule and table: where the sweep in progress stands, and what earlier ones left.
progress = Table(
    "retention_progress",
    metadata,
    Column("rule", String(63), primary_key=True),
    Column("table_key", String(200), primary_key=True),
    Column("swept_before", DateTime(timezone=True)),  # rows older than this are done
    Column("cutoff", DateTime(timezone=True)),  # the run in progress, or NULL
    Column("since", DateTime(timezone=True)),  # the run in progress starts there
    Column("after", JSON),  # the last key the run in progress finished
    Column("held_from", DateTime(timezone=True)),  # oldest row a hold kept in this run
)

# One batch: its keys are written before the app's transaction, marked done after it.
batches = Table(
    "retention_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(63), nullable=False),
    Column("table_key", String(200), nullable=False),
    Column("action", String(16), nullable=False),
    Column("keys", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # pending | done
    Column("rows", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("retention_batches_pending", "status"),
)

# Accounts a rule acted on: first seen deleted, noticed, handed to the rights engine,
# or flagged for staff (under age). One row per rule and account, never a raw identity.
marks = Table(
    "retention_marks",
    metadata,
    Column("rule", String(63), primary_key=True),
    Column("account", String(64), primary_key=True),  # the subject's pseudonym
    Column("table_key", String(200), nullable=False),
    Column("key", JSON, nullable=False),  # the account row's primary key
    Column("state", String(16), nullable=False),  # seen | noticed | handed | flagged | spared
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("activity", String(64)),  # the last activity the notice was sent for
    Column("request_id", String(32)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("retention_marks_state", "rule", "state"),
)
