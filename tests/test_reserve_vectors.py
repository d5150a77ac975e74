"""The reserve-ownership golden vectors (``schemas/vectors/reserves/``): signatures made by each chain's
own SDK from npm (bitcoinjs-message, bip322-js, ethers, tronweb, @solana/keys, @aptos-labs/ts-sdk,
ripple-keypairs, the cardano-serialization-lib and message-signing of EMURGO, @polkadot/keyring,
@ton/crypto with @ton/ton's wallets, @mysten/sui, iso-filecoin; addresses by @bitauth/libauth's
CashAddr), never by ``pipeline/testing/sign.py``, so that a mistake shared by the project's signer and its
verifier cannot hide. Every vector and every named mutation is checked with ``check_row``; the
generator (``tests/support/vectors/make.mjs``) reproduces the committed files byte for byte."""

from __future__ import annotations

import json

import pytest

from pipeline.ownership import ton
from pipeline.ownership.check import ProofRow, check_row
from pipeline.ownership.family import FAMILIES as REGISTERED
from tests.support.install import required
from tests.support.vectors import make

VECTORS = make.COMMITTED
FAMILIES = ("bitcoin", "evm", "tron", "solana", "aptos", "xrpl", "cardano", "polkadot", "ton", "sui", "filecoin")
FIELDS = ("chain", "address", "signatures", "message", "script", "owners")

KNOWN_VERIFIER_BUGS: dict[str, str] = {}
"""``vector name`` or ``vector name/mutation name`` -> why the verifier is wrong there (the case is
kept, marked xfail strict, and reported). Empty: the verifier agrees with every case."""


def _load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


TEXTS = _load("texts.json")
CASES = []
for _family in FAMILIES:
    for _v in _load(f"{_family}.json")["vectors"]:
        CASES.append(pytest.param(_v, None, id=_v["name"]))
        for _m in _v["mutations"]:
            CASES.append(pytest.param(_v, _m, id=f"{_v['name']}/{_m['name']}"))


def _row(fields: dict) -> ProofRow:
    return ProofRow(chain=fields["chain"], address=fields["address"], signatures=tuple(fields["signatures"]),
                    message=fields["message"], script=fields["script"], owners=tuple(fields["owners"]))


def test_the_texts_are_the_challenges_of_the_pipeline():
    """The vectors sign the real challenge of ``pipeline.ownership.challenge`` (as make.py computes it)."""
    assert TEXTS == make.texts()


