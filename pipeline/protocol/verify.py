"""Proof verification. Depends only on the standard library and ``blake3``.

The verifier takes the root from the *published manifest* (or a root hash the
user obtained independently), never from the proof alone, re-adds every sum and
rejects any non-canonical number. Every failure raises ``VerificationError``
naming the check (a ``checks.Check``; and the level, where there is one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import SumOverflow, VerificationError
from . import shape, v1, v2, v3, versions
from .amounts import CUT_NOTE, is_cut, parse_amount, shown_units
from .checks import Check
from .jsonread import load_json_file
from .period import is_valid_period
from .reading import MAX_SAFE_INTEGER
from .reading import check_user as _check_user
from .reading import hex32 as _hex32
from .reading import unique_and_sorted as _unique_and_sorted
from .userid import display_user_id, user_id_problem
from .verify_v3 import VerifiedProofV3, read_manifest, read_proof_v3, verify_read_v3
from .verify_v3 import manifest_commitment as v3_manifest_commitment

__all__ = ["MAX_SAFE_INTEGER", "VERSIONS", "VerifiedProof", "VerifiedProofV3", "check_manifest", "manifest_commitment",
           "verify_files", "verify_proof"]

MAX_HEIGHT = shape.MAX_HEIGHT
VERSIONS = versions.VERSIONS
V1_LABELS_NOTE = ("note: por-v1 does not commit to asset labels or decimals; they come from the manifest and are "
                  "pinned only by its signature (por-v2 pins them in the announced value)")


@dataclass(frozen=True)
class VerifiedProof:
    """What a valid proof establishes."""

    period: str
    user_id: str
    assets: tuple[str, ...]
    decimals: tuple[int, ...] | None
    balances: tuple[int, ...]
    root_hash: str
    root_sums: tuple[int, ...]
    version: str = v1.VERSION
    commitment: str | None = None
    """por-v2: the announced value, recomputed from what the user was shown."""

    def summary(self, exact: bool = False) -> str:
        """A short human summary: period, announced value or root, balances in whole units when known
        (readable, ``amounts.readable_units``; ``exact``: every digit)."""
        lines = [f"VALID proof for user {display_user_id(self.user_id)} in period {self.period}"]
        if self.commitment is not None:
            lines.append(f"announced value ({self.version}) {self.commitment}")
        lines.append(f"root {self.root_hash}")
        shown = [shown_units(b, 0 if self.decimals is None else self.decimals[i], exact)
                 for i, b in enumerate(self.balances)]
        for symbol, text in zip(self.assets, shown, strict=True):
            lines.append(f"  {symbol:<8} {text}" + (" (smallest units)" if self.decimals is None else ""))
        if any(map(is_cut, shown)):
            lines.append(CUT_NOTE)
        if self.version == v1.VERSION:
            lines.append(V1_LABELS_NOTE)
        return "\n".join(lines)


def _require(obj: Mapping[str, Any], key: str, kind: type, check: Check, what: str) -> Any:
    if not isinstance(obj, Mapping) or key not in obj:
        raise VerificationError(check, f"{what} has no field {key!r}")
    value = obj[key]
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_SAFE_INTEGER
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise VerificationError(check, f"{what} field {key!r} must be {kind.__name__}")
    return value


def _amounts(values: object, m: int, check: Check, what: str, level: int | None = None) -> list[int]:
    if not isinstance(values, list) or len(values) != m:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise VerificationError(check, f"{what} must be a list of {m} amounts, got {got}", level)
    out = []
    for i, v in enumerate(values):
        try:
            out.append(parse_amount(v))
        except ValueError as exc:
            raise VerificationError(Check.NUMBER, f"{what}[{i}]: {exc}", level) from None
    return out


def _node(obj: object, m: int, what: str, level: int | None) -> tuple[bytes, list[int]]:
    if not isinstance(obj, Mapping):
        raise VerificationError(Check.FORMAT, f"{what} must be an object with hash and sums", level)
    return _hex32(obj.get("hash"), Check.FORMAT, f"{what}.hash", level), _amounts(
        obj.get("sums"), m, Check.FORMAT, f"{what}.sums", level
    )


def _decimals(value: object, check: Check, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= v2.MAX_DECIMALS:
        raise VerificationError(check, f"{what} must be an integer in [0, {v2.MAX_DECIMALS}], got {value!r}")
    return value


def _asset_list(assets: object, check: Check, what: str) -> list[tuple[str, int]]:
    """por-v2's ``[{symbol, decimals}]``: unique symbols in protocol order, bounded decimals."""
    if not isinstance(assets, list) or not 1 <= len(assets) <= v2.MAX_ASSETS:
        raise VerificationError(check, f"{what} must be a list of 1 to {v2.MAX_ASSETS} assets")
    out = []
    for a in assets:
        symbol = _require(a, "symbol", str, check, f"{what} asset")
        if symbol == "" or len(symbol.encode("utf-8", "surrogatepass")) > 32:
            raise VerificationError(check, f"{what} symbol {symbol!r} must be 1 to 32 bytes")
        out.append((symbol, _decimals(a.get("decimals"), check, f"{what} decimals of {symbol!r}")))
    _unique_and_sorted([s for s, _ in out], check, what)
    return out


