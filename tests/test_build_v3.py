"""The por-v3 Dask build against the reference builder (tests/support/ref_v3.py), on a real cluster and real
Parquet files: manifest, top tree, every proof and the private store byte for byte; independence of the
cluster, the files and the row order; prove, export-proofs with complete_proof, and the structural
audit, which must fail, naming what, on every tampered private store."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import AuditError, BadInputData, BuildInterrupted, InputError
from pipeline.formats import layout
from pipeline.formats.bucket_file import V3_COLUMNS, decode_bucket, encode_bucket
from pipeline.formats.canonical import canonical_json, digest
from pipeline.formats.manifest import AssetTree, manifest_v3, top_tree_v3
from pipeline.formats.nodes import pair_json, pairs_from_json, pairs_json
from pipeline.formats.users_file import decode_users, encode_users
from pipeline.liabilities.audit import audit_bundle
from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.export import complete_proof, export_proofs, fragment_partition, user_partition
from pipeline.liabilities.proofs import make_proof
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.mapping import local_mapper
from pipeline.protocol import v3
from pipeline.protocol.keys import SecretKey
from pipeline.protocol.verify import verify_proof
from pipeline.storage.bundle import open_bundle
from pipeline.tree import fragments as frag
from pipeline.tree.fold import V3_NODES, build_bucket, build_top
from pipeline.tree.shape import positions
from pipeline.tree.sums import amounts_to_sums
from tests.support.ref_v3 import build_v3 as reference_build
from tests.support.snapshots import EXACT, write_assets, write_secret

pytestmark = pytest.mark.integration
PERIOD = "2026-11"
SECRET = SecretKey(bytes(range(32)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "schemas", "vectors", "por-v3")
LIMIT = 1 << 128


# ------------------------------------------------------------------ snapshots as real Parquet files


def _column(values: list[int], decimals: int) -> pa.Array:
    """Exact whole units (decimal256): any amount below 2^128 in smallest units."""
    return pa.array([Decimal(v).scaleb(-decimals, EXACT) for v in values], pa.decimal256(76, decimals))


def write_snapshot(directory: str, users: dict[str, dict[str, tuple[int, int]]], assets: list[tuple[str, int]],
                   files: int = 1, seed: int | None = None, layout_: str = "wide", debt_as_negative: bool = False) -> str:
    """``{user: {symbol: (equity, debt)}}`` as real Parquet: wide (``SYM`` and ``SYM:debt`` columns, or a
    negative amount for debt when ``debt_as_negative`` and the user has no equity there) or long
    (``user_id, asset, equity, debt``); ``files`` files; rows shuffled with ``seed``."""
    os.makedirs(directory, exist_ok=True)
    write_assets(directory, dict(assets))
    ids = list(users)
    if seed is not None:
        random.Random(seed).shuffle(ids)
    chunks = [ids[i::files] for i in range(files)]
    for f, chunk in enumerate(chunks):
        if layout_ == "wide":
            cols: dict[str, pa.Array] = {"user_id": pa.array(chunk, pa.string())}
            for symbol, decimals in assets:
                cols[symbol] = _column([users[u].get(symbol, (0, 0))[0] for u in chunk], decimals)
                cols[symbol + ":debt"] = _column([users[u].get(symbol, (0, 0))[1] for u in chunk], decimals)
            table = pa.table(cols)
        else:
            rows = [(u, s, *users[u][s]) for u in chunk for s, _ in assets if s in users[u]]
            rows += [(u, assets[0][0], 0, 0) for u in chunk if not users[u]]  # a user holding nothing: a zero row
            present = {(r[0], r[1]) for r in rows}
            for symbol, _ in assets:  # the long layout names every declared asset at least once
                if f == 0 and chunk and not any(symbol in users[u] for u in users) and (chunk[0], symbol) not in present:
                    rows.append((chunk[0], symbol, 0, 0))
            by = dict(assets)
            scale = max(by.values())
            table = pa.table({
                "user_id": pa.array([r[0] for r in rows], pa.string()),
                "asset": pa.array([r[1] for r in rows], pa.string()),
                "equity": pa.array([Decimal(r[2]).scaleb(-by[r[1]], EXACT) for r in rows], pa.decimal256(76, scale)),
                "debt": pa.array([Decimal(r[3]).scaleb(-by[r[1]], EXACT) for r in rows], pa.decimal256(76, scale)),
            })
        pq.write_table(table, os.path.join(directory, f"part-{f:05d}.parquet"), row_group_size=5)
    return directory


def build(client, snap: str, out: str, bucket_bits: int | None = None, parameters: v3.Parameters | None = None,
          **kw):
    return build_bundle(client, plan_snapshot(snap), PERIOD, SECRET, out, bucket_bits, verifier_page=False,
                        parameters=parameters, **kw)


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def private_store(out: str) -> tuple[dict, dict]:
    """What the bundle's private files hold: users ``{uk: [(asset, e, d)]}`` and leaves per asset
    ``[(key, position, e, d)]``."""
    index = json.loads(read(os.path.join(out, layout.PRIVATE_INDEX)))
    m = len(index["trees"])
    users = {}
    for entry in index["user_files"]:
        data = decode_users(read(os.path.join(out, entry["file"])), entry["file"], m)
        for r in range(data.uks.shape[0]):
            held = [j for j in range(m) if data.masks[r, j // 8] >> (j % 8) & 1]
            sums = amounts_to_sums(data.amounts[data.starts[r]:data.starts[r + 1]]).tolist()
            users[data.uks[r].tobytes()] = [(j, (e[0] << 64) | e[1], (d[0] << 64) | d[1])
                                            for j, (e, d) in zip(held, sums, strict=True)]
    leaves = {}
    for j, tree in enumerate(index["trees"]):
        rows = []
        for entry in tree["buckets"]:
            data = decode_bucket(read(os.path.join(out, entry["file"])), entry["file"], V3_COLUMNS)
            for r in range(data.uks.shape[0]):
                e, d = (int.from_bytes(data.sums_be[r, a:a + 16].tobytes(), "big") for a in (0, 16))
                rows.append((data.uks[r].tobytes(), int(data.positions[r]), e, d))
        leaves[j] = rows
    return users, leaves


def assert_equals_reference(out: str, ref, users: dict) -> None:
    assert read(os.path.join(out, "manifest.json")) == ref.manifest_bytes()
    assert read(os.path.join(out, "top-tree.json")) == ref.top_tree_bytes()
    b = open_bundle(out)
    for user_id in users:
        assert make_proof(b, user_id, SECRET) == ref.proofs[user_id], user_id
    stored_users, stored_leaves = private_store(out)
    assert stored_users == {u.uk: list(u.holdings) for u in ref.store.users.values()}
    for tree in ref.store.trees:
        assert stored_leaves[tree.index] == [(x.key, x.position, x.equity, x.debt) for x in tree.leaves]
    index = json.loads(read(os.path.join(out, layout.PRIVATE_INDEX)))
    assert index["users"] == len(users)
    assert [(t["fragments"], t["leaves"]) for t in index["trees"]] == [
        (t.fragments, t.leaf_count) for t in ref.store.trees]


# ------------------------------------------------------------------ the reference, on generated snapshots

amount = st.one_of(st.just(0), st.just(1), st.integers(0, 1 << 64), st.integers(0, (1 << 120) - 1))
ASSET_POOL = [("BTC", 8), ("ETH", 18), ("USDT", 6), ("WEI", 0), ("a.b-c_9", 30)]


@st.composite
def snapshots(draw):
    """Small snapshots: amounts 0, 1, up to 2^64, up to 2^120, with debt; sometimes a last user whose
    holding brings a tree's total equity or debt to exactly 2^128 − 1."""
    assets = draw(st.lists(st.sampled_from(ASSET_POOL), min_size=1, max_size=3, unique=True))
    users = {}
    for i in range(draw(st.integers(1, 12))):
        holdings = {}
        for symbol, _ in assets:
            if draw(st.booleans()):
                e, d = draw(amount), draw(amount)
                if e or d:
                    holdings[symbol] = (e, d)
        users[draw(st.sampled_from(["u", "user ", "Zoë-", "7"])) + str(i)] = holdings
    if draw(st.booleans()):
        symbol = draw(st.sampled_from([s for s, _ in assets]))
        side = draw(st.sampled_from([0, 1]))
        total = sum(h.get(symbol, (0, 0))[side] for h in users.values())
        whale = (LIMIT - 1 - total, 0) if side == 0 else (0, LIMIT - 1 - total)
        users["whale"] = {symbol: whale}
    parameters = v3.Parameters(draw(st.integers(2, 8)), draw(st.sampled_from([0, 1, 25, 100])))
    bucket_bits = draw(st.sampled_from([None, 0, 1, 3]))
    return users, assets, parameters, bucket_bits


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(case=snapshots(), files=st.integers(1, 3), seed=st.integers(0, 1000), long=st.booleans(),
       fragment_rows=st.sampled_from([1, 7, 1000]), one_worker=st.booleans())
