"""por-v3 proof and manifest verification (schemas/por-v3.md section 8). Standard library and ``blake3`` only.

``protocol.verify.verify_proof`` runs the checks of section 8 in their order (``read_proof_v3``, the
manifest's own check ``verify.check_manifest``, ``verify_read_v3``) and raises ``VerificationError``
at the first failure, naming its ``Check`` (and the tree level, where there is one). The Node module
and the page run the same checks in the same order, so all three name the same check for every
document. Within a step the order is fixed too:

* ``format`` reads the proof in this order, each object with exactly its fields (a field missing or
  one more is ``format``): the field set of the proof; ``period`` (not ``YYYY-MM``: ``period``);
  ``assets`` (at most 255, each ``{symbol, decimals}``, then unique and sorted); ``parameters``
  (``fragments``, then ``padding``); ``trees`` (one per asset, each ``{bucket_bits, bucket_height,
  root}``: k, h, k + h, then the root); ``user_id``; ``nonce``; ``holdings`` (at most 255; each
  ``{asset, equity, debt, fragments}``, read in that order; at most 8 fragments, each ``{equity, debt,
  position, path}`` in that order; at most 64 path entries, else ``path-length``; each entry a node read
  at its level); ``commitment``. A node is read hash, equity, debt; an amount that is not a canonical
  decimal string below 2^128 is ``number``, a position not an integer in [0, 2^53) ``format``.
* ``user-id``; then the manifest, read the same way with ``manifest`` for every failure (its field set,
  ``previous`` and ``publication`` allowed; version, period, hash, assets, parameters, trees (one per
  asset: fields, label, k, h, height, root), files, commitment, and last its commitment's value), then
  ``version``, ``period``, ``assets``, ``parameters``, ``shape`` (asset by asset); without a manifest,
  the announced value (64 lowercase hex, else ``format``).
* ``holdings``, then ``fragments``, then ``holding-sum``, each over all holdings in order before the
  next (a holding's equity sum, then its debt sum, each ``sum-overflow`` at 2^128, then the two
  comparisons, equity first).
* Step 8 runs fragment by fragment (holdings in order, fragments in order): ``path-length``,
  ``position`` (range, then bucket), the fold (``sum-overflow`` at its level, equity before debt); then
  step 9 compares every folded root, in the same order, hash (``root-hash``) then sums (``root-sums``);
  then ``commitment``; then ``proof-root`` (held assets' roots in order, then the commitment field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..errors import SumOverflow, VerificationError
from . import shape, v3
from .amounts import CUT_NOTE, U128_LIMIT, is_cut, parse_amount, shown_units
from .checks import Check
from .period import is_valid_period
from .userid import display_user_id, user_id_problem
from .reading import MAX_SAFE_INTEGER, check_user, hex32, unique_and_sorted

MAX_SYMBOL_BYTES = 32
MAX_HOLDINGS = v3.MAX_ASSETS
MAX_PATH = shape.MAX_HEIGHT
POSITION_LIMIT = MAX_SAFE_INTEGER + 1
"""Positions are integers in ``[0, 2^53)``: JavaScript's exact integers."""

PROOF_FIELDS = frozenset({"version", "period", "assets", "parameters", "trees", "user_id", "nonce", "holdings",
                          "commitment"})
MANIFEST_FIELDS = frozenset({"version", "period", "hash", "assets", "parameters", "trees", "files", "commitment"})
MANIFEST_PUBLICATION_FIELDS = frozenset({"previous", "publication"})
"""Added by ``por publish`` (the archive chain, schemas/archive.md); not part of ``C``, not read here."""
ASSET_FIELDS = frozenset({"symbol", "decimals"})
PARAMETER_FIELDS = frozenset({"fragments", "padding"})
PROOF_TREE_FIELDS = frozenset({"bucket_bits", "bucket_height", "root"})
MANIFEST_TREE_FIELDS = frozenset({"asset", "bucket_bits", "bucket_height", "height", "root"})
NODE_FIELDS = frozenset({"hash", "equity", "debt"})
HOLDING_FIELDS = frozenset({"asset", "equity", "debt", "fragments"})
FRAGMENT_FIELDS = frozenset({"equity", "debt", "position", "path"})

