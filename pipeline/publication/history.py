"""``por history verify``: every signature and every link of an archive's hash chain.

The chain: each publication's manifest names the previous month and the blake3
of its manifest (``previous``), and a republication names the revision it
replaces (``publication.supersedes``). The index must list the months in order
without gaps; each listed manifest must still hash to the digest the index and
the next month recorded, and carry a valid Ed25519 signature by the given key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..errors import AuditError, BundleError, PorError, SumOverflow, VerificationError
from ..formats.canonical import canonical_json, digest
from ..formats.layout import (
    MANIFEST,
    OUTSIDE_MANIFEST,
    PUBLIC_DIR,
    PUBLIC_KEY,
    SIGNATURE,
    TOP_TREE,
    VERIFIER_PAGE,
)
from ..formats.verifier_page import PageError, embedded_blocks, page_parts, render_page
from ..mapping import Mapper, local_mapper
from ..formats.nodes import nodes_from_json
from ..protocol.jsonread import parse_json
from ..protocol.period import month_after, month_before
from ..protocol.versions import per_asset
from ..reserves.public import CSV_NAME, PARQUET_NAME
from ..storage import fs as storage
from ..tree.fold import hash_pairs
from ..tree.sums import ints_from_sums
from . import archive
from . import recheck
from .recheck import shown
from .report import REPORT_HTML, REPORT_JSON, REPORT_MD, month_root
from .signing import key_id, verify_manifest_signature


@dataclass
class HistoryReport:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Chain:
    """What each month's check needs of the months before it in the index (their current revisions)."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    """period -> its history row"""
    secrets: dict[str, str | None] = field(default_factory=dict)
    exchanges: dict[str, str | None] = field(default_factory=dict)
    heights: dict[str, dict[str, int]] = field(default_factory=dict)
    """period -> chain -> the snapshot height its report's balance checks read (``recheck.snapshot_heights``)."""
    checkable: bool = False
    """An earlier month carries ``publication.verifier`` (so no later month may lack it)."""

    def add(self, period: str, manifest: Mapping[str, Any], report: Any) -> None:
        """``period``'s (newest) revision, once checked: what later months are checked against."""
        self.rows[period] = recheck.history_row(manifest, report if isinstance(report, Mapping) else None)
        self.secrets[period] = (manifest.get("publication") or {}).get("secret")
        own = report.get("ownership") if isinstance(report, Mapping) else None
        self.exchanges[period] = own.get("exchange") if isinstance(own, Mapping) else None
        self.heights[period] = recheck.snapshot_heights(report if isinstance(report, Mapping) else None)
        self.checkable = self.checkable or not recheck.is_legacy(manifest)

    def month(self, a: archive.Archive, e: Mapping[str, Any], label: str, manifest: Mapping[str, Any],
              report: Any) -> recheck.Month:
        """The month of index entry ``e`` as ``recheck`` reads it, against what came before it."""
        files = manifest.get("files") or {}
        before = month_before(e["period"]) if manifest.get("previous") else None

        def public(name: str) -> bytes | None:
            return a.read(e["directory"], PUBLIC_DIR, name) if name in files else None

        return recheck.Month(
            label, manifest, report, a.url(e["directory"], PUBLIC_DIR, PARQUET_NAME) if PARQUET_NAME in files else None,
            public(REPORT_MD), public(REPORT_HTML), self.secrets.get(before) if before else None, public(CSV_NAME),
            not self.checkable, self.exchanges.get(before) if before else None,
            self.heights.get(before) if before else None)


def context_before(a: archive.Archive, index: Mapping[str, Any], entry: Mapping[str, Any]) -> _Chain:
    """What ``entry`` is checked against: every index entry before it (manifests and reports read back
    and digest-checked against the index and the manifests; signatures are ``history verify``'s)."""
    chain = _Chain()
    for e in index["publications"]:
        if e["directory"] == entry["directory"]:
            break
        raw, manifest = _read_json(a, e["directory"], MANIFEST)
        if digest(raw) != e["manifest"]:
            raise BundleError(f"{e['directory']}/{PUBLIC_DIR}/{MANIFEST}: blake3 {digest(raw)} differs from the "
                              f"index's {e['manifest']}")
        chain.add(e["period"], manifest, _signed_report(a, e["directory"], manifest))
    return chain


