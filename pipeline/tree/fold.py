"""Folding por-v1 subtrees (and por-v3's, with ``V3_NODES``) over numpy arrays. Pure: no I/O.

``hashes`` are ``uint8`` arrays of shape ``(n, 32)``; ``sums`` as in ``pipeline.tree.sums``.
The compiled kernels (``blake3_batch``, ``messages``, ``fragments``) are imported where first used:
por-v3's parents of a few nodes go through ``per_call`` without loading them.
The messages are assembled in bulk from ``pipeline.protocol.v1``'s tags and sizes, so the bytes
hashed are exactly the protocol's; the golden vectors and the reference-builder property tests
hold the two together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from blake3 import blake3

from ..errors import SumOverflow
from ..protocol import shape, v1, v3
from . import per_call

PaddingFn = Callable[[int, int], bytes]
"""``(level, index) -> hash`` of the padding node at that place."""


@dataclass(frozen=True)
class NodeRule:
    """How an internal node is hashed: ``Hk(key, tag ‖ h_L ‖ sums_L ‖ h_R ‖ sums_R)`` (plain mode when
    ``key`` is None). por-v1/v2: tag ``0x01``, plain; por-v3: no tag, keyed with ``K_node``, two sums
    (equity, debt). ``fused``: hashed by ``fragments.parent_nodes`` straight from the children (por-v3;
    the same bytes as assembling the messages, tested), instead of ``messages`` then the batch hasher."""

    tag: bytes
    key: bytes | None
    fused: bool = False


V1_NODES = NodeRule(v1.NODE_TAG, None)
V3_NODES = NodeRule(b"", v3.NODE_KEY, fused=True)

_D = v1.DIGEST_SIZE


def hash_rows_per_call(messages: np.ndarray) -> np.ndarray:
    """BLAKE3-256 of every row, one ``blake3`` package call per row: the reference the batch
    hasher is measured and tested against (``por bench`` calls its time the per-call floor)."""
    n, width = messages.shape
    if n == 0:
        return np.zeros((0, _D), dtype=np.uint8)
    data = np.ascontiguousarray(messages).data.cast("B")
    h = blake3
    digests = b"".join([h(data[i : i + width]).digest() for i in range(0, n * width, width)])
    return np.frombuffer(digests, dtype=np.uint8).reshape(n, 32)


def hash_rows(rows: np.ndarray) -> np.ndarray:
    """BLAKE3-256 of every row of a 2-d ``uint8`` array, as ``(n, 32)``: the batch hasher."""
    from . import blake3_batch  # the compiled kernels load on first use (not for ``por prove``'s few nodes)

    return blake3_batch.hash_rows(rows)


def leaf_hashes(uks: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Leaf hashes ``H(0x00 ‖ uk ‖ u128be(b_1..m))`` for ``(n, 32)`` user keys."""
    from . import messages

    return hash_rows(messages.leaf_messages(uks, sums))


def hash_pairs(hashes: np.ndarray, sums: np.ndarray, level: int, rule: NodeRule = V1_NODES
               ) -> tuple[np.ndarray, np.ndarray]:
    """Parents of consecutive pairs ``(2i, 2i+1)`` of nodes at ``level``.

    Precondition: an even number of nodes. Raises ``SumOverflow``. Each message
    ``tag ‖ h_L ‖ u128be(s_L) ‖ h_R ‖ u128be(s_R)`` is assembled in compiled code
    (``pipeline.tree.messages``), the parent sums added on the way, and hashed as ``rule`` says.
    """
    if hashes.shape[0] == 0:
        return hashes[:0], sums[:0]
    if rule.fused and hashes.shape[0] // 2 <= per_call.PER_CALL_MAX:
        parent_hashes, parent_sums, overflow = per_call.parent_nodes(hashes, sums)
    elif rule.fused:
        from . import fragments

        parent_hashes, parent_sums, overflow = fragments.parent_nodes(hashes, sums)
    else:
        from . import blake3_batch, messages

        node_messages, parent_sums, overflow = messages.node_messages(hashes, sums, rule.tag)
        parent_hashes = blake3_batch.hash_rows(node_messages, key=rule.key)
    if overflow >= 0:
        raise SumOverflow(overflow, level + 1)
    return parent_hashes, parent_sums


