"""The vault's value format and the digests it derives from the project key.

A vault value is text: `tv1:` and the base64 of key id (16 bytes), nonce
(12 bytes) and the AES-256-GCM ciphertext with its tag. The associated data binds it to
the format version, the field (`table.column`) and the key id, which is a keyed digest
of the subject: a value copied into another column fails to decrypt, and one copied
into another subject's row names the wrong key id and is refused before decryption.
"""

from __future__ import annotations

import binascii
import functools
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from troth.vault.keys import VaultError

PREFIX = "tv1:"
KEY_ID = 16
NONCE = 12
TAG = 16
MAX_SUBJECT = 200
FIELD = re.compile(r"^[^\s.\x00-\x1f]{1,64}\.[^\s.\x00-\x1f]{1,64}$")
BLIND_PREFIX = "bi:"
BLIND_HEX = 32


class NotDecryptable(VaultError):
    """A value is not a vault value of this field and subject, or was altered."""


class Shredded(VaultError):
    """The subject's data key was destroyed: its values can never be read again."""


def derived_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for one purpose, derived from the project key with HKDF-SHA256."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return hkdf.derive(secret)


def keyed_digest(key: bytes, message: str) -> bytes:
    mac = HMAC(key, hashes.SHA256())
    mac.update(message.encode())
    return mac.finalize()


@functools.lru_cache(maxsize=8)
def index_key_of(secret: bytes) -> bytes:
    """The key of blind indexes, derived from the project key (not the KEK: rotating the
    KEK must not change a stored index)."""
    return derived_key(secret, "troth.vault.blind-index")


def blind_digest(secret: bytes, kind: str, normalized: str) -> str:
    """The blind index of an identity value under the project key `secret`."""
    return blind_index(index_key_of(secret), kind, normalized)


def blind_index(index_key: bytes, kind: str, normalized: str) -> str:
    """The blind index of an identity value (already normalized): `bi:` and 32 hex digits
    of HMAC-SHA256 under the vault's index key, the same for every table."""
    return BLIND_PREFIX + keyed_digest(index_key, f"{kind}\x00{normalized}").hex()[:BLIND_HEX]


def associated(field: str, key_id: bytes) -> bytes:
    return b"tv1\x00" + field.encode() + b"\x00" + key_id


def check_field(field: object) -> str:
    if not isinstance(field, str) or not FIELD.match(field):
        raise VaultError("a vault field is 'table.column' (no spaces), as the data map names it")
    return field


def check_subject(subject: object) -> str:
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT:
        raise VaultError(f"a vault subject is text of 1 to {MAX_SUBJECT} characters")
    return subject


def unpack(field: str, value: object) -> bytes:
    """The raw bytes of a vault value; NotDecryptable naming the field when it is none."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        raise NotDecryptable(f"{field}: not a vault value")
    try:
        raw = binascii.a2b_base64(value[len(PREFIX) :], strict_mode=True)
    except (binascii.Error, ValueError):
        raise NotDecryptable(f"{field}: not a vault value (bad encoding)") from None
    if len(raw) < KEY_ID + NONCE + TAG:
        raise NotDecryptable(f"{field}: not a vault value (too short)")
    return raw


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)
