"""``por export-proofs``: every user's proof body, keyed by ``uk``, for serving from account pages.

por-v3 (``export_proofs_v3``): a user's proof is made of fragments in several trees, so the export is
two kinds of record: per user (``users/gNNNNN.*``: ``uk`` and the holdings) and per leaf
(``trees/AAA/bucket=NNNNNNNN/proofs.*``: ``key``, ``position``, amounts and ``path``). The serving
side derives ``uk``, finds the user's record, derives each fragment's key (``v3.fragment_key``) and
finds its record in its bucket's partition; ``complete_proof`` assembles the proof, checking every
amount against the holding's split.

The bundle keeps no user ids and no nonces, so an exported record is a proof without
``user_id`` and ``nonce``: the serving side knows the logged-in user's id, derives the nonce
with the master secret (``protocol.user_nonce``), computes ``uk`` to find the record, and
completes the proof with ``complete_proof``. Records are partitioned by bucket
(``bucket=NNNNNNNN/proofs.jsonl`` or ``.parquet``); ``index.json`` holds what every proof of the
period shares. One task per bucket on the cluster: memory is bounded by one bucket.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import BundleError, InputError
from ..formats import layout
from ..formats.bucket_file import V3_COLUMNS, decode_bucket
from ..formats.canonical import canonical_json
from ..formats.proof import proof_document, proof_document_v3
from ..formats.users_file import decode_users
from ..protocol import v3
from ..storage import bundle
from ..storage.bundle import Bundle
from ..tree.sums import ints_from_sums, sums_from_be_bytes
from .proofs import fragments_json
from .stored import (
    V3_KIND,
    fold_bucket,
    load_manifest,
    load_private_index,
    load_private_index_v3,
    load_top_tree,
    shape_disagreements,
    top_path,
    top_path_v3,
    user_holdings,
)

FORMATS = ("jsonl", "parquet")
INDEX = "index.json"
FragmentLookup = Callable[[int, str], "Mapping[str, Any] | None"]
"""por-v3's serving side: ``(asset index, leaf key hex) -> exported leaf record`` (or None)."""


def partition_file(bucket: int, fmt: str) -> str:
    return f"bucket={bucket:08d}/proofs.{fmt}"


@dataclass(frozen=True)
class ExportSpec:
    source: Bundle
    target: Bundle
    fmt: str
    bucket_height: int
    m: int
    above: dict[int, str]  # bucket -> JSON text of the path entries above the bucket
    manifest: dict[str, Any]


def _node_texts(hashes: np.ndarray, sums: np.ndarray) -> list[str]:
    """Each node rendered once as ``{"hash": …, "sums": […]}`` JSON text."""
    rows = ints_from_sums(sums)
    return [json.dumps({"hash": h.tobytes().hex(), "sums": [str(v) for v in row]}, separators=(",", ":"))
            for h, row in zip(hashes, rows, strict=True)]


def export_bucket(entry: Mapping[str, Any], spec: ExportSpec) -> tuple[int, str]:
    """Write one bucket's records; returns ``(records, file)``."""
    bucket = entry["bucket"]
    where = spec.source.where(entry['file'])
    data = decode_bucket(spec.source.read(entry["file"]), where)
    differ = shape_disagreements(data.meta, spec.manifest)
    if differ or data.meta.get("bucket") != bucket:
        raise BundleError(f"{where}: not a bucket of this manifest's tree: "
                          + "; ".join(differ + [f"bucket is {data.meta.get('bucket')!r}, expected {bucket}"]))
    sums = sums_from_be_bytes(data.sums_be, spec.m)
    sub, _ = fold_bucket(data, bucket, spec.bucket_height, spec.m, where, keep_levels=True)
    assert sub.levels is not None
    n = data.uks.shape[0]
    ranks = np.arange(n)
    # every node is rendered once; a user's path picks one node per level
    per_level = []
    for level, (hashes, level_sums) in enumerate(sub.levels[:-1]):
        texts = _node_texts(hashes, level_sums)
        per_level.append([texts[i] for i in ((ranks >> level) ^ 1).tolist()])
    top = spec.above[bucket]
    balances = ints_from_sums(sums)
    positions = data.positions.tolist()
    records = []
    for r in range(n):
        below = ",".join(level[r] for level in per_level)
        path = "[" + ",".join(x for x in (below, top) if x) + "]"
        records.append((data.uks[r].tobytes().hex(), positions[r],
                        json.dumps([str(v) for v in balances[r]], separators=(",", ":")), path))
    name = partition_file(bucket, spec.fmt)
    if spec.fmt == "jsonl":
        text = "".join(f'{{"uk":"{uk}","position":{pos},"balances":{bal},"path":{path}}}\n'
                       for uk, pos, bal, path in records)
        spec.target.write(name, text.encode("utf-8"))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({
            "uk": pa.array([bytes.fromhex(rec[0]) for rec in records], pa.binary(32)),
            "position": pa.array([rec[1] for rec in records], pa.uint64()),
            "balances": pa.array([rec[2] for rec in records], pa.string()),
            "path": pa.array([rec[3] for rec in records], pa.string()),
        })
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        spec.target.write(name, sink.getvalue())
    return n, name


