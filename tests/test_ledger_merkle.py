"""The Merkle tree's pure functions against RFC 9162's recursive definitions, sizes 1 to 300."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from troth.ledger import merkle

MAX_SIZE = 300


def leaves(count: int) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(str(n).encode()).hexdigest()) for n in range(count)]


def mth(items: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, written as the RFC writes it."""
    if not items:
        return hashlib.sha256(b"").digest()
    if len(items) == 1:
        return items[0]
    k = merkle.split(len(items))
    return hashlib.sha256(b"\x01" + mth(items[:k]) + mth(items[k:])).digest()


def subtrees(items: list[bytes]) -> merkle.Subtree:
    return lambda start, end: mth(items[start:end])


ALL = leaves(MAX_SIZE + 1)  # one more: the tree one larger than the largest size
sizes = st.integers(min_value=1, max_value=MAX_SIZE)


def test_leaf_and_node_hashes_follow_rfc_9162() -> None:
    entry = "ab" * 32
    assert merkle.leaf_hash(entry) == hashlib.sha256(b"\x00" + bytes.fromhex(entry)).digest()
    left, right = b"l" * 32, b"r" * 32
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert merkle.root([]) == hashlib.sha256(b"").digest()


def test_frontier_root_and_completed_subtrees_for_every_size() -> None:
    frontier: list[bytes] = []
    for size in range(MAX_SIZE + 1):
        for level, index, node in merkle.push(frontier, size, ALL[size]):
            span = 1 << level
            assert node == mth(ALL[index * span : (index + 1) * span])
            assert (index + 1) * span == size + 1  # completed by this leaf
        assert len(frontier) == (size + 1).bit_count()
        assert merkle.root(frontier) == mth(ALL[: size + 1])
    assert merkle.tree_root(ALL) == mth(ALL)


@settings(max_examples=300, deadline=None)
@given(size=sizes, data=st.data())
def test_inclusion_proofs(size: int, data: st.DataObject) -> None:
    items, root = ALL[:size], mth(ALL[:size])
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    path = merkle.inclusion_path(index, size, subtrees(items))
    assert len(path) <= size.bit_length()
    assert merkle.verify_inclusion(index, size, items[index], path, root)
    # Anything else fails: another leaf, place, size, root, or a changed path.
    other = items[(index + 1) % size]
    assert other == items[index] or not merkle.verify_inclusion(index, size, other, path, root)
    if size > 1:
        moved = (index + 1) % size
        assert not merkle.verify_inclusion(moved, size, items[index], path, root)
    assert not merkle.verify_inclusion(index, size + 1, items[index], path, mth(ALL[: size + 1]))
    assert not merkle.verify_inclusion(index, size, items[index], path, b"\x00" * 32)
    assert not merkle.verify_inclusion(index, size, items[index], [*path, root], root)
    if path:
        bent = [bytes(32), *path[1:]]
        assert not merkle.verify_inclusion(index, size, items[index], bent, root)


@settings(max_examples=300, deadline=None)
@given(second=sizes, data=st.data())
def test_consistency_proofs(second: int, data: st.DataObject) -> None:
    first = data.draw(st.integers(min_value=1, max_value=second), label="first")
    old, new = mth(ALL[:first]), mth(ALL[:second])
    path = merkle.consistency_path(first, second, subtrees(ALL[:second]))
    assert merkle.verify_consistency(first, second, old, new, path)
    if first < second:
        assert path
        # A rewritten first entry: the old root no longer fits the new tree.
        changed = mth([bytes(32), *ALL[1:second]])
        assert not merkle.verify_consistency(first, second, old, changed, path)
        assert not merkle.verify_consistency(first, second, b"\x01" * 32, new, path)
        assert not merkle.verify_consistency(first, second, old, new, path[:-1])
        assert not merkle.verify_consistency(second, first, new, old, path)
    else:
        assert path == []


def test_consistency_from_nothing_and_to_itself() -> None:
    assert merkle.consistency_path(0, 5, subtrees(ALL)) == []
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, mth(ALL[:5]), [])
    assert not merkle.verify_consistency(0, 5, mth(ALL[:1]), mth(ALL[:5]), [])
    assert merkle.verify_consistency(5, 5, mth(ALL[:5]), mth(ALL[:5]), [])
    assert not merkle.verify_consistency(5, 5, mth(ALL[:5]), mth(ALL[:4]), [])


@pytest.mark.parametrize(("index", "size"), [(5, 5), (-1, 3), (0, 0)])
def test_no_proof_outside_the_tree(index: int, size: int) -> None:
    assert not merkle.verify_inclusion(index, size, ALL[0], [], mth(ALL[:5]))
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_path(index, size, subtrees(ALL))
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_path(size + 1, size, subtrees(ALL))


@settings(max_examples=200, deadline=None)
@given(start=st.integers(min_value=0, max_value=200), count=st.integers(0, 300))
def test_extend_is_push_after_push(start: int, count: int) -> None:
    items = leaves(start + count)
    pushed: list[bytes] = []
    for size in range(start):
        merkle.push(pushed, size, items[size])
    extended = list(pushed)
    one_by_one = [
        n for size in range(start, start + count) for n in merkle.push(pushed, size, items[size], 3)
    ]
    in_blocks = merkle.extend(extended, start, items[start:], 3)
    assert extended == pushed
    assert sorted(in_blocks) == sorted(one_by_one)
