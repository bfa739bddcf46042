"""The vault: one AES-256-GCM data key per subject, wrapped by a key-encryption key.

Data keys are made on a subject's first `encrypt`, wrapped under the provider's
current KEK and kept in the engine store's `vault_keys`. Unwrapped keys are cached in
the process for `cache_seconds` (troth.toml `[vault] cache_seconds`, default 60), at
most MAX_CACHED of them: a key shredded by another process stops working here within
that time, and at once in the process that shredded it.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
import time
import weakref
from binascii import b2a_base64
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from troth import ledger
from troth.project import Project
from troth.store import Store
from troth.vault import tables as t
from troth.vault.cipher import (
    KEY_ID,
    NONCE,
    PREFIX,
    NotDecryptable,
    Shredded,
    associated,
    blind_index,
    check_field,
    check_subject,
    derived_key,
    index_key_of,
    keyed_digest,
    unpack,
)
from troth.vault.keys import (
    KEK_ENV,
    KekMissing,
    KeyProvider,
    VaultError,
    create_file,
    kek_path,
    new_kek,
    provider_for,
)

DEFAULT_CACHE_SECONDS = 60.0
MAX_CACHED = 100_000
SHREDDED = "vault.shredded"
BODY = KEY_ID + NONCE  # where the ciphertext starts in a value's bytes
# Every vault of this process, so that a shred empties each one's cache at once.
_open: weakref.WeakSet[Vault] = weakref.WeakSet()


@dataclass(frozen=True)
class Cached:
    aead: AESGCM
    expires: float


class Hot(NamedTuple):
    """What sealing one subject's values of one field needs, until `expires`."""

    aead: AESGCM
    key_id: bytes
    aad: bytes
    expires: float


