"""Signed tree heads and proofs: an attacker who rewrites the ledger and recomputes every hash.

The attacker can write the engine store (and, in some tests, delete files in .troth/) and
knows every algorithm, so the rewritten ledger has a correct chain, tree and head row;
what they cannot do is sign a tree head. Whatever they cover up, the rewrite is caught by
a signed head kept somewhere: the table, the head file, or one exported to a third party.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from troth.cli.audit import sealing
from troth.errors import TrothError
from troth.ledger import (
    Event,
    checkpoint,
    consistency_proof,
    export_head,
    inclusion_proof,
    merkle,
    read_exported,
    record,
    record_many,
    signing_key,
    verify,
)
from troth.ledger.chain import entry_hash
from troth.ledger.checkpoint import head_file_path, read_head_file
from troth.ledger.damage import LedgerDamaged
from troth.ledger.signing import PublicKey
from troth.ledger.tables import GENESIS_HASH, NODE_LEVEL
from troth.ledger.tree import encode_frontier, rebuild
from troth.project import Project, init_project
from troth.store import Store, open_store

ENTRIES = 10
FIELDS = ("at", "kind", "actor", "subject", "ref", "data")
Rows = list[dict[str, Any]]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(root=tmp_path / "proj")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def fill(store: Store, count: int = ENTRIES) -> None:
    events = [Event("request.step", ref=f"req{n}", data={"step": n}) for n in range(count)]
    with store.begin() as conn:
        record_many(conn, events)


def rewrite(store: Store, change: Callable[[Rows], Rows]) -> None:
    """Rewrite the whole ledger as `change` says, with every hash, node and the head row
    recomputed: consistent in everything but the signatures."""
    with store.begin() as conn:
        found = conn.execute(text("SELECT * FROM ledger_entries ORDER BY seq")).mappings()
        rows = change([{k: r[k] for k in FIELDS} for r in found])
        conn.execute(text("DELETE FROM ledger_entries"))
        prev = GENESIS_HASH
        for seq, r in enumerate(rows, 1):
            digest = entry_hash(seq, *(r[k] for k in FIELDS), prev)
            conn.execute(
                text(
                    "INSERT INTO ledger_entries (seq, at, kind, actor, subject, ref, data, "
                    "prev_hash, hash) VALUES (:seq, :at, :kind, :actor, :subject, :ref, :data, "
                    ":prev, :hash)"
                ),
                {"seq": seq, **r, "prev": prev, "hash": digest},
            )
            prev = digest
        frontier = encode_frontier(rebuild(conn, len(rows)))
        conn.execute(
            text("UPDATE ledger_head SET seq = :s, hash = :h, frontier = :f"),
            {"s": len(rows), "h": prev, "f": frontier},
        )


def edit(rows: Rows) -> Rows:
    rows[2]["data"] = '{"step":42}'
    return rows


def delete(rows: Rows) -> Rows:
    del rows[4]
    return rows


def reorder(rows: Rows) -> Rows:
    rows[3], rows[4] = rows[4], rows[3]
    return rows


def truncate(rows: Rows) -> Rows:
    return rows[:7]


def insert(rows: Rows) -> Rows:
    forged = {**rows[4], "kind": "audit.note", "data": "{}"}
    return [*rows[:4], forged, *rows[4:]]


ATTACKS = {"edit": edit, "delete": delete, "reorder": reorder, "truncate": truncate}
ATTACKS["insert"] = insert


def cover_up(store: Store, project: Project, how: str) -> None:
    if how in ("heads", "both"):
        with store.begin() as conn:
            conn.execute(text("DELETE FROM ledger_tree_heads"))
    if how in ("file", "both"):
        head_file_path(project).unlink()


@pytest.mark.parametrize("how", ["nothing", "heads", "file", "both"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_rewrite_and_rehash_is_caught(
    store: Store, project: Project, tmp_path: Path, attack: str, how: str
) -> None:
    fill(store)
    exported = tmp_path / "head.json"
    export_head(store, project, exported)
    rewrite(store, ATTACKS[attack])
    cover_up(store, project, how)
    result = verify(store, project)
    if how == "both":
        # Every signed head kept here is gone: what is left is consistent, and only a
        # head kept elsewhere can show the rewrite.
        assert result.ok, str(result)
    else:
        assert not result.ok, "the rewrite went unnoticed"
    against = verify(store, project, against=exported)
    assert not against.ok, "the rewrite went unnoticed against the exported head"
    assert against.reason in ("edited", "truncated"), str(against)
    # A third party without the private key: the exported head's own public key.
    outside = verify(store, None, against=exported)
    assert (outside.ok, outside.reason) == (False, against.reason), str(outside)


def test_missing_head_file_is_a_failure_and_blocks_sealing(store: Store, project: Project) -> None:
    fill(store)
    checkpoint(store, project)
    head_file_path(project).unlink()
    result = verify(store, project)
    assert (result.ok, result.reason) == (False, "bad checkpoint")
    assert "ledger-head.json is missing" in result.detail
    fill(store, 2)
    with pytest.raises(LedgerDamaged, match="is missing although"):
        checkpoint(store, project)
    restored = checkpoint(store, project, restore_head_file=True)
    assert restored is not None and restored.size == ENTRIES + 2
    assert verify(store, project).ok


def test_sealing_refuses_a_ledger_that_does_not_extend_the_last_head(
    store: Store, project: Project
) -> None:
    fill(store)
    checkpoint(store, project)
    rewrite(store, edit)
    with pytest.raises(LedgerDamaged, match="does not extend the tree head signed at 10"):
        checkpoint(store, project)
    fill(store, 3)  # appending on top does not launder the rewrite
    with pytest.raises(LedgerDamaged, match="does not extend"):
        checkpoint(store, project)


def test_exported_head_is_checked_with_the_right_key(
    store: Store, project: Project, tmp_path: Path
) -> None:
    fill(store)
    exported = tmp_path / "head.json"
    head = export_head(store, project, exported)
    assert exported.stat().st_mode & 0o777 == 0o600
    loaded, key = read_exported(exported)
    own = signing_key(project)
    assert own is not None and key == own.public and loaded == head
    assert verify(store, project, against=exported).ok
    outside = verify(store, None, against=exported)
    assert outside.ok and any(key.key_id in note for note in outside.notes)
    stranger = PublicKey(bytes(32))
    wrong = verify(store, None, against=exported, public_key=stranger)
    assert (wrong.ok, wrong.reason) == (False, "bad checkpoint")
    forged = tmp_path / "forged.json"
    forged.write_text(exported.read_text().replace(head.root, "ab" * 32))
    result = verify(store, project, against=forged)
    assert (result.ok, result.reason, result.first_bad_seq) == (False, "bad checkpoint", 10)
    fill(store, 5)  # later appends extend the exported head: still fine
    assert verify(store, project, against=exported).ok


def test_verify_reports_a_changed_stored_node(store: Store, project: Project) -> None:
    fill(store, 600)
    checkpoint(store, project)
    with store.begin() as conn:
        conn.execute(
            text("UPDATE ledger_nodes SET hash = :h WHERE level = :l AND idx = 1"),
            {"h": "cd" * 32, "l": NODE_LEVEL},
        )
    result = verify(store, project)
    assert (result.ok, result.reason) == (False, "bad tree"), str(result)
    span = 2**NODE_LEVEL
    assert f"entries {span + 1} to {2 * span}" in result.detail
    assert not inclusion_proof(store, 3).holds()  # the proof uses the node: it fails
    assert inclusion_proof(store, 2 * span + 5).holds()  # a proof that does not use it


SIZES = [1, 2, 3, 63, 64, 65, 255, 256, 257, 300, 511, 512, 513, 700]


def test_proofs_from_the_store(store: Store) -> None:
    fill(store, max(SIZES))
    with store.connect() as conn:
        hashes = [r[0] for r in conn.execute(text("SELECT hash FROM ledger_entries ORDER BY seq"))]
    leaves = [merkle.leaf_hash(h) for h in hashes]
    for size in SIZES:
        root = merkle.tree_root(leaves[:size]).hex()
        for seq in sorted({1, size // 2 + 1, size}):
            proof = inclusion_proof(store, seq, size)
            assert (proof.root, proof.size, proof.entry.seq) == (root, size, seq)
            assert proof.holds(), (seq, size)
        changed = replace(proof.entry, data='{"step":-1}')
        assert not replace(proof, entry=changed).holds()
        assert not replace(proof, path=[*proof.path, "zz"]).holds()  # malformed: no error
        for first in sorted({1, size // 3 + 1, size}):
            consistent = consistency_proof(store, first, size)
            assert consistent.second_root == root
            assert consistent.holds(), (first, size)


def test_an_old_ledger_gets_its_tree_on_first_append(store: Store, project: Project) -> None:
    fill(store, 300)
    with store.begin() as conn:  # a ledger from before the tree: no nodes, no frontier
        conn.execute(text("DELETE FROM ledger_nodes"))
        conn.execute(text("UPDATE ledger_head SET frontier = NULL"))
    assert verify(store, project).ok
    with store.begin() as conn:
        record(conn, "audit.note")
    assert inclusion_proof(store, 17).holds()
    head = checkpoint(store, project)
    assert head is not None and head.size == 301
    assert verify(store, project).ok


def test_commands_that_write_entries_sign_a_tree_head_when_they_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = init_project(tmp_path / "cli")
    monkeypatch.chdir(project.root)  # no --project: the current folder, as commands do
    store = open_store(project.store_url)
    with sealing([]), store.begin() as conn:
        record(conn, "audit.note")
    on_disk = read_head_file(project)
    assert on_disk is not None and on_disk.head.size == 1
    with pytest.raises(RuntimeError), sealing([]):
        with store.begin() as conn:
            record(conn, "audit.note")
        raise RuntimeError("the command failed after writing")
    on_disk = read_head_file(project)
    assert on_disk is not None and on_disk.head.size == 2  # sealed all the same
    head_file_path(project).unlink()
    with (
        pytest.raises(TrothError, match="not sealed with a tree head"),
        sealing([]),
        store.begin() as conn,
    ):
        record(conn, "audit.note")
    store.dispose()


def test_sealing_leaves_a_folder_without_a_store_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    with sealing([]), elsewhere.begin() as conn:  # like `troth demo`, which makes its own
        record(conn, "audit.note")
    assert list((tmp_path / "cwd").iterdir()) == []  # no .troth/troth.db made here
    elsewhere.dispose()


@pytest.mark.parametrize("chunk", [7, 64, 100, 20_000])
def test_heads_at_any_size_and_chunk(store: Store, project: Project, chunk: int) -> None:
    done = 0
    for size in (1, 63, 64, 130, 257, 700):
        fill(store, size - done)
        checkpoint(store, project)
        done = size
    result = verify(store, project, chunk=chunk)
    assert (result.ok, result.checked) == (True, 700), str(result)

    def edit_100(rows: Rows) -> Rows:
        rows[99]["data"] = '{"step":-1}'
        return rows

    rewrite(store, edit_100)
    result = verify(store, project, chunk=chunk)
    assert (result.ok, result.first_bad_seq, result.reason) == (False, 130, "edited")
    assert "entries 65 to 130 were rewritten" in result.detail
