"""The tamper-evident audit ledger: every request, decision, disclosure, sweep and staff action.

Design: a hash chain with signed checkpoints, not an RFC 9162 Merkle tree. Each entry's
hash is SHA-256 over the canonical encoding of its sequence number, time, kind, actor,
subject, ref, data and the previous entry's hash, so any edit, deletion, insertion or
reordering breaks the chain at the first affected entry. A Merkle tree earns its extra
complexity with logarithmic inclusion and consistency proofs for outside auditors who do
not hold the whole log; troth's verifier always reads the whole log, which a chain checks
in one streaming pass with constant memory, and appending stays O(1) under one row lock.
A chain alone cannot show that its tail was cut off or rewritten, so the head (sequence
and hash) is also kept in a head row, and checkpoints signed with the project's secret key
(HMAC-SHA256) are kept both in `ledger_checkpoints` and in `.troth/ledger.head`, outside
the database. Anyone who can write the database but lacks the project key cannot forge a
checkpoint, so truncating or rewriting anything up to the last checkpoint is detected.

Appends are serialized by the head row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the
store's BEGIN IMMEDIATE), which keeps sequence numbers gap-free and the chain unforked
across processes, and run inside the caller's transaction so the entry commits or rolls
back with the work it describes.
"""

from troth.ledger.checkpoint import Checkpoint, checkpoint, checkpoint_if_due
from troth.ledger.log import Entry, Event, Head, LedgerDamaged, entries, head, record, record_many
from troth.ledger.screen import LedgerInputError
from troth.ledger.verify import VerifyResult, verify

__all__ = [
    "Checkpoint",
    "Entry",
    "Event",
    "Head",
    "LedgerDamaged",
    "LedgerInputError",
    "VerifyResult",
    "checkpoint",
    "checkpoint_if_due",
    "entries",
    "head",
    "record",
    "record_many",
    "verify",
]
