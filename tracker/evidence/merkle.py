"""Merkle trees over custody entries, as Certificate Transparency builds them (RFC 9162 §2.1).

One RFC 3161 token per TSA covers a whole batch of entries through the batch's root; each entry keeps
its inclusion proof, so any one entry can later be shown to be in a timestamped batch without the others.
Leaves and nodes are hashed with distinct prefixes (0x00, 0x01), so a node can never pass for a leaf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of ``leaves`` (at least one)."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    split = _split(len(leaves))
    return node_hash(root(leaves[:split]), root(leaves[split:]))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index``: the sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of {len(leaves)}")
    if len(leaves) == 1:
        return []
    split = _split(len(leaves))
    if index < split:
        return inclusion_proof(leaves[:split], index) + [root(leaves[split:])]
    return inclusion_proof(leaves[split:], index - split) + [root(leaves[:split])]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """Whether ``proof`` shows ``leaf`` at ``index`` of a tree of ``size`` leaves with ``expected_root``
    (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    node, last = index, size - 1
    computed = leaf_hash(leaf)
    for sibling in proof:
        if last == 0:
            return False
        if node % 2 == 1 or node == last:
            computed = node_hash(sibling, computed)
            if node % 2 == 0:  # the right edge of an unbalanced subtree: climb until a left child
                while node % 2 == 0 and node != 0:
                    node, last = node >> 1, last >> 1
        else:
            computed = node_hash(computed, sibling)
        node, last = node >> 1, last >> 1
    return last == 0 and computed == expected_root


def _split(size: int) -> int:
    """The largest power of two smaller than ``size``."""
    return 1 << ((size - 1).bit_length() - 1)
