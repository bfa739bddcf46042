"""Reversible removal: values moved out of the app's rows into the vault, and back.

Deactivation seals each hidden value for its subject and keeps it in `vault_held` by
field and row (a keyed digest of the row's primary key), before the app's row is
emptied; reactivation reads them back, the app's row is restored, and the held values
are deleted. Holding the same value again replaces it, so a resumed request is safe.
A subject shredded while deactivated loses its held values with its key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, tuple_

from troth.vault import tables as t
from troth.vault.cipher import derived_key, keyed_digest
from troth.vault.vault import Vault, utcnow

Item = tuple[str, str, str]  # (field, row_ref, plain text)


def row_ref(vault: Vault, table_key: str, key: Sequence[Any]) -> str:
    """A held row's name: a keyed digest of its table and primary key, never the key."""
    secret = derived_key(vault.project.secret_key, "troth.vault.held-row")
    message = table_key + "\x00" + json.dumps(list(key), default=str)
    return keyed_digest(secret, message).hex()[:32]


def hold(vault: Vault, subject_of: Mapping[str, str], items: Iterable[Item]) -> int:
    """Seal and keep each (field, row_ref, text), sealed for `subject_of[row_ref]`."""
    rows = [
        {
            "field": field,
            "row_ref": ref,
            "value": vault.encrypt(subject_of[ref], text, field=field),
            "held_at": utcnow(),
        }
        for field, ref, text in items
    ]
    if not rows:
        return 0
    c = t.held.c
    with vault.store.begin() as conn:
        wanted = [(r["field"], r["row_ref"]) for r in rows]
        conn.execute(delete(t.held).where(tuple_(c.field, c.row_ref).in_(wanted)))
        conn.execute(t.held.insert(), rows)
    return len(rows)


def held(
    vault: Vault, subject_of: Mapping[str, str], wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The held texts of (field, row_ref) pairs, opened for their subjects."""
    pairs = list(wanted)
    if not pairs:
        return {}
    c = t.held.c
    query = select(c.field, c.row_ref, c.value).where(tuple_(c.field, c.row_ref).in_(pairs))
    with vault.store.connect() as conn:
        found = conn.execute(query).all()
    return {(f, ref): vault.decrypt(subject_of[ref], value, field=f) for f, ref, value in found}


def release(vault: Vault, pairs: Iterable[tuple[str, str]]) -> None:
    """Delete held values once the app's rows have them back."""
    wanted = list(pairs)
    if wanted:
        c = t.held.c
        with vault.store.begin() as conn:
            conn.execute(delete(t.held).where(tuple_(c.field, c.row_ref).in_(wanted)))
