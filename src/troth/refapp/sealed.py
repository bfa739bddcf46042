"""The reference app with its private columns sealed by the vault (`--vault`).

`messages.body` is sealed for its sender (`user:{sender_id}`) and `users.date_of_birth`
for the user (`user:{id}`); the data map says so with `encrypted: true` and `subject`.
"""

from __future__ import annotations

from troth.refapp.rows import COLUMNS, Chunk
from troth.vault import Vault

# table -> (column sealed, column whose value names the subject)
SEALED = {"users": ("date_of_birth", "id"), "messages": ("body", "sender_id")}


def sealed_chunk(vault: Vault, chunk: Chunk) -> Chunk:
    """`chunk` with the SEALED columns replaced by vault values."""
    out = dict(chunk)
    for table, (column, owner) in SEALED.items():
        rows = chunk.get(table)
        if not rows:
            continue
        at, by = COLUMNS[table].index(column), COLUMNS[table].index(owner)
        field = f"{table}.{column}"
        out[table] = [
            (*row[:at], seal(vault, row[by], row[at], field), *row[at + 1 :]) for row in rows
        ]
    return out


def seal(vault: Vault, owner: object, value: object, field: str) -> object:
    if value is None:
        return None
    return vault.encrypt(f"user:{owner}", str(value), field=field)
