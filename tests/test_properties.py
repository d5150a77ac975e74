"""The first property: the root is a pure function of the snapshot's content.

For random snapshots, file splits, row orders, layouts, column types, bucket
counts and 1 or 2 workers, the Dask pipeline's root equals the reference
builder's, and proofs verify and equal the reference paths.
"""

from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.proofs import make_proof
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.protocol import SecretKey
from pipeline.storage.bundle import open_bundle
from pipeline.verify import verify_proof
from tests.support.reference import ReferenceTree
from tests.support.snapshots import (
    EXACT,
    SECRET_HEX,
    amount_array,
    write_assets,
    write_table,
)

SYMBOLS = ["BTC", "ETH", "USDT", "a-b", "Z9"]
PERIOD = "2026-11"
SECRET = bytes.fromhex(SECRET_HEX)

user_ids_text = st.text(  # any id the protocol accepts (pipeline.protocol.userid): NFC, no Cc/Cf characters
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cf")), min_size=1, max_size=10
).map(lambda s: unicodedata.normalize("NFC", s)
)

pytestmark = pytest.mark.integration
amounts = st.one_of(st.just(0), st.integers(0, 1000), st.integers(0, 1 << 63), st.integers(0, 1 << 122))


@st.composite
def snapshots(draw):
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True))
    decimals = {s: draw(st.integers(0, 18)) for s in symbols}
    if draw(st.booleans()):
        ids = draw(st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=30, unique=True))
    else:
        ids = draw(st.lists(user_ids_text, min_size=1, max_size=30, unique=True))
    balances = {uid: [draw(amounts) for _ in symbols] for uid in ids}
    return symbols, decimals, ids, balances


def _kind(values, draw):
    top = max(values)
    options = ["dec256"]
    if top < 10**38:
        options.append("dec128")
    if top < (1 << 63):
        options.append("int64")
    if top < (1 << 64):
        options.append("uint64")
    return draw(st.sampled_from(options))


def _write(directory, snap, layout, files, order, draw):
    symbols, decimals, ids, balances = snap
    write_assets(directory, decimals)
    id_type = pa.int64() if isinstance(ids[0], int) else pa.string()
    if layout == "wide":
        rows = [ids[i] for i in order]
        kinds = {s: _kind([balances[u][j] for u in ids], draw) for j, s in enumerate(symbols)}
        columns = {"user_id": pa.array(rows, id_type)}
        for j, s in enumerate(symbols):
            columns[s] = amount_array([balances[u][j] for u in rows], decimals[s], kinds[s])
        table = pa.table(columns)
    else:
        rows = []
        for j, s in enumerate(symbols):
            for u in ids:
                if balances[u][j] or draw(st.booleans()):
                    rows.append((u, s, balances[u][j]))
        have = {u for u, _, _ in rows}
        for u in ids:
            if u not in have:
                rows.append((u, symbols[0], 0))
        for s in symbols:  # every declared asset appears at least once (a zero row for a user without it)
            if not any(r[1] == s for r in rows):
                rows.append((ids[0], s, 0))
        rows = draw(st.permutations(rows))
        if max(r[2] for r in rows) < (1 << 64) and draw(st.booleans()):
            amount = pa.array([r[2] for r in rows], pa.uint64())
        else:
            amount = pa.array([Decimal(r[2]).scaleb(-decimals[r[1]], EXACT) for r in rows], pa.decimal256(76, 18))
        table = pa.table({"user_id": pa.array([r[0] for r in rows], id_type),
                          "asset": pa.array([r[1] for r in rows], pa.string()), "amount": amount})
    cuts = sorted(draw(st.lists(st.integers(0, table.num_rows), min_size=files - 1, max_size=files - 1)))
    bounds = [0, *cuts, table.num_rows]
    for f in range(files):
        part = table.slice(bounds[f], bounds[f + 1] - bounds[f])
        sub = "nested/" if f % 2 else ""
        write_table(os.path.join(directory, f"{sub}part-{f}.parquet"), part)


