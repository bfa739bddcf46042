"""The server part's tables in the engine store: staff, API keys, sessions, one-time codes,
and the failed tries that throttle guessing.

Secrets (passwords, API keys, session tokens, codes) are stored only as hashes, and no
table holds a raw identity: a subject session keeps the subject's keyed pseudonym, while the
e-mail the pages need travels in the subject's own cookie (`auth.subject_cookie`).
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, String, Table, Text

from troth.store import metadata

Id = BigInteger().with_variant(Integer(), "sqlite")
When = DateTime(timezone=True)

staff = Table(
    "server_staff",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("login", String(254), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", When, nullable=False),
)

api_keys = Table(
    "server_api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("created_at", When, nullable=False),
    Column("revoked_at", When),
)

sessions = Table(
    "server_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("staff_id", Id),
    Column("subject_ref", String(64)),
    Column("expires_at", When, nullable=False),
    Index("server_sessions_expires", "expires_at"),
    Index("server_sessions_subject", "subject_ref"),
)

codes = Table(
    "server_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email_hash", String(64), nullable=False),
    Column("ip_hash", String(64), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", When, nullable=False),
    Column("expires_at", When, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used", Integer, nullable=False),
    Index("server_codes_email", "email_hash", "created_at"),
    Index("server_codes_ip", "ip_hash", "created_at"),
)

owners = Table(
    "server_request_owners",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Index("server_request_owners_owner", "owner"),
)

login_failures = Table(
    "server_login_failures",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("login_hash", String(64), nullable=False),
    Column("ip_hash", String(64), nullable=False),
    Column("at", When, nullable=False),
    Index("server_login_failures_login", "login_hash", "at"),
    Index("server_login_failures_ip", "ip_hash", "at"),
)

code_failures = Table(
    "server_code_failures",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email_hash", String(64), nullable=False),
    Column("ip_hash", String(64), nullable=False),
    Column("at", When, nullable=False),
    Index("server_code_failures_email", "email_hash", "at"),
    Index("server_code_failures_ip", "ip_hash", "at"),
)

drp_seen = Table(
    "server_drp_seen",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("expires_at", When, nullable=False),
    Index("server_drp_seen_expires", "expires_at"),
)

drp_requests = Table(
    "server_drp_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("agent_id", String(100), nullable=False),
    Column("agent_request_id", String(100)),
    Column("status_callback", String(2000)),
    Column("api_base", String(500), nullable=False),
    Column("revoked_at", When),
    Column("settled", JSON),  # the final status of an exercise done at once (sale:opt-in)
    Column("received_at", When),  # when such an exercise came (others: their request's)
    Column("callback_due", When),  # a failed status callback is tried again then
    Column("callback_tries", Integer, nullable=False, server_default="0"),
    Index("server_drp_requests_callback_due", "callback_due"),
)
