"""The vault: field encryption with a data key per subject, and crypto-shredding.

This docstring and `__all__` are the part's public surface; other parts import only these.

    from troth import vault
    v = vault.open_vault("path/to/project")
    sealed = v.encrypt("user:42", "Hello", field="messages.body")
    v.decrypt("user:42", sealed, field="messages.body")       # 'Hello'
    v.shred(["user:42"])                                       # nothing reads it again

`encrypt`, `decrypt` and `blind_index` at module level use the vault of the project in
$TROTH_PROJECT (else the current folder), opened on first use; `use(project_dir)` picks
another. See docs/vault.md.
"""

from troth.vault.cipher import NotDecryptable, Shredded, blind_digest, is_sealed
from troth.vault.columns import (
    Seal,
    VaultText,
    column_subject,
    encrypted_columns,
    field_of,
    open_rows,
    shred_reads,
    shred_subjects,
    template_columns,
)
from troth.vault.default import blind_index, decrypt, encrypt, open_vault, use, vault_for
from troth.vault.files import SealingWriter, is_sealed_file, open_file
from troth.vault.held import held, hold, release, row_ref
from troth.vault.keys import KekMissing, KeyProvider, Keyring, VaultError
from troth.vault.rotate import Rotation, Status, kek_usage, prune, rotate, status
from troth.vault.vault import Vault

__all__ = [
    "KekMissing",
    "KeyProvider",
    "Keyring",
    "NotDecryptable",
    "Rotation",
    "Seal",
    "SealingWriter",
    "Shredded",
    "Status",
    "Vault",
    "VaultError",
    "VaultText",
    "blind_digest",
    "blind_index",
    "column_subject",
    "decrypt",
    "encrypt",
    "encrypted_columns",
    "field_of",
    "held",
    "hold",
    "is_sealed",
    "is_sealed_file",
    "kek_usage",
    "open_file",
    "open_rows",
    "open_vault",
    "prune",
    "release",
    "rotate",
    "row_ref",
    "shred_reads",
    "shred_subjects",
    "status",
    "template_columns",
    "use",
    "vault_for",
]
