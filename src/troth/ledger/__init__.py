"""The tamper-evident audit ledger: every request, decision, disclosure, sweep and staff action.

This docstring and `__all__` are the part's public surface; other parts import only these.

Design: an append-only log whose entries form a hash chain and the leaves of a Merkle
tree in the style of RFC 9162, with signed tree heads. Each entry's hash is SHA-256 over
the canonical encoding of its sequence number, time, kind, actor, subject, ref, data and
the previous entry's hash, so any edit, deletion, insertion or reordering breaks the
chain at the first affected entry, which verification names. The Merkle tree over the
entries' hashes gives short proofs to auditors who do not hold the log: that an entry is
in the tree of a signed head (inclusion), and that an earlier head is a prefix of a later
one (consistency). Tree heads (size, root, time) are signed with the ledger's own Ed25519
key (not the pseudonym key) and kept in `ledger_tree_heads`, in `.troth/ledger-head.json`
outside the database, and in any head exported to a third party: rewriting or cutting
the ledger up to a head is detected by anyone with its public key, even after every copy
kept here is gone.

Appends are serialized by the head row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the
store's BEGIN IMMEDIATE), which also holds the tree's frontier, keeping sequence numbers
gap-free and the chain and tree unforked across processes; they run inside the caller's
transaction so the entry commits or rolls back with the work it describes.
"""

from troth.ledger.checkpoint import (
    TreeHead,
    checkpoint,
    checkpoint_if_due,
    export_head,
    read_exported,
)
from troth.ledger.damage import LedgerDamaged
from troth.ledger.log import (
    Entry,
    Event,
    Head,
    entries,
    head,
    kinds,
    on_append,
    record,
    record_change,
    record_many,
)
from troth.ledger.proofs import (
    ConsistencyProof,
    InclusionProof,
    ProvedEntry,
    consistency_proof,
    inclusion_proof,
)
from troth.ledger.screen import LedgerInputError, looks_personal
from troth.ledger.signing import PublicKey, signing_key
from troth.ledger.verify import VerifyResult, verify

__all__ = [
    "ConsistencyProof",
    "Entry",
    "Event",
    "Head",
    "InclusionProof",
    "LedgerDamaged",
    "LedgerInputError",
    "ProvedEntry",
    "PublicKey",
    "TreeHead",
    "VerifyResult",
    "checkpoint",
    "checkpoint_if_due",
    "consistency_proof",
    "entries",
    "export_head",
    "head",
    "inclusion_proof",
    "kinds",
    "looks_personal",
    "on_append",
    "read_exported",
    "record",
    "record_change",
    "record_many",
    "signing_key",
    "verify",
]
