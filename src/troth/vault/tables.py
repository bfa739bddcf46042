"""The vault's table in the engine store (migrations in `migrations/`).

`vault_keys` holds one data key per subject, wrapped under a KEK version, by key id
(a keyed digest of the subject, never the subject itself). A shredded key keeps its row
with no key material, so that the vault can say a value was shredded rather than never
encrypted, and refuses to make a new key for that subject.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Column, DateTime, Index, LargeBinary, String, Table, Text

from troth.store import metadata

keys = Table(
    "vault_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("kek_id", String(32)),  # null once shredded
    Column("wrapped", LargeBinary),  # null once shredded
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("shredded_at", DateTime(timezone=True)),
    Index("vault_keys_kek", "kek_id"),
)


class KeyRow(NamedTuple):
    kek_id: str | None
    wrapped: bytes | None


# Values moved out of the app's rows on deactivation, sealed for their subject, by field
# and a keyed digest of the row's key; put back and deleted on reactivation.
held = Table(
    "vault_held",
    metadata,
    Column("field", String(130), primary_key=True),
    Column("row_ref", String(32), primary_key=True),
    Column("value", Text, nullable=False),
    Column("held_at", DateTime(timezone=True), nullable=False),
)
