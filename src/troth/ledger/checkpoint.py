"""Signed checkpoints: the ledger's head, sealed with the project key, kept twice.

A checkpoint is (sequence, hash, time, HMAC-SHA256 under the project's secret key). It is
stored in `ledger_checkpoints` and, outside the database, in `.troth/ledger.head`
(replaced atomically), so that cutting off or rewriting the ledger's tail up to the last
checkpoint is detected even by someone who also edits the head row and checkpoint table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection

from troth.errors import TrothError
from troth.ledger import tables
from troth.ledger.chain import now_text, row_hash
from troth.ledger.log import LedgerDamaged, lock_head
from troth.project import Project
from troth.store import Store

HEAD_FILE = "ledger.head"
SIGNING_PURPOSE = "ledger-checkpoint"
DEFAULT_EVERY = 1000


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    signature: str


@dataclass(frozen=True)
class HeadFile:
    """`.troth/ledger.head`: the newest checkpoint of the store named by `store` (a digest)."""

    store: str
    seq: int
    hash: str
    at: str
    signature: str

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.seq, self.hash, self.at, self.signature)


def signature(project: Project, seq: int, hash_: str) -> str:
    return project.keyed_hash(SIGNING_PURPOSE, f"{seq}:{hash_}")


def signed(project: Project, point: Checkpoint) -> bool:
    return hmac.compare_digest(point.signature, signature(project, point.seq, point.hash))


def store_id(store: Store) -> str:
    """A digest naming the store (its URL without password), so one project's head file
    is never compared with another database's ledger."""
    url = store.engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def head_file_path(project: Project) -> Path:
    return project.state_dir / HEAD_FILE


def read_head_file(project: Project) -> HeadFile | None:
    """The head file, None when there is none yet; TrothError when it is unreadable."""
    path = head_file_path(project)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return HeadFile(
            store=str(raw["store"]),
            seq=int(raw["seq"]),
            hash=str(raw["hash"]),
            at=str(raw["at"]),
            signature=str(raw["signature"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrothError(f"{path}: unreadable ledger head file ({type(exc).__name__})") from None


def _write_head_file(project: Project, head: HeadFile) -> None:
    """Replace the head file atomically: a crash leaves the old file or the new, never half."""
    path = head_file_path(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{HEAD_FILE}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        json.dump(asdict(head), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def checkpoint(store: Store, project: Project) -> Checkpoint | None:
    """Sign the current head and keep it in the table and the head file; None when empty.

    Refuses (TrothError) when the head row disagrees with the entries or when the head
    file already records a later or different state: a checkpoint must never seal damage.
    """
    with store.begin() as conn:
        seq, hash_ = lock_head(conn)
        if seq == 0:
            return None
        _check_head(conn, store, project, seq, hash_)
        point = Checkpoint(seq, hash_, now_text(), signature(project, seq, hash_))
        stored = conn.execute(
            sa.select(tables.checkpoints.c.seq).where(tables.checkpoints.c.seq == seq)
        ).first()
        if stored is None:
            conn.execute(tables.checkpoints.insert().values(**asdict(point)))
        # Written while the head lock is held, so concurrent checkpoints replace it in order;
        # if it cannot be written, the checkpoint row rolls back with the transaction.
        try:
            _write_head_file(project, HeadFile(store_id(store), **asdict(point)))
        except OSError as exc:
            raise TrothError(
                f"cannot write {head_file_path(project)}: {exc.strerror}; no checkpoint was made"
            ) from None
    return point


def _check_head(conn: Connection, store: Store, project: Project, seq: int, hash_: str) -> None:
    newest = conn.execute(sa.select(tables.entries).where(tables.entries.c.seq == seq)).first()
    if newest is None or newest.hash != hash_ or hash_ != row_hash(newest):
        raise LedgerDamaged(
            f"the ledger's head row names entry {seq}, which is missing or different; "
            "run `troth audit verify`"
        )
    previous = read_head_file(project)
    if previous is None or previous.store != store_id(store):
        return
    if previous.seq > seq or (previous.seq == seq and previous.hash != hash_):
        raise LedgerDamaged(
            f"{head_file_path(project)} records entry {previous.seq} but the ledger's head is "
            f"entry {seq}; run `troth audit verify`"
        )


def checkpoint_if_due(
    store: Store, project: Project, every: int = DEFAULT_EVERY
) -> Checkpoint | None:
    """Make a checkpoint when `every` or more entries came after the newest one."""
    with store.connect() as conn:
        head_seq = conn.execute(sa.select(tables.head.c.seq)).scalar() or 0
        last = conn.execute(sa.select(sa.func.max(tables.checkpoints.c.seq))).scalar() or 0
    if head_seq - last < every:
        return None
    return checkpoint(store, project)
