"""``por prove``: a user's inclusion proof, answered from ``private/`` without rebuilding the tree
(only the user's own bucket is re-folded from its stored leaves and padding nodes; por-v3: each of
the user's fragments' buckets, the holdings read from the user's private user file)."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import BundleError, InputError
from ..formats import layout
from ..formats.bucket_file import BucketData, V3_COLUMNS, decode_bucket
from ..formats.nodes import node_json, pair_json
from ..formats.proof import proof_document, proof_document_v3
from ..protocol import shape, v1, v3
from ..protocol.keys import SecretKey, period_keys
from ..protocol.userid import user_id_problem
from ..storage.bundle import Bundle
from ..tree.sums import sums_from_be_bytes
from .stored import (
    V3_KIND,
    bucket_path,
    find_user,
    load_manifest,
    load_private_index_v3,
    load_top_tree,
    top_path,
    top_path_v3,
)


def check_user_id(user_id: str) -> None:
    """A user id the protocol accepts (``pipeline.protocol.userid``)."""
    problem = user_id_problem(user_id)
    if problem is not None:
        raise InputError(problem, parameter="user", value=repr(user_id))


def make_proof(b: Bundle, user_id: str, secret: SecretKey) -> dict[str, Any]:
    """The inclusion proof of ``user_id`` in bundle ``b``, in the bundle's protocol version."""
    check_user_id(user_id)
    manifest = load_manifest(b)
    if manifest["version"] == v3.VERSION:
        return make_proof_v3(b, manifest, user_id, secret)
    period = manifest["period"]
    k = manifest["tree"]["bucket_bits"]
    h = manifest["tree"]["bucket_height"]
    symbols = [a["symbol"] for a in manifest["assets"]]
    k_nonce, _ = period_keys(secret, period)
    nonce = v1.user_nonce(k_nonce, user_id)
    uk = v1.user_key(nonce, period, user_id)
    bucket = shape.bucket_of(uk, k)
    name = layout.bucket_file(bucket)
    not_found = InputError(
        f"user {user_id!r} is not in the bundle for {period} (or the secret file is not this bundle's)"
    )
    if not b.fs.exists(b.file(name)):
        raise not_found
    where = b.where(name)
    data = decode_bucket(b.read(name), where)
    match = np.flatnonzero((data.uks == np.frombuffer(uk, dtype=np.uint8)).all(axis=1))
    if len(match) == 0:
        raise not_found
    rank = int(match[0])
    lower_path, sub = bucket_path(data, bucket, h, rank, len(symbols), where)
    top = load_top_tree(b, manifest)
    stored_root, folded_root = top["levels"][0][bucket], node_json(sub.root_hash, sub.root_sums)
    if stored_root != folded_root:
        raise BundleError(f"{where}: bucket {bucket} folds to {folded_root['hash']}, {layout.TOP_TREE} holds "
                          f"{stored_root.get('hash')}")
    path = [node_json(hx, sx) for hx, sx in lower_path] + top_path(top["levels"], bucket)
    balances = node_json(b"", sums_from_be_bytes(data.sums_be[rank : rank + 1], len(symbols))[0])["sums"]
    # load_manifest checked that a por-v2 manifest's commitment is the value of its own fields
    return proof_document(manifest, user_id, nonce, balances, shape.position(bucket, h, rank), path)