def test_the_dask_build_is_the_reference_build(case, files, seed, long, fragment_rows, one_worker, client1, client2,
                                               tmp_path_factory):
    users, assets, parameters, bucket_bits = case
    d = tmp_path_factory.mktemp("gen")
    snap = write_snapshot(str(d / "snap"), users, assets, files=files, seed=seed, layout_="long" if long else "wide")
    build_bundle(client1 if one_worker else client2, plan_snapshot(snap, fragment_rows=fragment_rows), PERIOD, SECRET,
                 str(d / "bundle"), bucket_bits, verifier_page=False, parameters=parameters)
    ref = reference_build(users, assets, SECRET, PERIOD, parameters, bucket_bits)
    assert_equals_reference(str(d / "bundle"), ref, users)


def _vector_cases():
    if not os.path.isdir(VECTORS):
        return []
    return sorted(n for n in os.listdir(VECTORS) if os.path.exists(os.path.join(VECTORS, n, "snapshot.json")))


@pytest.mark.parametrize("name", _vector_cases())
def test_the_golden_vectors_are_built_byte_for_byte(name, client2, tmp_path):
    with open(os.path.join(VECTORS, name, "snapshot.json")) as f:
        doc = json.load(f)
    users = {u["user_id"]: {s: (int(h["equity"]), int(h["debt"])) for s, h in u["holdings"].items()}
             for u in doc["users"]}
    assets = list(doc["assets"].items())
    snap = write_snapshot(str(tmp_path / "snap"), users, assets)
    parameters = v3.Parameters(**doc["parameters"])
    build_bundle(client2, plan_snapshot(snap), doc["period"], SecretKey(bytes.fromhex(doc["secret_hex"])),
                 str(tmp_path / "bundle"), doc["bucket_bits"], verifier_page=False, parameters=parameters)
    assert read(str(tmp_path / "bundle" / "manifest.json")) == canonical_json(
        json.load(open(os.path.join(VECTORS, name, "manifest.json"))))
    assert read(str(tmp_path / "bundle" / "top-tree.json")) == canonical_json(
        json.load(open(os.path.join(VECTORS, name, "top-tree.json"))))
    proofs = json.load(open(os.path.join(VECTORS, name, "proofs.json")))
    b = open_bundle(str(tmp_path / "bundle"))
    by_user = proofs if isinstance(proofs, dict) else {p["user_id"]: p for p in proofs}
    for user_id, proof in by_user.items():
        assert make_proof(b, user_id, SecretKey(bytes.fromhex(doc["secret_hex"]))) == proof


