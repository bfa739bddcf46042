"""Key-encryption keys (KEKs): the keys that wrap every subject's data key.

A `KeyProvider` wraps and unwraps data keys under a named KEK version; the vault never
sees a KEK itself, so a KMS (HashiCorp Vault transit, AWS KMS) plugs in as a provider
whose `wrap` and `unwrap` call the service. Two local providers ship:

- a keyring file (`.troth/vault-kek`, or troth.toml's `[vault] kek_file`), one KEK per
  line, the first line the current one: `kek-2 <64 hex digits>`, then older versions,
  each marked `retired=YYYY-MM-DD` once no data key is wrapped under it any more;
- the environment variable TROTH_VAULT_KEK: `kek-2:<hex>,kek-1:<hex>`, first current.

Errors name the file, line or variable, never a key.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from troth.errors import TrothError
from troth.files import flushed, replace_durably, sync_folder
from troth.project import PRIVATE_FILE, Project

KEK_ENV = "TROTH_VAULT_KEK"
KEK_FILE = "vault-kek"
KEK_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
NONCE = 12


class VaultError(TrothError):
    """The vault cannot do what was asked; nothing was changed."""


class KekMissing(VaultError):
    """A data key is wrapped under a KEK version the provider does not hold."""


class KeyProvider(Protocol):
    """Wraps data keys under KEK versions; `current` names the one new wraps use."""

    def current(self) -> str: ...

    def holds(self, kek_id: str) -> bool: ...

    def wrap(self, kek_id: str, key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes: ...


@dataclass
class Kek:
    id: str
    key: bytes
    retired: dt.date | None = None


class Keyring:
    """KEK versions held in this process, the first one current (AES-256-GCM wrapping)."""

    def __init__(self, keks: Iterable[Kek], where: str) -> None:
        self.keks = list(keks)
        self.where = where
        self._aead = {k.id: AESGCM(k.key) for k in self.keks}
        if not self.keks:
            raise VaultError(f"{where}: no key-encryption key")

    def current(self) -> str:
        return self.keks[0].id

    def holds(self, kek_id: str) -> bool:
        return kek_id in self._aead

    def wrap(self, kek_id: str, key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        return nonce + self._cipher(kek_id).encrypt(nonce, key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        try:
            return self._cipher(kek_id).decrypt(wrapped[:NONCE], wrapped[NONCE:], context)
        except InvalidTag:
            raise KekMissing(
                f"{self.where}: key-encryption key {kek_id!r} does not open the data keys "
                "wrapped under that name (a different key under the same name?)"
            ) from None

    def _cipher(self, kek_id: str) -> AESGCM:
        found = self._aead.get(kek_id)
        if found is None:
            raise KekMissing(
                f"{self.where} does not hold key-encryption key {kek_id!r}, which wraps "
                "data keys in the key store: restore it (nothing was changed)"
            )
        return found


def kek_path(project: Project) -> Path:
    configured = project.settings.get("vault", {}).get("kek_file")
    return project.root / str(configured) if configured else project.state_dir / KEK_FILE


def provider_for(project: Project) -> Keyring | None:
    """TROTH_VAULT_KEK if set, else the keyring file; None when neither exists."""
    if os.environ.get(KEK_ENV):
        return Keyring(parse_env(os.environ[KEK_ENV]), KEK_ENV)
    path = kek_path(project)
    if not path.exists():
        return None
    return Keyring(read_file(path), str(path))


def parse_env(value: str) -> list[Kek]:
    keks = []
    for n, item in enumerate(value.split(","), 1):
        kek_id, _, key = item.strip().partition(":")
        keks.append(checked(kek_id, key, f"{KEK_ENV} entry {n}"))
    return unique(keks, KEK_ENV)


def read_file(path: Path) -> list[Kek]:
    keks = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{path}:{n}"
        if len(fields) not in (2, 3):
            raise VaultError(f"{where}: expected 'ID HEXKEY [retired=YYYY-MM-DD]'")
        kek = checked(fields[0], fields[1], where)
        if len(fields) == 3:
            kek.retired = retired_date(fields[2], where)
        keks.append(kek)
    return unique(keks, str(path))


def checked(kek_id: str, key: str, where: str) -> Kek:
    if not KEK_ID.match(kek_id):
        raise VaultError(f"{where}: a KEK id has 1-32 letters, digits, '-' or '_'")
    if not HEX_KEY.match(key):
        raise VaultError(f"{where}: a KEK is 64 hex digits (256 bits)")
    return Kek(kek_id, bytes.fromhex(key))


def retired_date(text: str, where: str) -> dt.date:
    name, _, value = text.partition("=")
    try:
        if name != "retired":
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise VaultError(f"{where}: the third field is retired=YYYY-MM-DD") from None


def unique(keks: list[Kek], where: str) -> list[Kek]:
    seen = [k.id for k in keks]
    doubled = sorted({i for i in seen if seen.count(i) > 1})
    if doubled:
        raise VaultError(f"{where}: KEK id {doubled[0]!r} appears twice")
    return keks


def write_file(path: Path, keks: Iterable[Kek]) -> None:
    """Replace the keyring file atomically (temp file, fsync, rename), owner-only."""
    replace_durably(staged(path, keks), path)


def create_file(path: Path, keks: Iterable[Kek]) -> None:
    """Write the keyring file only if there is none: when two processes make the first
    KEK at once, one file wins (a hard link cannot replace a file) and both use it."""
    temp = staged(path, keks)
    try:
        os.link(temp, path)
        sync_folder(path.parent)
    except FileExistsError:
        pass
    finally:
        temp.unlink()


def staged(path: Path, keks: Iterable[Kek]) -> Path:
    """The keyring's text in a private temp file beside `path`, flushed to disk."""
    lines = [
        f"{k.id} {k.key.hex()}" + (f" retired={k.retired.isoformat()}" if k.retired else "")
        for k in keks
    ]
    text = "# troth vault key-encryption keys: the first line is current\n" + "\n".join(lines)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
        flushed(out)
    return temp


def new_kek(existing: Iterable[Kek]) -> Kek:
    """A fresh random KEK named kek-N, N one more than any existing kek-N."""
    numbers = [int(k.id[4:]) for k in existing if re.fullmatch(r"kek-[0-9]{1,9}", k.id)]
    return Kek(f"kek-{max(numbers, default=0) + 1}", secrets.token_bytes(32))