def export_proofs(source: Bundle, out: str, fmt: str, mapper: Any, force: bool = False,
                  storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Export every proof of bundle ``source`` to ``out`` (published like a bundle: complete or absent)."""
    if fmt not in FORMATS:
        raise InputError(f"must be one of {', '.join(FORMATS)}", parameter="format", value=repr(fmt))
    manifest = load_manifest(source)
    if manifest["version"] == v3.VERSION:
        return export_proofs_v3(source, manifest, out, fmt, mapper, force, storage_options)
    top = load_top_tree(source, manifest)
    index = load_private_index(source, manifest)
    top_shape = len(top["levels"]) - 1
    if top_shape != manifest["tree"]["bucket_bits"]:
        raise BundleError(f"{source.where(layout.TOP_TREE)}: has {top_shape} levels above the buckets, the manifest "
                          f"says bucket_bits {manifest['tree']['bucket_bits']}")
    h = manifest["tree"]["bucket_height"]
    m = len(manifest["assets"])
    bundle.check_output(out, force, False, storage_options)
    staging = bundle.start_staging(out, uuid.uuid4().hex, False, force, storage_options, all_private=True)
    try:
        above = {entry["bucket"]: ",".join(json.dumps(node, separators=(",", ":"))
                                           for node in top_path(top["levels"], entry["bucket"]))
                 for entry in index["buckets"]}
        spec = ExportSpec(source, staging.bundle, fmt, h, m, above, manifest)
        results = mapper(lambda e: export_bucket(e, spec), index["buckets"])
        summary = {
            "version": manifest["version"],
            "period": manifest["period"],
            "assets": [a["symbol"] for a in manifest["assets"]],
            "root": manifest["root"],
            "tree": manifest["tree"],
            "asset_decimals": [a["decimals"] for a in manifest["assets"]],
            "commitment": manifest.get("commitment"),
            "format": fmt,
            "records": sum(n for n, _ in results),
            "partitions": {str(e["bucket"]): name for e, (_, name) in zip(index["buckets"], results, strict=True)},
            "record_fields": ["uk", "position", "balances", "path"],
        }
        staging.bundle.write(INDEX, canonical_json(summary))
        bundle.publish(staging)
    except BaseException:
        bundle.abandon(staging)
        raise
    return summary


def complete_proof(record: Mapping[str, Any], summary: Mapping[str, Any], user_id: str, nonce: bytes,
                   fragment: FragmentLookup | None = None) -> dict[str, Any]:
    """The full proof of ``user_id`` (in the period's protocol version) from an exported record
    (serving side). por-v3: ``record`` is the user's record and ``fragment(asset_index, key_hex)`` returns
    the exported record of a leaf (None when there is none; ``fragment_partition`` names its file)."""
    if summary["version"] == v3.VERSION:
        if fragment is None:
            raise InputError("a por-v3 proof is completed from the user's record and its fragments' records",
                             parameter="fragment")
        return complete_proof_v3(record, summary, user_id, nonce, fragment)
    balances = record["balances"]
    path = record["path"]
    if isinstance(balances, str):
        balances, path = json.loads(balances), json.loads(path)
    published = {**summary, "assets": [{"symbol": s, "decimals": d}
                                       for s, d in zip(summary["assets"], summary["asset_decimals"], strict=True)]}
    return proof_document(published, user_id, nonce, balances, int(record["position"]), path)


# ------------------------------------------------------------------ por-v3


def user_partition(group: int, fmt: str) -> str:
    """por-v3: the partition of the user records of user group ``group``."""
    return f"users/g{group:05d}.{fmt}"


def fragment_partition(asset: int, bucket: int, fmt: str) -> str:
    """por-v3: the partition of the leaf records of bucket ``bucket`` of asset ``asset``'s tree."""
    return f"trees/{asset:03d}/bucket={bucket:08d}/proofs.{fmt}"


@dataclass(frozen=True)
class ExportSpecV3:
    source: Bundle
    target: Bundle
    fmt: str
    manifest: dict[str, Any]
    m: int
    above: dict[tuple[int, int], str]
    """(asset, bucket) -> JSON text of the path entries above the bucket."""


def _write_records(target: Bundle, name: str, fmt: str, columns: Sequence[str], rows: list[tuple[Any, ...]],
                   json_fields: frozenset[str] = frozenset()) -> None:
    """JSON lines (fields in ``columns`` order; ``json_fields`` are JSON text already) or Parquet (the
    ``json_fields`` as strings, ``key``/``uk`` as 32 bytes)."""
    if fmt == "jsonl":
        lines = []
        for row in rows:
            parts = []
            for col, value in zip(columns, row, strict=True):
                text = value if col in json_fields else json.dumps(value, separators=(",", ":"))
                parts.append(f'"{col}":{text}')
            lines.append("{" + ",".join(parts) + "}\n")
        target.write(name, "".join(lines).encode("utf-8"))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    data: dict[str, Any] = {}
    for i, col in enumerate(columns):
        values = [row[i] for row in rows]
        if col in ("uk", "key"):
            data[col] = pa.array([bytes.fromhex(v) for v in values], pa.binary(32))
        elif col == "position":
            data[col] = pa.array(values, pa.uint64())
        else:
            data[col] = pa.array(values, pa.string())
    sink = io.BytesIO()
    pq.write_table(pa.table(data), sink, compression="zstd")
    target.write(name, sink.getvalue())


def export_users_v3(entry: Mapping[str, Any], spec: ExportSpecV3) -> tuple[int, str]:
    """One user file's records ``{uk, holdings: [{asset, equity, debt}]}``; returns ``(records, file)``."""
    where = spec.source.where(entry['file'])
    data = decode_users(spec.source.read(entry["file"]), where, spec.m)
    symbols = [a["symbol"] for a in spec.manifest["assets"]]
    rows = []
    for r in range(data.uks.shape[0]):
        holdings = [{"asset": symbols[j], "equity": str(e), "debt": str(d)} for j, e, d in user_holdings(data, r, spec.m)]
        rows.append((data.uks[r].tobytes().hex(), json.dumps(holdings, separators=(",", ":"))))
    name = user_partition(int(entry["group"]), spec.fmt)
    _write_records(spec.target, name, spec.fmt, ("uk", "holdings"), rows, frozenset({"holdings"}))
    return len(rows), name


def export_tree_bucket_v3(item: tuple[int, Mapping[str, Any]], spec: ExportSpecV3) -> tuple[int, str]:
    """One bucket's leaf records ``{key, position, equity, debt, path}``; returns ``(records, file)``."""
    asset, entry = item
    bucket = entry["bucket"]
    tree = spec.manifest["trees"][asset]
    where = spec.source.where(entry['file'])
    data = decode_bucket(spec.source.read(entry["file"]), where, V3_COLUMNS)
    meta = data.meta
    if (meta.get("asset"), meta.get("bucket"), meta.get("bucket_bits"), meta.get("bucket_height")) != (
            tree["asset"], bucket, tree["bucket_bits"], tree["bucket_height"]):
        raise BundleError(f"{where}: not bucket {bucket} of this manifest's tree of {tree['asset']}")
    sub, _ = fold_bucket(data, bucket, tree["bucket_height"], 2, where, keep_levels=True, kind=V3_KIND)
    assert sub.levels is not None
    n = data.uks.shape[0]
    ranks = np.arange(n)
    per_level = []
    for level, (hashes, level_sums) in enumerate(sub.levels[:-1]):
        texts = [json.dumps({"hash": h.tobytes().hex(), "equity": str(e), "debt": str(d)}, separators=(",", ":"))
                 for h, (e, d) in zip(hashes, ints_from_sums(level_sums), strict=True)]
        per_level.append([texts[i] for i in ((ranks >> level) ^ 1).tolist()])
    top = spec.above[(asset, bucket)]
    amounts = ints_from_sums(V3_KIND.sums(data.sums_be, 2))
    positions = data.positions.tolist()
    rows = []
    for r in range(n):
        below = ",".join(level[r] for level in per_level)
        path = "[" + ",".join(x for x in (below, top) if x) + "]"
        rows.append((data.uks[r].tobytes().hex(), positions[r], str(amounts[r][0]), str(amounts[r][1]), path))
    name = fragment_partition(asset, bucket, spec.fmt)
    _write_records(spec.target, name, spec.fmt, ("key", "position", "equity", "debt", "path"), rows,
                   frozenset({"path"}))
    return n, name


def export_proofs_v3(source: Bundle, manifest: dict[str, Any], out: str, fmt: str, mapper: Any, force: bool = False,
                     storage_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """por-v3's export (see the module's docstring), published like a bundle: complete or absent."""
    top = load_top_tree(source, manifest)
    index = load_private_index_v3(source, manifest)
    trees = top.get("trees")
    if not isinstance(trees, list) or len(trees) != len(manifest["trees"]):
        raise BundleError(f"{source.where(layout.TOP_TREE)}: not one tree per asset of the manifest")
    for mine, theirs in zip(trees, manifest["trees"], strict=True):
        if len(mine.get("levels", [])) - 1 != theirs["bucket_bits"]:
            raise BundleError(f"{source.where(layout.TOP_TREE)}: the tree of {theirs['asset']} has "
                              f"{len(mine.get('levels', [])) - 1} levels above its buckets, the manifest says "
                              f"bucket_bits {theirs['bucket_bits']}")
    bundle.check_output(out, force, False, storage_options)
    staging = bundle.start_staging(out, uuid.uuid4().hex, False, force, storage_options, all_private=True)
    try:
        items = [(j, e) for j, t in enumerate(index["trees"]) for e in t["buckets"]]
        above = {(j, e["bucket"]): ",".join(json.dumps(node, separators=(",", ":"))
                                            for node in top_path_v3(trees[j]["levels"], e["bucket"]))
                 for j, e in items}
        spec = ExportSpecV3(source, staging.bundle, fmt, manifest, len(manifest["assets"]), above)
        user_results = mapper(lambda e: export_users_v3(e, spec), index["user_files"])
        leaf_results = mapper(lambda item: export_tree_bucket_v3(item, spec), items)
        summary = {
            "version": manifest["version"],
            "period": manifest["period"],
            "assets": [a["symbol"] for a in manifest["assets"]],
            "asset_decimals": [a["decimals"] for a in manifest["assets"]],
            "parameters": manifest["parameters"],
            "trees": [{"asset": t["asset"], "bucket_bits": t["bucket_bits"], "bucket_height": t["bucket_height"],
                       "root": t["root"]} for t in manifest["trees"]],
            "commitment": manifest["commitment"],
            "format": fmt,
            "records": sum(n for n, _ in user_results),
            "leaf_records": sum(n for n, _ in leaf_results),
            "user_bits": index["user_bits"],
            "partitions": {str(e["group"]): name for e, (_, name) in zip(index["user_files"], user_results,
                                                                          strict=True)},
            "record_fields": ["uk", "holdings"],
            "leaf_record_fields": ["key", "position", "equity", "debt", "path"],
        }
        staging.bundle.write(INDEX, canonical_json(summary))
        bundle.publish(staging)
    except BaseException:
        bundle.abandon(staging)
        raise
    return summary


def complete_proof_v3(record: Mapping[str, Any], summary: Mapping[str, Any], user_id: str, nonce: bytes,
                      fragment: FragmentLookup) -> dict[str, Any]:
    """por-v3: the proof of ``user_id`` from its user record and its fragments' leaf records."""
    period = summary["period"]
    uk = v3.user_key(nonce, period, user_id)
    if record["uk"] != uk.hex() and record["uk"] != uk:
        raise InputError(f"the record is not {user_id!r}'s (its uk differs from the one the nonce gives)")
    symbols = list(summary["assets"])
    holdings_doc = record["holdings"]
    if isinstance(holdings_doc, str):
        holdings_doc = json.loads(holdings_doc)
    holdings = [(symbols.index(h["asset"]), int(h["equity"]), int(h["debt"])) for h in holdings_doc]

    def locate(asset: int, key: bytes, amounts: bytes) -> tuple[int, list[dict[str, Any]]] | None:
        leaf = fragment(asset, key.hex())
        if leaf is None:
            return None
        if v3.leaf_message(int(leaf["equity"]), int(leaf["debt"])) != amounts:
            raise InputError(f"the leaf record of a fragment of {symbols[asset]} holds other amounts than the "
                             "user's holding splits into")
        path = leaf["path"]
        return int(leaf["position"]), json.loads(path) if isinstance(path, str) else list(path)

    def missing(symbol: str) -> Exception:
        return InputError(f"no leaf record for a fragment of the holding of {symbol}")

    body = fragments_json(uk, holdings, symbols, summary["parameters"]["fragments"], locate, missing)
    published = {"version": summary["version"], "period": period,
                 "assets": [{"symbol": s, "decimals": d} for s, d in zip(symbols, summary["asset_decimals"],
                                                                           strict=True)],
                 "parameters": summary["parameters"], "trees": summary["trees"], "commitment": summary["commitment"]}
    return proof_document_v3(published, user_id, nonce, body)
