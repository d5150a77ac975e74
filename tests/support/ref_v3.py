"""A plain-Python reference builder of por-v3, written from schemas/por-v3.md.

Ints, bytes, dicts and the pure functions of ``pipeline.protocol.v3`` only: no numpy, no numba, no
Dask, nothing of the fast path (``pipeline.tree``, ``pipeline.liabilities``, ``pipeline.formats``).
The Dask build is compared against it byte for byte, and the golden vectors of
``schemas/vectors/por-v3/`` are generated from it (``schemas/generate_vectors.py``).

    build = build_v3({"alice": {"BTC": (150_000_000, 0), "USDT": (0, 5_000_000)}, "bob": {}},
                     [("BTC", 8), ("USDT", 6)], SecretKey(secret), "2026-11")
    build.manifest, build.top_tree, build.proofs["alice"], build.store.trees[0].leaves, build.store.users

Every tree is built in full (each non-empty node, level by level; the missing child of a node is
the padding node of its level and index), so a tree of 4 096 leaves costs ~8 000 hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import rfc8785
from blake3 import blake3

from pipeline.protocol import shape, v3
from pipeline.protocol.amounts import U128_LIMIT
from pipeline.protocol.keys import SecretKey
from pipeline.protocol.userid import user_id_problem

Node = tuple[bytes, int, int]
"""``(hash, equity, debt)``."""
Snapshot = Mapping[str, Mapping[str, tuple[int, int]]]
"""``{user_id: {symbol: (equity, debt)}}``; a symbol not listed is held at (0, 0)."""


@dataclass(frozen=True)
class RefLeaf:
    """One leaf of an asset's tree, as the private bucket files hold it."""

    key: bytes
    """``fk[j,i]`` for a fragment, ``pk[j,d]`` for a padding leaf."""
    position: int
    equity: int
    debt: int
    hash: bytes
    owner: tuple[str, int] | None
    """``(user_id, fragment index i)``; None for a padding leaf."""
    padding_index: int | None = None
    """``d`` of ``pk[j,d]`` for a padding leaf."""


@dataclass(frozen=True)
class RefTree:
    """One asset's tree: shape, leaves (sorted by position), bucket roots, root, every node."""

    asset: str
    index: int
    bucket_bits: int
    bucket_height: int
    fragments: int
    """``F_j``."""
    padding_leaves: int
    """``X_j``."""
    leaves: list[RefLeaf]
    """Sorted by position (bucket, then key)."""
    buckets: dict[int, list[RefLeaf]]
    """Non-empty buckets only: the leaves of each, in rank order."""
    bucket_roots: dict[int, Node]
    """Non-empty buckets only: the root of each bucket (at level ``bucket_height``)."""
    root: Node
    nodes: list[dict[int, Node]] = field(repr=False)
    """``nodes[level][index]`` for every node with a leaf below it (padding nodes are not stored)."""

    @property
    def height(self) -> int:
        return self.bucket_bits + self.bucket_height

    @property
    def leaf_count(self) -> int:
        """``L_j``."""
        return self.fragments + self.padding_leaves