Node = tuple[bytes, int, int]
"""``(hash, equity, debt)``."""


@dataclass(frozen=True)
class AssetTotals:
    """One asset as the proof shows it: this user's equity and debt, and the tree's root."""

    symbol: str
    decimals: int
    equity: int
    debt: int
    root_hash: str
    total_equity: int
    total_debt: int
    held: bool

    @property
    def net(self) -> int:
        return self.equity - self.debt


@dataclass(frozen=True)
class VerifiedProofV3:
    """What a valid por-v3 proof establishes: per asset (every asset, zero where none is held), this
    user's equity and debt are counted in the totals committed to by ``commitment``."""

    period: str
    user_id: str
    parameters: v3.Parameters
    assets: tuple[AssetTotals, ...]
    commitment: str
    version: str = v3.VERSION

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(a.symbol for a in self.assets)

    @property
    def decimals(self) -> tuple[int, ...]:
        return tuple(a.decimals for a in self.assets)

    @property
    def equity(self) -> tuple[int, ...]:
        return tuple(a.equity for a in self.assets)

    @property
    def debt(self) -> tuple[int, ...]:
        return tuple(a.debt for a in self.assets)

    def summary(self, exact: bool = False) -> str:
        """What the proof shows, in whole units: every asset's equity, debt and net, and ``C`` (amounts readable,
        ``amounts.readable_units``; ``exact``: every digit)."""
        lines = [f"VALID proof for user {display_user_id(self.user_id)} in period {self.period}",
                 f"announced value ({self.version}) {self.commitment}",
                 f"parameters: {self.parameters.fragments} fragments per holding, padding {self.parameters.padding} %"]
        rows = [("asset", "equity", "debt", "net")]
        rows += [(a.symbol, shown_units(a.equity, a.decimals, exact), shown_units(a.debt, a.decimals, exact),
                  shown_units(a.net, a.decimals, exact)) for a in self.assets]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            lines.append("  " + "  ".join([r[0].ljust(widths[0]), *(r[i].rjust(widths[i]) for i in (1, 2, 3))]).rstrip())
        if any(is_cut(text) for r in rows[1:] for text in r[1:]):
            lines.append(CUT_NOTE)
        s = self.parameters.fragments
        lines.append(f"What this proof shows: this user's equity and debt in each asset above (net = equity - debt, in "
                     f"whole units) are counted, in {s} fragments each, in that asset's total equity and total debt, "
                     "which the announced value commits to.")
        zero = [a.symbol for a in self.assets if not a.held]
        if len(zero) == len(self.assets):
            lines.append("No asset is held: every asset is counted at zero for this user. This proof binds nothing "
                         "to your account: if you hold anything, it is the wrong proof; re-download it, then ask the "
                         "exchange.")
        elif zero:
            lines.append(f"Assets not held ({', '.join(zero)}) are counted at zero for this user.")
        lines.append("What it no longer shows: any other user's balances. Each other number in it is one random "
                     "share of some unnamed user's holding in one asset, or a sum over many users; nothing in it "
                     "tells which assets anybody else holds.")
        lines.append("Compare these amounts with your account.")
        return "\n".join(lines)


def _fail(check: Check, message: str, level: int | None = None, **values: Any) -> VerificationError:
    return VerificationError(check, message, level, **values)


def _fields(obj: object, fields: frozenset[str], check: Check, what: str, level: int | None = None,
            optional: frozenset[str] = frozenset()) -> Mapping[str, Any]:
    """An object with exactly ``fields`` (and any of ``optional``)."""
    if not isinstance(obj, Mapping):
        raise _fail(check, f"{what} must be an object with the fields {sorted(fields)}", level)
    missing, extra = sorted(fields - set(obj)), sorted(set(obj) - fields - optional)
    if missing or extra:
        parts = ([f"no field {', '.join(map(repr, missing))}"] if missing else []) + \
                ([f"unknown field {', '.join(map(repr, extra))}"] if extra else [])
        raise _fail(check, f"{what}: {'; '.join(parts)}", level)
    return obj


