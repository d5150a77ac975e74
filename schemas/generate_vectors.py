"""Generate the golden vectors in schemas/vectors/por-v1/, por-v2/ and por-v3/ (never edit them by hand).

    python schemas/generate_vectors.py [VECTORS_DIR] [--versions por-v1,por-v2,por-v3]

For each protocol version and each shape (``SHAPES``: several assets and k, k = 0 with one user,
empty buckets, 22 assets, totals near 2^128) builds a small fixed snapshot with the real pipeline
(a one-worker LocalCluster), proves every user, and derives named mutations of one proof, each
with the verdict and the failing check a correct verifier must report against the manifest
(``expected``) and, for por-v2, against the announced value alone (``expected_announced``: the
check the reference verifier reports; every implementation must report the same). The secret is a
public, test-only value derived from a fixed label; it protects nothing.

por-v3 (``SHAPES_V3``) is built by the plain-Python reference builder ``tests/support/ref_v3.py``
(independent of the fast path, schemas/por-v3.md section 13), with the same secret; its mutations
state both expected checks and the generator refuses to write a vector the verifier disagrees with.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from decimal import Context, Decimal
from typing import TYPE_CHECKING, Any

from blake3 import blake3

from pipeline import protocol
from pipeline.errors import VerificationError
from pipeline.protocol.verify import verify_proof

if TYPE_CHECKING:
    import pyarrow as pa

# por-v1 and por-v2 are built by the real pipeline (imported where used: pyarrow, Dask, the builder);
# por-v3 needs none of it (its vectors come from the reference builder, not from the fast path)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "vectors")
VERSIONS = ("por-v1", "por-v2")
V3 = "por-v3"
ROOT = os.path.dirname(HERE)
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
    import pyarrow as pa

    if index % 2 == 0 and max(values) < (1 << 63):
        return pa.array(values, pa.int64())
    exact = Context(prec=200)
    return pa.array([Decimal(v).scaleb(-decimals, exact) for v in values], pa.decimal256(76, decimals))


def _snapshot_table(shape: Shape) -> pa.Table:
    import pyarrow as pa

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
    import pyarrow.parquet as pq

    from pipeline.liabilities.build import build_bundle
    from pipeline.liabilities.proofs import make_proof
    from pipeline.liabilities.snapshot import plan_snapshot
    from pipeline.storage.bundle import open_bundle

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


def generate(root: str, versions: tuple[str, ...] = (*VERSIONS, V3)) -> None:
    """Every version's vectors under ``root`` (por-v1 and por-v2 with the real pipeline on a one-worker
    cluster; por-v3 from the plain-Python reference builder, no cluster)."""
    built = [v for v in versions if v in VERSIONS]
    if built:
        from pipeline.cluster import dask_client

        with tempfile.TemporaryDirectory() as tmp, dask_client(workers=1) as client:
            for version in built:
                _generate_version(client, tmp, os.path.join(root, version), version)
    if V3 in versions:
        _generate_v3(os.path.join(root, V3))


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


# ---------------------------------------------------------------------------------------------------
# por-v3: per-asset trees of split fragments with equity and debt (schemas/por-v3.md)


@dataclass(frozen=True)
class ShapeV3:
    """One por-v3 vector set: assets (symbol -> decimals), users ({symbol: (equity, debt)}), parameters,
    bucket bits (None: each tree's default), focus user (the worked example and the mutations)."""

    name: str
    assets: dict[str, int]
    users: dict[str, dict[str, tuple[int, int]]]
    bucket_bits: int | None
    focus: str
    fragments: int = 2
    padding: int = 25


_MANY = {f"A{i:02d}": (6, 8, 18)[i % 3] for i in range(22)}
SHAPES_V3 = [
    # 3 assets, k = 3 in every tree, users with equity and debt, one user holding nothing
    ShapeV3("basic", {"BTC": 8, "ETH": 18, "USDT": 6}, {
        "alice": {"BTC": (150_000_000, 0), "USDT": (250_000_000, 1_000_000_000)},
        "bob": {"USDT": (1_000_000_000, 0)},
        "carol": {"BTC": (1, 1), "ETH": (1, 0), "USDT": (1, 0)},
        "dave": {},
        "erin": {"BTC": (21_000_000 * 100_000_000, 0), "USDT": (5, 0)},
        "frank": {"BTC": (0, 50_000_000), "ETH": ((1 << 126) + 12345, 0)},
        "grace": {"BTC": (42, 0), "USDT": (10**20, 3)},
    }, 3, "alice"),
    # one user, one asset: a tree of 4 096 leaves, all but two of them padding (default k = 0)
    ShapeV3("one-holder", {"BTC": 8}, {"solo": {"BTC": (123_456_789, 1_000)}}, None, "solo"),
    # 22 assets, default k: 22 trees
    ShapeV3("many-assets", _MANY, {
        f"user-{i}": {s: ((i * 7919 + j * 104729) % 10**12 + 1, (i + 1) * 1000 * (j % 5 == 0))
                      for j, s in enumerate(sorted(_MANY)) if (i * 5 + j) % 4 == 0}
        for i in range(6)
    } | {"empty": {}, "focus": {"A01": (5, 0), "A10": (10**18, 3 * 10**17), "A21": (0, 77)}}, None, "focus"),
    # equity and debt totals within 2^101 of 2^128 (and a debt total 12 below it)
    ShapeV3("near-u128-limit", {"ETH": 18, "WEI": 0}, {
        "whale-1": {"ETH": (U128 // 2 - (1 << 100), U128 // 4), "WEI": (1, U128 // 2 - 5)},
        "whale-2": {"ETH": (U128 // 2 - (1 << 100), U128 // 2 - (1 << 99)), "WEI": (U128 - (1 << 101), U128 // 2 - 7)},
        "minnow": {"ETH": (1, 0)},
    }, 1, "whale-1"),
    # three fragments per holding, padding up to 100 % of the fragments, k = 2
    ShapeV3("s3-p100", {"BTC": 8, "USDC": 6}, {
        "ann": {"BTC": (5_000_000_000, 0), "USDC": (0, 12_345_678_900)},
        "ben": {"USDC": (7, 7)},
        "cat": {"BTC": (1, 0)},
        "dan": {"BTC": (99_999_999, 1), "USDC": (10**12, 0)},
        "eve": {},
    }, 2, "ann", fragments=3, padding=100),
]


def _ref_v3() -> Any:
    """tests/support/ref_v3.py (the repository root on the path: this script runs from schemas/)."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from tests.support import ref_v3

    return ref_v3


def _build_v3(shape: ShapeV3) -> Any:
    from pipeline.protocol import v3

    return _ref_v3().build_v3(shape.users, list(shape.assets.items()), protocol.SecretKey(TEST_SECRET), PERIOD,
                              v3.Parameters(shape.fragments, shape.padding), shape.bucket_bits)


def _bucket_problem(proof: dict[str, Any]) -> str | None:
    """Step 8's shape checks of a (mutated) proof, fragment by fragment: the check the first fragment
    off its tree's shape fails (``path-length`` or ``position``), or None."""
    from pipeline.protocol import v3

    uk = protocol.user_key(bytes.fromhex(proof["nonce"]), proof["period"], proof["user_id"])
    symbols = [a["symbol"] for a in proof["assets"]]
    for holding in proof["holdings"]:
        tree = proof["trees"][symbols.index(holding["asset"])]
        k, h = tree["bucket_bits"], tree["bucket_height"]
        for i, fragment in enumerate(holding["fragments"]):
            if len(fragment["path"]) != k + h:
                return "path-length"
            key = v3.fragment_key(uk, holding["asset"], i)
            if fragment["position"] >= 1 << (k + h) or fragment["position"] >> h != protocol.bucket_of(key, k):
                return "position"
    return None


def _first_overflow(proof: dict[str, Any]) -> int | None:
    """The level at which the first fragment (holdings in order) whose sums reach 2^128 on the way up
    does so (step 8 folds fragment by fragment), or None."""
    for holding in proof["holdings"]:
        for fragment in holding["fragments"]:
            e, d = int(fragment["equity"]), int(fragment["debt"])
            for level, node in enumerate(fragment["path"]):
                e, d = e + int(node["equity"]), d + int(node["debt"])
                if e >= U128 or d >= U128:
                    return level
    return None


def _v3_fold(proof: dict[str, Any], j: int) -> dict[str, str]:
    """The root the first fragment of holding ``j`` folds to (a forger's self-consistent root)."""
    from pipeline.protocol import v3

    holding = proof["holdings"][j]
    uk = protocol.user_key(bytes.fromhex(proof["nonce"]), proof["period"], proof["user_id"])
    fragment = holding["fragments"][0]
    e, d = int(fragment["equity"]), int(fragment["debt"])
    hx = v3.leaf_hash(v3.fragment_key(uk, holding["asset"], 0), e, d)
    for level, node in enumerate(fragment["path"]):
        sib = (bytes.fromhex(node["hash"]), int(node["equity"]), int(node["debt"]))
        left, right = ((hx, e, d), sib) if (fragment["position"] >> level) & 1 == 0 else (sib, (hx, e, d))
        hx = v3.node_hash(left[0], left[1:], right[0], right[1:])
        e, d = left[1] + right[1], left[2] + right[2]
    return {"hash": hx.hex(), "equity": str(e), "debt": str(d)}


def _v3_commitment(proof: dict[str, Any]) -> str:
    from pipeline.protocol import v3

    return v3.commitment(proof["period"], v3.Parameters(**proof["parameters"]),
                         [(a["symbol"], a["decimals"]) for a in proof["assets"]],
                         [v3.TreeRoot(t["bucket_bits"], t["bucket_height"], bytes.fromhex(t["root"]["hash"]),
                                      int(t["root"]["equity"]), int(t["root"]["debt"])) for t in proof["trees"]]).hex()


def _flip(hex_value: str, byte: int = 0, bit: int = 0) -> str:
    raw = bytearray(bytes.fromhex(hex_value))
    raw[byte] ^= 1 << bit
    return raw.hex()


def _v3_mutations(proof: dict[str, Any], manifest: dict[str, Any], forged: dict[str, Any]) -> list[dict[str, Any]]:
    """Named mutations of a valid por-v3 proof, each with the check a correct verifier must fail with the
    manifest (``expected``) and with the announced value alone (``expected_announced``); a mutation the
    protocol accepts says ``valid: true`` (``holding-omitted``: an omitted holding verifies as zero)."""
    out: list[dict[str, Any]] = []
    symbols = [a["symbol"] for a in proof["assets"]]
    held = [symbols.index(x["asset"]) for x in proof["holdings"]]
    not_held = [j for j in range(len(symbols)) if j not in held]
    s = proof["parameters"]["fragments"]
    first = proof["holdings"][0]
    j0 = held[0]
    k0, h0 = proof["trees"][j0]["bucket_bits"], proof["trees"][j0]["bucket_height"]
    with_debt = next(n for n, x in enumerate(proof["holdings"]) if int(x["debt"]) > 0)

    def add(name: str, mutated: dict[str, Any], check: str | None, announced: str | None = "same",
            level: int | None = None) -> None:
        def verdict(c: str | None) -> dict[str, Any]:
            return {"valid": c is None, "check": c, "level": level if c is not None else None}
        out.append({"name": name, "proof": mutated, "expected": verdict(check),
                    "expected_announced": verdict(check if announced == "same" else announced)})

    def copy_() -> dict[str, Any]:
        return copy.deepcopy(proof)

    # amounts and hashes: what the exchange could shift inside a proof
    p = copy_()
    x = p["holdings"][with_debt]
    x["equity"], x["debt"] = str(int(x["equity"]) + int(x["debt"])), "0"
    for f in x["fragments"]:
        f["equity"], f["debt"] = str(int(f["equity"]) + int(f["debt"])), "0"
    overflow_at = _first_overflow(p)  # near 2^128, the moved debt takes the equity sum past the limit
    add("debt-moved-to-equity", p, "root-hash" if overflow_at is None else "sum-overflow", level=overflow_at)
    p = copy_()
    x = p["holdings"][with_debt]
    x["equity"], x["debt"] = str(int(x["equity"]) + int(x["debt"])), "0"
    add("debt-moved-to-equity-in-the-holding-only", p, "holding-sum")
    p = copy_()
    f = p["holdings"][0]["fragments"][0]
    delta = 1 if int(f["equity"]) < U128 - 1 and int(first["equity"]) < U128 - 1 else -1
    f["equity"] = str(int(f["equity"]) + delta)
    p["holdings"][0]["equity"] = str(int(first["equity"]) + delta)
    add("fragment-equity-changed", p, "root-hash")
    p = copy_()
    f = p["holdings"][with_debt]["fragments"][-1]
    debt_delta = 1 if int(f["debt"]) < U128 - 1 else -1
    f["debt"] = str(int(f["debt"]) + debt_delta)
    p["holdings"][with_debt]["debt"] = str(int(p["holdings"][with_debt]["debt"]) + debt_delta)
    add("fragment-debt-changed", p, "root-hash")
    p = copy_()
    p["holdings"][0]["equity"] = _changed(first["equity"])
    add("holding-sum-changed", p, "holding-sum")
    p = copy_()
    p["holdings"][with_debt]["debt"] = _changed(proof["holdings"][with_debt]["debt"])
    add("holding-debt-sum-changed", p, "holding-sum")
    last = s - 1
    for level in sorted({0, len(first["fragments"][last]["path"]) - 1}):
        if not first["fragments"][last]["path"]:
            break
        node = first["fragments"][last]["path"][level]
        p = copy_()
        p["holdings"][0]["fragments"][last]["path"][level]["debt"] = _changed(node["debt"])
        add(f"sibling-debt-changed-level-{level}", p, "root-hash")
        p = copy_()
        p["holdings"][0]["fragments"][last]["path"][level]["equity"] = _changed(node["equity"])
        add(f"sibling-equity-changed-level-{level}", p, "root-hash")
        p = copy_()
        p["holdings"][0]["fragments"][last]["path"][level]["hash"] = _flip(node["hash"], level % 32)
        add(f"sibling-hash-changed-level-{level}", p, "root-hash")
    by_name = {m["name"]: m for m in out}
    if "sibling-debt-changed-level-0" in by_name:  # the names the spec lists
        for base in ("sibling-debt-changed", "sibling-hash-changed"):
            twin = copy.deepcopy(by_name[f"{base}-level-0"])
            twin["name"] = base
            out.append(twin)
    # sum splitting: move one unit of equity between two levels' siblings of one fragment
    path = first["fragments"][0]["path"]
    split = next((lv for lv in range(len(path) - 1) if int(path[lv]["equity"]) > 0 and int(path[lv + 1]["equity"]) < U128 - 1), None)
    if split is not None:
        p = copy_()
        q = p["holdings"][0]["fragments"][0]["path"]
        q[split]["equity"], q[split + 1]["equity"] = str(int(q[split]["equity"]) - 1), str(int(q[split + 1]["equity"]) + 1)
        add("sum-splitting", p, "root-hash")
    if path:
        p = copy_()
        p["holdings"][0]["fragments"][0]["path"][0]["equity"] = str(U128 - 1)
        overflow = int(first["fragments"][0]["equity"]) > 0
        add("sibling-equity-overflow", p, "sum-overflow" if overflow else "root-hash", level=0 if overflow else None)
    p = copy_()
    for f in p["holdings"][0]["fragments"]:
        f["equity"] = str(U128 - 1)
    add("fragments-sum-overflow", p, "sum-overflow")

    # fragments
    p = copy_()
    p["holdings"][0]["fragments"].pop()
    add("fragment-dropped", p, "fragments")
    p = copy_()
    p["holdings"][0]["fragments"][1] = copy.deepcopy(first["fragments"][0])
    add("fragment-duplicated", p, "fragments")
    p = copy_()
    p["holdings"][0]["fragments"].append(copy.deepcopy(first["fragments"][0]))
    add("fragment-appended", p, "fragments")
    p = copy_()  # more fragments than any s: refused while reading (format), before any fragment is read
    p["holdings"][0]["fragments"] = [{"equity": "0", "debt": "0", "position": n, "path": []} for n in range(9)]
    add("fragments-9", p, "format")
    p = copy_()
    fr = p["holdings"][0]["fragments"]
    fr[0], fr[1] = fr[1], fr[0]
    add("fragments-swapped", p, _bucket_problem(p) or "root-hash")
    if len(held) >= 2:
        # one of another asset's fragments in the place of this asset's first: the sums made consistent
        p = copy_()
        donor = copy.deepcopy(proof["holdings"][1]["fragments"][0])
        x = p["holdings"][0]
        x["equity"] = str(int(x["equity"]) - int(x["fragments"][0]["equity"]) + int(donor["equity"]))
        x["debt"] = str(int(x["debt"]) - int(x["fragments"][0]["debt"]) + int(donor["debt"]))
        x["fragments"][0] = donor
        if (int(x["equity"]), int(x["debt"])) == (0, 0):
            expected = "holdings"
        else:
            expected = _bucket_problem(p) or "root-hash"
        add("fragment-in-other-asset", p, expected)

    # positions and paths
    f0 = first["fragments"][0]
    height = k0 + h0
    if h0 > 0:
        p = copy_()
        p["holdings"][0]["fragments"][0]["position"] = f0["position"] ^ 1
        clash = any(f["position"] == f0["position"] ^ 1 for f in first["fragments"][1:])
        add("position-changed", p, "fragments" if clash else "root-hash")
    if k0 > 0:
        p = copy_()
        p["holdings"][0]["fragments"][0]["position"] = f0["position"] ^ (1 << h0)
        clash = any(f["position"] == f0["position"] ^ (1 << h0) for f in first["fragments"][1:])
        add("position-other-bucket", p, "fragments" if clash else "position")
    p = copy_()
    p["holdings"][0]["fragments"][0]["position"] = f0["position"] + (1 << height)
    add("position-outside-tree", p, "position")
    for name, value in (("position-negative", -1), ("position-2^53", 1 << 53), ("position-not-integer", "0"),
                        ("position-boolean", False)):
        p = copy_()
        p["holdings"][0]["fragments"][0]["position"] = value
        add(name, p, "format")
    p = copy_()
    p["holdings"][0]["fragments"][0]["path"].append({"hash": "00" * 32, "equity": "0", "debt": "0"})
    add("path-too-long", p, "path-length")
    if height:
        p = copy_()
        p["holdings"][0]["fragments"][0]["path"].pop()
        add("path-too-short", p, "path-length")
    p = copy_()
    p["holdings"][0]["fragments"][0]["path"] = [{"hash": "00" * 32, "equity": "0", "debt": "0"}] * 65
    add("path-65-entries", p, "path-length")

    # holdings
    if len(held) >= 2:
        p = copy_()
        p["holdings"][0], p["holdings"][1] = p["holdings"][1], p["holdings"][0]
        add("holdings-out-of-order", p, "holdings")
    p = copy_()
    p["holdings"].append(copy.deepcopy(first))
    add("holding-repeated", p, "holdings")
    p = copy_()
    x = p["holdings"][0]
    x["equity"] = x["debt"] = "0"
    for f in x["fragments"]:
        f["equity"] = f["debt"] = "0"
    add("holding-zero", p, "holdings")
    p = copy_()
    p["holdings"][-1]["asset"] = "~UNLISTED"
    add("unknown-asset", p, "holdings")
    p = copy_()  # more holdings than assets can be: refused while reading (format), before any holding is read
    p["holdings"] = [{"asset": first["asset"], "equity": "1", "debt": "0", "fragments": []}] * 256
    add("holdings-256", p, "format")
    # an omitted holding verifies: the asset is shown at zero for this user (who compares it with their account)
    p = copy_()
    omitted = p["holdings"].pop(0)
    add("holding-omitted", p, None)
    # but not with another root for that asset: the announced value pins every asset's root
    p = copy_()
    p["holdings"].pop(0)
    j = symbols.index(omitted["asset"])
    tree = p["trees"][j]["root"]
    tree["equity"] = str(int(tree["equity"]) - int(omitted["equity"]))
    tree["debt"] = str(int(tree["debt"]) - int(omitted["debt"]))
    tree["hash"] = _flip(tree["hash"], 1)
    add("holding-omitted-other-asset-root-changed", p, "commitment")
    for j in not_held[:1]:
        p = copy_()
        p["trees"][j]["root"]["hash"] = _flip(proof["trees"][j]["root"]["hash"], 2)
        add("other-asset-root-changed", p, "commitment")
        p = copy_()
        p["trees"][j]["root"]["equity"] = _changed(proof["trees"][j]["root"]["equity"])
        add("other-asset-root-equity-changed", p, "commitment")
        p = copy_()
        p["trees"][j]["root"]["debt"] = _changed(proof["trees"][j]["root"]["debt"])
        add("other-asset-root-debt-changed", p, "commitment")
    # the proof's own roots and commitment
    p = copy_()
    p["trees"][j0]["root"]["hash"] = _flip(proof["trees"][j0]["root"]["hash"], 3)
    add("proof-root-field-differs", p, "proof-root")
    p = copy_()
    p["trees"][j0]["root"]["debt"] = _changed(proof["trees"][j0]["root"]["debt"])
    add("proof-root-debt-differs", p, "proof-root")
    p = copy_()
    p["commitment"] = _flip(proof["commitment"], 0)
    add("commitment-field-differs", p, "proof-root")
    # a forged proof consistent in itself: the focus user's proof from a tree built over another snapshot (one
    # more unit of their first holding), with that tree's roots and C; only the published C exposes it
    add("root-from-proof", forged, "root-hash", "commitment")

    # parameters and shape
    p = copy_()
    p["parameters"]["fragments"] = s + 1 if s < 8 else s - 1
    add("parameters-changed", p, "parameters", "fragments")
    p = copy_()
    p["parameters"]["padding"] = proof["parameters"]["padding"] + 1 if proof["parameters"]["padding"] < 100 else 99
    add("padding-changed", p, "parameters", "commitment")
    for name, key, value in (("fragments-1", "fragments", 1), ("fragments-parameter-9", "fragments", 9),
                             ("padding-101", "padding", 101), ("padding-negative", "padding", -1),
                             ("padding-not-integer", "padding", "25")):
        p = copy_()
        p["parameters"][key] = value
        add(f"parameters-{name}", p, "format")
    if h0 > 0 and k0 < 24:
        p = copy_()
        p["trees"][j0]["bucket_bits"], p["trees"][j0]["bucket_height"] = k0 + 1, h0 - 1
        add("shape-changed", p, "shape", _bucket_problem(p) or "commitment")
    for j in not_held[:1]:
        t = proof["trees"][j]
        p = copy_()
        p["trees"][j]["bucket_bits"] = t["bucket_bits"] + 1 if t["bucket_bits"] < 24 else t["bucket_bits"] - 1
        add("other-asset-shape-changed", p, "shape", "commitment")
    p = copy_()
    p["trees"][j0]["bucket_bits"] = 25
    add("bucket-bits-25", p, "format")
    p = copy_()
    p["trees"][j0]["bucket_height"] = 65 - p["trees"][j0]["bucket_bits"]
    add("tree-higher-than-64", p, "format")
    p = copy_()
    p["trees"].pop()
    add("tree-missing", p, "format")

    # labels, decimals, order: pinned by C
    p = copy_()
    last_j = len(symbols) - 1
    p["assets"][last_j]["symbol"] += "X"  # still the greatest symbol: the order stays valid
    for x in p["holdings"]:
        if x["asset"] == symbols[last_j]:
            x["asset"] += "X"
    add("label-renamed", p, "assets", (_bucket_problem(p) or "root-hash") if last_j in held else "commitment")
    p = copy_()
    p["assets"][last_j]["symbol"] += "X"
    add("label-renamed-not-in-holdings", p, "assets", "holdings" if last_j in held else "commitment")
    if len(symbols) >= 2:
        p = copy_()
        first_d, second_d = p["assets"][0]["decimals"], p["assets"][1]["decimals"]
        p["assets"][0]["decimals"], p["assets"][1]["decimals"] = second_d, first_d
        if first_d != second_d:
            add("labels-swapped-decimals", p, "assets", "commitment")
        p = copy_()
        p["assets"] = [{"symbol": symbols[0], "decimals": a["decimals"]} for a in proof["assets"]]
        add("all-labels-the-same", p, "format")
        p = copy_()
        p["assets"][0], p["assets"][1] = p["assets"][1], p["assets"][0]
        add("wrong-asset-order", p, "format")
    p = copy_()
    p["assets"][0]["decimals"] = (proof["assets"][0]["decimals"] + 2) % 39
    add("decimals-changed", p, "assets", "commitment")
    for name, value in (("decimals-negative", -1), ("decimals-39", 39), ("decimals-2^53", 1 << 53),
                        ("decimals-not-integer", "8")):
        p = copy_()
        p["assets"][0]["decimals"] = value
        add(name, p, "format")
    p = copy_()
    p["assets"].append({"symbol": "ZZZ", "decimals": 0})
    add("asset-added", p, "format")  # one tree per asset
    p = copy_()
    p["assets"].append({"symbol": "ZZZ", "decimals": 0})
    p["trees"].append(copy.deepcopy(proof["trees"][0]))
    add("asset-and-tree-added", p, "assets", "commitment")

    # identity, period, version
    p = copy_()
    p["user_id"] = proof["user_id"] + "x"
    add("user-id-changed", p, _bucket_problem(p) or "root-hash")
    p = copy_()
    p["user_id"] = "e\u0301"
    add("user-id-not-nfc", p, "format")
    p = copy_()
    p["nonce"] = _flip(proof["nonce"], 31, 7)
    add("nonce-changed", p, _bucket_problem(p) or "root-hash")
    p = copy_()
    p["nonce"] = proof["nonce"].upper()
    add("nonce-uppercase", p, "format")
    p = copy_()
    p["period"] = "2026-10"
    add("wrong-period", p, "period", _bucket_problem(p) or "root-hash")
    p = copy_()
    p["period"] = "2026-13"
    add("period-invalid", p, "period")
    p = copy_()
    p["version"] = "por-v0"
    add("wrong-version", p, "version")
    p = copy_()
    p["version"] = "por-v2"
    add("version-por-v2", p, "format")  # read as por-v2: not a por-v2 proof

    # fields and numbers
    p = copy_()
    p["balances"] = []
    add("unknown-field", p, "format")
    p = copy_()
    del p["nonce"]
    add("field-missing", p, "format")
    p = copy_()
    p["holdings"][0]["fragments"][0]["note"] = ""
    add("fragment-unknown-field", p, "format")
    p = copy_()
    del p["holdings"][0]["debt"]
    add("holding-field-missing", p, "format")
    for name, value in (("negative", "-1"), ("leading-zero", "01"), ("plus-sign", "+1"), ("space", " 1"),
                        ("fraction", "1.0"), ("exponent", "1e3"), ("2^128", str(U128)), ("number-not-string", 1)):
        p = copy_()
        p["holdings"][0]["fragments"][0]["equity"] = value
        add(f"fragment-equity-{name}", p, "number")
        p = copy_()
        p["holdings"][0]["debt"] = value
        add(f"holding-debt-{name}", p, "number")
        if height:
            p = copy_()
            p["holdings"][0]["fragments"][0]["path"][0]["debt"] = value
            add(f"path[0].debt-{name}", p, "number", level=0)
    return out


V3_EVERY_SHAPE_FORMAT = frozenset({"wrong-asset-order", "all-labels-the-same", "version-por-v2", "asset-added"})
"""Reading mutations (``format``, ``number``) kept in every shape; the others are in ``basic`` only: they
do not depend on the shape, and each mutation carries a whole proof."""


def _dump_lines(path: str, items: list[Any]) -> None:
    """A JSON array with one compact item per line (sorted keys): the mutations, whole proofs each."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(i, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                                     for i in items) + "\n]\n")


def _check_mutations(mutations: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    """The reference verifier agrees with every stated verdict, or no vector is written."""
    for m in mutations:
        for key, kwargs in (("expected", {"manifest": manifest}), ("expected_announced", {"root_hash": manifest["commitment"]})):
            want = m[key]
            try:
                verify_proof(m["proof"], **kwargs)
            except VerificationError as exc:
                got = {"valid": False, "check": str(exc.check), "level": exc.level}
            else:
                got = {"valid": True, "check": None, "level": None}
            if got != want:
                raise AssertionError(f"{manifest['trees'][0]['asset']}…: mutation {m['name']} ({key}): stated {want}, the verifier says {got}")


def _worked_example_v3(shape: ShapeV3, build: Any) -> str:
    """Every intermediate value of por-v3 for the focus user of ``basic``, and every byte of ``C``."""
    from pipeline.protocol import v3

    ref = _ref_v3()
    secret = protocol.SecretKey(TEST_SECRET)
    k_nonce, k_pad = v3.period_keys(secret, PERIOD)
    uid = shape.focus
    user = build.store.users[uid]
    proof = build.proofs[uid]
    params = v3.Parameters(shape.fragments, shape.padding)
    rows: list[tuple[str, str]] = [
        ("S (public test secret)", TEST_SECRET.hex()),
        ("P", PERIOD),
        ('K_nonce = D("por-v3 user nonce key", S ‖ P)', k_nonce.reveal().hex()),
        ('K_pad = D("por-v3 padding key", S ‖ P)', k_pad.reveal().hex()),
        ('K_node = D("por-v3 node key", "")', v3.NODE_KEY.hex()),
        ("U", uid),
        ("nonce = Hk(K_nonce, U)", user.nonce.hex()),
        ("lp(P) ‖ U", (v3.lp(PERIOD) + uid.encode()).hex()),
        ("uk = Hk(nonce, lp(P) ‖ U)", user.uk.hex()),
        ("s (fragments), p (padding %)", f"{params.fragments}, {params.padding}"),
    ]
    sections = []
    for j, e, d in user.holdings:
        tree = build.store.trees[j]
        symbol = tree.asset
        k, h = tree.bucket_bits, tree.bucket_height
        q = v3.padding_share(k_pad, symbol)
        hrows: list[tuple[str, str]] = [
            (f"holding (e, d) in {symbol}", f"({e}, {d})"),
            (f"q[{symbol}] = Hk(K_pad, 0x04 ‖ lp(symbol))", blake3(b"\x04" + v3.lp(symbol), key=k_pad.reveal()).hexdigest()),
            ("Q = first 8 bytes of q as u64be", str(q)),
            ("F (fragments in the tree)", str(tree.fragments)),
            ("X = max(0, 4096 − F) + floor(F · p · Q / (100 · 2^64))", str(tree.padding_leaves)),
            ("L = F + X leaves; k, h", f"{tree.leaf_count}; k = {k}, h = {h}"),
            (f"pk[{symbol},0] = Hk(K_pad, 0x03 ‖ lp(symbol) ‖ u64be(0))", v3.padding_leaf_key(k_pad, symbol, 0).hex()),
            ("padding leaf 0 hash = Hk(pk, u128be(0) ‖ u128be(0))", v3.leaf_hash(v3.padding_leaf_key(k_pad, symbol, 0), 0, 0).hex()),
            (f"padding node message (level {h}, index 0) 0x02 ‖ lp(symbol) ‖ u8(level) ‖ u64be(index)",
             v3.padding_message(symbol, h, 0).hex()),
            ("padding node hash Hk(K_pad, …)", v3.padding_hash(k_pad, symbol, h, 0).hex()),
        ]
        for t, name, amount in ((v3.EQUITY, "equity", e), (v3.DEBT, "debt", d)):
            for i in range(1, params.fragments):
                msg = v3.split_message(symbol, t, i)
                r = blake3(msg, key=user.uk).digest()
                hrows += [(f"r[{symbol},{t},{i}] message 0x01 ‖ lp(symbol) ‖ u8({t}) ‖ u8({i})", msg.hex()),
                          (f"r[{symbol},{t},{i}] = Hk(uk, …)", r.hex()),
                          (f"c_{i} = floor(({name} + 1) · R_{i} / 2^128)", str(v3.cut(amount, r)))]
            hrows.append((f"{name} parts (fragment 0..{params.fragments - 1})",
                          ", ".join(map(str, v3.split(amount, user.uk, symbol, t, params.fragments)))))
        holding = next(x for x in proof["holdings"] if x["asset"] == symbol)
        for i, fragment in enumerate(holding["fragments"]):
            fk_msg = v3.fragment_message(symbol, i)
            fk = v3.fragment_key(user.uk, symbol, i)
            fe, fd = int(fragment["equity"]), int(fragment["debt"])
            hrows += [(f"fragment {i}: fk message 0x00 ‖ lp(symbol) ‖ u8({i})", fk_msg.hex()),
                      (f"fragment {i}: fk = Hk(uk, …)", fk.hex()),
                      (f"fragment {i}: bucket = first {k} bits of fk", str(protocol.bucket_of(fk, k))),
                      (f"fragment {i}: position = bucket · 2^h + rank", str(fragment["position"])),
                      (f"fragment {i}: leaf message u128be(equity) ‖ u128be(debt)", v3.leaf_message(fe, fd).hex()),
                      (f"fragment {i}: leaf hash Hk(fk, …)", v3.leaf_hash(fk, fe, fd).hex())]
            cur = (v3.leaf_hash(fk, fe, fd), fe, fd)
            for level, node in enumerate(fragment["path"]):
                sib = (bytes.fromhex(node["hash"]), int(node["equity"]), int(node["debt"]))
                left, right = (cur, sib) if (fragment["position"] >> level) & 1 == 0 else (sib, cur)
                msg = v3.node_message(left[0], left[1:], right[0], right[1:])
                cur = (v3.node_hash(left[0], left[1:], right[0], right[1:]), left[1] + right[1], left[2] + right[2])
                side = "left" if left is not sib else "right"
                hrows += [(f"fragment {i}: level {level} node message (current node on the {side})", msg.hex()),
                          (f"fragment {i}: level {level + 1} node = Hk(K_node, …), equity, debt", f"{cur[0].hex()}, {cur[1]}, {cur[2]}")]
        hrows.append((f"root of {symbol}: hash, equity E, debt B", f"{tree.root[0].hex()}, {tree.root[1]}, {tree.root[2]}"))
        sections.append((symbol, hrows))
    # C, byte by byte
    manifest = build.manifest
    crow: list[tuple[str, str]] = [("0x04 (tag)", "04"), ('lp("por-v3")', v3.lp(v3.VERSION).hex()),
                                   (f'lp("{PERIOD}")', v3.lp(PERIOD).hex()),
                                   (f"u8(s) = {params.fragments} ‖ u8(p) = {params.padding} ‖ u8(m) = {len(manifest['assets'])}",
                                    bytes([params.fragments, params.padding, len(manifest["assets"])]).hex())]
    for a, t in zip(manifest["assets"], manifest["trees"], strict=True):
        crow += [(f'lp("{a["symbol"]}") ‖ u8(decimals) = {a["decimals"]} ‖ u8(k) = {t["bucket_bits"]} ‖ u8(h) = {t["bucket_height"]}',
                  (v3.lp(a["symbol"]) + bytes([a["decimals"], t["bucket_bits"], t["bucket_height"]])).hex()),
                 (f"root hash of {a['symbol']}", t["root"]["hash"]),
                 (f"u128be(E) = {t['root']['equity']} ‖ u128be(B) = {t['root']['debt']}",
                  (protocol.u128be(int(t["root"]["equity"])) + protocol.u128be(int(t["root"]["debt"]))).hex())]
    roots = [v3.TreeRoot(t["bucket_bits"], t["bucket_height"], bytes.fromhex(t["root"]["hash"]), int(t["root"]["equity"]),
                         int(t["root"]["debt"])) for t in manifest["trees"]]
    assets = [(a["symbol"], a["decimals"]) for a in manifest["assets"]]
    message = v3.commitment_message(PERIOD, params, assets, roots)
    assert b"".join(bytes.fromhex(v) for _, v in crow) == message
    crow += [(f"the whole message ({len(message)} bytes)", message.hex()),
             ("C = H(message)", v3.commitment(PERIOD, params, assets, roots).hex()),
             ("manifest commitment", manifest["commitment"])]

    def table(title: str, items: list[tuple[str, str]]) -> list[str]:
        return ["", f"## {title}", "", "| quantity | value |", "|---|---|", *(f"| {n} | `{v}` |" for n, v in items)]

    lines = ["# por-v3 worked example (generated by schemas/generate_vectors.py; do not edit)", "",
             f"Snapshot: `{shape.name}/snapshot.json`, user `{uid}` (holdings {', '.join(s for s, _ in sections)}; "
             f"every other asset is held at zero and has no fragments). The secret is a public test value.",
             "Hex strings are lowercase; `‖` is concatenation; `Hk(k, x)` is keyed BLAKE3, `D` BLAKE3's key derivation.",
             f"Built by the reference builder `tests/support/{ref.__name__.rsplit('.', 1)[-1]}.py`."]
    lines += table("Keys", rows)
    for symbol, hrows in sections:
        lines += table(f"Asset {symbol}: padding, split, fragments, path", hrows)
    lines += table("The announced value C, every byte", crow)
    return "\n".join(lines) + "\n"


def _forged_v3(shape: ShapeV3) -> dict[str, Any]:
    """The focus user's proof from a whole other build: one more unit (one less at the limit) of their first
    holding's equity. Its paths, roots and C are consistent with each other."""
    users = copy.deepcopy(shape.users)
    symbol = min(users[shape.focus], key=str.encode)
    equity, debt = users[shape.focus][symbol]
    users[shape.focus][symbol] = (equity + 1 if equity < U128 // 2 else equity - 1, debt)
    return dict(_build_v3(replace(shape, users=users)).proofs[shape.focus])


def _generate_v3(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    ref = _ref_v3()
    for shape in SHAPES_V3:
        build = _build_v3(shape)
        target = os.path.join(out, shape.name)
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, "manifest.json"), "wb") as f:
            f.write(ref.canonical(build.manifest))
        with open(os.path.join(target, "top-tree.json"), "wb") as f:
            f.write(ref.canonical(build.top_tree))
        _dump(os.path.join(target, "snapshot.json"), {
            "period": PERIOD,
            "bucket_bits": shape.bucket_bits,
            "bucket_bits_note": "null: every tree has its default k (schemas/por-v3.md section 5)",
            "parameters": {"fragments": shape.fragments, "padding": shape.padding},
            "secret_hex": TEST_SECRET.hex(),
            "secret_note": "public test-only secret: blake3 of a fixed label; it protects nothing",
            "assets": shape.assets,
            "users": [{"user_id": u, "holdings": {s: {"equity": str(e), "debt": str(d)} for s, (e, d) in sorted(h.items())}}
                      for u, h in shape.users.items()],
        })
        proofs = [build.proofs[u] for u in sorted(build.proofs)]
        for proof in proofs:
            verify_proof(proof, manifest=build.manifest, user_id=proof["user_id"])
            verify_proof(proof, root_hash=build.manifest["commitment"])
        _dump(os.path.join(target, "proofs.json"), proofs)
        mutations = _v3_mutations(build.proofs[shape.focus], build.manifest, _forged_v3(shape))
        if shape.name != "basic":
            mutations = [m for m in mutations if m["expected"]["check"] not in ("format", "number")
                         or m["name"] in V3_EVERY_SHAPE_FORMAT]
        names = [m["name"] for m in mutations]
        assert len(set(names)) == len(names), sorted(n for n in names if names.count(n) > 1)
        _check_mutations(mutations, build.manifest)
        _dump_lines(os.path.join(target, "mutations.json"), mutations)
        if shape.name == "basic":
            with open(os.path.join(out, "worked-example.md"), "w", encoding="utf-8") as f:
                f.write(_worked_example_v3(shape, build))


if __name__ == "__main__":
    args = sys.argv[1:]
    only: tuple[str, ...] = (*VERSIONS, V3)
    if "--versions" in args:  # python schemas/generate_vectors.py DIR --versions por-v3 (what the fast test runs)
        at = args.index("--versions")
        only = tuple(args[at + 1].split(","))
        del args[at:at + 2]
    generate(args[0] if args else DEFAULT_OUT, only)