def manifest_commitment(manifest: Mapping[str, Any]) -> bytes:
    """por-v2 (and por-v3, through ``verify_v3.manifest_commitment``): the announced value recomputed
    from the manifest's own fields (never its stored copy). Precondition: ``check_manifest`` passed."""
    if manifest.get("version") == v3.VERSION:
        return v3_manifest_commitment(manifest)
    root_hash, root_sums = _node(manifest["root"], len(manifest["assets"]), "manifest root", None)
    return v2.commitment(manifest["period"], [(a["symbol"], a["decimals"]) for a in manifest["assets"]],
                         manifest["tree"]["bucket_bits"], manifest["tree"]["bucket_height"], root_hash, root_sums)


def check_manifest(manifest: Mapping[str, Any]) -> None:
    """Structural checks on a published manifest (raises ``VerificationError(Check.MANIFEST, …)``); for
    por-v2 and por-v3, its ``commitment`` must be the value recomputed from its fields."""
    version = _require(manifest, "version", str, Check.MANIFEST, "manifest")
    if version not in VERSIONS:
        raise VerificationError(Check.MANIFEST, f"unsupported manifest version {version!r}")
    if version == v3.VERSION:  # por-v3: per-asset trees, every field exactly (protocol.verify_v3)
        read_manifest(manifest)
        return
    if version == v2.VERSION:
        _asset_list(manifest.get("assets"), Check.MANIFEST, "manifest")
    period = _require(manifest, "period", str, Check.MANIFEST, "manifest")
    if not is_valid_period(period):
        raise VerificationError(Check.MANIFEST, f"manifest period {period!r} is not YYYY-MM")
    assets = _require(manifest, "assets", list, Check.MANIFEST, "manifest")
    symbols = []
    for a in assets:
        symbols.append(_require(a, "symbol", str, Check.MANIFEST, "manifest asset"))
        _decimals(_require(a, "decimals", int, Check.MANIFEST, "manifest asset"), Check.MANIFEST, "manifest asset decimals")
    _unique_and_sorted(symbols, Check.MANIFEST, "manifest")
    tree = _require(manifest, "tree", Mapping, Check.MANIFEST, "manifest")
    k = _require(tree, "bucket_bits", int, Check.MANIFEST, "manifest tree")
    h = _require(tree, "bucket_height", int, Check.MANIFEST, "manifest tree")
    t = _require(tree, "height", int, Check.MANIFEST, "manifest tree")
    if k < 0 or h < 0 or t != k + h or t > MAX_HEIGHT:
        raise VerificationError(Check.MANIFEST, f"inconsistent tree shape k={k} h={h} T={t}")
    _node(manifest.get("root"), len(symbols), "manifest root", None)
    if version == v2.VERSION:
        stored = _hex32(manifest.get("commitment"), Check.MANIFEST, "manifest commitment")
        recomputed = manifest_commitment(manifest)
        if stored != recomputed:
            raise VerificationError(
                Check.MANIFEST, f"the manifest's commitment {stored.hex()} is not the value of its own fields "
                f"({recomputed.hex()})", expected=recomputed.hex(), got=stored.hex())