class BucketFiles:
    """por-v3's bucket files of one bundle, each read (and re-folded to its stored root) once."""

    def __init__(self, b: Bundle, manifest: Mapping[str, Any], top: Mapping[str, Any]) -> None:
        self.b, self.manifest, self.top = b, manifest, top
        self.files: dict[str, BucketData] = {}

    def fragment(self, asset: int, key: bytes, amounts: bytes) -> tuple[int, list[dict[str, Any]]] | None:
        """``(position, path)`` of the leaf ``key`` of asset ``asset``'s tree, or None when its bucket
        holds no such leaf; a leaf whose stored amounts are not ``amounts`` is a ``BundleError``."""
        tree = self.manifest["trees"][asset]
        k, h = tree["bucket_bits"], tree["bucket_height"]
        bucket = shape.bucket_of(key, k)
        name = layout.tree_bucket_file(asset, bucket)
        where = self.b.where(name)
        if name not in self.files:
            if not self.b.exists(name):
                return None
            self.files[name] = decode_bucket(self.b.read(name), where, V3_COLUMNS)
        data = self.files[name]
        match = np.flatnonzero((data.uks == np.frombuffer(key, dtype=np.uint8)).all(axis=1))
        if len(match) == 0:
            return None
        rank = int(match[0])
        if data.sums_be[rank].tobytes() != amounts:
            raise BundleError(f"{where}: the leaf of a fragment of asset {tree['asset']} holds other amounts than "
                              "its user file's holding splits into")
        lower, sub = bucket_path(data, bucket, h, rank, 2, where, V3_KIND)
        levels = self.top["trees"][asset]["levels"]
        stored, folded = levels[0][bucket], pair_json(sub.root_hash, sub.root_sums)
        if stored != folded:
            raise BundleError(f"{where}: bucket {bucket} of {tree['asset']} folds to {folded['hash']}, "
                              f"{layout.TOP_TREE} holds {stored.get('hash')}")
        path = [pair_json(hx, sx) for hx, sx in lower] + top_path_v3(levels, bucket)
        return shape.position(bucket, h, rank), path


def fragments_json(uk: bytes, holdings: list[tuple[int, int, int]], symbols: Sequence[str], s: int,
                   locate: Callable[[int, bytes, bytes], tuple[int, list[dict[str, Any]]] | None],
                   missing: Callable[[str], Exception]) -> list[dict[str, Any]]:
    """A user's ``holdings`` as the proof lists them: each split into its ``s`` fragments
    (``v3.split``, ``v3.fragment_key``), each fragment's position and path from ``locate(asset, key,
    amounts)``; ``missing(asset)`` is raised for a fragment that is in no bucket."""
    out = []
    for j, equity, debt in holdings:
        symbol = symbols[j]
        e_parts = v3.split(equity, uk, symbol, v3.EQUITY, s)
        d_parts = v3.split(debt, uk, symbol, v3.DEBT, s)
        fragments = []
        for i in range(s):
            found = locate(j, v3.fragment_key(uk, symbol, i), v3.leaf_message(e_parts[i], d_parts[i]))
            if found is None:
                raise missing(symbol)
            position, path = found
            fragments.append({"equity": str(e_parts[i]), "debt": str(d_parts[i]), "position": position,
                              "path": path})
        out.append({"asset": symbol, "equity": str(equity), "debt": str(debt), "fragments": fragments})
    return out


def make_proof_v3(b: Bundle, manifest: Mapping[str, Any], user_id: str, secret: SecretKey) -> dict[str, Any]:
    """The por-v3 proof of ``user_id``: the holdings from the user's private user file, each fragment's
    path from its bucket (re-folded to the stored root) and the top tree."""
    period = manifest["period"]
    symbols = [a["symbol"] for a in manifest["assets"]]
    k_nonce, _ = v3.period_keys(secret, period)
    nonce = v3.user_nonce(k_nonce, user_id)
    uk = v3.user_key(nonce, period, user_id)
    index = load_private_index_v3(b, manifest)
    holdings = find_user(b, index, uk, len(symbols))
    if holdings is None:
        raise InputError(f"user {user_id!r} is not in the bundle for {period} (or the secret file is not this "
                         "bundle's)")
    files = BucketFiles(b, manifest, load_top_tree(b, manifest))

    def missing(symbol: str) -> Exception:
        return BundleError(f"{b.shown}: a fragment of {user_id!r}'s holding of {symbol} is in no bucket of its tree")

    body = fragments_json(uk, holdings, symbols, manifest["parameters"]["fragments"], files.fragment, missing)
    # load_manifest checked that the manifest's commitment is the value of its own fields
    return proof_document_v3(manifest, user_id, nonce, body)