# ------------------------------------------------------------------ a medium snapshot, built once


def medium_users(n: int = 2500, seed: int = 5) -> dict[str, dict[str, tuple[int, int]]]:
    rng = random.Random(seed)
    users = {}
    for i in range(n):
        holdings = {}
        for symbol, _ in ASSETS:
            if rng.random() < 0.35:
                e = rng.choice([0, 1, 7, rng.randrange(1 << 40), rng.randrange(1 << 90)])
                d = rng.choice([0, 0, 0, 3, rng.randrange(1 << 30)])
                if e or d:
                    holdings[symbol] = (e, d)
        users[f"U{i:06d}"] = holdings
    return users


ASSETS = [("BTC", 8), ("ETH", 18), ("USDT", 6)]


@pytest.fixture(scope="module")
def medium(tmp_path_factory, client2):
    d = tmp_path_factory.mktemp("medium")
    users = medium_users()
    snap = write_snapshot(str(d / "snap"), users, ASSETS, files=2, seed=1)
    build(client2, snap, str(d / "bundle"), MEDIUM_K)
    return d, users


MEDIUM_K = 2


def _store_bytes(out: str) -> dict[str, bytes]:
    found = {}
    for base, _, names in os.walk(out):
        for name in names:
            path = os.path.join(base, name)
            found[os.path.relpath(path, out)] = read(path)
    return found


def test_the_medium_build_is_the_reference_build(medium):
    d, users = medium
    assert_equals_reference(str(d / "bundle"), reference_build(users, ASSETS, SECRET, PERIOD, bucket_bits=MEDIUM_K),
                            users)


def test_nothing_depends_on_the_workers_the_files_or_the_row_order(medium, client1, tmp_path):
    d, users = medium
    snap = write_snapshot(str(tmp_path / "snap"), users, ASSETS, files=3, seed=99)
    build(client1, snap, str(tmp_path / "one-worker"), MEDIUM_K)
    assert _store_bytes(str(tmp_path / "one-worker")) == _store_bytes(str(d / "bundle"))
    long = write_snapshot(str(tmp_path / "long"), users, ASSETS, files=2, seed=3, layout_="long")
    build(client1, long, str(tmp_path / "long-bundle"), MEDIUM_K)
    assert read(str(tmp_path / "long-bundle" / "manifest.json")) == read(str(d / "bundle" / "manifest.json"))


