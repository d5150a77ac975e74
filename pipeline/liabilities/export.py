"""``por export-proofs``: every user's proof body, keyed by ``uk``, for serving from account pages.

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
from typing import Any, Mapping

import numpy as np

from ..errors import BundleError, InputError
from ..formats import layout
from ..formats.bucket_file import decode_bucket
from ..formats.canonical import canonical_json
from ..formats.proof import proof_document
from ..storage import bundle
from ..storage.bundle import Bundle
from ..tree.sums import ints_from_sums, sums_from_be_bytes
from .stored import (
    fold_bucket,
    load_manifest,
    load_private_index,
    load_top_tree,
    shape_disagreements,
    top_path,
)

FORMATS = ("jsonl", "parquet")
INDEX = "index.json"


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
    where = f"{spec.source.shown}/{entry['file']}"
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
    top = load_top_tree(source, manifest)
    index = load_private_index(source, manifest)
    top_shape = len(top["levels"]) - 1
    if top_shape != manifest["tree"]["bucket_bits"]:
        raise BundleError(f"{source.shown}/{layout.TOP_TREE}: has {top_shape} levels above the buckets, the manifest "
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


def complete_proof(record: Mapping[str, Any], summary: Mapping[str, Any], user_id: str, nonce: bytes) -> dict[str, Any]:
    """The full proof of ``user_id`` (in the period's protocol version) from an exported record
    (serving side)."""
    balances = record["balances"]
    path = record["path"]
    if isinstance(balances, str):
        balances, path = json.loads(balances), json.loads(path)
    published = {**summary, "assets": [{"symbol": s, "decimals": d}
                                       for s, d in zip(summary["assets"], summary["asset_decimals"], strict=True)]}
    return proof_document(published, user_id, nonce, balances, int(record["position"]), path)