def _int(value: object, lo: int, hi: int, check: Check, what: str, level: int | None = None) -> int:
    """An integer (never a boolean) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(check, f"{what} must be an integer in [{lo}, {hi}], got {value!r}", level)
    return value


def _str(value: object, check: Check, what: str) -> str:
    if not isinstance(value, str):
        raise _fail(check, f"{what} must be a string, got {type(value).__name__}")
    return value


def _list(value: object, check: Check, what: str, level: int | None = None) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(check, f"{what} must be a list, got {type(value).__name__}", level)
    return value


def _amount(value: object, check: Check, what: str, level: int | None = None) -> int:
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise _fail(check, f"{what}: {exc}", level) from None


def _node(obj: object, what: str, level: int | None, check: Check = Check.FORMAT,
          number: Check = Check.NUMBER) -> Node:
    """``{hash, equity, debt}``: hash, then equity, then debt."""
    node = _fields(obj, NODE_FIELDS, check, what, level)
    return (hex32(node["hash"], check, f"{what}.hash", level), _amount(node["equity"], number, f"{what}.equity", level),
            _amount(node["debt"], number, f"{what}.debt", level))


def _assets(value: object, check: Check, what: str) -> list[tuple[str, int]]:
    """1..255 ``{symbol, decimals}``: symbols of 1 to 32 bytes, decimals in [0, 38], unique and sorted."""
    items = _list(value, check, f"{what} assets")
    if not 1 <= len(items) <= v3.MAX_ASSETS:
        raise _fail(check, f"{what} must list 1 to {v3.MAX_ASSETS} assets, got {len(items)}")
    out = []
    for n, item in enumerate(items):
        asset = _fields(item, ASSET_FIELDS, check, f"{what} assets[{n}]")
        symbol = _str(asset["symbol"], check, f"{what} assets[{n}].symbol")
        if not 1 <= len(symbol.encode("utf-8", "surrogatepass")) <= MAX_SYMBOL_BYTES:
            raise _fail(check, f"{what} symbol {symbol!r} must be 1 to {MAX_SYMBOL_BYTES} bytes")
        out.append((symbol, _int(asset["decimals"], 0, v3.MAX_DECIMALS, check, f"{what} decimals of {symbol!r}")))
    unique_and_sorted([s for s, _ in out], check, what)
    return out


def _parameters(value: object, check: Check, what: str) -> v3.Parameters:
    obj = _fields(value, PARAMETER_FIELDS, check, f"{what} parameters")
    return v3.Parameters(
        fragments=_int(obj["fragments"], v3.MIN_FRAGMENTS, v3.MAX_FRAGMENTS, check, f"{what} parameters.fragments"),
        padding=_int(obj["padding"], 0, v3.MAX_PADDING, check, f"{what} parameters.padding"))


def _shape(tree: Mapping[str, Any], check: Check, what: str) -> tuple[int, int]:
    k = _int(tree["bucket_bits"], 0, shape.MAX_BUCKET_BITS, check, f"{what}.bucket_bits")
    h = _int(tree["bucket_height"], 0, shape.MAX_HEIGHT, check, f"{what}.bucket_height")
    if k + h > shape.MAX_HEIGHT:
        raise _fail(check, f"{what}: k + h = {k + h} is more than {shape.MAX_HEIGHT}")
    return k, h


@dataclass(frozen=True)
class _Tree:
    bucket_bits: int
    bucket_height: int
    root: Node

    @property
    def height(self) -> int:
        return self.bucket_bits + self.bucket_height


@dataclass(frozen=True)
class _Fragment:
    equity: int
    debt: int
    position: int
    path: list[Node]


@dataclass(frozen=True)
class _Holding:
    asset: str
    equity: int
    debt: int
    fragments: list[_Fragment]


@dataclass(frozen=True)
class _Manifest:
    period: str
    assets: list[tuple[str, int]]
    parameters: v3.Parameters
    trees: list[_Tree]
    commitment: bytes


def read_manifest(manifest: object) -> _Manifest:
    """A por-v3 manifest, every field checked (``manifest``), and its commitment recomputed from its
    fields (``manifest`` when the stored one differs)."""
    doc = _fields(manifest, MANIFEST_FIELDS, Check.MANIFEST, "manifest", optional=MANIFEST_PUBLICATION_FIELDS)
    if doc["version"] != v3.VERSION:
        raise _fail(Check.MANIFEST, f"manifest version {doc['version']!r} is not {v3.VERSION}")
    period = _str(doc["period"], Check.MANIFEST, "manifest period")
    if not is_valid_period(period):
        raise _fail(Check.MANIFEST, f"manifest period {period!r} is not YYYY-MM")
    if doc["hash"] != "blake3":
        raise _fail(Check.MANIFEST, f"manifest hash {doc['hash']!r} is not 'blake3'")
    assets = _assets(doc["assets"], Check.MANIFEST, "manifest")
    parameters = _parameters(doc["parameters"], Check.MANIFEST, "manifest")
    items = _list(doc["trees"], Check.MANIFEST, "manifest trees")
    if len(items) != len(assets):
        raise _fail(Check.MANIFEST, f"manifest has {len(items)} trees for {len(assets)} assets")
    trees = []
    for (symbol, _), item in zip(assets, items, strict=True):
        what = f"manifest tree of {symbol!r}"
        tree = _fields(item, MANIFEST_TREE_FIELDS, Check.MANIFEST, what)
        if tree["asset"] != symbol:
            raise _fail(Check.MANIFEST, f"{what} is labelled {tree['asset']!r}")
        k, h = _shape(tree, Check.MANIFEST, what)
        if _int(tree["height"], 0, shape.MAX_HEIGHT, Check.MANIFEST, f"{what}.height") != k + h:
            raise _fail(Check.MANIFEST, f"{what}: height {tree['height']} is not k + h = {k + h}")
        trees.append(_Tree(k, h, _node(tree["root"], f"{what}.root", None, Check.MANIFEST, Check.MANIFEST)))
    files = doc["files"]
    if not isinstance(files, Mapping) or not all(isinstance(name, str) and name for name in files):
        raise _fail(Check.MANIFEST, "manifest files must be an object of file names")
    for name, digest in files.items():
        hex32(digest, Check.MANIFEST, f"manifest digest of {name!r}")
    stored = hex32(doc["commitment"], Check.MANIFEST, "manifest commitment")
    recomputed = commitment(period, parameters, assets, trees)
    if stored != recomputed:
        raise _fail(Check.MANIFEST, f"the manifest's commitment {stored.hex()} is not the value of its own fields "
                    f"({recomputed.hex()})", expected=recomputed.hex(), got=stored.hex())
    return _Manifest(period, assets, parameters, trees, stored)


def commitment(period: str, parameters: v3.Parameters, assets: Sequence[tuple[str, int]], trees: Sequence[_Tree]) -> bytes:
    return v3.commitment(period, parameters, assets,
                         [v3.TreeRoot(t.bucket_bits, t.bucket_height, t.root[0], t.root[1], t.root[2]) for t in trees])


def manifest_commitment(manifest: Mapping[str, Any]) -> bytes:
    """The announced value recomputed from a por-v3 manifest's fields (never its stored copy)."""
    m = read_manifest(manifest)
    return commitment(m.period, m.parameters, m.assets, m.trees)


