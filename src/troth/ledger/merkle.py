"""The ledger's Merkle tree, in the style of RFC 9162 (Certificate Transparency 2.0).

Pure functions, no database: what an auditor needs to check a proof from the proof alone.
The tree's leaves are the entries' chain hashes in sequence order (leaf i, from 0, is entry
i + 1); a leaf hashes as SHA-256(0x00 || the 32 bytes of the entry's hash) and an inner
node as SHA-256(0x01 || left || right), and the tree over n leaves splits at the largest
power of two below n (RFC 9162 §2.1.1). Because an entry's chain hash covers its fields
and its predecessor's hash, a leaf commits to the entry it stands for.

A growing tree is kept as its *frontier*: the roots of the perfect subtrees that the
binary digits of its size decompose it into, largest (leftmost) first. Appending a leaf
merges equal-sized neighbours, so the frontier never holds more than log2(n) + 1 hashes,
and the root folds out of it right to left.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Subtree = Callable[[int, int], bytes]  # the hash of the leaves [start, end)


def leaf_hash(entry_hash: str) -> bytes:
    """The leaf of an entry whose chain hash (hex) is `entry_hash`."""
    return leaf_of(bytes.fromhex(entry_hash))


def leaf_of(entry_digest: bytes) -> bytes:
    """The leaf of an entry whose chain hash is `entry_digest` (32 bytes)."""
    return hashlib.sha256(LEAF_PREFIX + entry_digest).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def push(
    frontier: list[bytes], size: int, leaf: bytes, keep_from: int = 1
) -> list[tuple[int, int, bytes]]:
    """Append `leaf` as leaf number `size` to `frontier` (changed in place).

    Returns the perfect subtrees of level `keep_from` or more that this completed, as
    (level, index, hash): level 1 is a pair of leaves, and `index` counts subtrees of that
    level from the left.
    """
    completed = []
    node, level = leaf, 0
    while size & 1:  # each trailing one bit of the old size is an equal-sized neighbour
        node = node_hash(frontier.pop(), node)
        level += 1
        size >>= 1
        if level >= keep_from:
            completed.append((level, size, node))
    frontier.append(node)
    return completed


def extend(
    frontier: list[bytes], size: int, leaves: Sequence[bytes], keep_from: int
) -> list[tuple[int, int, bytes]]:
    """`push` each of `leaves` in turn, from leaf number `size` on; the same result, faster.

    Whole aligned blocks of 2**keep_from leaves are hashed level by level (a list
    comprehension per level), then pushed as one subtree, which is what lets a verifier
    rebuild the tree of a million entries in a few seconds.
    """
    completed: list[tuple[int, int, bytes]] = []
    block, at = 1 << keep_from, 0
    while at < len(leaves):
        position = size + at
        if position % block or len(leaves) - at < block:
            completed += push(frontier, position, leaves[at], keep_from)
            at += 1
            continue
        level = list(leaves[at : at + block])
        while len(level) > 1:
            level = [
                hashlib.sha256(NODE_PREFIX + left + right).digest()
                for left, right in zip(level[0::2], level[1::2], strict=True)
            ]
        completed.append((keep_from, position >> keep_from, level[0]))
        completed += _push_subtree(frontier, position >> keep_from, keep_from, level[0])
        at += block
    return completed


def _push_subtree(
    frontier: list[bytes], count: int, level: int, node: bytes
) -> list[tuple[int, int, bytes]]:
    """Append a perfect subtree of `level` after `count` others of that level."""
    completed = []
    while count & 1:
        node = node_hash(frontier.pop(), node)
        level += 1
        count >>= 1
        completed.append((level, count, node))
    frontier.append(node)
    return completed


def root(frontier: Sequence[bytes]) -> bytes:
    """The tree's root hash from its frontier."""
    if not frontier:
        return EMPTY_ROOT
    folded = frontier[-1]
    for left in reversed(frontier[:-1]):
        folded = node_hash(left, folded)
    return folded


def tree_root(leaves: Iterable[bytes]) -> bytes:
    """The root over `leaves`, in one pass with a frontier."""
    frontier: list[bytes] = []
    for size, leaf in enumerate(leaves):
        push(frontier, size, leaf)
    return root(frontier)


def split(count: int) -> int:
    """The largest power of two below `count` (count >= 2): where RFC 9162 splits a tree."""
    return 1 << ((count - 1).bit_length() - 1)


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1),
    nearest sibling first; `subtree(start, end)` supplies the hashes it needs."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if index - start < k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(first: int, second: int, subtree: Subtree) -> list[bytes]:
    """The proof that the tree of `first` leaves is a prefix of the tree of `second`
    (RFC 9162 §2.1.4.1); empty when `first` is 0 or equals `second`."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    if first in (0, second):
        return []
    path: list[bytes] = []
    start, end, whole = 0, second, True
    while first - start != end - start:
        k = split(end - start)
        if first - start <= k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start, whole = start + k, False
    if not whole:
        path.append(subtree(start, end))
    path.reverse()
    return path


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root_hash: bytes
) -> bool:
    """Whether `path` proves that `leaf` is leaf `index` of the tree of `size` leaves with
    root `root_hash` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, folded = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            folded = node_hash(sibling, folded)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            folded = node_hash(folded, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and folded == root_hash


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """Whether `path` proves that the tree of `first` leaves with root `first_root` is a
    prefix of the tree of `second` leaves with root `second_root` (RFC 9162 §2.1.4.2)."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path and first_root == EMPTY_ROOT
    if not path:
        return False
    nodes = list(path)
    if first & (first - 1) == 0:  # a power of two: the old root is a node of the new tree
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    old = new = nodes[0]
    for node in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            old, new = node_hash(node, old), node_hash(node, new)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            new = node_hash(new, node)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and old == first_root and new == second_root
