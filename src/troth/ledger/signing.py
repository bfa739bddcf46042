"""The ledger's signing key: Ed25519, kept apart from the project's pseudonym key.

Tree heads are signed with a key of their own so that its public half can be handed to
auditors (`troth audit public-key`) and the key itself kept elsewhere than the pseudonym
key: `$TROTH_LEDGER_SIGNING_KEY` (the 32-byte private seed in hex), else
`.troth/ledger-signing.key` (mode 0600, made on first use by a command that signs).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from troth.errors import TrothError
from troth.files import flushed, sync_folder
from troth.project import Project

KEY_ENV = "TROTH_LEDGER_SIGNING_KEY"
KEY_FILE = "ledger-signing.key"
SEED_BYTES = 32


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key and its id (the first 16 hex digits of its SHA-256)."""

    raw: bytes

    @property
    def hex(self) -> str:
        return self.raw.hex()

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        try:
            raw = bytes.fromhex(text.strip())
            Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise TrothError("a ledger public key is 64 hex digits (32 bytes)") from None
        return cls(raw)

    def verifies(self, signature_hex: str, message: bytes) -> bool:
        try:
            signature = bytes.fromhex(signature_hex)
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (ValueError, InvalidSignature):
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> PublicKey:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return PublicKey(raw)

    def sign(self, message: bytes) -> str:
        return self.private.sign(message).hex()


def key_path(project: Project) -> Path:
    return project.state_dir / KEY_FILE


def signing_key(project: Project, *, create: bool = False) -> SigningKey | None:
    """The project's ledger signing key; None when there is none and `create` is false."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return _from_seed_hex(from_env, KEY_ENV)
    path = key_path(project)
    if not path.exists():
        if not create:
            return None
        _write_new_key(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise TrothError(f"{path}: unreadable ledger signing key ({type(exc).__name__})") from None
    return _from_seed_hex(text, str(path))


def _from_seed_hex(text: str, where: str) -> SigningKey:
    try:
        seed = bytes.fromhex(text.strip())
        if len(seed) != SEED_BYTES:
            raise ValueError
    except ValueError:
        raise TrothError(f"{where}: a ledger signing key is 64 hex digits (32 bytes)") from None
    return SigningKey(Ed25519PrivateKey.from_private_bytes(seed))


def _write_new_key(path: Path) -> None:
    """Make a key file that no other user can read. It is written aside and linked into
    place, so a concurrent reader never sees it half written and one maker wins."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # .troth/ is owner-only
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(seed.hex() + "\n")
            flushed(out)
        os.link(temporary, path)
        sync_folder(path.parent)
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