def verify_proof(
    proof: Mapping[str, Any],
    manifest: Mapping[str, Any] | None = None,
    root_hash: str | None = None,
    user_id: str | None = None,
) -> VerifiedProof | VerifiedProofV3:
    """Verify ``proof`` against a published ``manifest`` or an independently obtained ``root_hash``
    (por-v2/v3: the announced value ``C``; por-v1: the root hash).

    Exactly one of ``manifest`` and ``root_hash`` must be given. Dispatches on
    the proof's ``version`` (por-v3: ``protocol.verify_v3``). Returns what the proof establishes, or
    raises ``VerificationError`` at the first failed check.
    """
    if (manifest is None) == (root_hash is None):
        raise ValueError("give exactly one of manifest and root_hash")
    if not isinstance(proof, Mapping):
        raise VerificationError(Check.FORMAT, "proof must be a JSON object")
    version = _require(proof, "version", str, Check.VERSION, "proof")
    if version == v1.VERSION:
        return _verify_v1(proof, manifest, root_hash, user_id)
    if version == v2.VERSION:
        return _verify_v2(proof, manifest, root_hash, user_id)
    if version == v3.VERSION:  # schemas/por-v3.md section 8: the proof read (2, 3), the manifest (4), the rest
        read = read_proof_v3(proof, user_id)
        if manifest is not None:
            check_manifest(manifest)
        return verify_read_v3(read, manifest, root_hash)
    raise VerificationError(Check.VERSION, f"unsupported proof version {version!r}")


def _fold(uk: bytes, balances: list[int], siblings: list[tuple[bytes, list[int]]], position: int
          ) -> tuple[bytes, list[int]]:
    """Walk the path up from the leaf: the root hash and sums it folds to."""
    current_hash = v1.leaf_hash(uk, balances)
    current_sums = balances
    for level, (sib_hash, sib_sums) in enumerate(siblings):
        if (position >> level) & 1 == 0:
            left, right = (current_hash, current_sums), (sib_hash, sib_sums)
        else:
            left, right = (sib_hash, sib_sums), (current_hash, current_sums)
        try:
            current_sums = v1.add_sums(left[1], right[1])
        except SumOverflow as exc:
            raise VerificationError(Check.SUM_OVERFLOW, str(exc), level) from None
        current_hash = v1.node_hash(left[0], left[1], right[0], right[1])
    return current_hash, current_sums


def _check_root(current_hash: bytes, current_sums: list[int], expected_hash: bytes,
                expected_sums: list[int] | None) -> None:
    if current_hash != expected_hash:
        raise VerificationError(
            Check.ROOT_HASH,
            f"path folds to {current_hash.hex()}, published root is {expected_hash.hex()}",
            expected=expected_hash.hex(), got=current_hash.hex())
    if expected_sums is not None and current_sums != expected_sums:
        differ = [f"asset #{i}: expected {e}, got {g}"
                  for i, (e, g) in enumerate(zip(expected_sums, current_sums, strict=True)) if e != g]
        raise VerificationError(Check.ROOT_SUMS, "path sums differ from the published root sums (" + "; ".join(differ) + ")",
                                expected=expected_sums, got=current_sums)


def _check_bucket(uk: bytes, position: int, k: int, h: int) -> None:
    """The leaf's position lies in the bucket of the user key (the shape rule of ``protocol.shape``)."""
    in_bucket, key_bucket = shape.bucket_of_position(position, h), shape.bucket_of(uk, k)
    if key_bucket != in_bucket:
        raise VerificationError(
            Check.POSITION, f"position {position} is in bucket {in_bucket}, the user key is in bucket {key_bucket}",
            expected=key_bucket, got=in_bucket)


@dataclass(frozen=True)
class _LeafAndPath:
    """The fields every version's proof shares, read and checked."""

    user_id: str
    nonce: bytes
    balances: list[int]
    position: int
    path: list[Any]
    siblings: list[tuple[bytes, list[int]]]
    """``(hash, sums)`` of each path entry, level 0 first."""
    declared_root: tuple[bytes, list[int]]
    """The proof's own copy of the root."""


def _leaf_and_path(proof: Mapping[str, Any], m: int, expected_user: str | None) -> _LeafAndPath:
    """The fields every version's proof shares, read and checked in one order: user id (and the
    ``user-id`` check), nonce, balances, position, path, the proof's own root."""
    user_id = _require(proof, "user_id", str, Check.FORMAT, "proof")
    problem = user_id_problem(user_id)
    if problem is not None:  # the protocol's user-id rule (protocol.userid), before any other use of the id
        raise VerificationError(Check.FORMAT, f"{problem}: {display_user_id(user_id)}")
    _check_user(user_id, expected_user)
    nonce = _hex32(proof.get("nonce"), Check.FORMAT, "nonce")
    balances = _amounts(proof.get("balances"), m, Check.FORMAT, "balances")
    position = _require(proof, "position", int, Check.FORMAT, "proof")
    path = _require(proof, "path", list, Check.FORMAT, "proof")
    declared_root = _node(proof.get("root"), m, "proof root", None)
    if len(path) > MAX_HEIGHT:
        raise VerificationError(Check.PATH_LENGTH, f"path has {len(path)} entries, at most {MAX_HEIGHT}")
    siblings = [_node(entry, m, f"path[{level}]", level) for level, entry in enumerate(path)]
    return _LeafAndPath(user_id, nonce, balances, position, path, siblings, declared_root)


