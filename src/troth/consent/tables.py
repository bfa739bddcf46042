"""The consent part's tables in the engine store.

Subjects are stored as `Project.subject_ref` keyed pseudonyms, never as raw identities;
the one exception is `consent_erasure_queue.identity_value`, kept only until the rights
engine has taken the erasure request over, then cleared.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from troth.store import metadata

Id = BigInteger().with_variant(Integer(), "sqlite")
When = DateTime(timezone=True)

events = Table(
    "consent_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("subject_ref", String(40), nullable=False),
    Column("identity_kind", String(32), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("policy_version", String(64)),
    Column("notice_version", String(64)),
    Column("request_id", String(64)),
    Column("recorded_at", When, nullable=False),
    Index("consent_events_subject", "subject_ref"),
)

current = Table(
    "consent_current",
    metadata,
    Column("subject_ref", String(40), primary_key=True),
    Column("purpose", String(200), primary_key=True),
    Column("decision", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("policy_version", String(64)),
    Column("event_id", Id, nullable=False),
    Column("recorded_at", When, nullable=False),
    sqlite_with_rowid=False,
)

changes = Table(
    "consent_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("counter", BigInteger, nullable=False),
)

reconsent = Table(
    "consent_reconsent",
    metadata,
    Column("subject_ref", String(40), primary_key=True),
    Column("purpose", String(200), primary_key=True),
    Column("version", String(64), nullable=False),
    Column("created_at", When, nullable=False),
)

versions = Table(
    "consent_policy_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False, unique=True),
    Column("digest", String(64), nullable=False),
    Column("document", Text, nullable=False),
    Column("posted_at", When, nullable=False),
    Column("new_bound_at", When, nullable=False),
    Column("existing_bound_at", When, nullable=False),
    Column("material", Boolean, nullable=False),
    Column("reconsent_purposes", Text, nullable=False),
    Column("notices_done_at", When),
)

acceptances = Table(
    "consent_acceptances",
    metadata,
    Column("subject_ref", String(40), primary_key=True),
    Column("version", String(64), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("accepted_at", When, nullable=False),
)

erasure_queue = Table(
    "consent_erasure_queue",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, nullable=False),
    Column("subject_ref", String(40), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("categories", Text, nullable=False),
    Column("identity_kind", String(32), nullable=False),
    Column("identity_value", String(320)),
    Column("created_at", When, nullable=False),
    Column("claimed_at", When),
    Column("request_id", String(64)),
    Index("consent_erasure_pending", "request_id", "claimed_at"),
)