def wrap_context(key_id: bytes) -> bytes:
    """What a wrapped data key is bound to: it unwraps only for its own key id."""
    return b"troth.vault.data-key\x00" + key_id


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Vault:
    """Field encryption for one project; safe to share between threads."""

    def __init__(
        self,
        project: Project,
        store: Store,
        *,
        provider: KeyProvider | None = None,
        cache_seconds: float | None = None,
    ) -> None:
        self.project = project
        self.store = store
        self._provider = provider
        configured = project.settings.get("vault", {}).get("cache_seconds", DEFAULT_CACHE_SECONDS)
        self.cache_seconds = float(configured if cache_seconds is None else cache_seconds)
        self._id_key = derived_key(project.secret_key, "troth.vault.key-id")
        self.index_key = index_key_of(project.secret_key)
        self._ids: dict[str, bytes] = {}
        self._fields: set[str] = set()
        self._hot: dict[tuple[str, str], Hot] = {}  # (subject, field) -> ready to use
        self._keys: dict[bytes, Cached] = {}
        self._lock = threading.Lock()
        _open.add(self)

    # ---- the app's calls -------------------------------------------------------------

    def encrypt(self, subject: str, value: str, *, field: str) -> str:
        """`value` sealed for `subject` in `field` ("table.column"); makes the subject's
        data key on first use (Shredded when it was shredded)."""
        hot = self._hot.get((subject, field))
        if hot is None or hot.expires <= time.monotonic():
            hot = self._warm(subject, field, create=True)
        if value.__class__ is not str:
            raise VaultError(f"{field}: the vault encrypts text only")
        nonce = os.urandom(NONCE)
        body = hot.aead.encrypt(nonce, value.encode(), hot.aad)
        return PREFIX + b2a_base64(hot.key_id + nonce + body, newline=False).decode()

    def decrypt(self, subject: str, value: str, *, field: str) -> str:
        """The text `encrypt(subject, …, field=field)` sealed; NotDecryptable when it was
        altered, moved to another column or another subject's row; Shredded."""
        raw = unpack(field, value)
        hot = self._hot.get((subject, field))
        if hot is None or hot.expires <= time.monotonic():
            if raw[:KEY_ID] != self.key_id(subject):  # before any key is read
                raise NotDecryptable(f"{field}: the value was sealed for another subject")
            hot = self._warm(subject, field, create=False)
        if raw[:KEY_ID] != hot.key_id:
            raise NotDecryptable(f"{field}: the value was sealed for another subject")
        try:
            plain = hot.aead.decrypt(raw[KEY_ID:BODY], raw[BODY:], hot.aad)
        except InvalidTag:
            raise NotDecryptable(
                f"{field}: the value was altered or belongs to another column"
            ) from None
        return plain.decode()

    def _warm(self, subject: str, field: str, *, create: bool) -> Hot:
        """The cached key of `subject` with the associated data of `field`."""
        if field not in self._fields:
            self._fields.add(check_field(field))
        key_id = self.key_id(subject)
        aead = self._cipher(key_id, create=create)
        hot = Hot(aead, key_id, associated(field, key_id), self._keys[key_id].expires)
        with self._lock:
            if len(self._hot) >= MAX_CACHED:
                self._hot.clear()
            self._hot[(subject, field)] = hot
        return hot

    def encrypt_bytes(self, subject: str, data: bytes, *, field: str, context: bytes) -> bytes:
        """`data` sealed for `subject` (key id, nonce, ciphertext); `context` is bound too
        (a file's chunk number and whether it is the last)."""
        if field not in self._fields:
            self._fields.add(check_field(field))
        key_id = self.key_id(subject)
        nonce = os.urandom(NONCE)
        aad = associated(field, key_id) + context
        return key_id + nonce + self._cipher(key_id, create=True).encrypt(nonce, data, aad)

    def decrypt_bytes(self, subject: str, raw: bytes, *, field: str, context: bytes) -> bytes:
        key_id = self.key_id(subject)
        if raw[:KEY_ID] != key_id:
            raise NotDecryptable(f"{field}: the data was sealed for another subject")
        aead = self._cipher(key_id, create=False)
        try:
            return aead.decrypt(raw[KEY_ID:BODY], raw[BODY:], associated(field, key_id) + context)
        except InvalidTag:
            raise NotDecryptable(f"{field}: the data was altered, cut or reordered") from None

    def blind_index(self, kind: str, normalized: str) -> str:
        """The keyed equality index of an identity value in its normalized form."""
        return blind_index(self.index_key, kind, normalized)

    def key_id(self, subject: str) -> bytes:
        """The subject's key id: a keyed digest, so the key store never names anyone."""
        found = self._ids.get(subject)
        if found is None:
            found = keyed_digest(self._id_key, check_subject(subject))[:KEY_ID]
            if len(self._ids) >= MAX_CACHED:
                self._ids.clear()
            self._ids[subject] = found
        return found

    # ---- shredding -------------------------------------------------------------------

    def shred(
        self, subjects: Collection[str], *, actor: str = "system", ref: str | None = None
    ) -> int:
        """Destroy the data keys of `subjects` in one transaction that also records it in
        the ledger; returns how many keys were destroyed now (shredding again is a no-op).

        A subject that had no key gets a shredded row too: the vault then refuses to make
        one for it."""
        ids = sorted({self.key_id(s) for s in subjects})
        if not ids:
            return 0
        with self.store.begin() as conn:
            destroyed = destroy(conn, ids)
            if destroyed:
                data = {"keys": len(destroyed), "key_ids": [i.hex() for i in destroyed]}
                ledger.record(conn, SHREDDED, actor=actor, ref=ref, data=data)
        for vault in list(_open):
            vault.forget(ids)
        return len(destroyed)

    def is_shredded(self, subject: str) -> bool:
        c = t.keys.c
        with self.store.connect() as conn:
            row = conn.execute(
                select(c.shredded_at).where(c.key_id == self.key_id(subject).hex())
            ).first()
        return row is not None and row.shredded_at is not None

    # ---- keys ------------------------------------------------------------------------

    def provider(self, *, first_use: bool = False) -> KeyProvider:
        """The KEK provider; on the very first data key (`first_use`, an empty key store)
        a keyring file with a fresh KEK is made when none is configured."""
        if self._provider is None:
            self._provider = provider_for(self.project)
        if self._provider is None:
            path = kek_path(self.project)
            held = count_keys(self.store)
            if held or not first_use:
                raise KekMissing(
                    f"no key-encryption key: {path} is missing and {KEK_ENV} is unset, but "
                    f"the key store holds {held:,} data key(s): restore the file "
                    "(nothing was changed)"
                )
            create_file(path, [new_kek([])])
            self._provider = provider_for(self.project)
            assert self._provider is not None
        return self._provider

    def reload_provider(self) -> None:
        """Read the KEKs again (after a rotation here or in another process)."""
        self._provider = None

    def forget(self, ids: Iterable[bytes]) -> None:
        """Drop these data keys from the cache (they were shredded)."""
        gone = set(ids)
        with self._lock:
            for key_id in gone:
                self._keys.pop(key_id, None)
            if gone:
                self._hot = {k: h for k, h in self._hot.items() if h.key_id not in gone}

    def drop_cache(self) -> None:
        with self._lock:
            self._keys.clear()
            self._hot.clear()

    def _cipher(self, key_id: bytes, *, create: bool) -> AESGCM:
        cached = self._keys.get(key_id)
        now = time.monotonic()
        if cached is not None and cached.expires > now:
            return cached.aead
        return self._load(key_id, now, create=create)

    def _load(self, key_id: bytes, now: float, *, create: bool) -> AESGCM:
        aead = AESGCM(self._data_key(key_id, create=create))
        with self._lock:
            if len(self._keys) >= MAX_CACHED:
                self._keys.clear()
            self._keys[key_id] = Cached(aead, now + self.cache_seconds)
        return aead

    def _data_key(self, key_id: bytes, *, create: bool) -> bytes:
        row = read_key(self.store, key_id)
        if row is None and create:
            row = self._new_key(key_id)
        if row is None:
            raise NotDecryptable("no data key for this subject: nothing was sealed for it")
        if row.wrapped is None:
            raise Shredded("the subject's data key was shredded: its values cannot be read")
        assert row.kek_id is not None
        if not self.provider().holds(row.kek_id):
            self.reload_provider()  # another process may have rotated the keyring
        return self.provider().unwrap(row.kek_id, row.wrapped, wrap_context(key_id))

    def _new_key(self, key_id: bytes) -> t.KeyRow:
        provider = self.provider(first_use=True)
        kek_id = provider.current()
        wrapped = provider.wrap(kek_id, secrets.token_bytes(32), wrap_context(key_id))
        values = {"key_id": key_id.hex(), "kek_id": kek_id, "wrapped": wrapped}
        try:
            with self.store.begin() as conn:
                conn.execute(insert(t.keys).values(**values, created_at=utcnow()))
        except IntegrityError:  # another process made it first: use theirs
            pass
        row = read_key(self.store, key_id)
        assert row is not None
        return row