@dataclass
class Subtree:
    """A subtree: its root, the padding nodes it used, optionally its levels."""

    root_hash: bytes
    root_sums: np.ndarray  # (m, 2)
    padding: list[tuple[int, int, bytes]] = field(default_factory=list)
    levels: list[tuple[np.ndarray, np.ndarray]] | None = None
    """With ``keep_levels``: every level from ``base_level`` to the root, padding node included."""
    recorded: tuple[np.ndarray, np.ndarray] | None = None
    """With ``record_level``: the real nodes of that level (no padding)."""


def build_bucket(
    nodes: np.ndarray,
    sums: np.ndarray,
    bucket: int,
    height: int,
    padding: PaddingFn,
    keep_levels: bool = False,
    base_level: int = 0,
    record_level: int | None = None,
    rule: NodeRule = V1_NODES,
) -> Subtree:
    """Fold left-packed nodes at ``base_level`` into the subtree root at level ``height``.

    ``bucket`` is the index of that root within level ``height``; a node ``j``
    of level ``L`` below it has the global index ``(bucket << (height - L)) + j``.
    Preconditions: ``nodes`` (n, 32) are in ascending ``uk`` order (leaf hashes
    when ``base_level`` is 0), ``n <= 2**(height - base_level)``. Padding
    siblings are taken from ``padding``; an empty subtree's root is the padding
    node ``(height, bucket)``.
    """
    n, m = sums.shape[0], sums.shape[1]
    if n > (1 << (height - base_level)):
        raise ValueError(f"bucket {bucket} holds {n} nodes at level {base_level}, more than fit below level {height}")
    if n == 0:
        return Subtree(padding(height, bucket), np.zeros((m, 2), dtype=np.uint64))
    used: list[tuple[int, int, bytes]] = []
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    recorded = None
    hashes, level_sums = nodes, sums
    for level in range(base_level, height):
        if level == record_level:
            recorded = (hashes, level_sums)
        count = hashes.shape[0]
        if count % 2 == 1:
            index = shape.node_index(bucket, height, level, count)
            pad = padding(level, index)
            used.append((level, index, pad))
            hashes = np.vstack([hashes, np.frombuffer(pad, dtype=np.uint8)[None, :]])
            level_sums = np.concatenate([level_sums, np.zeros((1, m, 2), dtype=np.uint64)])
        if keep_levels:
            levels.append((hashes, level_sums))
        hashes, level_sums = hash_pairs(hashes, level_sums, level, rule)
    if keep_levels:
        levels.append((hashes, level_sums))
    if record_level == height:
        recorded = (hashes, level_sums)
    return Subtree(hashes[0].tobytes(), level_sums[0], used, levels if keep_levels else None, recorded)