def _read_holdings(value: object) -> list[_Holding]:
    items = _list(value, Check.FORMAT, "holdings")
    if len(items) > MAX_HOLDINGS:
        raise _fail(Check.FORMAT, f"{len(items)} holdings, at most {MAX_HOLDINGS}")
    out = []
    for n, item in enumerate(items):
        what = f"holdings[{n}]"
        holding = _fields(item, HOLDING_FIELDS, Check.FORMAT, what)
        asset = _str(holding["asset"], Check.FORMAT, f"{what}.asset")
        equity = _amount(holding["equity"], Check.NUMBER, f"{what}.equity")
        debt = _amount(holding["debt"], Check.NUMBER, f"{what}.debt")
        raw = _list(holding["fragments"], Check.FORMAT, f"{what}.fragments")
        if len(raw) > v3.MAX_FRAGMENTS:
            raise _fail(Check.FORMAT, f"{what} has {len(raw)} fragments, at most {v3.MAX_FRAGMENTS}")
        fragments = []
        for i, entry in enumerate(raw):
            where = f"{what}.fragments[{i}]"
            fragment = _fields(entry, FRAGMENT_FIELDS, Check.FORMAT, where)
            f_equity = _amount(fragment["equity"], Check.NUMBER, f"{where}.equity")
            f_debt = _amount(fragment["debt"], Check.NUMBER, f"{where}.debt")
            position = _int(fragment["position"], 0, MAX_SAFE_INTEGER, Check.FORMAT, f"{where}.position")
            path = _list(fragment["path"], Check.FORMAT, f"{where}.path")
            if len(path) > MAX_PATH:
                raise _fail(Check.PATH_LENGTH, f"{where} path has {len(path)} entries, at most {MAX_PATH}")
            nodes = [_node(node, f"{where}.path[{level}]", level) for level, node in enumerate(path)]
            fragments.append(_Fragment(f_equity, f_debt, position, nodes))
        out.append(_Holding(asset, equity, debt, fragments))
    return out