def test_proofs_verify_and_the_cli_prints_equity_and_debt(medium, tmp_path, scheduler2):
    d, users = medium
    manifest = json.loads(read(str(d / "bundle" / "manifest.json")))
    b = open_bundle(str(d / "bundle"))
    debtor = next(u for u, h in users.items() if any(debt for _, debt in h.values()))
    for user_id in ("U000000", debtor, next(u for u, h in users.items() if not h)):
        result = verify_proof(make_proof(b, user_id, SECRET), manifest=manifest, user_id=user_id)
        assert result.commitment == manifest["commitment"]
    secret = write_secret(str(tmp_path), SECRET.reveal().hex())
    proof_file = tmp_path / "proof.json"
    runner = CliRunner()
    proved = runner.invoke(app, ["prove", str(d / "bundle"), "--user", debtor, "--secret-file", secret,
                                 "--out", str(proof_file)])
    assert proved.exit_code == 0, proved.output
    verified = runner.invoke(app, ["verify", str(proof_file), "--manifest", str(d / "bundle" / "manifest.json"),
                                   "--user", debtor])
    assert verified.exit_code == 0 and "VALID" in verified.output, verified.output
    missing = runner.invoke(app, ["prove", str(d / "bundle"), "--user", "nobody", "--secret-file", secret])
    assert missing.exit_code == 1 and "not in the bundle" in missing.output


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_exported_records_complete_into_the_proofs_prove_gives(medium, tmp_path, client2, fmt):
    from pipeline.cluster import client_mapper

    d, users = medium
    out = tmp_path / "export"
    summary = export_proofs(open_bundle(str(d / "bundle")), str(out), fmt, client_mapper(client2))
    assert summary["records"] == len(users)

    def records(name: str) -> list[dict]:
        path = out / name
        if fmt == "jsonl":
            return [json.loads(line) for line in path.read_text().splitlines()]
        rows = pq.read_table(path).to_pylist()
        return [{**r, **({"uk": r["uk"].hex()} if "uk" in r else {"key": r["key"].hex()})} for r in rows]

    raw = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert b"U000" not in raw  # no user id anywhere
    manifest = json.loads(read(str(d / "bundle" / "manifest.json")))
    k_nonce, _ = v3.period_keys(SECRET, PERIOD)
    b = open_bundle(str(d / "bundle"))
    for user_id in list(users)[:40]:
        nonce = v3.user_nonce(k_nonce, user_id)
        uk = v3.user_key(nonce, PERIOD, user_id)
        group = int.from_bytes(uk[:8], "big") >> (64 - summary["user_bits"]) if summary["user_bits"] else 0
        record = next(r for r in records(user_partition(group, fmt)) if r["uk"] == uk.hex())

        def leaf(asset: int, key_hex: str) -> dict | None:
            k = manifest["trees"][asset]["bucket_bits"]
            bucket = int(key_hex[:16], 16) >> (64 - k) if k else 0
            return next((r for r in records(fragment_partition(asset, bucket, fmt)) if r["key"] == key_hex), None)

        assert complete_proof(record, summary, user_id, nonce, leaf) == make_proof(b, user_id, SECRET)


def test_the_audit_passes_and_reports_every_tree(medium, scheduler2):
    d, users = medium
    result = CliRunner().invoke(app, ["audit", str(d / "bundle"), "--scheduler", scheduler2])
    assert result.exit_code == 0, result.output
    manifest = json.loads(read(str(d / "bundle" / "manifest.json")))
    assert f"audit OK: {len(users)} users" in result.output and manifest["commitment"] in result.output
    holders = {s: sum(1 for h in users.values() if s in h) for s, _ in ASSETS}
    for symbol, _ in ASSETS:
        assert f"{symbol:<8} {holders[symbol]} holders, {2 * holders[symbol]} fragments" in result.output
    report = audit_bundle(open_bundle(str(d / "bundle")), local_mapper)
    assert [a.leaves for a in report.assets] == [t["leaves"] for t in json.loads(
        read(str(d / "bundle" / layout.PRIVATE_INDEX)))["trees"]]


def test_the_audit_writes_its_scratch_where_told(medium, tmp_path, monkeypatch):
    """`por audit --scratch DIR` (a read-only archive, another volume): nothing is written beside the bundle
    (its hidden-sibling name is never asked for: the one in-process worker shares this patch), the new
    scratch directory is owner-only and left empty, and the audit's verdict is the same."""
    import stat

    from pipeline.storage import bundle as bundle_module

    d, users = medium
    beside = sorted(os.listdir(d))
    real = bundle_module.leftover_name

    def refuse(path, kind, tag):
        assert kind != bundle_module.SCRATCH, f"scratch beside {path}"
        return real(path, kind, tag)

    monkeypatch.setattr(bundle_module, "leftover_name", refuse)
    scratch = tmp_path / "scratch"
    result = CliRunner().invoke(app, ["audit", str(d / "bundle"), "--workers", "1", "--scratch", str(scratch)])
    assert result.exit_code == 0, result.output
    assert f"audit OK: {len(users)} users" in result.output
    assert sorted(os.listdir(d)) == beside and os.listdir(scratch) == []
    assert stat.S_IMODE(os.stat(scratch).st_mode) == 0o700
    monkeypatch.setattr(bundle_module, "leftover_name", real)
    empty = CliRunner().invoke(app, ["audit", str(d / "bundle"), "--workers", "1", "--scratch", ""])
    assert empty.exit_code == 2 and "--scratch is empty" in empty.output


# ------------------------------------------------------------------ a forger: a consistent bundle over a tampered store


