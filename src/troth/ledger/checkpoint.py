"""Signed tree heads: the ledger's size and Merkle root, signed with the ledger's Ed25519 key.

A tree head is kept in `ledger_tree_heads` and, outside the database, in
`.troth/ledger-head.json` (replaced atomically), so that cutting off or rewriting the
ledger up to the newest head is detected even by someone who also rewrites the head row
and the table. `export_head` writes one for a third party, who can later prove with
`troth audit verify --against FILE` that nothing up to it was rewritten or cut, whatever
happened to the copies kept here.

Before a head is signed, the ledger is checked against the newest head already signed
(a consistency proof from the stored tree), so that a seal never covers damage.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection

from troth.errors import TrothError
from troth.files import flushed, replace_durably
from troth.ledger import merkle, tables
from troth.ledger.chain import now_text, row_hash
from troth.ledger.damage import LedgerDamaged
from troth.ledger.log import HeadState, lock_head
from troth.ledger.signing import PublicKey, SigningKey, signing_key
from troth.ledger.tree import Subtrees, requested
from troth.project import Project
from troth.store import Store

HEAD_FILE = "ledger-head.json"
MESSAGE_PREFIX = b"troth ledger tree head v1\n"
DEFAULT_EVERY = 1000


@dataclass(frozen=True)
class TreeHead:
    """The ledger's first `size` entries, as a Merkle root (hex), signed at `at`."""

    size: int
    root: str
    at: str
    key_id: str
    signature: str

    @property
    def message(self) -> bytes:
        """What the signature covers: size, root and time, after a fixed prefix."""
        return MESSAGE_PREFIX + f"{self.size}\n{self.root}\n{self.at}\n".encode()

    def signed_by(self, key: PublicKey) -> bool:
        return self.key_id == key.key_id and key.verifies(self.signature, self.message)

    @classmethod
    def from_json(cls, raw: Any) -> TreeHead:
        """A tree head from parsed JSON; ValueError, KeyError or TypeError when malformed."""
        return cls(
            size=int(raw["size"]),
            root=str(raw["root"]),
            at=str(raw["at"]),
            key_id=str(raw["key_id"]),
            signature=str(raw["signature"]),
        )


@dataclass(frozen=True)
class HeadFile:
    """`.troth/ledger-head.json`: the newest tree head of the store named by `store`."""

    store: str
    head: TreeHead

    @property
    def seq(self) -> int:
        return self.head.size


def sign(key: SigningKey, size: int, root: bytes) -> TreeHead:
    unsigned = TreeHead(size, root.hex(), now_text(), key.public.key_id, "")
    return replace(unsigned, signature=key.sign(unsigned.message))


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
        return HeadFile(store=str(raw["store"]), head=TreeHead.from_json(raw))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrothError(f"{path}: unreadable ledger head file ({type(exc).__name__})") from None