def build_top(
    bucket_hashes: np.ndarray,
    bucket_sums: np.ndarray,
    empty: np.ndarray,
    bucket_height: int,
    padding: PaddingFn,
    rule: NodeRule = V1_NODES,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fold the ``2**k`` bucket roots into the root; returns every level, bucket level first.

    ``empty[b]`` is true for buckets without users; their given hash must be
    the padding node ``(bucket_height, b)``. A parent both of whose children
    are empty is itself a padding node, taken from ``padding``.
    """
    levels = [(bucket_hashes, bucket_sums)]
    hashes, sums, is_empty = bucket_hashes, bucket_sums, empty
    level = bucket_height
    while hashes.shape[0] > 1:
        hashes, sums = hash_pairs(hashes, sums, level, rule)
        level += 1
        is_empty = is_empty[0::2] & is_empty[1::2]
        if is_empty.any():
            hashes = hashes.copy()
            for index in np.flatnonzero(is_empty).tolist():
                hashes[index] = np.frombuffer(padding(level, index), dtype=np.uint8)
        levels.append((hashes, sums))
    return levels


def sibling_path(levels: Sequence[tuple[np.ndarray, np.ndarray]], index: int) -> list[tuple[bytes, np.ndarray]]:
    """Siblings of node ``index`` (at the first level given) on the way up, lowest first."""
    below = levels[:-1]
    return [(hashes[sib].tobytes(), sums[sib])
            for (hashes, sums), sib in zip(below, shape.sibling_indices(index, len(below)), strict=True)]


def build_buckets(
    nodes: np.ndarray,
    sums: np.ndarray,
    segments: Sequence[tuple[int, int, int]],
    height: int,
    padding: PaddingFn,
    record_level: int | None = None,
    rule: NodeRule = V1_NODES,
) -> list[Subtree]:
    """``build_bucket`` for many buckets of one height at once: ``segments`` are ``(bucket, lo, hi)``,
    the bucket's leaves at rows ``lo:hi`` of ``nodes`` and ``sums`` (non-empty, at most ``2^height``
    each). With a fused rule (por-v3) every level of every bucket is hashed in one call, each pair named
    (a bucket's odd last node paired with its padding node, nothing copied); otherwise bucket by
    bucket. The result is ``build_bucket``'s, bucket by bucket."""
    if not rule.fused or not segments:
        return [build_bucket(nodes[lo:hi], sums[lo:hi], b, height, padding, record_level=record_level, rule=rule)
                for b, lo, hi in segments]
    buckets = [b for b, _, _ in segments]
    starts = np.array([lo for _, lo, _ in segments], dtype=np.int64)
    counts = np.array([hi - lo for _, lo, hi in segments], dtype=np.int64)
    if (counts <= 0).any() or (counts > (1 << height)).any():
        raise ValueError(f"bucket leaf counts {counts.tolist()} outside [1, 2^{height}]")
    hashes, level_sums = nodes, sums
    used: list[list[tuple[int, int, bytes]]] = [[] for _ in segments]
    recorded: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(segments)
    for level in range(height):
        if level == record_level:
            recorded = [(hashes[a:a + c], level_sums[a:a + c]) for a, c in zip(starts.tolist(), counts.tolist(),
                                                                               strict=True)]
        parents = (counts + 1) // 2
        out_starts = np.zeros(len(counts), dtype=np.int64)
        np.cumsum(parents[:-1], out=out_starts[1:])
        total = int(parents.sum())
        j = np.arange(total, dtype=np.int64) - np.repeat(out_starts, parents)
        seg = np.repeat(np.arange(len(counts)), parents)
        left = starts[seg] + 2 * j
        right = left + 1
        odd = np.flatnonzero(counts & 1)
        pads = np.zeros((len(odd), 32), dtype=np.uint8)
        for p, i in enumerate(odd.tolist()):
            index = shape.node_index(buckets[i], height, level, int(counts[i]))
            pad = padding(level, index)
            used[i].append((level, index, pad))
            pads[p] = np.frombuffer(pad, dtype=np.uint8)
            right[out_starts[i] + parents[i] - 1] = -p - 1
        from . import fragments

        hashes, level_sums, overflow = fragments.parent_nodes_indexed(hashes, level_sums, left, right, pads)
        if overflow >= 0:
            raise SumOverflow(overflow, level + 1)
        starts, counts = out_starts, parents
    if record_level == height:
        recorded = [(hashes[a:a + 1], level_sums[a:a + 1]) for a in starts.tolist()]
    return [Subtree(hashes[a].tobytes(), level_sums[a], used[i], None, recorded[i])
            for i, a in enumerate(starts.tolist())]
