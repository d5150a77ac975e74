"""``por regenerate``: rebuild archived periods from their archived inputs and compare.

For each selected publication: check the archived inputs against their recorded
digests (before any build), dispatch on the manifest's protocol ``version``,
rebuild the tree into a temporary directory with the recorded shape, and compare
the manifest's fields, the root and its sums, every top-tree node, every bucket
root, and every figure of the report re-derived from the month's public files, the archived prices
and the earlier months' signed reports (``publication.recheck``: the comparison ``history verify``
makes; ``report.md``/``report.html`` byte for byte when this renderer wrote them, else their figures
read back). The tool version that published the period is printed.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from pipeline.errors import BundleError, InputError
from pipeline.formats import layout
from pipeline.liabilities.build import build_bundle
from pipeline.liabilities.snapshot import plan_snapshot
from pipeline.liabilities.stored import load_top_tree
from pipeline.protocol import v3
from pipeline.protocol.keys import SecretKey, secret_id
from pipeline.publication import archive
from pipeline.cluster import client_mapper
from pipeline.publication import recheck
from pipeline.publication.history import context_before
from pipeline.publication.report import REPORT_JSON
from pipeline.reserves.input import load_reserves
from pipeline.reserves.public import PARQUET_NAME
from pipeline.storage import bundle
from pipeline.storage import fs as storage

COMPARED_FIELDS = ("version", "period", "hash", "assets", "tree", "parameters", "trees", "commitment")
"""por-v1/v2 carry ``tree`` and ``root``; por-v3 ``parameters`` and ``trees`` (every tree's shape and root)."""


@dataclass(frozen=True)
class Difference:
    """One thing that differs between the archive and the rebuild: ``what`` names it (``inputs``,
    ``manifest``, ``root-hash``, ``root-sums``, ``buckets``, ``private-index``, ``top-tree``,
    ``report``) and ``text`` says how, with both values where there are two."""

    what: str
    text: str
    archived: Any = None
    regenerated: Any = None


@dataclass
class Comparison:
    period: str
    revision: int
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def match(self) -> bool:
        return not self.differences

    def render(self) -> str:
        head = f"{'MATCH' if self.match else 'MISMATCH'} {self.period} (revision {self.revision})"
        return "\n".join([head, *(f"  {d.text}" for d in self.differences), *(f"  note: {n}" for n in self.notes)])


def compare_top_trees(archived: Mapping[str, Any], fresh: Mapping[str, Any], symbols: list[str]) -> list[Difference]:
    """Which buckets (level-0 nodes) differ, by hash and by asset sums; then any higher level (por-v3: per
    asset's tree, by hash, equity and debt)."""
    if "trees" in archived or "trees" in fresh:
        return _compare_top_trees_v3(archived, fresh)
    out: list[Difference] = []
    a_levels, f_levels = archived.get("levels", []), fresh.get("levels", [])
    a_shape, f_shape = [len(lv) for lv in a_levels], [len(lv) for lv in f_levels]
    if len(a_levels) != len(f_levels) or (a_levels and len(a_levels[0]) != len(f_levels[0])):
        return [Difference("top-tree", f"top tree shape: archived {a_shape}, regenerated {f_shape}", a_shape, f_shape)]
    if not a_levels:
        return out
    hashes, sums = [], []
    for b, (x, y) in enumerate(zip(a_levels[0], f_levels[0], strict=True)):
        if x["hash"] != y["hash"]:
            hashes.append(str(b))
        assets = [s for s, u, v in zip(symbols, x["sums"], y["sums"], strict=True) if u != v]
        if assets:
            sums.append(f"{b} ({', '.join(assets)})")
    if hashes:
        out.append(Difference("buckets", f"bucket hashes differ: buckets {', '.join(hashes[:20])}"
                              + (" …" if len(hashes) > 20 else "")))
    if sums:
        out.append(Difference("buckets", f"bucket sums differ: buckets {'; '.join(sums[:20])}"
                              + (" …" if len(sums) > 20 else "")))
    if not out:
        higher = [j for j in range(1, len(a_levels)) if a_levels[j] != f_levels[j]]
        if higher:
            out.append(Difference("top-tree", f"top tree levels {higher} differ although the buckets match"))
    return out


def _compare_top_trees_v3(archived: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[Difference]:
    a_trees, f_trees = archived.get("trees") or [], fresh.get("trees") or []
    a_shape = [(t.get("asset"), [len(lv) for lv in t.get("levels", [])]) for t in a_trees]
    f_shape = [(t.get("asset"), [len(lv) for lv in t.get("levels", [])]) for t in f_trees]
    if a_shape != f_shape:
        return [Difference("top-tree", f"top trees' shapes: archived {a_shape}, regenerated {f_shape}", a_shape, f_shape)]
    out: list[Difference] = []
    for a, f in zip(a_trees, f_trees, strict=True):
        buckets = [str(b) for b, (x, y) in enumerate(zip(a["levels"][0], f["levels"][0], strict=True)) if x != y]
        if buckets:
            out.append(Difference("buckets", f"tree of {a.get('asset')}: buckets {', '.join(buckets[:20])}"
                                  + (" …" if len(buckets) > 20 else "") + " differ (hash, equity or debt)"))
        elif a["levels"] != f["levels"]:
            out.append(Difference("top-tree", f"tree of {a.get('asset')}: higher levels differ although the buckets match"))
    return out


def compare_manifests(archived: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[Difference]:
    out = [Difference("commitment" if key == "commitment" else "manifest",
                      f"manifest {key}: archived {archived.get(key)!r}, regenerated {fresh.get(key)!r}",
                      archived.get(key), fresh.get(key))
           for key in COMPARED_FIELDS if archived.get(key) != fresh.get(key)]
    a_root, f_root = archived.get("root", {}), fresh.get("root", {})
    if a_root.get("hash") != f_root.get("hash"):
        out.append(Difference("root-hash", f"root hash: archived {a_root.get('hash')}, regenerated {f_root.get('hash')}",
                              a_root.get("hash"), f_root.get("hash")))
    symbols = [a["symbol"] for a in fresh.get("assets", [])]
    if len(a_root.get("sums", [])) == len(symbols):
        for s, x, y in zip(symbols, a_root["sums"], f_root["sums"], strict=True):
            if x != y:
                out.append(Difference("root-sums", f"root sum of {s}: archived {x}, regenerated {y}", x, y))
    elif a_root.get("sums") != f_root.get("sums"):
        out.append(Difference("root-sums", "root sums: the asset lists differ", a_root.get("sums"), f_root.get("sums")))
    return out


def _rebuild(protocol: str) -> Callable[..., tuple[bundle.Bundle, Any]]:
    """Rebuild a period published with ``protocol`` (por-v1 and por-v2 share the tree; v2 adds the
    announced value), with its recorded shape. por-v3: with its recorded parameters; every tree's
    ``k`` by the default rule, or the one ``k`` all its trees share (a build's ``bucket_bits``; the
    default rule gives the same bytes when it chose that ``k`` everywhere)."""

    def rebuild(client: Any, period_url: str, manifest: Mapping[str, Any], secret: SecretKey, out: str,
                opts: Mapping[str, Any]) -> tuple[bundle.Bundle, Any]:
        plan = plan_snapshot(storage.join(period_url, "inputs/snapshot"),
                             storage.join(period_url, "inputs/assets.json"), opts)
        if protocol == v3.VERSION:
            shared = {t["bucket_bits"] for t in manifest["trees"]}
            build_bundle(client, plan, manifest["period"], secret, out, shared.pop() if len(shared) == 1 else None,
                         protocol=protocol, parameters=v3.Parameters(**manifest["parameters"]))
        else:
            build_bundle(client, plan, manifest["period"], secret, out, manifest["tree"]["bucket_bits"],
                         protocol=protocol)
        return bundle.open_bundle(out), plan

    return rebuild


BUILDERS: dict[str, Callable[..., tuple[bundle.Bundle, Any]]] = {"por-v1": _rebuild("por-v1"),
                                                                  "por-v2": _rebuild("por-v2"),
                                                                  "por-v3": _rebuild("por-v3")}
"""Protocol version -> how to rebuild a period published with it. A new protocol adds an
entry; old ones stay, so archived periods keep regenerating after the code moves on."""


def _private_buckets(index: Mapping[str, Any]) -> dict[Any, Any]:
    """Every non-empty bucket of a private index with what it holds and its root (por-v3: per tree)."""
    if "trees" in index:
        return {f"{t['asset']}/{e['bucket']}": (e["leaves"], e["root"]) for t in index["trees"] for e in t["buckets"]}
    return {e["bucket"]: (e["users"], e["root"]) for e in index.get("buckets", [])}


def regenerate_one(client: Any, a: archive.Archive, entry: Mapping[str, Any], secret: SecretKey,
                   opts: Mapping[str, Any], workdir: str | None = None, nodes: Sequence[Any] = ()) -> Comparison:
    period_url = a.url(entry["directory"])
    old = bundle.open_bundle(period_url, opts)
    manifest = old.read_json(layout.MANIFEST)
    cmp = Comparison(entry["period"], entry["revision"])
    version = manifest.get("version")
    builder = BUILDERS.get(str(version))
    if builder is None:
        raise InputError(f"{entry['directory']}: protocol version {version!r} is not supported by this tool "
                         f"(supported: {sorted(BUILDERS)})")
    publication = manifest.get("publication") or {}
    try:
        archive.check_inputs(a.fs, a.file(entry["directory"]), f"{a.shown}/{entry['directory']}",
                             publication.get("inputs"))
    except BundleError as exc:
        cmp.differences.append(Difference("inputs", f"archived inputs altered, not rebuilt: {exc}"))
        return cmp
    recorded_secret = publication.get("secret")
    if recorded_secret is not None and recorded_secret != secret_id(secret):
        cmp.differences.append(Difference("secret", f"the month was built with another master secret (id "
                                          f"{recorded_secret}) than the one given ({secret_id(secret)})",
                                          recorded_secret, secret_id(secret)))
        return cmp
    tmp = tempfile.mkdtemp(prefix="por-regenerate-", dir=workdir)
    try:
        fresh, plan = builder(client, period_url, manifest, secret, storage.join(tmp, "bundle"), opts)
        fresh_manifest = fresh.read_json(layout.MANIFEST)
        cmp.differences += compare_manifests(manifest, fresh_manifest)
        symbols = [x["symbol"] for x in fresh_manifest["assets"]]
        cmp.differences += compare_top_trees(old.read_json(layout.TOP_TREE), load_top_tree(fresh, fresh_manifest),
                                             symbols)
        old_index, new_index = old.read_json(layout.PRIVATE_INDEX), fresh.read_json(layout.PRIVATE_INDEX)
        old_b, new_b = _private_buckets(old_index), _private_buckets(new_index)
        private = sorted(b for b in set(old_b) | set(new_b) if old_b.get(b) != new_b.get(b))
        if private:
            cmp.differences.append(Difference(
                "private-index", f"private bucket index differs: buckets {', '.join(map(str, private[:20]))}"))
        a_top, f_top = manifest.get("files", {}).get(layout.TOP_TREE), fresh_manifest["files"].get(layout.TOP_TREE)
        if f_top != a_top:
            cmp.differences.append(Difference(
                "top-tree", f"top-tree.json: the regenerated bytes (blake3 {f_top}) differ from the digest in the "
                f"archived manifest ({a_top})", a_top, f_top))
        cmp.differences += _compare_report(client, a, entry, manifest, old, plan, opts, cmp.notes, nodes)
        kinds = {d.what for d in cmp.differences}
        if "root-hash" in kinds and "manifest" not in kinds:
            cmp.notes.append("the root differs although the shape matches: a different master secret, or an "
                             "archive whose public files were altered")
        value = (f"announced value {fresh_manifest['commitment']}" if "trees" in fresh_manifest
                 else f"root {fresh_manifest['root']['hash']}")
        cmp.notes.append(f"published by {publication.get('tool', 'an unknown tool')}; {value}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cmp


def _compare_report(client: Any, a: archive.Archive, entry: Mapping[str, Any], manifest: Mapping[str, Any],
                    old: bundle.Bundle, plan: Any, opts: Mapping[str, Any], out_notes: list[str],
                    nodes: Sequence[Any] = ()) -> list[Difference]:
    """Every report figure re-derived (``publication.recheck``, the comparison ``history verify``
    makes), with the dollar figures from the archived prices file; and the archived reserves input
    against the public reserves file the report was drawn from."""
    files = manifest.get("files") or {}
    if REPORT_JSON not in files:
        return []
    chain = context_before(a, a.read_index()[0], entry)
    report = old.read_json(REPORT_JSON)
    # the archived prices and haircuts (por-v3), and the report's copies of them against those files
    tables = recheck.archived_tables(a, entry["directory"], manifest, report)
    out: list[Difference] = [Difference(what, text) for what, text in tables.problems]
    label = f"{entry['period']} revision {entry['revision']}"
    month = chain.month(a, entry, label, manifest, report)
    public_reserves = month.reserves_url
    notes: list[str] = []
    for problem in recheck.check_month(month, list(chain.rows.values()), tables.prices, client_mapper(client), opts,
                                       notes, nodes, haircuts=tables.haircuts):
        out.append(Difference("report", problem.removeprefix(f"{label}: ")))
    out_notes.extend(n.removeprefix(f"{label}: ") for n in notes)
    if public_reserves is not None:
        archived = load_reserves(storage.join(a.url(entry["directory"]), "inputs/reserves"), plan.assets, opts)
        shown = load_reserves(public_reserves, plan.assets, opts)
        if (archived.totals, archived.addresses, archived.amounts) != (shown.totals, shown.addresses, shown.amounts):
            out.append(Difference("reserves", f"public/{PARQUET_NAME} is not the archived reserves input "
                                  f"(totals {shown.totals} against {archived.totals}, {shown.addresses} rows against "
                                  f"{archived.addresses})", shown.totals, archived.totals))
    return out


def select(index: Mapping[str, Any], period: str | None, all_periods: bool) -> list[Mapping[str, Any]]:
    """Every publication (``--all``), or the current revision of ``period``."""
    if all_periods:
        return list(index["publications"])
    latest = archive.current(index)
    if period not in latest:
        raise InputError(f"period {period} is not in the archive (published: {sorted(latest) or 'none'})")
    return [latest[period]]

