"""``por prove``: a user's inclusion proof, answered from ``private/`` without rebuilding the tree
(only the user's own bucket is re-folded from its stored leaves and padding nodes)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BundleError, InputError
from ..formats import layout
from ..formats.bucket_file import decode_bucket
from ..formats.nodes import node_json
from ..formats.proof import proof_document
from ..protocol import shape, v1
from ..protocol.keys import SecretKey, period_keys
from ..protocol.userid import user_id_problem
from ..storage.bundle import Bundle
from ..tree.sums import sums_from_be_bytes
from .stored import bucket_path, load_manifest, load_top_tree, top_path


def check_user_id(user_id: str) -> None:
    """A user id the protocol accepts (``pipeline.protocol.userid``)."""
    problem = user_id_problem(user_id)
    if problem is not None:
        raise InputError(problem, parameter="user", value=repr(user_id))


def make_proof(b: Bundle, user_id: str, secret: SecretKey) -> dict[str, Any]:
    """The por-v1 inclusion proof of ``user_id`` in bundle ``b``."""
    check_user_id(user_id)
    manifest = load_manifest(b)
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
    where = f"{b.shown}/{name}"
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
