"""Generate the golden vectors in schemas/vectors/por-v1/ and por-v2/ (never edit them by hand).

    python schemas/generate_vectors.py [VECTORS_DIR]

For each protocol version and each shape (``SHAPES``: several assets and k, k = 0 with one user,
empty buckets, 22 assets, totals near 2^128) builds a small fixed snapshot with the real pipeline
(a one-worker LocalCluster), proves every user, and derives named mutations of one proof, each
with the verdict and the failing check a correct verifier must report against the manifest
(``expected``) and, for por-v2, against the announced value alone (``expected_announced``: the
check the reference verifier reports; every implementation must report the same). The secret is a
public, test-only value derived from a fixed label; it protects nothing.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from blake3 import blake3

from pipeline import protocol
from pipeline.cluster import dask_client
from pipeline.errors import VerificationError
from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.proofs import make_proof
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.protocol.verify import verify_proof
from pipeline.storage.bundle import open_bundle

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "vectors")
VERSIONS = ("por-v1", "por-v2")
PERIOD = "2026-11"
TEST_SECRET = blake3(b"por-v1 golden vectors: public test secret, never use in production").digest()
U128 = 1 << 128


@dataclass(frozen=True)
class Shape:
    """One vector set: assets (symbol -> decimals), users (balances in protocol order), k, focus user."""

    name: str
    assets: dict[str, int]
    users: dict[str, list[int]]
    bucket_bits: int
    focus: str


_M22 = {f"A{i:02d}": (6, 8, 18)[i % 3] for i in range(22)}
SHAPES = [
    Shape("basic", {"BTC": 8, "ETH": 18, "USDT": 6}, {
        "alice": [150_000_000, 2_500_000_000_000_000_000, 0],
        "bob": [0, 0, 1_000_000_000],
        "carol": [1, 1, 1],
        "dave": [0, 0, 0],
        "erin": [21_000_000 * 100_000_000, 0, 5],
        "frank": [0, (1 << 126) + 12345, 0],
        "grace": [42, 0, 10**20],
    }, 3, "alice"),
    # k = 0 and a single user: the tree is one leaf, the path is empty
    Shape("one-user-k0", {"BTC": 8}, {"solo": [123_456_789]}, 0, "solo"),
    # 16 buckets for 3 users: empty buckets, padding nodes on every path above the bucket
    Shape("empty-buckets", {"ETH": 18, "USDC": 6}, {
        "u1": [10**18, 0], "u2": [0, 5_000_000], "u3": [7, 7],
    }, 4, "u2"),
    # 22 assets, one bucket of 5 users: padding inside the bucket
    Shape("m22", _M22, {
        f"user-{i}": [(i * 7919 + j * 104729) % 10**12 * (j % 3) for j in range(22)] for i in range(5)
    }, 0, "user-2"),
    # 18-decimal amounts whose totals come within 2^100 of 2^128
    Shape("near-u128-limit", {"ETH": 18, "WEI": 0}, {
        "whale-1": [U128 // 2 - (1 << 100), 1], "whale-2": [U128 // 2 - (1 << 100), U128 - (1 << 101)],
        "minnow": [1, 0],
    }, 1, "whale-1"),
]


def _column(values: list[int], decimals: int, index: int) -> pa.Array:
    """Integer (smallest units) for every other asset when it fits int64, else decimal (whole units)."""
    if index % 2 == 0 and max(values) < (1 << 63):
        return pa.array(values, pa.int64())
    exact = Context(prec=200)
    return pa.array([Decimal(v).scaleb(-decimals, exact) for v in values], pa.decimal256(76, decimals))


def _snapshot_table(shape: Shape) -> pa.Table:
    symbols = sorted(shape.assets, key=str.encode)
    columns = {"user_id": pa.array(list(shape.users), pa.string())}
    for j, symbol in enumerate(symbols):
        columns[symbol] = _column([b[j] for b in shape.users.values()], shape.assets[symbol], j)
    return pa.table(columns)


def _changed(value: str) -> str:
    """An amount changed by one, staying a valid amount."""
    v = int(value)
    return str(v - 1 if v > 0 else v + 1)


def _v2_mutations(proof: dict[str, Any], manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """por-v1's mutations on a por-v2 proof, and what por-v2 adds: labels, decimals, order and shape
    are pinned. Against the manifest the check is stated; against the announced value alone it is
    the reference verifier's (every mutation must fail there too)."""
    v1_style = copy.deepcopy(proof)
    v1_style["assets"] = [a["symbol"] for a in proof["assets"]]
    out = []
    for mutation in _mutations(v1_style, manifest):
        mutated = mutation["proof"]
        if mutation["name"] == "wrong-version":
            mutated["version"] = "por-v0"
        if isinstance(mutated.get("assets"), list) and all(isinstance(a, str) for a in mutated["assets"]):
            decimals = {a["symbol"]: a["decimals"] for a in proof["assets"]}
            mutated["assets"] = [{"symbol": a, "decimals": decimals[a]} for a in mutated["assets"]]
        if mutation["name"] == "root-from-proof":
            mutated["commitment"] = _commitment(mutated, mutated["root"])
        expected = dict(mutation["expected"])
        if mutation["name"] == "wrong-asset-order":
            expected["check"] = "format"  # por-v2 proofs carry their assets in protocol order, or are malformed
        out.append({"name": mutation["name"], "proof": mutated, "expected": expected})

    def add(name: str, mutated: dict[str, Any], check: str) -> None:
        out.append({"name": name, "proof": mutated, "expected": {"valid": False, "check": check, "level": None}})

    p = copy.deepcopy(proof)
    p["assets"][-1]["symbol"] += "X"  # still the greatest symbol: the order stays valid
    add("label-renamed", p, "assets")
    if len(proof["assets"]) >= 2:
        p = copy.deepcopy(proof)
        first, second = p["assets"][0]["decimals"], p["assets"][1]["decimals"]
        p["assets"][0]["decimals"], p["assets"][1]["decimals"] = second, first
        add("labels-swapped-decimals", p, "assets" if first != second else "format")
        p = copy.deepcopy(proof)
        p["assets"] = [{"symbol": proof["assets"][0]["symbol"], "decimals": a["decimals"]} for a in proof["assets"]]
        add("all-labels-the-same", p, "format")
    p = copy.deepcopy(proof)
    p["assets"][0]["decimals"] = (proof["assets"][0]["decimals"] + 2) % 39
    add("decimals-changed", p, "assets")
    for name, value in (("decimals-negative", -1), ("decimals-39", 39), ("decimals-2^53", 1 << 53),
                        ("decimals-not-integer", "8")):
        p = copy.deepcopy(proof)
        p["assets"][0]["decimals"] = value
        add(name, p, "format")
    k, h = proof["tree"]["bucket_bits"], proof["tree"]["bucket_height"]
    if h > 0:
        p = copy.deepcopy(proof)
        p["tree"] = {"bucket_bits": k + 1, "bucket_height": h - 1}
        add("shape-changed", p, "shape")
    p = copy.deepcopy(proof)
    raw = bytearray(bytes.fromhex(proof["commitment"]))
    raw[0] ^= 1
    p["commitment"] = raw.hex()
    add("commitment-field-differs", p, "proof-root")
    for m in out:
        try:
            verify_proof(m["proof"], root_hash=proof["commitment"])
        except VerificationError as exc:
            m["expected_announced"] = {"valid": False, "check": exc.check, "level": exc.level}
        else:
            raise AssertionError(f"mutation {m['name']} verifies against the announced value")
    return out