class Forger:
    """What a malicious exchange can do with its own secret: change the private store and re-derive every
    file above it (bucket roots and padding nodes, index, top trees, manifest and C), so that only the
    link between the user files and the trees is wrong."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.index = json.loads(read(os.path.join(out, layout.PRIVATE_INDEX)))
        self.manifest = json.loads(read(os.path.join(out, "manifest.json")))
        self.k_pad = v3.period_keys(SECRET, PERIOD)[1]

    def leaves(self, asset: int, bucket: int) -> tuple[np.ndarray, np.ndarray]:
        entry = next(e for e in self.index["trees"][asset]["buckets"] if e["bucket"] == bucket)
        data = decode_bucket(read(os.path.join(self.out, entry["file"])), entry["file"], V3_COLUMNS)
        return data.uks.copy(), data.sums_be.copy()

    def write_bucket(self, asset: int, bucket: int, keys: np.ndarray, amounts: np.ndarray) -> None:
        tree = self.manifest["trees"][asset]
        symbol, h = tree["asset"], tree["bucket_height"]

        def padding(level, index):
            return v3.padding_hash(self.k_pad, symbol, level, index)

        sums = amounts_to_sums(amounts)
        sub = build_bucket(frag.leaf_hashes(keys, amounts), sums, bucket, h, padding,
                           record_level=layout.checkpoint_level(h), rule=V3_NODES)
        meta = {"version": v3.VERSION, "period": PERIOD, "asset": symbol, "asset_index": asset, "bucket": bucket,
                "bucket_bits": tree["bucket_bits"], "bucket_height": h, "leaves": len(keys),
                "root": pair_json(sub.root_hash, sub.root_sums),
                "padding": [{"level": lv, "index": ix, "hash": hx.hex()} for lv, ix, hx in sub.padding]}
        if sub.recorded is not None:
            meta["checkpoint"] = {"level": layout.checkpoint_level(h), "nodes": pairs_json(*sub.recorded)}
        data = encode_bucket(keys, positions(bucket, h, len(keys)), amounts, meta, V3_COLUMNS)
        name = layout.tree_bucket_file(asset, bucket)
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(data)
        t = self.index["trees"][asset]
        entry = next(e for e in t["buckets"] if e["bucket"] == bucket)
        t["leaves"] += len(keys) - entry["leaves"]
        entry.update(leaves=len(keys), digest=digest(data), root=pair_json(sub.root_hash, sub.root_sums))

    def write_users(self, entry: dict, uks, masks, starts, amounts, meta) -> None:
        data = encode_users(uks, masks, starts, amounts, meta)
        with open(os.path.join(self.out, entry["file"]), "wb") as f:
            f.write(data)
        entry["digest"] = digest(data)

    def seal(self) -> None:
        trees = []
        top = json.loads(read(os.path.join(self.out, "top-tree.json")))
        for j, (tree, t) in enumerate(zip(self.manifest["trees"], top["trees"], strict=True)):
            k, h, symbol = tree["bucket_bits"], tree["bucket_height"], tree["asset"]
            hashes, sums = pairs_from_json(t["levels"][0])
            hashes = hashes.copy()
            empty = np.ones(1 << k, dtype=bool)
            for e in self.index["trees"][j]["buckets"]:
                hashes[e["bucket"]], sums[e["bucket"]] = pairs_from_json([e["root"]])[0][0], pairs_from_json([e["root"]])[1][0]
                empty[e["bucket"]] = False
            levels = build_top(hashes, sums, empty, h, lambda lv, ix, s=symbol: v3.padding_hash(self.k_pad, s, lv, ix),
                               V3_NODES)
            trees.append(AssetTree(symbol, k, h, levels))
        top_bytes = canonical_json(top_tree_v3(PERIOD, trees))
        with open(os.path.join(self.out, "top-tree.json"), "wb") as f:
            f.write(top_bytes)
        from pipeline.formats.assets import Asset

        assets = [Asset(a["symbol"], a["decimals"]) for a in self.manifest["assets"]]
        manifest = manifest_v3(PERIOD, assets, v3.Parameters(**self.manifest["parameters"]), trees,
                               {"top-tree.json": digest(top_bytes)})
        with open(os.path.join(self.out, "manifest.json"), "wb") as f:
            f.write(canonical_json(manifest))
        with open(os.path.join(self.out, layout.PRIVATE_INDEX), "wb") as f:
            f.write(canonical_json(self.index))


@pytest.fixture
def copy(medium, tmp_path):
    d, users = medium
    target = tmp_path / "bundle"
    shutil.copytree(d / "bundle", target)
    return str(target), users


def _owner_fragment(out: str, users: dict, symbol: str = "BTC"):
    """A user holding ``symbol`` with non-zero equity, and where the first of its fragments lies."""
    manifest = json.loads(read(os.path.join(out, "manifest.json")))
    j = [a["symbol"] for a in manifest["assets"]].index(symbol)
    user_id = next(u for u, h in users.items() if h.get(symbol, (0, 0))[0] > 1000)
    k_nonce, _ = v3.period_keys(SECRET, PERIOD)
    uk = v3.user_key(v3.user_nonce(k_nonce, user_id), PERIOD, user_id)
    key = v3.fragment_key(uk, symbol, 0)
    k = manifest["trees"][j]["bucket_bits"]
    bucket = int.from_bytes(key[:8], "big") >> (64 - k) if k else 0
    return j, bucket, key, user_id


def _audit_fails(out: str, *needles: str) -> str:
    with pytest.raises(AuditError) as info:
        audit_bundle(open_bundle(out), local_mapper)
    text = str(info.value)
    assert "FAILED" in text
    for needle in needles:
        assert needle in text, text
    return text


def test_the_audit_names_a_changed_leaf_amount(copy):
    out, users = copy
    f = Forger(out)
    j, bucket, key, _ = _owner_fragment(out, users)
    keys, amounts = f.leaves(j, bucket)
    rank = int(np.flatnonzero((keys == np.frombuffer(key, np.uint8)).all(axis=1))[0])
    e = int.from_bytes(amounts[rank, :16].tobytes(), "big")
    amounts[rank, :16] = np.frombuffer((max(e, 1) - 1).to_bytes(16, "big"), np.uint8)  # one unit less owed
    f.write_bucket(j, bucket, keys, amounts)
    f.seal()
    _audit_fails(out, "the tree of BTC", "hold other amounts than the user's fragment")


def test_the_audit_names_a_removed_fragment(copy):
    out, users = copy
    f = Forger(out)
    j, bucket, key, _ = _owner_fragment(out, users)
    keys, amounts = f.leaves(j, bucket)
    keep = ~(keys == np.frombuffer(key, np.uint8)).all(axis=1)
    f.write_bucket(j, bucket, keys[keep], amounts[keep])
    f.seal()
    _audit_fails(out, "the tree of BTC", "1 fragment(s) of the user files are not leaves of the tree",
                 f"bucket {bucket}")


def test_the_audit_names_a_changed_holding(copy):
    out, users = copy
    f = Forger(out)
    j, _, _, user_id = _owner_fragment(out, users)
    k_nonce, _ = v3.period_keys(SECRET, PERIOD)
    uk = v3.user_key(v3.user_nonce(k_nonce, user_id), PERIOD, user_id)
    entry = next(e for e in f.index["user_files"]
                 if e["group"] == (int.from_bytes(uk[:8], "big") >> (64 - f.index["user_bits"]) if f.index["user_bits"] else 0))
    data = decode_users(read(os.path.join(out, entry["file"])), entry["file"], len(ASSETS))
    row = int(np.flatnonzero((data.uks == np.frombuffer(uk, np.uint8)).all(axis=1))[0])
    amounts = data.amounts.copy()
    at = int(data.starts[row])  # BTC is the user's first holding (asset 0)
    e = int.from_bytes(amounts[at, :16].tobytes(), "big")
    amounts[at, :16] = np.frombuffer((e * 2).to_bytes(16, "big"), np.uint8)  # the user's file says they own more
    f.write_users(entry, data.uks, data.masks, data.starts, amounts, data.meta)
    f.seal()
    _audit_fails(out, "the tree of BTC", "2 leaf/leaves hold other amounts than the user's fragment")


def test_the_audit_names_a_padding_leaf_with_an_amount(copy):
    out, users = copy
    f = Forger(out)
    stored_users, stored_leaves = private_store(out)
    claimed = set()
    for uk, holdings in stored_users.items():
        for j, _, _ in holdings:
            if j == 0:
                claimed.update(v3.fragment_key(uk, "BTC", i) for i in range(2))
    pad_key, _, _, _ = next(leaf for leaf in stored_leaves[0] if leaf[0] not in claimed)
    k = f.manifest["trees"][0]["bucket_bits"]
    bucket = int.from_bytes(pad_key[:8], "big") >> (64 - k) if k else 0
    keys, amounts = f.leaves(0, bucket)
    rank = int(np.flatnonzero((keys == np.frombuffer(pad_key, np.uint8)).all(axis=1))[0])
    amounts[rank, 16:] = np.frombuffer((5).to_bytes(16, "big"), np.uint8)  # a padding leaf owing debt
    f.write_bucket(0, bucket, keys, amounts)
    f.seal()
    _audit_fails(out, "the tree of BTC", "non-zero amount that no user's fragment claims")


def test_the_audit_names_a_swapped_bucket_file(copy):
    out, _ = copy
    index = json.loads(read(os.path.join(out, layout.PRIVATE_INDEX)))
    first, second = index["trees"][0]["buckets"][:2]
    a, b = os.path.join(out, first["file"]), os.path.join(out, second["file"])
    raw_a, raw_b = read(a), read(b)
    with open(a, "wb") as fa, open(b, "wb") as fb:
        fa.write(raw_b)
        fb.write(raw_a)
    _audit_fails(out, first["file"], f"metadata bucket is {second['bucket']}, expected {first['bucket']}")


def test_the_audit_names_a_bucket_of_another_asset(copy):
    out, _ = copy
    index = json.loads(read(os.path.join(out, layout.PRIVATE_INDEX)))
    mine, theirs = index["trees"][0]["buckets"][0], index["trees"][1]["buckets"][0]
    shutil.copy(os.path.join(out, theirs["file"]), os.path.join(out, mine["file"]))
    _audit_fails(out, mine["file"], "metadata asset is 'ETH', expected 'BTC'")


def test_the_audit_names_a_tampered_tree_even_when_the_index_agrees(copy):
    """Only the leaf changed and the index re-digested: the fold against the stored root names it."""
    out, users = copy
    f = Forger(out)
    j, bucket, key, _ = _owner_fragment(out, users)
    keys, amounts = f.leaves(j, bucket)
    amounts[0, 15] ^= 1
    entry = next(e for e in f.index["trees"][j]["buckets"] if e["bucket"] == bucket)
    data = decode_bucket(read(os.path.join(out, entry["file"])), entry["file"], V3_COLUMNS)
    raw = encode_bucket(keys, data.positions, amounts, data.meta, V3_COLUMNS)
    with open(os.path.join(out, entry["file"]), "wb") as fh:
        fh.write(raw)
    entry["digest"] = digest(raw)
    with open(os.path.join(out, layout.PRIVATE_INDEX), "wb") as fh:
        fh.write(canonical_json(f.index))
    _audit_fails(out, entry["file"], "leaves fold to")


def test_the_audit_checks_collateral_with_prices_and_haircuts(medium, tmp_path, scheduler2):
    d, users = medium
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"format": "por-prices-v1", "source": "test", "timestamp": "2026-11-30T23:59:59Z",
                                  "prices": {"BTC": "90000", "ETH": "3000", "USDT": "1"}}))
    haircuts = tmp_path / "haircuts.json"
    haircuts.write_text(json.dumps({"format": "por-haircuts-v1", "haircuts": {"BTC": "0.9", "ETH": "0.8",
                                                                               "USDT": "1"}}))
    result = CliRunner().invoke(app, ["audit", str(d / "bundle"), "--scheduler", scheduler2, "--prices", str(prices),
                                      "--haircuts", str(haircuts)])
    assert "audit OK" in result.output, result.output
    price = {"BTC": Fraction(90000), "ETH": Fraction(3000), "USDT": Fraction(1)}
    cut = {"BTC": Fraction(9, 10), "ETH": Fraction(8, 10), "USDT": Fraction(1)}
    decimals = dict(ASSETS)
    with_debt = [h for h in users.values() if any(debt for _, debt in h.values())]
    failing = sum(1 for h in with_debt if sum(Fraction(e, 10 ** decimals[s]) * price[s] * cut[s] for s, (e, _) in h.items())
                  < sum(Fraction(debt, 10 ** decimals[s]) * price[s] for s, (_, debt) in h.items()))
    assert failing and result.exit_code == 1
    assert f"collateral FAILED: {failing} of {len(with_debt)} user(s) with debt" in result.output
    one = CliRunner().invoke(app, ["audit", str(d / "bundle"), "--scheduler", scheduler2, "--prices", str(prices)])
    assert one.exit_code == 2 and "both --prices and --haircuts" in one.output


# ------------------------------------------------------------------ refusals, resume


def test_a_tree_total_beyond_2_128_is_refused_naming_the_asset(client2, tmp_path):
    users = {"a": {"ETH": (1 << 127, 0)}, "b": {"ETH": (1 << 127, 0)}, "c": {"BTC": (5, 0)}}
    snap = write_snapshot(str(tmp_path / "snap"), users, ASSETS)
    with pytest.raises(InputError) as info:
        build(client2, snap, str(tmp_path / "bundle"))
    assert "ETH" in str(info.value) and "overflows 2^128" in str(info.value)
    assert not (tmp_path / "bundle").exists()


def test_a_repeated_user_is_refused(client2, tmp_path):
    snap = write_snapshot(str(tmp_path / "snap"), {"a": {"BTC": (1, 0)}, "b": {}}, ASSETS)
    shutil.copy(os.path.join(snap, "part-00000.parquet"), os.path.join(snap, "part-00001.parquet"))
    with pytest.raises(BadInputData) as info:
        build(client2, snap, str(tmp_path / "bundle"))
    assert "duplicate user_id" in str(info.value)


def test_a_v2_build_refuses_debt(client2, tmp_path):
    snap = write_snapshot(str(tmp_path / "snap"), {"a": {"BTC": (1, 2)}}, ASSETS)
    with pytest.raises(BadInputData) as info:
        build_bundle(client2, plan_snapshot(snap), PERIOD, SECRET, str(tmp_path / "b"), protocol="por-v2",
                     verifier_page=False)
    assert "debt" in str(info.value) and "por-v3" in str(info.value)


def test_resume_reuses_the_finished_trees(medium, client2, tmp_path):
    d, users = medium
    snap = str(d / "snap")
    out = tmp_path / "bundle"

    def stop_after_the_buckets(stage, futures):
        if stage == "buckets":
            client2.gather(futures)
            raise RuntimeError("stopped on purpose")

    with pytest.raises(BuildInterrupted):
        build(client2, snap, str(out), MEDIUM_K, watch=stop_after_the_buckets)
    assert not out.exists()
    result = build(client2, snap, str(out), MEDIUM_K, resume=True)
    assert result.reused == result.buckets > 0
    assert read(str(out / "manifest.json")) == read(str(d / "bundle" / "manifest.json"))
    assert not list(out.rglob("*.mac"))


def test_the_cli_builds_por_v3_by_default_and_takes_the_parameters(tmp_path, scheduler2):
    users = {"alice": {"BTC": (150_000_000, 0), "USDT": (0, 5_000_000)}, "bob": {}}
    snap = write_snapshot(str(tmp_path / "snap"), users, ASSETS)
    secret = write_secret(str(tmp_path), SECRET.reveal().hex())
    result = CliRunner().invoke(app, ["build", snap, "--period", PERIOD, "--secret-file", secret, "--out",
                                      str(tmp_path / "bundle"), "--scheduler", scheduler2, "--fragments", "3",
                                      "--padding", "10"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["version"] == "por-v3" and manifest["parameters"] == {"fragments": 3, "padding": 10}
    assert f"announced value (por-v3) {manifest['commitment']}" in result.output
    assert "USDT     equity 0  debt 5  (k 0" in result.output
    ref = reference_build(users, ASSETS, SECRET, PERIOD, v3.Parameters(3, 10))
    assert {k: v for k, v in manifest.items() if k != "files"} == {k: v for k, v in ref.manifest.items() if k != "files"}
    refused = CliRunner().invoke(app, ["build", snap, "--period", PERIOD, "--secret-file", secret, "--out",
                                       str(tmp_path / "b2"), "--protocol", "por-v2", "--fragments", "3"])
    assert refused.exit_code == 2


def test_prove_folds_a_few_nodes_without_the_compiled_kernels(medium, tmp_path, monkeypatch):
    """`por prove` on a por-v3 bundle folds its chunk one blake3 call per node (pipeline.tree.per_call):
    the same proofs as through the compiled kernels, and the command loads neither numba nor llvmlite."""
    from pipeline.tree import per_call

    d, users = medium
    b = open_bundle(str(d / "bundle"))
    chosen = ["U000000", next(u for u, h in users.items() if any(debt for _, debt in h.values())), "U002499"]
    fast = [make_proof(b, u, SECRET) for u in chosen]
    monkeypatch.setattr(per_call, "PER_CALL_MAX", 0)
    assert [make_proof(b, u, SECRET) for u in chosen] == fast
    secret = write_secret(str(tmp_path), SECRET.reveal().hex())
    code = ("import sys\nfrom pipeline.cli import app\ntry:\n    app(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite', 'dask', 'pandas'))\n"
            "assert not heavy, heavy\n")
    out = tmp_path / "proof.json"
    proc = subprocess.run([sys.executable, "-c", code, "prove", str(d / "bundle"), "--user", chosen[1],
                           "--secret-file", secret, "--out", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text()) == json.loads(json.dumps(fast[1]))


def test_the_audits_tasks_do_not_each_carry_the_whole_index(medium, monkeypatch):
    """Each audit task is pickled with what it reads, not the private index's entry for every bucket (at
    100M users about 4 MB per task, which held 7.6 GiB in each worker): no users task carries a bucket's
    digest, and each trees task carries the digests of its own buckets only."""
    import cloudpickle

    from pipeline.liabilities import audit_v3

    d, _ = medium
    monkeypatch.setattr(audit_v3, "PER_TASK", 64)  # many small units
    pickled: list[list[tuple[object, bytes]]] = []

    def recording(fn, items):
        pickled.append([(item, cloudpickle.dumps((fn, item))) for item in items])
        return local_mapper(fn, items)

    audit_bundle(open_bundle(str(d / "bundle")), recording)
    index = json.loads(read(str(d / "bundle" / layout.PRIVATE_INDEX)))
    digests = {(j, e["bucket"]): e["digest"].encode() for j, t in enumerate(index["trees"]) for e in t["buckets"]}
    users_tasks, trees_tasks = pickled
    assert len(trees_tasks) > 8
    for _, data in users_tasks:
        assert not any(x in data for x in digests.values())
    for (unit, _), data in trees_tasks:
        mine = {(j, b) for j, lo, hi in unit for (jj, b) in digests if jj == j and lo <= b < hi}
        assert mine and all((key in mine) == (x in data) for key, x in digests.items())