def write_json(path: Path, content: dict[str, Any]) -> None:
    """Replace `path` atomically (a crash leaves the old file or the new, never half),
    readable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # .troth/ is owner-only
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(content, out, indent=1)
        out.write("\n")
        flushed(out)
    replace_durably(temporary, path)


def stored_heads(conn: Connection, *, newest_only: bool = False) -> list[TreeHead]:
    """Every tree head in the table, smallest first (or only the newest)."""
    query = sa.select(tables.tree_heads).order_by(tables.tree_heads.c.size)
    if newest_only:
        query = query.order_by(None).order_by(tables.tree_heads.c.size.desc()).limit(1)
    return [TreeHead.from_json(row._mapping) for row in conn.execute(query)]


def checkpoint(
    store: Store, project: Project, *, restore_head_file: bool = False
) -> TreeHead | None:
    """Sign the current tree head and keep it in the table and the head file; None when
    the ledger is empty.

    Refuses (LedgerDamaged) when the head row disagrees with the entries, when the ledger
    is not an extension of the newest head already signed, and when the head file is gone
    although the table holds heads (a deletion that would hide a cut): after looking into
    it, `restore_head_file` writes it anew from a head that is consistent.
    """
    key = signing_key(project, create=True)
    assert key is not None  # created when missing
    with store.begin() as conn:
        state = lock_head(conn)
        if state.seq == 0:
            return None
        _check_newest_entry(conn, state)
        previous = _previous(conn, store, project, key.public, restore_head_file)
        if previous is not None:
            _check_extends(conn, previous, state)
        if previous is not None and previous.size == state.seq:
            head = previous  # nothing new: sealed already
        else:
            head = sign(key, state.seq, state.root)
        stored = conn.execute(
            sa.select(tables.tree_heads.c.size).where(tables.tree_heads.c.size == head.size)
        ).first()
        if stored is None:
            conn.execute(tables.tree_heads.insert().values(**asdict(head)))
        # Written while the head lock is held, so concurrent seals replace it in order;
        # if it cannot be written, the table row rolls back with the transaction. Every
        # entry it covers is on disk first (a completion need not wait for the disk).
        store.sync()
        try:
            write_json(head_file_path(project), {"store": store_id(store), **asdict(head)})
        except OSError as exc:
            raise TrothError(
                f"cannot write {head_file_path(project)}: {exc.strerror}; no tree head was signed"
            ) from None
    return head


def _check_newest_entry(conn: Connection, state: HeadState) -> None:
    newest = conn.execute(sa.select(tables.entries).where(tables.entries.c.seq == state.seq))
    row = newest.first()
    if row is None or row.hash != state.hash or state.hash != row_hash(row):
        raise LedgerDamaged(
            f"the ledger's head row names entry {state.seq}, which is missing or different; "
            "run `troth audit verify`"
        )


def _previous(
    conn: Connection, store: Store, project: Project, key: PublicKey, restore: bool
) -> TreeHead | None:
    """The newest head signed before (table or head file), after checking its signature."""
    newest_row = stored_heads(conn, newest_only=True)
    head_file = read_head_file(project)
    if head_file is not None and head_file.store != store_id(store):
        head_file = None
    if head_file is None and newest_row and not restore:
        raise LedgerDamaged(
            f"{head_file_path(project)} is missing although the store holds signed tree "
            "heads; run `troth audit verify`, and if the file was lost rather than removed, "
            "`troth audit checkpoint --restore-head-file`"
        )
    candidates = newest_row + ([head_file.head] if head_file else [])
    for candidate in candidates:
        if not candidate.signed_by(key):
            raise LedgerDamaged(
                f"the tree head of {candidate.size} entries is not signed by this ledger's "
                "key; run `troth audit verify`"
            )
    return max(candidates, key=lambda h: h.size, default=None)


def _check_extends(conn: Connection, previous: TreeHead, state: HeadState) -> None:
    """The current tree must extend `previous`: proved with a consistency proof."""
    old_root = bytes.fromhex(previous.root)
    if previous.size > state.seq:
        consistent = False
    elif previous.size == state.seq:
        consistent = old_root == state.root
    else:
        build = partial(merkle.consistency_path, previous.size, state.seq)
        subtrees = Subtrees(conn)
        subtrees.prefetch(requested(build))
        path = build(subtrees)
        consistent = merkle.verify_consistency(previous.size, state.seq, old_root, state.root, path)
    if not consistent:
        raise LedgerDamaged(
            f"the ledger of {state.seq} entries does not extend the tree head signed at "
            f"{previous.size} entries; run `troth audit verify`"
        )


def checkpoint_if_due(
    store: Store, project: Project, every: int = DEFAULT_EVERY
) -> TreeHead | None:
    """Sign a tree head when `every` or more entries came after the newest one."""
    with store.connect() as conn:
        head_seq = conn.execute(sa.select(tables.head.c.seq)).scalar() or 0
        last = conn.execute(sa.select(sa.func.max(tables.tree_heads.c.size))).scalar() or 0
    if head_seq - last < every:
        return None
    return checkpoint(store, project)


def export_head(store: Store, project: Project, out: Path) -> TreeHead:
    """Sign the current tree head and write it, with the public key, to `out`."""
    head = checkpoint(store, project)
    if head is None:
        raise TrothError("the ledger is empty; there is no tree head to export")
    key = signing_key(project)
    assert key is not None  # checkpoint made it
    try:
        write_json(out, {**asdict(head), "public_key": key.public.hex})
    except OSError as exc:
        raise TrothError(f"cannot write {out}: {exc.strerror}") from None
    return head


def read_exported(path: Path) -> tuple[TreeHead, PublicKey]:
    """A tree head written by `export_head`, and the public key it names."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return TreeHead.from_json(raw), PublicKey.from_hex(str(raw["public_key"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrothError(f"{path}: not an exported tree head ({type(exc).__name__})") from None