def _commitment(proof: dict[str, Any], root: dict[str, Any]) -> str:
    from pipeline.protocol import v2

    return v2.commitment(proof["period"], [(a["symbol"], a["decimals"]) for a in proof["assets"]],
                         proof["tree"]["bucket_bits"], proof["tree"]["bucket_height"], bytes.fromhex(root["hash"]),
                         [int(s) for s in root["sums"]]).hex()


def _mutations(proof: dict[str, Any], manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Named mutations of a valid proof, each with the check a correct verifier must fail."""
    h = manifest["tree"]["bucket_height"]
    k = manifest["tree"]["bucket_bits"]
    m = len(proof["assets"])
    height = len(proof["path"])
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
        p["path"][i]["sums"][0] = _changed(node["sums"][0])
        add(f"path[{i}].sums[0]-changed", p, "root-hash")
    # sum splitting: move one unit between two levels' sibling views; every total still agrees
    split = next(((i, j) for i in range(height - 1) for j in range(m)
                  if int(proof["path"][i]["sums"][j]) > 0
                  and int(proof["path"][i + 1]["sums"][j]) < U128 - 1), None)
    if split is not None:
        i, j = split
        p = copy.deepcopy(proof)
        p["path"][i]["sums"][j] = str(int(proof["path"][i]["sums"][j]) - 1)
        p["path"][i + 1]["sums"][j] = str(int(proof["path"][i + 1]["sums"][j]) + 1)
        add("sum-splitting", p, "root-hash")
    for bit in range(height):
        p = copy.deepcopy(proof)
        p["position"] = proof["position"] ^ (1 << bit)
        add(f"position-bit-{bit}", p, "root-hash" if bit < h else "position")
    if height:
        p = copy.deepcopy(proof)
        p["path"] = p["path"][:-1]
        add("truncated-path", p, "path-length")
    p = copy.deepcopy(proof)
    p["path"].append(copy.deepcopy(proof["path"][-1]) if height else {"hash": "00" * 32, "sums": ["0"] * m})
    add("extra-path-entry", p, "path-length")
    p = copy.deepcopy(proof)
    p["period"] = "2026-10"
    add("wrong-period", p, "period")
    # a forged proof whose own root field is consistent: the verifier must use the manifest's root
    p = copy.deepcopy(proof)
    p["balances"][0] = _changed(proof["balances"][0])
    p["root"] = _fold(p)
    add("root-from-proof", p, "root-hash")
    p = copy.deepcopy(proof)
    p["root"]["sums"][0] = _changed(proof["root"]["sums"][0])
    add("proof-root-field-differs", p, "proof-root")
    for name, value in (("negative", "-1"), ("leading-zero", "01"), ("plus-sign", "+1"), ("space", " 1"),
                        ("fraction", "1.0"), ("exponent", "1e3"), ("2^128", str(U128)), ("number-not-string", 1)):
        p = copy.deepcopy(proof)
        p["balances"][0] = value
        add(f"balance-{name}", p, "number")
        if height:
            p = copy.deepcopy(proof)
            p["path"][0]["sums"][0] = value
            add(f"path[0].sums-{name}", p, "number", 0)
    p = copy.deepcopy(proof)
    p["balances"][-1] = _changed(proof["balances"][-1])
    add("balance-changed", p, "root-hash")
    if m >= 2:
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
    p["user_id"] = proof["user_id"] + "x"
    moved = protocol.bucket_of(protocol.user_key(bytes.fromhex(proof["nonce"]), PERIOD, p["user_id"]), k) \
        != proof["position"] >> h
    add("other-user-id", p, "position" if moved else "root-hash")
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


def _worked_example(shape: Shape, manifest: dict[str, Any]) -> str:
    """Every intermediate value of the protocol for one user, as Markdown."""
    secret = protocol.SecretKey(TEST_SECRET)
    k_nonce, k_pad = protocol.period_keys(secret, PERIOD)
    uid = shape.focus
    nonce = protocol.user_nonce(k_nonce, uid)
    uk = protocol.user_key(nonce, PERIOD, uid)
    balances = shape.users[uid]
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
        f"Snapshot: `{shape.name}/snapshot.json`; bucket_bits k = {k}, bucket height h = {h}.",
        "The secret is a public test value. Hex strings are lowercase; `‖` is concatenation.",
        "",
        "| quantity | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | `{value}` |" for name, value in rows]
    return "\n".join(lines) + "\n"


def _worked_example_v2(manifest: dict[str, Any]) -> str:
    """The announced value of the ``basic`` shape, byte by byte, as Markdown."""
    from pipeline.protocol import v2

    assets = [(a["symbol"], a["decimals"]) for a in manifest["assets"]]
    k, h = manifest["tree"]["bucket_bits"], manifest["tree"]["bucket_height"]
    root_hash, root_sums = bytes.fromhex(manifest["root"]["hash"]), [int(x) for x in manifest["root"]["sums"]]
    rows = [("0x03 (tag)", "03"), ('lp("por-v2")', v2.lp(v2.VERSION).hex()), (f'lp("{PERIOD}")', v2.lp(PERIOD).hex()),
            (f"u8(m) = {len(assets)}", protocol.u8(len(assets)).hex())]
    rows += [(f'lp("{s}") ‖ u8({d})', (v2.lp(s) + protocol.u8(d)).hex()) for s, d in assets]
    rows += [(f"u8(k) = {k} ‖ u8(h) = {h}", (protocol.u8(k) + protocol.u8(h)).hex()), ("root hash", root_hash.hex()),
             ("u128be(root sums)", protocol.encode_sums(root_sums).hex()),
             ("C = H(message)", v2.commitment(PERIOD, assets, k, h, root_hash, root_sums).hex()),
             ("manifest commitment", manifest["commitment"])]
    lines = ["# por-v2 worked example: the announced value (generated by schemas/generate_vectors.py; do not edit)",
             "", "The tree is por-v1's (see ../por-v1/worked-example.md for the same snapshot's leaves and nodes).",
             "The announced value of `basic/manifest.json`, field by field:", "", "| part | bytes (hex) |", "|---|---|"]
    lines += [f"| {name} | `{value}` |" for name, value in rows]
    return "\n".join(lines) + "\n"


def _dump(path: str, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _build(client: Any, tmp: str, shape: Shape, version: str) -> tuple[bytes, bytes, list[dict[str, Any]]]:
    secret = protocol.SecretKey(TEST_SECRET)
    snap = os.path.join(tmp, version, shape.name, "snapshot")
    os.makedirs(snap)
    pq.write_table(_snapshot_table(shape), os.path.join(snap, "users.parquet"))
    with open(os.path.join(snap, "assets.json"), "w") as f:
        json.dump(shape.assets, f)
    bundle_dir = os.path.join(tmp, version, shape.name, "bundle")
    # without the verifier page: its digest would change the vectors with every release of the page
    build_bundle(client, plan_snapshot(snap), PERIOD, secret, bundle_dir, shape.bucket_bits, protocol=version,
                 verifier_page=False)
    b = open_bundle(bundle_dir)
    proofs = [make_proof(b, uid, secret) for uid in sorted(shape.users)]
    return b.read("manifest.json"), b.read("top-tree.json"), proofs


def generate(root: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, dask_client(workers=1) as client:
        for version in VERSIONS:
            _generate_version(client, tmp, os.path.join(root, version), version)


def _generate_version(client: Any, tmp: str, out: str, version: str) -> None:
    os.makedirs(out, exist_ok=True)
    for shape in SHAPES:
        manifest_bytes, top_bytes, proofs = _build(client, tmp, shape, version)
        target = os.path.join(out, shape.name)
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, "manifest.json"), "wb") as f:
            f.write(manifest_bytes)
        with open(os.path.join(target, "top-tree.json"), "wb") as f:
            f.write(top_bytes)
        manifest = json.loads(manifest_bytes)
        _dump(os.path.join(target, "snapshot.json"), {
            "period": PERIOD,
            "bucket_bits": shape.bucket_bits,
            "secret_hex": TEST_SECRET.hex(),
            "secret_note": "public test-only secret: blake3 of a fixed label; it protects nothing",
            "assets": shape.assets,
            "users": [{"user_id": u, "balances": [str(v) for v in bal]} for u, bal in shape.users.items()],
        })
        _dump(os.path.join(target, "proofs.json"), proofs)
        focus = next(p for p in proofs if p["user_id"] == shape.focus)
        mutations = _mutations(focus, manifest) if version == "por-v1" else _v2_mutations(focus, manifest)
        _dump(os.path.join(target, "mutations.json"), mutations)
        if shape.name == "basic":
            with open(os.path.join(out, "worked-example.md"), "w", encoding="utf-8") as f:
                f.write(_worked_example(shape, manifest) if version == "por-v1" else _worked_example_v2(manifest))


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