@dataclass(frozen=True)
class RefUser:
    """One user of the snapshot, as the private user files hold them."""

    user_id: str
    nonce: bytes
    uk: bytes
    holdings: tuple[tuple[int, int, int], ...]
    """``(asset index j, equity, debt)`` of each non-zero holding, in asset order."""

    def held_mask(self, m: int) -> bytes:
        """Asset ``j`` is bit ``j % 8`` of byte ``j // 8`` (schemas/por-v3.md section 11)."""
        mask = bytearray((m + 7) // 8)
        for j, _, _ in self.holdings:
            mask[j // 8] |= 1 << (j % 8)
        return bytes(mask)


@dataclass(frozen=True)
class RefStore:
    """The private store's content as Python data."""

    trees: list[RefTree]
    """One per asset, in asset order."""
    users: dict[str, RefUser]
    """Every user of the snapshot (those holding nothing too)."""

    def users_by_key(self) -> list[RefUser]:
        """Sorted by ``uk``, as the user files are."""
        return sorted(self.users.values(), key=lambda u: u.uk)


@dataclass(frozen=True)
class RefBuild:
    manifest: dict[str, Any]
    top_tree: dict[str, Any]
    proofs: dict[str, dict[str, Any]]
    """Every user's proof (``holdings: []`` for a user holding nothing)."""
    store: RefStore
    commitment: bytes

    def top_tree_bytes(self) -> bytes:
        return canonical(self.top_tree)

    def manifest_bytes(self) -> bytes:
        return canonical(self.manifest)


def canonical(doc: Any) -> bytes:
    """RFC 8785 bytes."""
    return rfc8785.dumps(doc)


def node_json(node: Node) -> dict[str, str]:
    return {"hash": node[0].hex(), "equity": str(node[1]), "debt": str(node[2])}


def _combine(left: Node, right: Node, level: int) -> Node:
    equity, debt = v3.add_pair((left[1], left[2]), (right[1], right[2]), level)
    return v3.node_hash(left[0], (left[1], left[2]), right[0], (right[1], right[2])), equity, debt


def _bucket_bits_for(bucket_bits: int | Mapping[str, int] | None, symbol: str, leaves: int) -> int:
    if bucket_bits is None:
        return shape.default_bucket_bits(leaves)
    if isinstance(bucket_bits, int):
        return bucket_bits
    return bucket_bits[symbol]


def build_tree(index: int, symbol: str, fragments: list[tuple[bytes, int, int, tuple[str, int]]],
               k_pad: SecretKey, parameters: v3.Parameters, bucket_bits: int | Mapping[str, int] | None) -> RefTree:
    """One asset's tree from its fragments ``(fk, equity, debt, (user, i))``: padding leaves, buckets,
    positions, every node."""
    f_count = len(fragments)
    x_count = v3.padding_leaf_count(f_count, parameters.padding, v3.padding_share(k_pad, symbol))
    raw: list[tuple[bytes, int, int, tuple[str, int] | None, int | None]] = [
        (key, e, d, owner, None) for key, e, d, owner in fragments]
    raw += [(v3.padding_leaf_key(k_pad, symbol, d), 0, 0, None, d) for d in range(x_count)]
    k = _bucket_bits_for(bucket_bits, symbol, len(raw))
    if not 0 <= k <= shape.MAX_BUCKET_BITS:
        raise ValueError(f"bucket bits {k} outside [0, {shape.MAX_BUCKET_BITS}]")
    grouped: dict[int, list[tuple[bytes, int, int, tuple[str, int] | None, int | None]]] = {}
    for item in raw:
        grouped.setdefault(shape.bucket_of(item[0], k), []).append(item)
    if len({item[0] for item in raw}) != len(raw):
        raise ValueError(f"two leaves of {symbol!r} share a key")
    h = shape.height_for(max(len(v) for v in grouped.values()))
    if k + h > shape.MAX_HEIGHT:
        raise ValueError(f"tree of {symbol!r}: k + h = {k + h} > {shape.MAX_HEIGHT}")
    buckets: dict[int, list[RefLeaf]] = {}
    for b in sorted(grouped):
        members = sorted(grouped[b], key=lambda item: item[0])
        buckets[b] = [RefLeaf(key, shape.position(b, h, rank), e, d, v3.leaf_hash(key, e, d), owner, pad)
                      for rank, (key, e, d, owner, pad) in enumerate(members)]
    leaves = [leaf for b in sorted(buckets) for leaf in buckets[b]]
    nodes: list[dict[int, Node]] = [{leaf.position: (leaf.hash, leaf.equity, leaf.debt) for leaf in leaves}]
    for level in range(1, k + h + 1):
        below, here = nodes[-1], {}
        for parent in sorted({i >> 1 for i in below}):
            left = below.get(2 * parent) or (v3.padding_hash(k_pad, symbol, level - 1, 2 * parent), 0, 0)
            right = below.get(2 * parent + 1) or (v3.padding_hash(k_pad, symbol, level - 1, 2 * parent + 1), 0, 0)
            here[parent] = _combine(left, right, level - 1)
        nodes.append(here)
    return RefTree(asset=symbol, index=index, bucket_bits=k, bucket_height=h, fragments=f_count, padding_leaves=x_count,
                   leaves=leaves, buckets=buckets, bucket_roots={b: nodes[h][b] for b in buckets},
                   root=nodes[k + h][0], nodes=nodes)


def node_at(tree: RefTree, k_pad: SecretKey, level: int, index: int) -> Node:
    """The node at ``(level, index)``: computed, or the padding node when no leaf lies below."""
    found = tree.nodes[level].get(index)
    return found if found is not None else (v3.padding_hash(k_pad, tree.asset, level, index), 0, 0)


def path_of(tree: RefTree, k_pad: SecretKey, position: int) -> list[Node]:
    """The siblings of a leaf, level 0 first."""
    return [node_at(tree, k_pad, level, (position >> level) ^ 1) for level in range(tree.height)]


def _check_amount(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < U128_LIMIT:
        raise ValueError(f"{what} must be an integer in [0, 2^128), got {value!r}")
    return value


def build_v3(snapshot: Snapshot, assets: Sequence[tuple[str, int]], secret: SecretKey, period: str,
             parameters: v3.Parameters = v3.Parameters(), bucket_bits: int | Mapping[str, int] | None = None,
             files: Mapping[str, str] | None = None) -> RefBuild:
    """The whole por-v3 bundle of ``snapshot``: manifest (with ``files``, by default the digest of
    ``top-tree.json``'s RFC 8785 bytes), top tree, every user's proof, and the private store's content.

    ``assets`` are ``(symbol, decimals)`` in any order (sorted here by UTF-8 bytes); ``bucket_bits``
    None gives each tree its default ``k_j``, an int every tree the same, a mapping one per symbol."""
    problem = parameters.problem()
    if problem:
        raise ValueError(problem)
    ordered = sorted(((s, d) for s, d in assets), key=lambda a: a[0].encode("utf-8"))
    symbols = [s for s, _ in ordered]
    if len(set(symbols)) != len(symbols) or not 1 <= len(symbols) <= v3.MAX_ASSETS:
        raise ValueError(f"assets must be 1 to {v3.MAX_ASSETS} distinct symbols, got {symbols}")
    k_nonce, k_pad = v3.period_keys(secret, period)

    users: dict[str, RefUser] = {}
    per_asset: list[list[tuple[bytes, int, int, tuple[str, int]]]] = [[] for _ in ordered]
    splits: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for user_id, holdings in snapshot.items():
        problem = user_id_problem(user_id)
        if problem:
            raise ValueError(f"{user_id!r}: {problem}")
        unknown = set(holdings) - set(symbols)
        if unknown:
            raise ValueError(f"user {user_id!r} holds unknown assets {sorted(unknown)}")
        nonce = v3.user_nonce(k_nonce, user_id)
        uk = v3.user_key(nonce, period, user_id)
        held = []
        for j, symbol in enumerate(symbols):
            equity, debt = holdings.get(symbol, (0, 0))
            _check_amount(equity, f"equity of {user_id!r} in {symbol}")
            _check_amount(debt, f"debt of {user_id!r} in {symbol}")
            if equity == 0 and debt == 0:
                continue
            held.append((j, equity, debt))
            e_parts = v3.split(equity, uk, symbol, v3.EQUITY, parameters.fragments)
            d_parts = v3.split(debt, uk, symbol, v3.DEBT, parameters.fragments)
            splits[(user_id, j)] = list(zip(e_parts, d_parts, strict=True))
            for i in range(parameters.fragments):
                per_asset[j].append((v3.fragment_key(uk, symbol, i), e_parts[i], d_parts[i], (user_id, i)))
        users[user_id] = RefUser(user_id, nonce, uk, tuple(held))

    trees = [build_tree(j, symbol, per_asset[j], k_pad, parameters, bucket_bits) for j, symbol in enumerate(symbols)]
    roots = [v3.TreeRoot(t.bucket_bits, t.bucket_height, t.root[0], t.root[1], t.root[2]) for t in trees]
    c = v3.commitment(period, parameters, ordered, roots)

    top_tree = {
        "version": v3.VERSION, "period": period,
        "trees": [{"asset": t.asset, "bucket_bits": t.bucket_bits, "bucket_height": t.bucket_height,
                   "levels": [[node_json(node_at(t, k_pad, level, i)) for i in range(1 << (t.height - level))]
                              for level in range(t.bucket_height, t.height + 1)]} for t in trees],
    }
    if files is None:
        files = {"top-tree.json": blake3(canonical(top_tree)).hexdigest()}
    assets_json = [{"symbol": s, "decimals": d} for s, d in ordered]
    manifest = {
        "version": v3.VERSION, "period": period, "hash": "blake3", "assets": assets_json,
        "parameters": parameters.as_json(),
        "trees": [{"asset": t.asset, "bucket_bits": t.bucket_bits, "bucket_height": t.bucket_height,
                   "height": t.height, "root": node_json(t.root)} for t in trees],
        "files": dict(files),
        "commitment": c.hex(),
    }

    position_of = [position_owner_map(t) for t in trees]
    proofs: dict[str, dict[str, Any]] = {}
    for user_id, user in users.items():
        holdings_json = []
        for j, equity, debt in user.holdings:
            fragments = []
            for i, (e_part, d_part) in enumerate(splits[(user_id, j)]):
                position = position_of[j][(user_id, i)].position
                fragments.append({"equity": str(e_part), "debt": str(d_part), "position": position,
                                  "path": [node_json(n) for n in path_of(trees[j], k_pad, position)]})
            holdings_json.append({"asset": symbols[j], "equity": str(equity), "debt": str(debt),
                                  "fragments": fragments})
        proofs[user_id] = {
            "version": v3.VERSION, "period": period, "assets": assets_json, "parameters": parameters.as_json(),
            "trees": [{"bucket_bits": t.bucket_bits, "bucket_height": t.bucket_height, "root": node_json(t.root)}
                      for t in trees],
            "user_id": user_id, "nonce": user.nonce.hex(), "holdings": holdings_json, "commitment": c.hex(),
        }
    return RefBuild(manifest=manifest, top_tree=top_tree, proofs=proofs, store=RefStore(trees, users), commitment=c)


def position_owner_map(tree: RefTree) -> dict[tuple[str, int], RefLeaf]:
    """The leaf of each ``(user, fragment index)``."""
    return {leaf.owner: leaf for leaf in tree.leaves if leaf.owner is not None}