def verify_history(a: archive.Archive, public: Ed25519PublicKey, nodes: Sequence[Any] = (),
                   mapper: Mapper = local_mapper) -> HistoryReport:
    """Check the whole archive; returns the report, or raises ``AuditError`` listing every problem.
    ``nodes``: chain nodes of the caller's own, to re-confirm contract wallets' owners; ``mapper``:
    where the reserve proofs are re-verified (this process by default, or a cluster)."""
    if not a.exists(archive.INDEX):
        raise AuditError(f"{a.shown}: no {archive.INDEX}; not an archive")
    index, _ = a.read_index()
    report = HistoryReport()
    pubs = index["publications"]
    if not pubs:
        raise AuditError(f"{a.shown}/{archive.INDEX}: lists no publication")
    digests: dict[str, list[str]] = {}  # period -> manifest digests of its revisions, in order
    chain = _Chain()
    new_months: list[str] = []
    for n, e in enumerate(pubs):
        period, revision = e["period"], e["revision"]
        label = month_label(e)
        problems = report.problems
        if period not in digests:
            if new_months and period != month_after(new_months[-1]):
                kind = "a gap" if period > month_after(new_months[-1]) else "out of order"
                problems.append(f"index entry {n}: {period} follows {new_months[-1]}: {kind}")
            new_months.append(period)
            digests[period] = []
        if revision != len(digests[period]) + 1 or e["directory"] != archive.period_directory(period, revision):
            problems.append(f"{label}: expected revision {len(digests[period]) + 1} in "
                            f"{archive.period_directory(period, len(digests[period]) + 1)}")
        before = len(problems)
        manifest = _check_publication(a, e, label, public, digests, new_months[0], problems, report.warnings,
                                      chain.checkable)
        digests[period].append(e["manifest"])
        if manifest is not None:
            report_doc = _check_report(a, e, label, manifest, chain, problems, report.warnings, nodes, mapper)
            try:
                chain.add(period, manifest, report_doc)
            except (PorError, KeyError, TypeError, ValueError, AttributeError) as exc:
                problems.append(f"{label}: no history row can be read from it ({type(exc).__name__}: {exc})")
        if manifest is not None and len(problems) == before:
            report.lines.append(f"{label}: OK  manifest {e['manifest'][:16]}…  {_root_word(manifest)} "
                                f"{_month_root(manifest)[:16]}…")
    listed = {e["directory"] for e in pubs}
    for name in a.entries():
        if name not in listed and name != archive.INDEX and not name.startswith("."):
            report.warnings.append(f"{name}: in the archive but not in {archive.INDEX} (not a publication)")
    if report.problems:
        raise AuditError(f"{a.shown}: history does not verify:\n  " + "\n  ".join(report.problems), report.problems)
    report.lines.append(f"{len(pubs)} publication(s) of {len(new_months)} month(s), {new_months[0]} to "
                        f"{new_months[-1]}: every signature (key id {key_id(public)}) and link verified")
    return report


def month_label(entry: Mapping[str, Any]) -> str:
    """How messages name an index entry: ``2026-11 revision 1``; its directory only when it is not the one the
    period and revision give (``2026-11 revision 2 (directory 2026-11-x)``)."""
    period, revision, directory = entry["period"], entry["revision"], entry["directory"]
    label = f"{period} revision {revision}"
    try:
        usual = archive.period_directory(period, revision)
    except (TypeError, ValueError):
        usual = None
    return label if directory == usual else f"{label} (directory {shown(directory)})"


def page_problems(page: bytes, manifest: Mapping[str, Any], signature: Any, public_pem: str) -> tuple[list[str], list[str]]:
    """``(problems, warnings)`` of a month's verifier page against the month's signed manifest, its
    signature and the public key: its code (the page with the embedded blocks emptied) must hash to
    the manifest's ``publication.verifier``, and the blocks must be exactly the rendering of those
    three. Months published before the manifest recorded the code are checked for the embedded
    manifest only. A warning when the code is not the page this tool renders."""
    try:
        parts = page_parts(page)
    except PageError as exc:
        return [f"public/{VERIFIER_PAGE}: {exc}"], []
    problems, warnings = [], []
    recorded = (manifest.get("publication") or {}).get("verifier")
    code = digest(parts.code)
    want_manifest, want_signature = embedded_blocks(manifest, signature, public_pem)
    if recorded is None:
        if parts.manifest != want_manifest:
            problems.append(f"public/{VERIFIER_PAGE} embeds another manifest than public/{MANIFEST}")
        if code != this_tool_page_code():
            warnings.append(f"public/{VERIFIER_PAGE}: its code is covered by no signature (the month predates "
                            "publication.verifier) and is not the page this tool renders: do not trust it; write "
                            "one with 'por verifier-page'")
        return problems, warnings
    if code != recorded:
        problems.append(f"public/{VERIFIER_PAGE}: its code was altered (blake3 {code}; the signed manifest records "
                        f"{recorded})")
    if parts.manifest != want_manifest:
        problems.append(f"public/{VERIFIER_PAGE} embeds another manifest than public/{MANIFEST} (or not in the form "
                        "the page is rendered with)")
    if parts.signature != want_signature:
        problems.append(f"public/{VERIFIER_PAGE} embeds another signature or public key than public/{SIGNATURE} and "
                        f"public/{PUBLIC_KEY}")
    if not problems and code != this_tool_page_code():
        warnings.append(f"public/{VERIFIER_PAGE}: its code (blake3 {code[:16]}…, as signed) is not the page this "
                        f"tool renders ({this_tool_page_code()[:16]}…): published by {(manifest.get('publication') or {}).get('tool')}")
    return problems, warnings


