"""The reserve-ownership golden vectors (``schemas/vectors/reserves/``): signatures made by each chain's
own SDK from npm (bitcoinjs-message, bip322-js, ethers, tronweb, @solana/keys, @aptos-labs/ts-sdk),
never by ``pipeline/testing/sign.py``, so that a mistake shared by the project's signer and its
verifier cannot hide. Every vector and every named mutation is checked with ``check_row``; the
generator (``tests/support/vectors/make.mjs``) reproduces the committed files byte for byte."""

from __future__ import annotations

import json

import pytest

from pipeline.ownership.check import ProofRow, check_row
from tests.support.install import required
from tests.support.vectors import make

VECTORS = make.COMMITTED
FAMILIES = ("bitcoin", "evm", "tron", "solana", "aptos")
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
    vectors = {f: _load(f"{f}.json") for f in FAMILIES}
    names = {v["name"] for doc in vectors.values() for v in doc["vectors"]}
    for name in ("bitcoin-p2pkh-compressed", "bitcoin-p2pkh-uncompressed", "bitcoin-p2sh-p2wpkh", "bitcoin-p2wpkh",
                 "bitcoin-p2wpkh-bip322", "bitcoin-p2sh-multisig-2of3", "bitcoin-p2wsh-multisig-2of3",
                 "bitcoin-p2sh-p2wsh-multisig-2of3", "litecoin-p2pkh-compressed", "litecoin-p2sh-p2wpkh",
                 "litecoin-p2wpkh", "dogecoin-p2pkh-compressed", "dogecoin-p2pkh-uncompressed", "dash-p2pkh-compressed",
                 "bitcoin-cash-p2pkh-compressed", "ethereum-eip191-text", "ethereum-eip191-keccak",
                 "ethereum-contract-wallet-2-owners", "tron-tip191-text", "tron-tip191-keccak", "solana-ed25519",
                 "aptos-ed25519", "aptos-ed25519-short-address"):
        assert name in names and f"{name}-sentence" in names, name
    for doc in vectors.values():  # signed by the SDKs, at the versions package.json pins
        assert doc["packages"] == make.pinned()
        for v in doc["vectors"]:
            assert v["message"] == (TEXTS["challenge"] if not v["name"].endswith("-sentence") else TEXTS["sentence"])
            assert v["status"] in ("bound", "unbound") and v["signed_with"].split(" ")[0] in make.pinned()
    mutations = {m["name"] for doc in vectors.values() for v in doc["vectors"] for m in v["mutations"]}
    assert {"wrong-key", "other-period-text", "other-period-signed", "flipped-signature-byte", "tampered-address",
            "wrong-network-address", "wrong-network-prefix", "address-mixed-case", "s-plus-l"} <= mutations


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
