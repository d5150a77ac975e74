"""The tree's shape: ``2^k`` buckets of height ``h``, the bucket of a user key, a leaf's position.

Every shape rule is here once; the vectorised forms in ``pipeline.tree.shape`` apply these rules
to whole arrays and are checked against them.
"""

from __future__ import annotations

MAX_HEIGHT = 64
"""``T = k + h`` is at most 64: a position fits in a u64."""
MAX_BUCKET_BITS = 24


def bucket_of(uk: bytes, bucket_bits: int) -> int:
    """The first ``bucket_bits`` bits of ``uk``, big-endian."""
    if bucket_bits == 0:
        return 0
    return int.from_bytes(uk[:8], "big") >> (64 - bucket_bits)


def position(bucket: int, bucket_height: int, rank: int) -> int:
    """The leaf index of the ``rank``-th user (ascending ``uk``) of ``bucket``: ``bucket·2^h + rank``."""
    return (bucket << bucket_height) + rank


def bucket_of_position(position_: int, bucket_height: int) -> int:
    """The bucket that leaf index ``position_`` lies in."""
    return position_ >> bucket_height


def node_index(bucket: int, bucket_height: int, level: int, offset: int) -> int:
    """The index within ``level`` (below the bucket root) of the ``offset``-th node of ``bucket``."""
    return (bucket << (bucket_height - level)) + offset


def default_bucket_bits(user_count: int, target_log2: int = 15, max_bits: int = MAX_BUCKET_BITS) -> int:
    """``k = min(max_bits, max(0, bit_length(N - 1) - target_log2))``.

    With the defaults, buckets of 2^14..2^15 users on average; deterministic in
    the user count and the two documented parameters.
    """
    if user_count <= 1:
        return 0
    return min(max_bits, max(0, (user_count - 1).bit_length() - target_log2))


def height_for(largest_bucket: int) -> int:
    """The smallest ``h`` with ``2**h >= largest_bucket`` (0 for a bucket of at most one user)."""
    return max(0, (largest_bucket - 1).bit_length()) if largest_bucket > 0 else 0


def sibling_indices(index: int, levels: int) -> list[int]:
    """The index of the sibling of node ``index``'s ancestor at each of ``levels`` levels, lowest first:
    the nodes a proof's path holds, walking up."""
    out = []
    for _ in range(levels):
        out.append(index ^ 1)
        index >>= 1
    return out