def this_tool_page_code() -> str:
    """blake3 of the verifier page's code as this installation renders it."""
    return digest(render_page())


def _refold_top_tree(a: archive.Archive, directory: str, manifest: Mapping[str, Any],
                     files: Mapping[str, Any]) -> list[str]:
    if TOP_TREE not in files:
        return [f"the manifest lists no {TOP_TREE}"]
    try:
        _, top = _read_json(a, directory, TOP_TREE)
    except BundleError as exc:
        return [str(exc)]
    return refold_top_tree(top, manifest)


def _root_word(manifest: Mapping[str, Any]) -> str:
    return "announced value" if per_asset(manifest.get("version")) else "root"


def _month_root(manifest: Mapping[str, Any]) -> str:
    try:
        return month_root(manifest)
    except (PorError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return f"(none: {exc})"


def refold_top_tree(top: Mapping[str, Any], manifest: Mapping[str, Any]) -> list[str]:
    """Fold a top tree level by level up to the manifest's root: every parent's sums are its
    children's sums, and its hash is their node hash unless it is a padding node (all sums zero:
    padding hashes are keyed, and only the exchange can recompute them). por-v3: every asset's tree,
    each up to that asset's root (``refold_top_trees_v3``)."""
    if per_asset(manifest.get("version")):
        return refold_top_trees_v3(top, manifest)
    try:
        m = len(manifest["assets"])
        levels = [nodes_from_json(level, m) for level in top["levels"]]
        h = manifest["tree"]["bucket_height"]
        if len(levels) != manifest["tree"]["bucket_bits"] + 1:
            return [f"{TOP_TREE} has {len(levels)} levels, the manifest's shape needs {manifest['tree']['bucket_bits'] + 1}"]
        for j in range(len(levels) - 1):
            (hashes, sums), (p_hashes, p_sums) = levels[j], levels[j + 1]
            folded_hashes, folded_sums = hash_pairs(hashes, sums, h + j)
            if (folded_sums != p_sums).any():
                node = int(np.flatnonzero((folded_sums != p_sums).reshape(len(p_sums), -1).any(axis=1))[0])
                return [f"{TOP_TREE} level {h + j + 1} node {node}: its sums are not its children's sums"]
            padding = ~p_sums.reshape(len(p_sums), -1).any(axis=1)
            wrong = ((folded_hashes != p_hashes).any(axis=1)) & ~padding
            if wrong.any():
                return [f"{TOP_TREE} level {h + j + 1} node {int(np.flatnonzero(wrong)[0])} is not the hash of its children"]
        root_hash, root_sums = levels[-1]
        root = {"hash": root_hash[0].tobytes().hex(), "sums": [str(v) for v in ints_from_sums(root_sums)[0]]}
    except (KeyError, TypeError, ValueError, IndexError, SumOverflow) as exc:
        return [f"{TOP_TREE} cannot be re-folded ({exc})"]
    if root != manifest.get("root"):
        return [f"{TOP_TREE} folds to {shown(root)}, the manifest's root is {shown(manifest.get('root'))}"]
    return []


def refold_top_trees_v3(top: Mapping[str, Any], manifest: Mapping[str, Any]) -> list[str]:
    """por-v3's top tree (``schemas/por-v3.md`` section 7): per asset, in asset order, the levels from
    the bucket roots up to the root, each node ``{hash, equity, debt}``. Every parent's equity and debt
    are its children's sums (each below 2^128), its hash is their por-v3 node hash unless it is a
    padding node (both sums zero), and the top is the manifest's root of that asset."""
    from ..protocol import v3
    from ..protocol.amounts import U128_LIMIT

    def node(x: Any) -> tuple[bytes, int, int]:
        if not isinstance(x, Mapping) or set(x) != {"hash", "equity", "debt"}:
            raise ValueError(f"{shown(x)} is not a node {{hash, equity, debt}}")
        h, e, d = x["hash"], x["equity"], x["debt"]
        if not (isinstance(h, str) and len(h) == 64 and h == h.lower()) or not all(
                isinstance(v, str) and v.isdigit() and v.isascii() and (v == "0" or v[0] != "0") for v in (e, d)):
            raise ValueError(f"{shown(x)}: a hash is 64 lowercase hex, sums canonical decimal strings")
        if int(e) >= U128_LIMIT or int(d) >= U128_LIMIT:
            raise ValueError(f"{shown(x)}: a sum is not below 2^128")
        return bytes.fromhex(h), int(e), int(d)

    try:
        trees, shapes = top["trees"], manifest["trees"]
        if top.get("version") != manifest.get("version") or top.get("period") != manifest.get("period"):
            return [f"{TOP_TREE} is {shown(top.get('version'))} {shown(top.get('period'))}, the manifest "
                    f"{shown(manifest.get('version'))} {shown(manifest.get('period'))}"]
        if not isinstance(trees, list) or len(trees) != len(shapes):
            return [f"{TOP_TREE} has {len(trees) if isinstance(trees, list) else 'no'} trees for {len(shapes)} assets"]
        for tree, shape in zip(trees, shapes, strict=True):
            symbol, k, h = shape["asset"], shape["bucket_bits"], shape["bucket_height"]
            where = f"{TOP_TREE} {symbol}"
            if (tree.get("asset"), tree.get("bucket_bits"), tree.get("bucket_height")) != (symbol, k, h):
                return [f"{where}: labelled {shown(tree.get('asset'))} with shape ({shown(tree.get('bucket_bits'))}, "
                        f"{shown(tree.get('bucket_height'))}), the manifest's is ({k}, {h})"]
            levels = [[node(x) for x in level] for level in tree["levels"]]
            if [len(level) for level in levels] != [1 << (k - j) for j in range(k + 1)]:
                return [f"{where} has levels of {shown([len(level) for level in levels])} nodes, the shape needs "
                        f"{shown([1 << (k - j) for j in range(k + 1)])}"]
            for j in range(k):
                for i, parent in enumerate(levels[j + 1]):
                    (hl, el, dl), (hr, er, dr) = levels[j][2 * i], levels[j][2 * i + 1]
                    if (parent[1], parent[2]) != (el + er, dl + dr):
                        return [f"{where} level {h + j + 1} node {i}: its sums are not its children's sums"]
                    if (parent[1], parent[2]) != (0, 0) and parent[0] != v3.node_hash(hl, (el, dl), hr, (er, dr)):
                        return [f"{where} level {h + j + 1} node {i} is not the hash of its children"]
            root = levels[-1][0]
            want = shape["root"]
            if (root[0].hex(), str(root[1]), str(root[2])) != (want["hash"], want["equity"], want["debt"]):
                return [f"{where} folds to {{hash {root[0].hex()}, equity {root[1]}, debt {root[2]}}}, the manifest's "
                        f"root is {shown(dict(want))}"]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        return [f"{TOP_TREE} cannot be re-folded ({exc})"]
    return []


def _check_report(a: archive.Archive, e: Mapping[str, Any], label: str, manifest: Mapping[str, Any],
                  chain: _Chain, problems: list[str], warnings: list[str],
                  nodes: Sequence[Any] = (), mapper: Mapper = local_mapper) -> dict[str, Any] | None:
    """Every figure of the month's signed report re-derived from its public files and the earlier
    months' signed reports (``publication.recheck``), and the index's copies of them against the
    signed report. Returns the report (None when the month has none)."""
    files = manifest.get("files") or {}
    if REPORT_JSON not in files:
        return None
    try:
        _, report = _read_json(a, e["directory"], REPORT_JSON)
        month = chain.month(a, e, label, manifest, report)
    except BundleError as exc:
        problems.append(f"{label}: {exc}")
        return None
    problems += recheck.check_month(month, list(chain.rows.values()), mapper=mapper, storage_options=a.options,
                                    notes=warnings, nodes=nodes, stated_prices=True)
    if not isinstance(report, Mapping):
        return None
    problems += [f"{label}: {p}" for p in _archived_tables_problems(a, e["directory"], manifest, report)]
    try:
        assets = report["assets"]
        signed = {
            "liabilities": {r["symbol"]: r["liabilities"] for r in assets},
            "reserves": {r["symbol"]: r["reserves"] for r in assets},
            "ratios": {r["symbol"]: r["ratio_percent"] for r in assets},
            "under_100_percent": [r["symbol"] for r in assets if r["flagged"]],
        }
    except (KeyError, TypeError, AttributeError) as exc:
        problems.append(f"{label}: {REPORT_JSON} cannot be read ({type(exc).__name__}: {exc})")
        return None
    for key, value in signed.items():
        if key in e and e[key] != value:
            problems.append(f"{label}: {archive.INDEX}: {key} {shown(e[key])} differ from the signed report's {shown(value)}")
    return dict(report)


def _archived_tables_problems(a: archive.Archive, directory: str, manifest: Mapping[str, Any],
                              report: Mapping[str, Any]) -> list[str]:
    """When the archive holds the month's inputs (the exchange's or an auditor's copy; a public mirror
    holds only ``public/``): the archived prices and haircuts against ``inputs/inputs.json`` and the
    manifest's ``publication.inputs``, and the report's stated tables against them
    (``recheck.archived_tables``; the large inputs are ``regenerate``'s)."""
    if not a.exists(directory, archive.INPUTS_DOC):
        return []
    try:
        return [text for _, text in recheck.archived_tables(a, directory, manifest, report).problems]
    except (PorError, OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"the archived prices and haircuts cannot be checked ({type(exc).__name__}: {exc})"]


def signed_history(a: archive.Archive, index: Mapping[str, Any], public: Ed25519PublicKey | None,
                   exclude: str) -> list[dict[str, Any]]:
    """The history row (``recheck.history_row``) of every current publication of ``index`` but
    ``exclude``'s, taken from its signed manifest (digest as the index records it, signature by
    ``public`` unless None) and its signed report, never from the index's own copies of the figures.
    Pass an index cut after entry *n* for the rows that entry *n* was published with."""
    out = []
    for period, e in sorted(archive.current(index).items()):
        if period == exclude:
            continue
        raw, manifest = _read_json(a, e["directory"], MANIFEST)
        if digest(raw) != e["manifest"]:
            raise BundleError(f"{e['directory']}/{PUBLIC_DIR}/{MANIFEST}: blake3 {digest(raw)} differs from the "
                              f"index's {e['manifest']}")
        if public is not None:
            _, signature = _read_json(a, e["directory"], SIGNATURE)
            verify_manifest_signature(public, manifest, signature, f"{e['directory']}/{PUBLIC_DIR}/{SIGNATURE}")
        out.append(recheck.history_row(manifest, _signed_report(a, e["directory"], manifest)))
    return out


def previous_snapshot_heights(a: archive.Archive, index: Mapping[str, Any], period: str) -> dict[str, int]:
    """chain -> the snapshot height the month before ``period`` (its current revision) recorded for it
    (``recheck.snapshot_heights`` of its signed report; the manifest's digest as the index records it):
    where the month's sampled heights start. Empty when there is no such month or it checked no chain."""
    entry = archive.current(index).get(month_before(period))
    if entry is None:
        return {}
    raw, manifest = _read_json(a, entry["directory"], MANIFEST)
    if digest(raw) != entry["manifest"]:
        raise BundleError(f"{entry['directory']}/{PUBLIC_DIR}/{MANIFEST}: blake3 {digest(raw)} differs from the "
                          f"index's {entry['manifest']}")
    return recheck.snapshot_heights(_signed_report(a, entry["directory"], manifest))


def _signed_report(a: archive.Archive, directory: str, manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """A month's report.json, once its blake3 is the one its signed manifest lists (None when the
    report is not among the signed files)."""
    recorded = manifest.get("files", {}).get(REPORT_JSON)
    if recorded is None:
        return None
    raw, report = _read_json(a, directory, REPORT_JSON)
    if digest(raw) != recorded:
        raise BundleError(f"{directory}/{PUBLIC_DIR}/{REPORT_JSON}: blake3 {digest(raw)} differs from the signed "
                          f"manifest's {recorded}")
    return dict(report)


def _read_json(a: archive.Archive, directory: str, name: str) -> tuple[bytes, Any]:
    raw = a.read(directory, PUBLIC_DIR, name)
    try:
        return raw, parse_json(raw, f"{directory}/{PUBLIC_DIR}/{name}")
    except VerificationError as exc:
        raise BundleError(str(exc)) from None


def _check_publication(a: archive.Archive, e: Mapping[str, Any], label: str, public: Ed25519PublicKey,
                       digests: Mapping[str, list[str]], first_month: str, problems: list[str],
                       warnings: list[str], checkable: bool = False) -> dict[str, Any] | None:
    try:
        raw, manifest = _read_json(a, e["directory"], MANIFEST)
        _, signature = _read_json(a, e["directory"], SIGNATURE)
    except BundleError as exc:
        problems.append(f"{label}: {exc}")
        return None
    if digest(raw) != e["manifest"]:
        problems.append(f"{label}: manifest.json was altered: blake3 {digest(raw)}, the index recorded {e['manifest']}")
    if canonical_json(manifest) != raw:
        problems.append(f"{label}: manifest.json is not in canonical form (RFC 8785)")
    try:
        verify_manifest_signature(public, manifest, signature, f"{label}: {SIGNATURE}")
    except VerificationError as exc:
        problems.append(str(exc))
    if manifest.get("period") != e["period"]:
        problems.append(f"{label}: the manifest's period is {shown(manifest.get('period'))}")
    publication = manifest.get("publication") or {}
    if publication.get("revision") != e["revision"]:
        problems.append(f"{label}: the manifest's revision is {shown(publication.get('revision'))}")
    period = e["period"]
    want_supersedes = digests[period][-1] if e["revision"] > 1 and digests[period] else None
    if publication.get("supersedes") != want_supersedes:
        problems.append(f"{label}: supersedes {shown(publication.get('supersedes'))}, expected {shown(want_supersedes)}")
    previous = manifest.get("previous")
    if period == first_month:
        if previous is not None:
            problems.append(f"{label}: links to {shown(previous)} but is the archive's first month")
    else:
        before = month_before(period)
        if not isinstance(previous, Mapping) or previous.get("period") != before:
            problems.append(f"{label}: does not link to {before} (previous = {shown(previous)})")
        elif previous.get("manifest") not in digests.get(before, []):
            problems.append(f"{label}: links to a {before} manifest {str(previous.get('manifest'))[:16]}… that is "
                            f"not any published revision of {before} (altered or replaced month)")
    if e.get("root") != _month_root(manifest):
        problems.append(f"{label}: the index's root {e.get('root')} differs from the manifest's "
                        f"{_root_word(manifest)} {_month_root(manifest)}")
    files = manifest.get("files") or {}
    for name, want in sorted(files.items()):
        try:
            got = digest(a.read(e["directory"], PUBLIC_DIR, name))
        except BundleError as exc:
            problems.append(f"{label}: {exc}")
            continue
        if got != want:
            problems.append(f"{label}: public/{name} was altered: blake3 {got}, the manifest says {want}")
    try:
        present = {p.rsplit("/", 1)[-1] for p in storage.retrying(
            lambda: a.fs.ls(a.file(e["directory"], PUBLIC_DIR), detail=False))}
    except FileNotFoundError:
        present = set()
    extra = sorted(present - set(files) - OUTSIDE_MANIFEST)
    if VERIFIER_PAGE in present and VERIFIER_PAGE not in files:
        try:
            pem = a.read(e["directory"], PUBLIC_DIR, PUBLIC_KEY).decode("ascii")
            page_problems_, page_warnings = page_problems(a.read(e["directory"], PUBLIC_DIR, VERIFIER_PAGE), manifest,
                                                          signature, pem)
        except (BundleError, UnicodeDecodeError) as exc:
            page_problems_, page_warnings = [f"public/{VERIFIER_PAGE} cannot be checked ({exc})"], []
        problems += [f"{label}: {p}" for p in page_problems_]
        warnings += [f"{label}: {w}" for w in page_warnings]
    elif VERIFIER_PAGE not in present and (manifest.get("publication") or {}).get("verifier"):
        problems.append(f"{label}: public/{VERIFIER_PAGE} is missing")
    if checkable and not (manifest.get("publication") or {}).get("verifier"):
        problems.append(f"{label}: the manifest records no verifier page code (publication.verifier) although an "
                        "earlier month does: a month cannot drop the checks its predecessors had")
    problems += [f"{label}: {p}" for p in _refold_top_tree(a, e["directory"], manifest, files)]
    if extra:
        problems.append(f"{label}: public files not covered by the manifest: {shown(extra)}")
    return manifest