def _verify_v2(
    proof: Mapping[str, Any], manifest: Mapping[str, Any] | None, announced: str | None, expected_user: str | None
) -> VerifiedProof:
    """por-v2: the proof carries the labels, decimals and shape it is read with; the announced value
    pins them. Against a manifest, they must be the manifest's, whose announced value is recomputed
    from its own fields; against an announced value alone, the value is recomputed from the proof."""
    period = _require(proof, "period", str, Check.FORMAT, "proof")
    if not is_valid_period(period):
        raise VerificationError(Check.PERIOD, f"proof period {period!r} is not YYYY-MM")
    assets = _asset_list(proof.get("assets"), Check.FORMAT, "proof")
    m = len(assets)
    tree = _require(proof, "tree", Mapping, Check.FORMAT, "proof")
    k = _require(tree, "bucket_bits", int, Check.FORMAT, "proof tree")
    h = _require(tree, "bucket_height", int, Check.FORMAT, "proof tree")
    if not (0 <= k <= shape.MAX_BUCKET_BITS and 0 <= h <= MAX_HEIGHT and k + h <= MAX_HEIGHT):
        raise VerificationError(Check.FORMAT, f"proof tree shape k={k} h={h} is outside the protocol's bounds")
    leaf = _leaf_and_path(proof, m, expected_user)
    user_id, nonce, balances, position = leaf.user_id, leaf.nonce, leaf.balances, leaf.position
    path, siblings, declared_root = leaf.path, leaf.siblings, leaf.declared_root
    declared_commitment = _hex32(proof.get("commitment"), Check.FORMAT, "proof commitment")

    expected_sums: list[int] | None = None
    if manifest is not None:
        check_manifest(manifest)
        if manifest["version"] != v2.VERSION:
            raise VerificationError(Check.VERSION, f"a {v2.VERSION} proof against a {manifest['version']} manifest")
        if period != manifest["period"]:
            raise VerificationError(Check.PERIOD, f"proof is for {period!r}, manifest for {manifest['period']!r}")
        published = [(a["symbol"], a["decimals"]) for a in manifest["assets"]]
        if assets != published:
            raise VerificationError(Check.ASSETS, f"proof assets {assets} differ from the manifest's {published}",
                                    expected=published, got=assets)
        if (k, h) != (manifest["tree"]["bucket_bits"], manifest["tree"]["bucket_height"]):
            raise VerificationError(Check.SHAPE, f"proof shape k={k} h={h} differs from the manifest's k="
                                    f"{manifest['tree']['bucket_bits']} h={manifest['tree']['bucket_height']}")
        expected_hash, expected_sums = _node(manifest["root"], m, "manifest root", None)
        expected_commitment = manifest_commitment(manifest)
    else:
        expected_commitment = _hex32(announced, Check.FORMAT, "announced value")
        expected_hash = declared_root[0]
    if len(path) != k + h:
        raise VerificationError(Check.PATH_LENGTH, f"path has {len(path)} entries, tree height is {k + h}")
    if position < 0 or position >= (1 << (k + h)):
        raise VerificationError(Check.POSITION, f"position {position} is outside [0, 2^{k + h})")
    uk = v1.user_key(nonce, period, user_id)
    _check_bucket(uk, position, k, h)
    current_hash, current_sums = _fold(uk, balances, siblings, position)
    if manifest is not None:
        _check_root(current_hash, current_sums, expected_hash, expected_sums)
    got_commitment = v2.commitment(period, assets, k, h, current_hash, current_sums)
    if got_commitment != expected_commitment:
        raise VerificationError(
            Check.COMMITMENT, f"the proof's labels, decimals, shape and path give {got_commitment.hex()}, the "
            f"announced value is {expected_commitment.hex()}",
            expected=expected_commitment.hex(), got=got_commitment.hex())
    if declared_root != (current_hash, current_sums) or declared_commitment != got_commitment:
        raise VerificationError(Check.PROOF_ROOT, "the proof's own root or commitment field differs from what its path "
                                "folds to", expected=(current_hash.hex(), got_commitment.hex()),
                                got=(declared_root[0].hex(), declared_commitment.hex()))
    return VerifiedProof(period=period, user_id=user_id, assets=tuple(s for s, _ in assets),
                         decimals=tuple(d for _, d in assets), balances=tuple(balances),
                         root_hash=current_hash.hex(), root_sums=tuple(current_sums), version=v2.VERSION,
                         commitment=got_commitment.hex())