def read_key(store: Store, key_id: bytes) -> t.KeyRow | None:
    c = t.keys.c
    with store.connect() as conn:
        row = conn.execute(select(c.kek_id, c.wrapped).where(c.key_id == key_id.hex())).first()
    return None if row is None else t.KeyRow(row.kek_id, row.wrapped)


def count_keys(store: Store) -> int:
    """Data keys the store holds (shredded ones hold nothing)."""
    query = select(func.count()).select_from(t.keys).where(t.keys.c.wrapped.is_not(None))
    with store.connect() as conn:
        return int(conn.execute(query).scalar_one())


def destroy(conn: Connection, ids: Iterable[bytes]) -> list[bytes]:
    """Overwrite the key material of `ids` inside `conn`'s transaction; the ids whose key
    existed and is destroyed now. SQLite zeroes the freed bytes (secure_delete)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")
    c = t.keys.c
    wanted = [i.hex() for i in ids]
    known = dict(conn.execute(select(c.key_id, c.shredded_at).where(c.key_id.in_(wanted))).all())
    destroyed = [i for i in ids if i.hex() in known and known[i.hex()] is None]
    now = utcnow()
    if destroyed:
        conn.execute(
            update(t.keys)
            .where(c.key_id.in_([i.hex() for i in destroyed]))
            .values(kek_id=None, wrapped=None, shredded_at=now)
        )
    missing = [i for i in wanted if i not in known]
    if missing:
        conn.execute(
            insert(t.keys), [{"key_id": i, "created_at": now, "shredded_at": now} for i in missing]
        )
    return destroyed
