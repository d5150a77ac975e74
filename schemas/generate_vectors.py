"""Generate the por-v1 golden vectors in schemas/vectors/por-v1/ (never edit them by hand).

    python schemas/generate_vectors.py [OUT_DIR]

Builds a small fixed snapshot with the real pipeline (a one-worker LocalCluster),
proves every user, and derives named mutations of one proof, each with the
verdict and the failing check a correct verifier must report. The secret is a
public, test-only value derived from a fixed label; it protects nothing.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from decimal import Context, Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from blake3 import blake3

from pipeline import protocol
from pipeline.build import build_bundle
from pipeline.bundle import open_bundle
from pipeline.cluster import dask_client
from pipeline.proofs import make_proof
from pipeline.snapshot import plan_snapshot

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "vectors", "por-v1")
PERIOD = "2026-11"
BUCKET_BITS = 3
TEST_SECRET = blake3(b"por-v1 golden vectors: public test secret, never use in production").digest()
ASSETS = {"BTC": 8, "ETH": 18, "USDT": 6}
# user_id -> balances in smallest units (asset order BTC, ETH, USDT)
USERS: dict[str, list[int]] = {
    "alice": [150_000_000, 2_500_000_000_000_000_000, 0],
    "bob": [0, 0, 1_000_000_000],
    "carol": [1, 1, 1],
    "dave": [0, 0, 0],
    "erin": [21_000_000 * 100_000_000, 0, 5],
    "frank": [0, (1 << 126) + 12345, 0],
    "grace": [42, 0, 10**20],
}
FOCUS = "alice"


def _snapshot_table() -> pa.Table:
    exact = Context(prec=100)
    return pa.table({
        "user_id": pa.array(list(USERS), pa.string()),
        "BTC": pa.array([b[0] for b in USERS.values()], pa.int64()),
        "ETH": pa.array([Decimal(b[1]).scaleb(-18, exact) for b in USERS.values()], pa.decimal256(76, 18)),
        "USDT": pa.array([Decimal(b[2]).scaleb(-6, exact) for b in USERS.values()], pa.decimal128(38, 6)),
    })


def _mutations(proof: dict[str, Any], manifest: dict[str, Any]) -> list[dict[str, Any]]:
    h = manifest["tree"]["bucket_height"]
    k = manifest["tree"]["bucket_bits"]
    out: list[dict[str, Any]] = []

    def add(name: str, mutated: dict[str, Any], check: str, level: int | None = None) -> None:
        out.append({"name": name, "proof": mutated, "expected": {"valid": False, "check": check, "level": level}})

    for i, node in enumerate(proof["path"]):
        p = copy.deepcopy(proof)
        raw = bytearray(bytes.fromhex(node["hash"]))
        raw[i % 32] ^= 0x01
        p["path"][i]["hash"] = raw.hex()
        add(f"path[{i}].hash-bit-flip", p, "root-hash")
        p = copy.deepcopy(proof)
        p["path"][i]["sums"][0] = str(int(node["sums"][0]) + 1)
        add(f"path[{i}].sums[0]+1", p, "root-hash")
    # sum splitting: shift value between two siblings' views; every parent total still agrees
    lvl = next(i for i, n in enumerate(proof["path"]) if int(n["sums"][1]) > 0 and i + 1 < len(proof["path"]))
    p = copy.deepcopy(proof)
    p["path"][lvl]["sums"][1] = str(int(proof["path"][lvl]["sums"][1]) - 1)
    p["path"][lvl + 1]["sums"][1] = str(int(proof["path"][lvl + 1]["sums"][1]) + 1)
    add("sum-splitting", p, "root-hash")
    for bit in range(len(proof["path"])):
        p = copy.deepcopy(proof)
        p["position"] = proof["position"] ^ (1 << bit)
        add(f"position-bit-{bit}", p, "root-hash" if bit < h else "position")
    p = copy.deepcopy(proof)
    p["path"] = p["path"][:-1]
    add("truncated-path", p, "path-length")
    p = copy.deepcopy(proof)
    p["path"].append(copy.deepcopy(proof["path"][-1]))
    add("extra-path-entry", p, "path-length")
    p = copy.deepcopy(proof)
    p["period"] = "2026-10"
    add("wrong-period", p, "period")
    # a forged path whose own root field is consistent: the verifier must use the manifest's root
    p = copy.deepcopy(proof)
    p["balances"][0] = str(int(proof["balances"][0]) + 1_000_000)
    p["root"] = _fold(p)
    add("root-from-proof", p, "root-hash")
    p = copy.deepcopy(proof)
    p["root"]["sums"][0] = str(int(proof["root"]["sums"][0]) + 1)
    add("proof-root-field-differs", p, "proof-root")
    for name, value in (("negative", "-1"), ("leading-zero", "01"), ("plus-sign", "+1"), ("space", " 1"),
                        ("fraction", "1.0"), ("exponent", "1e3"), ("2^128", str(1 << 128)), ("number-not-string", 1)):
        p = copy.deepcopy(proof)
        p["balances"][0] = value
        add(f"balance-{name}", p, "number")
        p = copy.deepcopy(proof)
        p["path"][0]["sums"][0] = value
        add(f"path[0].sums-{name}", p, "number", 0)
    p = copy.deepcopy(proof)
    p["balances"][1] = str(int(proof["balances"][1]) - 1)
    add("balance-changed", p, "root-hash")
    p = copy.deepcopy(proof)
    p["assets"] = [proof["assets"][1], proof["assets"][0], *proof["assets"][2:]]
    add("wrong-asset-order", p, "assets")
    p = copy.deepcopy(proof)
    nonce = bytearray(bytes.fromhex(proof["nonce"]))
    nonce[31] ^= 0x80
    p["nonce"] = nonce.hex()
    moved = protocol.bucket_of(protocol.user_key(bytes(nonce), PERIOD, proof["user_id"]), k) != proof["position"] >> h
    add("wrong-nonce", p, "position" if moved else "root-hash")
    p = copy.deepcopy(proof)
    p["version"] = "por-v0"
    add("wrong-version", p, "version")
    return out


def _fold(proof: dict[str, Any]) -> dict[str, Any]:
    """The root a naive verifier would compute from the proof alone."""
    nonce = bytes.fromhex(proof["nonce"])
    uk = protocol.user_key(nonce, proof["period"], proof["user_id"])
    sums = [int(s) for s in proof["balances"]]
    hx = protocol.leaf_hash(uk, sums)
    for level, node in enumerate(proof["path"]):
        sib = (bytes.fromhex(node["hash"]), [int(s) for s in node["sums"]])
        left, right = ((hx, sums), sib) if (proof["position"] >> level) & 1 == 0 else (sib, (hx, sums))
        hx = protocol.node_hash(left[0], left[1], right[0], right[1])
        sums = protocol.add_sums(left[1], right[1])
    return {"hash": hx.hex(), "sums": [str(s) for s in sums]}


def _worked_example(manifest: dict[str, Any]) -> str:
    """Every intermediate value of the protocol for one user, as Markdown."""
    secret = protocol.SecretKey(TEST_SECRET)
    k_nonce, k_pad = protocol.period_keys(secret, PERIOD)
    uid = FOCUS
    nonce = protocol.user_nonce(k_nonce, uid)
    uk = protocol.user_key(nonce, PERIOD, uid)
    balances = USERS[uid]
    leaf_msg = protocol.LEAF_TAG + uk + protocol.encode_sums(balances)
    k, h = manifest["tree"]["bucket_bits"], manifest["tree"]["bucket_height"]
    rows = [
        ("S (test secret)", TEST_SECRET.hex()),
        ("P", PERIOD),
        ("K_nonce = D(\"por-v1 user nonce key\", S ‖ P)", k_nonce.reveal().hex()),
        ("K_pad = D(\"por-v1 padding key\", S ‖ P)", k_pad.reveal().hex()),
        ("U", uid),
        ("nonce = Hk(K_nonce, U)", nonce.hex()),
        ("u8(len(P)) ‖ P ‖ U", (protocol.period_prefix(PERIOD) + uid.encode()).hex()),
        ("uk = Hk(nonce, u8(len(P)) ‖ P ‖ U)", uk.hex()),
        (f"bucket = first {k} bits of uk", str(protocol.bucket_of(uk, k))),
        ("balances (BTC, ETH, USDT)", ", ".join(str(b) for b in balances)),
        ("leaf message 0x00 ‖ uk ‖ u128be(b_1..3)", leaf_msg.hex()),
        ("leaf hash", protocol.leaf_hash(uk, balances).hex()),
        (f"padding message at level {h}, index 0", protocol.padding_message(h, 0).hex()),
        ("padding hash Hk(K_pad, …)", protocol.padding_hash(k_pad, h, 0).hex()),
        ("root hash", manifest["root"]["hash"]),
    ]
    lines = [
        "# por-v1 worked example (generated by schemas/generate_vectors.py; do not edit)",
        "",
        f"Snapshot: `snapshot.json` in this directory; bucket_bits k = {k}, bucket height h = {h}.",
        "The secret is a public test value. Hex strings are lowercase; `‖` is concatenation.",
        "",
        "| quantity | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | `{value}` |" for name, value in rows]
    return "\n".join(lines) + "\n"


def _dump(path: str, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def generate(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    secret = protocol.SecretKey(TEST_SECRET)
    with tempfile.TemporaryDirectory() as tmp:
        snap = os.path.join(tmp, "snapshot")
        os.makedirs(snap)
        pq.write_table(_snapshot_table(), os.path.join(snap, "users.parquet"))
        with open(os.path.join(snap, "assets.json"), "w") as f:
            json.dump(ASSETS, f)
        bundle_dir = os.path.join(tmp, "bundle")
        with dask_client(workers=1) as client:
            build_bundle(client, plan_snapshot(snap), PERIOD, secret, bundle_dir, BUCKET_BITS)
        b = open_bundle(bundle_dir)
        with open(os.path.join(bundle_dir, "manifest.json"), "rb") as f:
            manifest_bytes = f.read()
        with open(os.path.join(bundle_dir, "top-tree.json"), "rb") as f:
            top_bytes = f.read()
        proofs = [make_proof(b, uid, secret) for uid in sorted(USERS)]
    manifest = json.loads(manifest_bytes)
    with open(os.path.join(out, "manifest.json"), "wb") as f:
        f.write(manifest_bytes)
    with open(os.path.join(out, "top-tree.json"), "wb") as f:
        f.write(top_bytes)
    _dump(os.path.join(out, "snapshot.json"), {
        "period": PERIOD,
        "bucket_bits": BUCKET_BITS,
        "secret_hex": TEST_SECRET.hex(),
        "secret_note": "public test-only secret: blake3 of a fixed label; it protects nothing",
        "assets": ASSETS,
        "users": [{"user_id": u, "balances": [str(v) for v in bal]} for u, bal in USERS.items()],
    })
    _dump(os.path.join(out, "proofs.json"), proofs)
    focus = next(p for p in proofs if p["user_id"] == FOCUS)
    _dump(os.path.join(out, "mutations.json"), _mutations(focus, manifest))
    with open(os.path.join(out, "worked-example.md"), "w", encoding="utf-8") as f:
        f.write(_worked_example(manifest))


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
