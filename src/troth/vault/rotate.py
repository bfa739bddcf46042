"""Key-encryption-key rotation: every data key re-wrapped under a new KEK.

The app's rows are never touched: a data key stays the same, only its wrapping changes.
Rotation is resumable: the new KEK is written to the keyring first (a file replaced
atomically), then data keys are re-wrapped in batches, each batch one transaction; a
run that finds keys still under an older KEK continues with them instead of making
another KEK. One rotate or prune at a time holds the keyring's lock and reads the file
under it. When none are left, the older KEKs are marked `retired=DATE`; `prune`
deletes retired KEKs after a retention window, and with them every backup of the key
store made before the rotation (which may hold keys shredded since).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import and_, func, select, update

from troth import ledger
from troth.errors import Conflict
from troth.vault import tables as t
from troth.vault.keys import (
    KEK_ENV,
    KekMissing,
    Keyring,
    kek_path,
    new_kek,
    provider_for,
    write_file,
)
from troth.vault.vault import Vault, wrap_context

Progress = Callable[[int, int], None]  # (keys re-wrapped, keys to re-wrap)
BATCH = 500
ROTATED = "vault.rotated"


@dataclass(frozen=True)
class Rotation:
    kek_id: str  # the KEK every data key is wrapped under now
    rewrapped: int
    new_kek: bool  # this run made the KEK (False: it resumed, or the KMS rotated)
    retired: list[str]


@contextmanager
def keyring_held(vault: Vault) -> Iterator[None]:
    """One rotation or prune at a time on a project's keyring. Two at once would each
    write a new KEK from the file as they read it: the one whose file lost would have
    wrapped data keys under a KEK no file holds, and they could never be opened."""
    lock_path = kek_path(vault.project).with_name(kek_path(vault.project).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                "another `troth vault rotate` or `prune` is running on this project's "
                "keyring: run this again when it has finished (nothing was changed)"
            ) from None
        yield
    finally:
        os.close(fd)  # closing the file releases the lock


def kek_usage(vault: Vault) -> dict[str, int]:
    """Data keys per KEK id (shredded keys have none)."""
    c = t.keys.c
    query = select(c.kek_id, func.count()).where(c.kek_id.is_not(None)).group_by(c.kek_id)
    with vault.store.connect() as conn:
        return {str(k): int(n) for k, n in conn.execute(query)}


def rotate(
    vault: Vault, *, progress: Progress | None = None, batch: int = BATCH, actor: str = "system"
) -> Rotation:
    """Re-wrap every data key under a new KEK (or finish an interrupted rotation).

    Every KEK in use must be held first: a missing one fails with KekMissing and
    nothing changes. With TROTH_VAULT_KEK the operator puts the new KEK first in the
    variable; the keyring file gets a new KEK here."""
    if batch < 1:
        raise KekMissing("--batch must be at least 1")
    with keyring_held(vault):
        return rotate_held(vault, progress, batch, actor)


def rotate_held(vault: Vault, progress: Progress | None, batch: int, actor: str) -> Rotation:
    vault.reload_provider()  # as the file is now, under the lock: not as it was read
    usage = kek_usage(vault)
    provider = vault.provider(first_use=not usage)
    missing = sorted(k for k in usage if not provider.holds(k))
    if missing:
        raise KekMissing(
            f"the key provider does not hold KEK {missing[0]!r}, which wraps "
            f"{usage[missing[0]]:,} data key(s): restore it before rotating (nothing was changed)"
        )
    made = False
    if not any(k != provider.current() for k in usage):
        if not isinstance(provider, Keyring) or provider.where == KEK_ENV:
            return Rotation(provider.current(), 0, False, [])
        write_file(kek_path(vault.project), [new_kek(provider.keks), *provider.keks])
        vault.reload_provider()
        made = True
    current = vault.provider().current()
    done = rewrap_all(
        vault, current, sum(n for k, n in usage.items() if k != current), batch, progress
    )
    retired = retire_old(vault, current)
    with vault.store.begin() as conn:
        ledger.record(conn, ROTATED, actor=actor, data={"kek": current, "rewrapped": done})
    return Rotation(current, done, made, retired)


def rewrap_all(
    vault: Vault, current: str, total: int, batch: int, progress: Progress | None
) -> int:
    c = t.keys.c
    provider = vault.provider()
    done = 0
    pending = and_(c.kek_id.is_not(None), c.kek_id != current)
    query = select(c.key_id, c.kek_id, c.wrapped).where(pending).order_by(c.key_id).limit(batch)
    while True:
        with vault.store.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return done
        rewrapped = []
        for row in rows:  # every unwrap before any write: a failure changes nothing
            context = wrap_context(bytes.fromhex(row.key_id))
            key = provider.unwrap(row.kek_id, row.wrapped, context)
            rewrapped.append((row, provider.wrap(current, key, context)))
        with vault.store.begin() as conn:
            for row, wrapped in rewrapped:
                conn.execute(
                    update(t.keys)
                    .where(c.key_id == row.key_id, c.kek_id == row.kek_id)
                    .values(kek_id=current, wrapped=wrapped)
                )
        done += len(rows)
        if progress is not None:
            progress(done, max(total, done))


def retire_old(vault: Vault, current: str) -> list[str]:
    """Mark the keyring's other KEKs retired today (a file keyring only)."""
    provider = vault.provider()
    if not isinstance(provider, Keyring) or provider.where == KEK_ENV:
        return []
    today = dt.datetime.now(dt.UTC).date()
    newly = [k.id for k in provider.keks if k.id != current and k.retired is None]
    if newly:
        keks = [replace(k, retired=today) if k.id in newly else k for k in provider.keks]
        write_file(kek_path(vault.project), keks)
        vault.reload_provider()
    return newly