@settings(max_examples=int(os.environ.get("POR_PROPERTY_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(snap=snapshots(), data=st.data())
def test_root_matches_reference_for_any_partitioning(snap, data, client1, client2):
    symbols, decimals, ids, balances = snap
    layout = data.draw(st.sampled_from(["wide", "long"]))
    files = data.draw(st.integers(1, 4))
    order = data.draw(st.permutations(range(len(ids))))
    bucket_bits = data.draw(st.sampled_from([None, 0, 1, 3]))
    client = data.draw(st.sampled_from([client1, client2]))
    ordered = sorted(symbols, key=str.encode)
    canon = {str(u): [balances[u][symbols.index(s)] for s in ordered] for u in ids}
    ref = ReferenceTree(canon, SECRET, PERIOD, bucket_bits)
    ref_hash, ref_sums = ref.root()
    with tempfile.TemporaryDirectory() as tmp:
        snap_dir = os.path.join(tmp, "snap")
        _write(snap_dir, snap, layout, files, order, data.draw)
        plan = plan_snapshot(snap_dir, fragment_rows=data.draw(st.sampled_from([1, 7, 1000])))
        out = os.path.join(tmp, "bundle")
        result = build_bundle(client, plan, PERIOD, SecretKey(SECRET), out, bucket_bits, protocol="por-v2")
        root = result.manifest["root"]
        assert root["hash"] == ref_hash.hex()
        assert root["sums"] == [str(s) for s in ref_sums]
        assert result.manifest["tree"] == {"bucket_bits": ref.k, "bucket_height": ref.h, "height": ref.height}
        user = data.draw(st.sampled_from(sorted(canon)))
        proof = make_proof(open_bundle(out), user, SecretKey(SECRET))
        assert [(bytes.fromhex(p["hash"]), [int(s) for s in p["sums"]]) for p in proof["path"]] == ref.path(user)
        assert proof["position"] == ref.position[user]
        with open(os.path.join(out, "manifest.json")) as f:
            verified = verify_proof(proof, manifest=json.load(f))
        assert list(verified.balances) == canon[user]


def test_proofs_from_checkpointed_buckets_match_reference(client2, tmp_path):
    """Buckets taller than the checkpoint level: proofs fold one chunk plus checkpoint nodes."""
    import pyarrow as pa

    from pipeline.formats.layout import CHECKPOINT_LEVEL
    from tests.support.snapshots import write_table

    n = 1500
    balances = {f"user-{i}": [i * 7919 % 1000003, (i * i) % 17] for i in range(n)}
    snap = tmp_path / "snap"
    write_assets(str(snap), {"BTC": 8, "ETH": 18})
    write_table(str(snap / "p.parquet"), pa.table({
        "user_id": pa.array(list(balances), pa.string()),
        "BTC": pa.array([b[0] for b in balances.values()], pa.int64()),
        "ETH": pa.array([b[1] for b in balances.values()], pa.uint64()),
    }))
    result = build_bundle(client2, plan_snapshot(str(snap)), PERIOD, SecretKey(SECRET), str(tmp_path / "b"), 1,
                          protocol="por-v2")
    ref = ReferenceTree(balances, SECRET, PERIOD, 1)
    assert ref.h > CHECKPOINT_LEVEL
    assert result.manifest["root"]["hash"] == ref.root()[0].hex()
    b = open_bundle(str(tmp_path / "b"))
    by_position = sorted(balances, key=lambda u: ref.position[u])
    # first and last of each bucket, chunk boundaries, and users in the last (partial) chunk
    chosen = {by_position[0], by_position[-1], by_position[255], by_position[256], by_position[len(by_position) // 2]}
    for uid in chosen:
        proof = make_proof(b, uid, SecretKey(SECRET))
        assert [(bytes.fromhex(p["hash"]), [int(s) for s in p["sums"]]) for p in proof["path"]] == ref.path(uid)
        verify_proof(proof, manifest=result.manifest)