def test_the_vectors_cover_every_family_and_address_type():
    assert set(FAMILIES) == {str(f) for f in REGISTERED}  # a vector file per registered family
    vectors = {f: _load(f"{f}.json") for f in FAMILIES}
    names = {v["name"] for doc in vectors.values() for v in doc["vectors"]}
    for name in ("bitcoin-p2pkh-compressed", "bitcoin-p2pkh-uncompressed", "bitcoin-p2sh-p2wpkh", "bitcoin-p2wpkh",
                 "bitcoin-p2wpkh-bip322", "bitcoin-p2sh-multisig-2of3", "bitcoin-p2wsh-multisig-2of3",
                 "bitcoin-p2sh-p2wsh-multisig-2of3", "litecoin-p2pkh-compressed", "litecoin-p2sh-p2wpkh",
                 "litecoin-p2wpkh", "dogecoin-p2pkh-compressed", "dogecoin-p2pkh-uncompressed", "dash-p2pkh-compressed",
                 "bitcoin-cash-p2pkh-compressed", "ethereum-eip191-text", "ethereum-eip191-keccak",
                 "ethereum-contract-wallet-2-owners", "tron-tip191-text", "tron-tip191-keccak", "solana-ed25519",
                 "aptos-ed25519", "aptos-ed25519-short-address", "bitcoin-cash-cashaddr-p2pkh",
                 "bitcoin-cash-cashaddr-p2sh-multisig-2of3", "bitcoin-cash-cashaddr-p2sh32-multisig-2of3", "xrpl-secp256k1",
                 "xrpl-ed25519", "cardano-base-address", "cardano-enterprise-address", "polkadot-sr25519", "polkadot-ed25519",
                 "polkadot-sr25519-bare", "kusama-sr25519", "ton-v4r2", "ton-v5r1", "ton-v3r2", "ton-highload-v3",
                 "sui-ed25519", "sui-secp256k1", "sui-secp256r1", "filecoin-secp256k1-lotus", "filecoin-secp256k1-frc102",
                 # the framing of a major exchange's published files, read by the families that name it
                 "ton-v3r2-okx", "ton-highload-v3-okx", "sui-ed25519-okx", "polkadot-ed25519-okx",
                 "cardano-enterprise-address-okx", "filecoin-secp256k1-okx"):
        assert name in names and f"{name}-sentence" in names, name
    assert "sui-ed25519-short-address" in names
    for doc in vectors.values():  # signed by the SDKs, at the versions package.json pins
        assert doc["packages"] == make.pinned()
        for v in doc["vectors"]:
            assert v["message"] == (TEXTS["challenge"] if not v["name"].endswith("-sentence") else TEXTS["sentence"])
            assert v["status"] in ("bound", "unbound") and v["signed_with"].split(" ")[0] in make.pinned()
    mutations = {m["name"] for doc in vectors.values() for v in doc["vectors"] for m in v["mutations"]}
    assert {"wrong-key", "other-period-text", "other-period-signed", "flipped-signature-byte", "tampered-address",
            "wrong-network-address", "wrong-network-prefix", "address-mixed-case", "s-plus-l"} <= mutations
    for family in ("xrpl", "cardano", "polkadot", "ton", "sui", "filecoin"):  # each way of getting it wrong, per family
        named = {m["name"] for v in vectors[family]["vectors"] for m in v["mutations"]}
        assert {"wrong-key", "signature-for-another-address", "other-period-text", "other-period-signed",
                "flipped-signature-byte", "tampered-address", "message-omitted"} <= named, family
    by_family = {f: {m["name"] for v in vectors[f]["vectors"] for m in v["mutations"]} for f in FAMILIES}
    assert {"wrong-network-prefix", "kusama-address", "polkadot-address"} <= by_family["polkadot"]
    assert {"wrong-wallet-version", "non-bounceable", "raw-address", "standard-base64", "testnet-address",
            "highload-other-timeout"} <= by_family["ton"]
    assert {"testnet-address", "signature-for-another-address", "script-payment-address"} <= by_family["cardano"]
    assert {"testnet-address", "bls-address"} <= by_family["filecoin"]
    assert {"legacy-spelling", "token-aware-spelling", "without-prefix", "wrong-network-prefix"} <= by_family["bitcoin"]


def test_the_ton_wallet_codes_are_the_sdks():
    """The code hashes and depths the TON family derives addresses from are those of @ton/ton's wallet
    contracts (and highload v3's compiled code), as the generator reads them from the SDK."""
    table = _load("ton.json")["wallets"]
    assert table == {w.name: {"code_hash": w.code_hash.hex(), "code_depth": w.code_depth, "wallet_id": w.wallet_id,
                              "timeout": w.timeout} for w in ton.WALLETS.values()}


@pytest.mark.parametrize("vector, mutation", CASES)
def test_vector(vector, mutation, request):
    """The verifier's status is the vector's (or the mutation's), and its reason holds the expected words."""
    fields = {k: vector[k] for k in FIELDS}
    expected = vector
    if mutation is not None:
        unknown = set(mutation["change"]) - set(FIELDS)
        assert not unknown, f"mutation changes unknown fields {unknown}"
        fields.update(mutation["change"])
        expected = mutation
    case = request.node.callspec.id
    if case in KNOWN_VERIFIER_BUGS:
        request.applymarker(pytest.mark.xfail(reason=f"verifier bug: {KNOWN_VERIFIER_BUGS[case]}", strict=True))
    verdict = check_row(_row(fields), TEXTS["challenge"])
    assert (verdict.status, expected["reason"] in verdict.reason) == (expected["status"], True), verdict
    if mutation is None and vector["note"]:
        assert verdict.note == vector["note"]


@pytest.mark.e2e
def test_the_generator_reproduces_the_committed_vectors(tmp_path):
    """make.mjs, from the pinned lockfile, writes the committed files byte for byte (with CI=true this
    fails rather than skips when npm cannot install the SDKs)."""
    required("the chains' signing SDKs (npm ci in tests/support/vectors)", make.ensure_installed)
    make.generate(tmp_path)
    committed = sorted(p.name for p in VECTORS.glob("*.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (VECTORS / name).read_bytes(), (
            f"{name} differs: re-run `python -m tests.support.vectors.make` and review the change")