def prune(vault: Vault, *, keep_days: int, today: dt.date | None = None) -> list[str]:
    """Delete the KEKs retired at least `keep_days` ago that wrap no data key; their ids.

    After this, a backup of the key store from before their rotation is unreadable."""
    if keep_days < 0:
        raise KekMissing("--keep-days must be 0 or more")
    with keyring_held(vault):
        vault.reload_provider()
        return prune_held(vault, keep_days, today)


def prune_held(vault: Vault, keep_days: int, today: dt.date | None) -> list[str]:
    provider = vault.provider()
    if not isinstance(provider, Keyring) or provider.where == KEK_ENV:
        raise KekMissing(f"{KEK_ENV} is set: remove old KEKs from the variable yourself")
    usage = kek_usage(vault)
    day = today or dt.datetime.now(dt.UTC).date()
    cutoff = day - dt.timedelta(days=keep_days)
    gone = [
        k.id
        for k in provider.keks
        if k.retired is not None and k.retired <= cutoff and k.id not in usage
    ]
    if gone:
        write_file(kek_path(vault.project), [k for k in provider.keks if k.id not in gone])
        vault.reload_provider()
    return gone


@dataclass(frozen=True)
class Status:
    provider: str  # where the KEKs come from (a file path or TROTH_VAULT_KEK)
    current: str
    keks: list[tuple[str, dt.date | None]]  # held KEK ids, with retirement dates
    usage: dict[str, int]  # data keys per KEK id
    shredded: int


def status(vault: Vault) -> Status:
    """What the key store holds and which KEKs the provider has; changes nothing."""
    usage = kek_usage(vault)
    c = t.keys.c
    with vault.store.connect() as conn:
        query = select(func.count()).select_from(t.keys).where(c.shredded_at.is_not(None))
        shredded = int(conn.execute(query).scalar_one())
    if not usage and provider_for(vault.project) is None:
        return Status("nowhere yet", "", [], {}, shredded)  # made with the first value
    provider = vault.provider()
    keks = [(k.id, k.retired) for k in provider.keks] if isinstance(provider, Keyring) else []
    where = provider.where if isinstance(provider, Keyring) else type(provider).__name__
    return Status(where, provider.current(), keks, usage, shredded)