def _fold(key: bytes, fragment: _Fragment, what: str) -> Node:
    current: Node = (v3.leaf_hash(key, fragment.equity, fragment.debt), fragment.equity, fragment.debt)
    for level, sibling in enumerate(fragment.path):
        left, right = (current, sibling) if (fragment.position >> level) & 1 == 0 else (sibling, current)
        try:
            equity, debt = v3.add_pair(left[1:], right[1:], level)
        except SumOverflow as exc:
            kind = "equity" if exc.asset_index == v3.EQUITY else "debt"
            raise _fail(Check.SUM_OVERFLOW, f"{what}: the {kind} sum reaches 2^128 ({exc.total})", level) from None
        current = (v3.node_hash(left[0], left[1:], right[0], right[1:]), equity, debt)
    return current


def _same_root(got: Node, expected: Node, what: str, against: str) -> None:
    if got[0] != expected[0]:
        raise _fail(Check.ROOT_HASH, f"{what} folds to {got[0].hex()}, {against} is {expected[0].hex()}",
                    expected=expected[0].hex(), got=got[0].hex())
    if got[1:] != expected[1:]:
        raise _fail(Check.ROOT_SUMS, f"{what} folds to equity {got[1]} and debt {got[2]}, {against} has equity "
                    f"{expected[1]} and debt {expected[2]}", expected=list(expected[1:]), got=list(got[1:]))


@dataclass(frozen=True)
class ReadProof:
    """A por-v3 proof read and well-formed (steps 2 and 3 passed)."""

    period: str
    assets: list[tuple[str, int]]
    parameters: v3.Parameters
    trees: list[_Tree]
    user_id: str
    nonce: bytes
    holdings: list[_Holding]
    commitment: bytes


def read_proof_v3(proof: Mapping[str, Any], expected_user: str | None) -> ReadProof:
    """Steps 2 (``format``) and 3 (``user-id``) of section 8 (the caller dispatched on ``version``)."""
    doc = _fields(proof, PROOF_FIELDS, Check.FORMAT, "proof")
    period = _str(doc["period"], Check.FORMAT, "proof period")
    if not is_valid_period(period):
        raise _fail(Check.PERIOD, f"proof period {period!r} is not YYYY-MM")
    assets = _assets(doc["assets"], Check.FORMAT, "proof")
    parameters = _parameters(doc["parameters"], Check.FORMAT, "proof")
    raw_trees = _list(doc["trees"], Check.FORMAT, "proof trees")
    if len(raw_trees) != len(assets):
        raise _fail(Check.FORMAT, f"proof has {len(raw_trees)} trees for {len(assets)} assets")
    trees = []
    for (symbol, _), item in zip(assets, raw_trees, strict=True):
        what = f"proof tree of {symbol!r}"
        tree = _fields(item, PROOF_TREE_FIELDS, Check.FORMAT, what)
        k, h = _shape(tree, Check.FORMAT, what)
        trees.append(_Tree(k, h, _node(tree["root"], f"{what}.root", None)))
    user_id = _str(doc["user_id"], Check.FORMAT, "proof user_id")
    problem = user_id_problem(user_id)
    if problem is not None:
        raise _fail(Check.FORMAT, f"{problem}: {display_user_id(user_id)}")
    nonce = hex32(doc["nonce"], Check.FORMAT, "nonce")
    holdings = _read_holdings(doc["holdings"])
    declared_commitment = hex32(doc["commitment"], Check.FORMAT, "proof commitment")

    # 3. user-id
    check_user(user_id, expected_user)
    return ReadProof(period, assets, parameters, trees, user_id, nonce, holdings, declared_commitment)


