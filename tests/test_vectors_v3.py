"""por-v3: the reference builder (tests/support/ref_v3.py) against the spec, its proofs against the verifier."""

from __future__ import annotations

from blake3 import blake3

from pipeline.protocol import shape, v3
from pipeline.protocol.keys import SecretKey
from tests.support.ref_v3 import build_v3, canonical

SECRET = SecretKey(blake3(b"por-v3 reference self-test: public test secret").digest())
PERIOD = "2026-11"
SMALL = {
    "alice": {"BTC": (150_000_000, 0), "USDT": (0, 5_000_000)},
    "bob": {},
    "carol": {"ETH": (7, 3), "BTC": (1, 1)},
    "dave": {"BTC": (0, 0)},
}
ASSETS = [("USDT", 6), ("BTC", 8), ("ETH", 18)]


def _lp(text: str) -> bytes:
    raw = text.encode()
    return bytes([len(raw)]) + raw


def _fold(key: bytes, fragment: dict, k: int, h: int) -> tuple[bytes, int, int]:
    """A fragment's path folded with blake3 directly (the formulas of schemas/por-v3.md section 5)."""
    node_key = blake3(b"", derive_key_context="por-v3 node key").digest()
    e, d = int(fragment["equity"]), int(fragment["debt"])
    current = blake3(e.to_bytes(16, "big") + d.to_bytes(16, "big"), key=key).digest()
    assert len(fragment["path"]) == k + h
    for level, sib in enumerate(fragment["path"]):
        mine = current + e.to_bytes(16, "big") + d.to_bytes(16, "big")
        se, sd = int(sib["equity"]), int(sib["debt"])
        theirs = bytes.fromhex(sib["hash"]) + se.to_bytes(16, "big") + sd.to_bytes(16, "big")
        message = mine + theirs if (fragment["position"] >> level) & 1 == 0 else theirs + mine
        current, e, d = blake3(message, key=node_key).digest(), e + se, d + sd
    return current, e, d


def test_reference_build_is_consistent_with_the_spec():
    build = build_v3(SMALL, ASSETS, SECRET, PERIOD, bucket_bits=3)
    manifest, store = build.manifest, build.store
    assert [a["symbol"] for a in manifest["assets"]] == ["BTC", "ETH", "USDT"]
    # C recomputes from the manifest's fields, byte by byte
    message = b"\x04" + _lp("por-v3") + _lp(PERIOD) + bytes([2, 25, 3])
    for asset, tree in zip(manifest["assets"], manifest["trees"], strict=True):
        assert tree["asset"] == asset["symbol"] and tree["height"] == tree["bucket_bits"] + tree["bucket_height"]
        message += _lp(asset["symbol"]) + bytes([asset["decimals"], tree["bucket_bits"], tree["bucket_height"]])
        message += bytes.fromhex(tree["root"]["hash"]) + int(tree["root"]["equity"]).to_bytes(16, "big")
        message += int(tree["root"]["debt"]).to_bytes(16, "big")
    assert blake3(message).hexdigest() == manifest["commitment"] == build.commitment.hex()
    assert manifest["files"] == {"top-tree.json": blake3(canonical(build.top_tree)).hexdigest()}
    # totals, leaf counts, shapes
    totals = {"BTC": (150_000_001, 1), "ETH": (7, 3), "USDT": (0, 5_000_000)}
    for tree, doc in zip(store.trees, manifest["trees"], strict=True):
        assert (tree.root[1], tree.root[2]) == totals[tree.asset]
        assert (int(doc["root"]["equity"]), int(doc["root"]["debt"])) == totals[tree.asset]
        assert tree.leaf_count >= 4096 and tree.fragments == 2 * {"BTC": 2, "ETH": 1, "USDT": 1}[tree.asset]
        assert sum(leaf.equity for leaf in tree.leaves) == totals[tree.asset][0]
        for b, leaves in tree.buckets.items():
            assert [leaf.key for leaf in leaves] == sorted(leaf.key for leaf in leaves)
            assert all(shape.bucket_of(leaf.key, 3) == b == leaf.position >> tree.bucket_height for leaf in leaves)
    # users: everyone in the store, zero holdings dropped, a proof for each
    assert set(store.users) == set(build.proofs) == set(SMALL)
    assert build.proofs["bob"]["holdings"] == [] and build.proofs["dave"]["holdings"] == []
    assert store.users["carol"].holdings == ((0, 1, 1), (1, 7, 3))
    assert store.users["carol"].held_mask(3) == b"\x03"
    # every fragment folds to its tree's root, with the key derived from the proof's own fields
    for user_id, proof in build.proofs.items():
        uk = v3.user_key(bytes.fromhex(proof["nonce"]), PERIOD, user_id)
        assert uk == store.users[user_id].uk
        for holding in proof["holdings"]:
            j = [a["symbol"] for a in proof["assets"]].index(holding["asset"])
            tree = manifest["trees"][j]
            assert sum(int(f["equity"]) for f in holding["fragments"]) == int(holding["equity"])
            assert sum(int(f["debt"]) for f in holding["fragments"]) == int(holding["debt"])
            for i, fragment in enumerate(holding["fragments"]):
                key = v3.fragment_key(uk, holding["asset"], i)
                root = _fold(key, fragment, tree["bucket_bits"], tree["bucket_height"])
                assert (root[0].hex(), str(root[1]), str(root[2])) == tuple(tree["root"][f] for f in ("hash", "equity", "debt"))


def test_default_bucket_bits_and_padding_share():
    build = build_v3({f"u{i}": {"A": (i, 0)} for i in range(1, 6)}, [("A", 0)], SECRET, PERIOD,
                     v3.Parameters(fragments=3, padding=100))
    tree = build.store.trees[0]
    assert tree.bucket_bits == shape.default_bucket_bits(tree.leaf_count) == 0
    assert tree.fragments == 15
    k_pad = v3.period_keys(SECRET, PERIOD)[1]
    assert tree.padding_leaves == v3.padding_leaf_count(15, 100, v3.padding_share(k_pad, "A"))
    assert sorted(leaf.padding_index for leaf in tree.leaves if leaf.owner is None) == list(range(tree.padding_leaves))


def test_every_reference_proof_verifies_with_the_manifest_and_with_c_alone():
    from pipeline.protocol.verify import verify_proof

    build = build_v3(SMALL, ASSETS, SECRET, PERIOD, bucket_bits=3)
    for user_id, proof in build.proofs.items():
        with_manifest = verify_proof(proof, manifest=build.manifest, user_id=user_id)
        alone = verify_proof(proof, root_hash=build.manifest["commitment"])
        assert with_manifest == alone and alone.commitment == build.commitment.hex()
        for asset in alone.assets:
            assert (asset.equity, asset.debt) == SMALL[user_id].get(asset.symbol, (0, 0))