def _verify_v1(
    proof: Mapping[str, Any], manifest: Mapping[str, Any] | None, root_hash: str | None, expected_user: str | None
) -> VerifiedProof:
    period = _require(proof, "period", str, Check.FORMAT, "proof")
    if not is_valid_period(period):
        raise VerificationError(Check.PERIOD, f"proof period {period!r} is not YYYY-MM")
    assets = _require(proof, "assets", list, Check.FORMAT, "proof")
    if not all(isinstance(a, str) for a in assets):
        raise VerificationError(Check.FORMAT, "proof assets must be symbols (strings)")
    m = len(assets)
    leaf = _leaf_and_path(proof, m, expected_user)
    user_id, nonce, balances, position = leaf.user_id, leaf.nonce, leaf.balances, leaf.position
    path, siblings, declared_root = leaf.path, leaf.siblings, leaf.declared_root

    decimals: tuple[int, ...] | None = None
    if manifest is not None:
        check_manifest(manifest)
        if manifest["version"] != v1.VERSION:
            raise VerificationError(Check.VERSION, f"a {v1.VERSION} proof against a {manifest['version']} manifest")
        if period != manifest["period"]:
            raise VerificationError(
                Check.PERIOD, f"proof is for {period!r}, manifest for {manifest['period']!r}"
            )
        symbols = [a["symbol"] for a in manifest["assets"]]
        if list(assets) != symbols:
            raise VerificationError(Check.ASSETS, f"proof assets {assets} differ from manifest {symbols}")
        decimals = tuple(a["decimals"] for a in manifest["assets"])
        tree = manifest["tree"]
        if len(path) != tree["height"]:
            raise VerificationError(
                Check.PATH_LENGTH, f"path has {len(path)} entries, tree height is {tree['height']}"
            )
        expected_hash, expected_sums = _node(manifest["root"], m, "manifest root", None)
    else:
        expected_hash = _hex32(root_hash, Check.FORMAT, "root")
        expected_sums = None

    height = len(path)
    if position < 0 or position >= (1 << height):
        raise VerificationError(Check.POSITION, f"position {position} is outside [0, 2^{height})")

    uk = v1.user_key(nonce, period, user_id)
    if manifest is not None:
        k, h = manifest["tree"]["bucket_bits"], manifest["tree"]["bucket_height"]
        _check_bucket(uk, position, k, h)

    current_hash, current_sums = _fold(uk, balances, siblings, position)
    _check_root(current_hash, current_sums, expected_hash, expected_sums)
    if declared_root != (expected_hash, current_sums):
        raise VerificationError(
            Check.PROOF_ROOT, f"the proof's own root field {{hash {declared_root[0].hex()}, sums {declared_root[1]}}} differs "
            f"from the published root {{hash {expected_hash.hex()}, sums {current_sums}}}",
            expected=(expected_hash.hex(), current_sums), got=(declared_root[0].hex(), declared_root[1]))
    return VerifiedProof(
        period=period,
        user_id=user_id,
        assets=tuple(assets),
        decimals=decimals,
        balances=tuple(balances),
        root_hash=expected_hash.hex(),
        root_sums=tuple(current_sums),
    )


def verify_files(proof_path: str, manifest_path: str | None, root_hash: str | None,
                 user_id: str | None = None) -> VerifiedProof | VerifiedProofV3:
    """``verify_proof`` on files: the proof and the published manifest (or an announced value)."""
    proof = load_json_file(proof_path, "proof")
    manifest = load_json_file(manifest_path, "manifest") if manifest_path else None
    return verify_proof(proof, manifest=manifest, root_hash=root_hash, user_id=user_id)