def verify_read_v3(read: ReadProof, manifest: Mapping[str, Any] | None, announced: str | None) -> VerifiedProofV3:
    """Steps 4 to 11 of section 8 on a read proof; ``manifest`` (when given) passed ``verify.check_manifest``
    (well-formed for its own version), exactly one of ``manifest`` and ``announced`` is given."""
    period, assets, parameters, trees = read.period, read.assets, read.parameters, read.trees
    user_id, nonce, holdings, declared_commitment = read.user_id, read.nonce, read.holdings, read.commitment
    # 4. the manifest, or the announced value
    expected_roots: list[Node] | None = None
    if manifest is not None:
        if manifest.get("version") != v3.VERSION:
            raise _fail(Check.VERSION, f"a {v3.VERSION} proof against a {manifest['version']} manifest")
        published = read_manifest(manifest)
        if period != published.period:
            raise _fail(Check.PERIOD, f"proof is for {period!r}, manifest for {published.period!r}",
                        expected=published.period, got=period)
        if assets != published.assets:
            raise _fail(Check.ASSETS, f"proof assets {assets} differ from the manifest's {published.assets}",
                        expected=published.assets, got=assets)
        if parameters != published.parameters:
            raise _fail(Check.PARAMETERS, f"proof parameters {parameters.as_json()} differ from the manifest's "
                        f"{published.parameters.as_json()}", expected=published.parameters.as_json(),
                        got=parameters.as_json())
        for (symbol, _), mine, theirs in zip(assets, trees, published.trees, strict=True):
            if (mine.bucket_bits, mine.bucket_height) != (theirs.bucket_bits, theirs.bucket_height):
                raise _fail(Check.SHAPE, f"the proof's tree of {symbol!r} has k={mine.bucket_bits} h={mine.bucket_height}, "
                            f"the manifest's k={theirs.bucket_bits} h={theirs.bucket_height}",
                            expected=(theirs.bucket_bits, theirs.bucket_height), got=(mine.bucket_bits, mine.bucket_height))
        expected_commitment = published.commitment
        expected_roots = [t.root for t in published.trees]
    else:
        expected_commitment = hex32(announced, Check.FORMAT, "announced value")

    # 5. holdings
    index = {symbol: j for j, (symbol, _) in enumerate(assets)}
    held: list[int] = []
    for n, holding in enumerate(holdings):
        if holding.asset not in index:
            raise _fail(Check.HOLDINGS, f"holdings[{n}] names {holding.asset!r}, which is not one of the assets")
        j = index[holding.asset]
        if held and j <= held[-1]:
            again = "repeats" if j in held else "comes after"
            raise _fail(Check.HOLDINGS, f"holdings[{n}] ({holding.asset!r}) {again} {assets[held[-1]][0]!r}: "
                        "holdings are listed once each, in asset order")
        if holding.equity == 0 and holding.debt == 0:
            raise _fail(Check.HOLDINGS, f"holdings[{n}] ({holding.asset!r}) is zero: a zero holding is not listed")
        held.append(j)

    # 6. fragments
    for holding in holdings:
        if len(holding.fragments) != parameters.fragments:
            raise _fail(Check.FRAGMENTS, f"the holding of {holding.asset!r} has {len(holding.fragments)} fragments, "
                        f"not {parameters.fragments}", expected=parameters.fragments, got=len(holding.fragments))
        positions = [f.position for f in holding.fragments]
        if len(set(positions)) != len(positions):
            raise _fail(Check.FRAGMENTS, f"two fragments of {holding.asset!r} share a position ({positions})")

    # 7. holding-sum
    for holding in holdings:
        totals = []
        for kind, name in ((v3.EQUITY, "equity"), (v3.DEBT, "debt")):
            total = sum((f.equity, f.debt)[kind] for f in holding.fragments)
            if total >= U128_LIMIT:
                raise _fail(Check.SUM_OVERFLOW, f"the {name} of the fragments of {holding.asset!r} sums to 2^128 or more")
            totals.append(total)
        for total, stated, name in ((totals[0], holding.equity, "equity"), (totals[1], holding.debt, "debt")):
            if total != stated:
                raise _fail(Check.HOLDING_SUM, f"the holding of {holding.asset!r} states {name} {stated}, its fragments "
                            f"sum to {total}", expected=stated, got=total)

    # 8. each fragment: path length, position, fold
    uk = v3.user_key(nonce, period, user_id)
    folded: list[list[Node]] = []
    for j, holding in zip(held, holdings, strict=True):
        own, roots = trees[j], []
        for i, fragment in enumerate(holding.fragments):
            what = f"fragment {i} of {holding.asset!r}"
            if len(fragment.path) != own.height:
                raise _fail(Check.PATH_LENGTH, f"{what}: the path has {len(fragment.path)} entries, the tree's height "
                            f"is {own.height}", expected=own.height, got=len(fragment.path))
            if fragment.position >= 1 << own.height:
                raise _fail(Check.POSITION, f"{what}: position {fragment.position} is outside [0, 2^{own.height})")
            key = v3.fragment_key(uk, holding.asset, i)
            in_bucket, key_bucket = shape.bucket_of_position(fragment.position, own.bucket_height), \
                shape.bucket_of(key, own.bucket_bits)
            if in_bucket != key_bucket:
                raise _fail(Check.POSITION, f"{what}: position {fragment.position} is in bucket {in_bucket}, the "
                            f"fragment's key is in bucket {key_bucket}", expected=key_bucket, got=in_bucket)
            roots.append(_fold(key, fragment, what))
        folded.append(roots)

    # 9. root-hash, root-sums
    for j, holding, roots in zip(held, holdings, folded, strict=True):
        for i, root in enumerate(roots):
            if expected_roots is not None:
                _same_root(root, expected_roots[j], f"fragment {i} of {holding.asset!r}", "the manifest's root")
            else:
                _same_root(root, roots[0], f"fragment {i} of {holding.asset!r}", "the root its fragment 0 folds to")

    # 10. commitment
    roots_of = dict(zip(held, (r[0] for r in folded), strict=True))
    computed = [_Tree(t.bucket_bits, t.bucket_height, roots_of.get(j, t.root)) for j, t in enumerate(trees)]
    got_commitment = commitment(period, parameters, assets, computed)
    if got_commitment != expected_commitment:
        raise _fail(Check.COMMITMENT, f"the proof's period, parameters, assets, shapes and roots give "
                    f"{got_commitment.hex()}, the announced value is {expected_commitment.hex()}",
                    expected=expected_commitment.hex(), got=got_commitment.hex())

    # 11. proof-root
    for j in held:
        if trees[j].root != roots_of[j]:
            raise _fail(Check.PROOF_ROOT, f"the proof's own root of {assets[j][0]!r} differs from what its fragments "
                        "fold to", expected=roots_of[j][0].hex(), got=trees[j].root[0].hex())
    if declared_commitment != got_commitment:
        raise _fail(Check.PROOF_ROOT, "the proof's own commitment field differs from the value it gives",
                    expected=got_commitment.hex(), got=declared_commitment.hex())

    amounts = {holding.asset: (holding.equity, holding.debt) for holding in holdings}
    shown = tuple(AssetTotals(symbol, decimals, *amounts.get(symbol, (0, 0)), root_hash=t.root[0].hex(),
                              total_equity=t.root[1], total_debt=t.root[2], held=symbol in amounts)
                  for (symbol, decimals), t in zip(assets, computed, strict=True))
    return VerifiedProofV3(period=period, user_id=user_id, parameters=parameters, assets=shown,
                           commitment=got_commitment.hex())
