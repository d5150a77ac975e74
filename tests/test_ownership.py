"""Reserve ownership proofs with real key pairs and real signatures (coincurve's libsecp256k1,
cryptography's Ed25519), every scheme and address type, and each way a proof must fail."""

from __future__ import annotations

import base64
import itertools

import pytest
from coincurve import PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import InputError
from pipeline.ownership import bitcoin as btc
from pipeline.testing import sign
from pipeline.ownership.chains import find_chain
from pipeline.ownership.challenge import challenge_text
from pipeline.ownership.check import (
    BOUND,
    INVALID,
    MISSING,
    OWNERS_NOT_CHECKED,
    UNBOUND,
    UNSUPPORTED,
    ProofRow,
    check_row,
)

NOW = challenge_text("Example Exchange", "2026-11", "ab" * 32)
LAST = challenge_text("Example Exchange", "2026-10", None)
FIXED = "I am an Example Exchange address"
BTC, LTC, DOGE, BCH, DASH = (find_chain(n) for n in ("bitcoin", "litecoin", "dogecoin", "bitcoin-cash", "dash"))


def key(i: int) -> PrivateKey:
    return PrivateKey((0x1000 + i).to_bytes(32, "big"))


def ed(i: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32)


def flip(signature: str) -> str:
    raw = bytearray(base64.b64decode(signature))
    raw[20] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def status(row: ProofRow, challenge: str | None = NOW) -> tuple[str, str]:
    v = check_row(row, challenge)
    return v.status, v.reason


# ------------------------------------------------------------------ Bitcoin family, single key

@pytest.mark.parametrize("chain", [BTC, LTC, DOGE, BCH, DASH], ids=lambda c: c.name)
def test_p2pkh_signmessage_on_every_network_compressed_and_not(chain):
    for compressed in (True, False):
        k = key(1)
        address = sign.bitcoin_address(chain, k, btc.P2PKH, compressed)
        sig = sign.sign_bitcoin(chain, k, NOW, btc.P2PKH, compressed)
        assert status(ProofRow(chain.name, address, (sig,))) == (BOUND, "p2pkh signmessage over this period's challenge")
        # the same signature on another network's prefix does not verify (each network's message prefix)
        other = BTC if chain is not BTC and chain.message_prefix != BTC.message_prefix else LTC
        assert check_row(ProofRow(other.name, sign.bitcoin_address(other, k, btc.P2PKH, compressed), (sig,)), NOW).status == INVALID


@pytest.mark.parametrize("kind", [btc.P2SH, btc.P2WPKH])
@pytest.mark.parametrize("chain", [BTC, LTC], ids=lambda c: c.name)
def test_segwit_single_key_addresses(chain, kind):
    k = key(2)
    address = sign.bitcoin_address(chain, k, kind)
    assert check_row(ProofRow(chain.name, address, (sign.sign_bitcoin(chain, k, NOW, kind),)), NOW).status == BOUND
    # a header byte naming another address type is invalid
    wrong = sign.sign_bitcoin(chain, k, NOW, btc.P2PKH)
    s, reason = status(ProofRow(chain.name, address, (wrong,)))
    assert s == INVALID and "header byte 3" in reason


def test_bitcoin_single_key_failures():
    k, other = key(3), key(4)
    address = sign.bitcoin_address(BTC, k, btc.P2PKH)
    good = sign.sign_bitcoin(BTC, k, NOW)
    cases = {
        "flipped bit": (ProofRow("bitcoin", address, (flip(good),)), "recover"),
        "another address": (ProofRow("bitcoin", sign.bitcoin_address(BTC, other, btc.P2PKH), (good,)), "does not give this address"),
        "malformed base64": (ProofRow("bitcoin", address, ("not base64!",)), "not base64"),
        "short": (ProofRow("bitcoin", address, (base64.b64encode(b"x" * 64).decode(),)), "64 bytes"),
        "header 43": (ProofRow("bitcoin", address, (base64.b64encode(bytes([43]) + base64.b64decode(good)[1:]).decode(),)), "27..42"),
        "uncompressed header for a compressed key": (ProofRow("bitcoin", address, (base64.b64encode(bytes([base64.b64decode(good)[0] - 4]) + base64.b64decode(good)[1:]).decode(),)), "does not give"),
        "testnet address": (ProofRow("bitcoin", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", (good,)), "version byte 0x6f"),
        "litecoin version byte on bitcoin": (ProofRow("bitcoin", sign.bitcoin_address(LTC, k, btc.P2PKH), (good,)), "version byte 0x30"),
        "two signatures for one key": (ProofRow("bitcoin", address, (good, good)), "one signature"),
    }
    for name, (row, reason) in cases.items():
        s, why = status(row)
        assert s == INVALID and reason in why, (name, why)
    # a flipped bit may also recover some other key: either way it is invalid
    for i in range(0, 40):
        raw = bytearray(base64.b64decode(good))
        raw[1 + i] ^= 0x80
        assert check_row(ProofRow("bitcoin", address, (base64.b64encode(bytes(raw)).decode(),)), NOW).status == INVALID


# ------------------------------------------------------------------ multisig

@pytest.mark.parametrize("how", ["p2sh", "p2wsh", "p2sh-p2wsh"])
def test_two_of_three_multisig_with_each_pair_of_signers(how):
    keys = [key(10), key(11), key(12)]
    script = sign.multisig_script(2, keys)
    address = sign.script_address(BTC, script, how)
    for pair in itertools.combinations(keys, 2):
        sigs = tuple(sign.sign_bitcoin(BTC, k, NOW) for k in pair)
        s, reason = status(ProofRow("bitcoin", address, sigs, script=script.hex()))
        assert s == BOUND and f"{how} 2-of-3 multisig" in reason
        # order of the signatures does not matter
        assert check_row(ProofRow("bitcoin", address, sigs[::-1], script=script.hex()), NOW).status == BOUND


def test_multisig_threshold_and_script_rules():
    keys = [key(20), key(21), key(22)]
    script = sign.multisig_script(2, keys)
    address = sign.script_address(BTC, script, "p2wsh")
    one = sign.sign_bitcoin(BTC, keys[0], NOW)
    outsider = sign.sign_bitcoin(BTC, key(99), NOW)
    cases = {
        "one signature": ((one,), script, "1 distinct signing key(s) of the 2"),
        "same key twice": ((one, one), script, "same key"),
        "same key twice, second signature made anew": ((one, sign.sign_bitcoin(BTC, keys[0], NOW)), script, "same key"),
        "a key not in the script": ((one, outsider), script, "not in the script"),
        "script of another address": ((one, sign.sign_bitcoin(BTC, keys[1], NOW)), sign.multisig_script(2, keys[::-1]), "does not hash"),
    }
    for name, (sigs, scr, reason) in cases.items():
        s, why = status(ProofRow("bitcoin", address, sigs, script=scr.hex()))
        assert s == INVALID and reason in why, (name, why)
    # a script that is not a standard multisig, even one that hashes to its address
    odd = bytes([0x52]) + b"\x21" + keys[0].public_key.format() + bytes([0x51, 0xAE])
    s, why = status(ProofRow("bitcoin", sign.script_address(BTC, odd, "p2wsh"), (one,), script=odd.hex()))
    assert s == INVALID and "m <= n" in why
    # a P2WSH address without its script
    s, why = status(ProofRow("bitcoin", address, (one,)))
    assert s == INVALID and "witness script" in why


def test_a_duplicated_key_in_the_script_still_needs_m_distinct_signers():
    k = key(30)
    script = sign.multisig_script(2, [k, k])
    address = sign.script_address(BTC, script, "p2sh")
    sig = sign.sign_bitcoin(BTC, k, NOW)
    assert check_row(ProofRow("bitcoin", address, (sig, sig), script=script.hex()), NOW).status == INVALID


# ------------------------------------------------------------------ BIP-322 (published vectors)

BIP322_P2WPKH = "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l"
BIP322_P2TR = "bc1ppv609nr0vr25u07u95waq5lucwfm6tde4nydujnu8npg4q75mr5sxq8lt3"
# the test vectors published in BIP-322 (message "Hello World")
BIP322_VECTORS = [
    (BIP322_P2WPKH, "AkcwRAIgZRfIY3p7/DoVTty6YZbWS71bc5Vct9p9Fia83eRmw2QCICK/ENGfwLtptFluMGs2KsqoNSk89pO7F29zJLUx9a/sASECx/EgAxlkQpQ9hYjgGu6EBCPMVPwVIVJqO4XCsMvViHI="),
    (BIP322_P2TR, "AUHd69PrJQEv+oKTfZ8l+WROBHuy9HKrbFCJu7U1iK2iiEy1vMU5EfMtjc+VSHM7aU0SDbak5IUZRVno2P5mjSafAQ=="),
]


@pytest.mark.parametrize("address,signature", BIP322_VECTORS)
def test_bip322_simple_published_vectors(address, signature):
    row = ProofRow("bitcoin", address, (signature,), message="Hello World")
    v = check_row(row, None)
    assert v.status == UNBOUND and "BIP-322 simple" in v.reason
    assert check_row(ProofRow("bitcoin", address, (signature,), message="Hello World!"), None).status == INVALID
    assert check_row(ProofRow("bitcoin", address.upper(), (signature,), message="Hello World"), None).canonical == address


def test_taproot_without_bip322_is_unsupported_not_valid():
    sig = sign.sign_bitcoin(BTC, key(1), NOW)
    assert status(ProofRow("bitcoin", BIP322_P2TR, (sig,)))[0] == UNSUPPORTED


# ------------------------------------------------------------------ EVM, TRON

@pytest.mark.parametrize("variant", ["text", "keccak"])
def test_evm_personal_sign_both_variants_and_eip55(variant):
    k = key(40)
    address = sign.evm_address(k)
    sig = sign.sign_evm(k, NOW, variant=variant)
    for spelling in (address, address.lower(), "0x" + address[2:].upper()):
        v = check_row(ProofRow("ethereum", spelling, (sig,)), NOW)
        assert v.status == BOUND and f"EIP-191 ({variant})" in v.reason and v.canonical == address.lower()
    broken = address[:-1] + (address[-1].swapcase() if address[-1].isalpha() else "a")
    if broken[2:] not in (broken[2:].lower(), broken[2:].upper()):
        s, why = status(ProofRow("ethereum", broken, (sig,)))
        assert s == INVALID and ("EIP-55" in why or "does not give" in why)
    assert status(ProofRow("ethereum", sign.evm_address(key(41)), (sig,)))[0] == INVALID
    assert status(ProofRow("ethereum", address, (sig[:-2] + "1d",)))[0] == INVALID  # v = 29
    assert status(ProofRow("ethereum", address, ("0x1234",)))[1] == "signature is not 65 bytes of hex"


def test_eip55_published_examples_and_a_checksum_error():
    # the mixed-case examples of EIP-55 itself
    for address in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"):
        assert check_row(ProofRow("ethereum", address), NOW).status == MISSING
        at = next(i for i in range(2, 42) if address[i].isalpha())
        wrong = address[:at] + address[at].swapcase() + address[at + 1:]
        s, why = status(ProofRow("ethereum", wrong))
        assert s == INVALID and "EIP-55" in why


def test_contract_wallet_owners():
    owners = [key(50), key(51)]
    addresses = tuple(sign.evm_address(k) for k in owners)
    sigs = tuple(sign.sign_evm(k, NOW, variant="keccak") for k in owners)
    contract = sign.evm_address(key(52))
    v = check_row(ProofRow("arbitrum-one", contract, sigs, owners=addresses), NOW)
    # never bound on the owners' word: any address (another exchange's cold wallet) could be listed
    assert v.status == UNBOUND and v.note == OWNERS_NOT_CHECKED and v.pending
    assert "not confirmed on chain" in v.reason and "this period's challenge" in v.reason
    assert v.signers == tuple(a.lower() for a in addresses)
    twice = check_row(ProofRow("arbitrum-one", contract, (sigs[0], sigs[0]), owners=(addresses[0], addresses[0].lower())), NOW)
    assert twice.status == UNBOUND and twice.signers == (addresses[0].lower(),)  # one owner, counted once
    fixed = tuple(sign.sign_evm(k, "another text") for k in owners)
    other = check_row(ProofRow("arbitrum-one", contract, fixed, "another text", owners=addresses), NOW)
    assert other.status == UNBOUND and not other.pending
    s, why = status(ProofRow("arbitrum-one", contract, sigs[::-1], owners=addresses))
    assert s == INVALID and "owner 1" in why
    assert status(ProofRow("arbitrum-one", contract, sigs[:1], owners=addresses))[0] == INVALID


@pytest.mark.parametrize("variant", ["text", "keccak"])
def test_tron_tip191_both_variants(variant):
    k = key(60)
    address = sign.tron_address(k)
    assert address.startswith("T")
    v = check_row(ProofRow("tron", address, (sign.sign_evm(k, NOW, tron=True, variant=variant),)), NOW)
    assert v.status == BOUND and f"TIP-191 ({variant})" in v.reason
    # an Ethereum signature is not a TRON one
    assert status(ProofRow("tron", address, (sign.sign_evm(k, NOW, variant=variant),)))[0] == INVALID
    assert status(ProofRow("tron", address[:-1] + ("A" if address[-1] != "A" else "B"),
                           (sign.sign_evm(k, NOW, tron=True),)))[1] == "not a TRON address (base58check)"


# ------------------------------------------------------------------ Ed25519

def test_solana_and_aptos():
    k = ed(7)
    sol = sign.solana_address(k)
    assert check_row(ProofRow("solana", sol, (sign.sign_ed25519(k, NOW, base58_encoded=True),)), NOW).status == BOUND
    assert check_row(ProofRow("solana", sol, (sign.sign_ed25519(k, NOW),)), NOW).status == BOUND
    assert status(ProofRow("solana", sign.solana_address(ed(8)), (sign.sign_ed25519(k, NOW),)))[0] == INVALID
    apt = sign.aptos_address(k)
    public = sign.ed25519_public(k).hex()
    assert check_row(ProofRow("aptos", apt, (sign.sign_ed25519(k, NOW),), script=public), NOW).status == BOUND
    s, why = status(ProofRow("aptos", apt, (sign.sign_ed25519(ed(8), NOW),), script=sign.ed25519_public(ed(8)).hex()))
    assert s == INVALID and "does not derive the address" in why
    assert status(ProofRow("aptos", apt, (sign.sign_ed25519(k, NOW),)))[0] == INVALID  # no public key
    flipped = bytearray(bytes.fromhex(sign.sign_ed25519(k, NOW)))
    flipped[3] ^= 1
    assert status(ProofRow("aptos", apt, (bytes(flipped).hex(),), script=public))[0] == INVALID


# ------------------------------------------------------------------ binding, statuses

def test_fixed_sentence_and_last_month_are_unbound():
    k = key(70)
    address = sign.evm_address(k)
    fixed = check_row(ProofRow("ethereum", address, (sign.sign_evm(k, FIXED),), message=FIXED), NOW)
    assert fixed.status == UNBOUND and "replayable" in fixed.reason
    last = check_row(ProofRow("ethereum", address, (sign.sign_evm(k, LAST),), message=LAST), NOW)
    assert last.status == UNBOUND
    # last month's signature presented as this month's (no message column): invalid, not bound
    assert check_row(ProofRow("ethereum", address, (sign.sign_evm(k, LAST),)), NOW).status == INVALID
    assert check_row(ProofRow("ethereum", address), NOW).status == MISSING


def test_unknown_chain_is_unsupported_and_spellings_are_refused():
    assert status(ProofRow("stellar", "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H", ("00",)))[0] == UNSUPPORTED
    address = sign.bitcoin_address(BTC, key(1), btc.P2WPKH)
    for chain, spelling, reason in [("bitcoin", address + " ", "surrounding spaces"),
                                    ("bitcoin", address[:5] + "\u200b" + address[5:], "U+200B"),
                                    ("bitcoin", address[:3] + "\u0430" + address[4:], "U+0430"),
                                    (" bitcoin", address, "surrounding spaces")]:
        s, why = status(ProofRow(chain, spelling))
        assert s == INVALID and reason in why
    assert check_row(ProofRow("Bitcoin", address.upper()), NOW).canonical == address
    assert check_row(ProofRow("BTC", address), NOW).chain == "bitcoin"
    assert status(ProofRow("bitcoin", address[:-1] + ("q" if address[-1] != "q" else "p")))[0] == INVALID


def test_challenge_text_names_exchange_period_and_chain_head():
    assert NOW == ("Proof of reserves por-reserves-challenge-v1: Example Exchange controls this address for "
                   "period 2026-11. Previous manifest: " + "ab" * 32 + ".")
    assert "Previous manifest: none." in LAST
    for bad in ("", " X", "X ", "A\nB", "Ex\u200bchange", "a" * 65, 'say "hi"'):
        with pytest.raises(InputError):
            challenge_text(bad, "2026-11", None)
    with pytest.raises(InputError):
        challenge_text("X", "2026-13", None)
    with pytest.raises(InputError):
        challenge_text("X", "2026-11", "AB" * 32)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.text(max_size=80))
def test_any_other_message_is_never_bound(secret, message):
    """Property: whatever the key and text, a proof is bound only over the challenge itself."""
    k = PrivateKey.from_int(int.from_bytes(secret, "big") % (2**255) + 1)
    address = sign.evm_address(k)
    v = check_row(ProofRow("ethereum", address, (sign.sign_evm(k, message),), message=message), NOW)
    assert v.status == (BOUND if message == NOW else UNBOUND)


# ------------------------------------------------------------------ Bitcoin Cash: CashAddr and legacy, one wallet

CASHADDR_SPEC = [  # the CashAddr specification's test vectors: each CashAddr and its legacy spelling
    ("bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu"),
    ("bitcoincash:qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy", "1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR"),
    ("bitcoincash:qqq3728yw0y47sqn6l2na30mcw6zm78dzqre909m2r", "16w1D5WRVKJuZUsSRzdLp9w3YGcgoxDXb"),
    ("bitcoincash:ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq", "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC"),
    ("bitcoincash:pr95sy3j9xwd2ap32xkykttr4cvcu7as4yc93ky28e", "3LDsS579y7sruadqu11beEJoTjdFiFCdX4"),
    ("bitcoincash:pqq3728yw0y47sqn6l2na30mcw6zm78dzq5ucqzc37", "31nwvkZwyPdgzjBJZXfDmSWsC4ZLKpYyUw"),
]


@pytest.mark.parametrize("cash, legacy", CASHADDR_SPEC)
def test_cashaddr_and_legacy_spellings_are_one_canonical_address(cash, legacy):
    from pipeline.ownership.check import canonical_address

    spellings = [cash, legacy, cash.upper(), cash.split(":")[1], cash.split(":")[1].upper()]
    assert {canonical_address(BCH, s) for s in spellings} == {cash}
    assert btc.decode_address(BCH, legacy).payload == btc.decode_address(BCH, cash).payload
    assert canonical_address(BTC, legacy) == legacy  # Bitcoin keeps its base58 spelling
    for wrong, why in [(cash[:-1] + ("q" if cash[-1] != "q" else "p"), "checksum"),
                       ("ecash:" + cash.split(":")[1], "prefix 'ecash' is not 'bitcoincash'"),
                       (cash[:20] + cash[20:].upper(), "mixed case")]:
        s, reason = status(ProofRow("bitcoin-cash", wrong, ("x",)))
        assert s == INVALID and why in reason, (wrong, reason)
    s, reason = status(ProofRow("bitcoin", cash, ("x",)))
    assert s == INVALID and "base58check" in reason  # CashAddr is Bitcoin Cash's alone


def test_cashaddr_rows_sign_like_legacy_ones_and_the_duplicate_rule_sees_one_wallet(tmp_path):
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.ownership import cashaddr
    from pipeline.reserves.ownership import verify_reserves

    k = key(7)
    legacy = sign.bitcoin_address(BCH, k, btc.P2PKH)
    cash = cashaddr.encode("bitcoincash", False, btc.decode_address(BCH, legacy).payload)
    tokens = cashaddr.encode("bitcoincash", False, btc.decode_address(BCH, legacy).payload, tokens=True)
    sig = sign.sign_bitcoin(BCH, k, NOW)
    assert tokens.startswith("bitcoincash:z") and cash.startswith("bitcoincash:q")
    for spelling in (legacy, cash, tokens, cash.upper(), cash.split(":")[1]):
        v = check_row(ProofRow("bch", spelling, (sig,)), NOW)
        assert (v.status, v.canonical) == (BOUND, cash), spelling
    path = tmp_path / "res" / "r.parquet"
    os.makedirs(path.parent)
    rows = [legacy, cash.split(":")[1].upper(), tokens]
    pq.write_table(pa.table({"chain": ["bitcoin-cash"] * 3, "address": rows, "asset": ["BCH"] * 3, "balance": [5, 5, 5],
                             "signatures": [[sig]] * 3}), str(path))
    (path.parent / "heights.json").write_text('{"bitcoin-cash": 100}')
    records = verify_reserves(lambda fn, items: [fn(x) for x in items], str(path.parent), NOW).records
    assert [r["status"] for r in records] == [BOUND, INVALID, INVALID]
    assert all("the same wallet as row 0" in r["reason"] for r in records[1:])


# ------------------------------------------------------------------ the families of issue 23, with their synthetic signers

NEW_CHAINS = ("xrpl", "cardano", "polkadot", "kusama", "ton", "filecoin", "sui")


@pytest.mark.parametrize("name", NEW_CHAINS)
def test_new_families_round_trip_and_refuse_another_period_and_another_key(name):
    import hashlib

    chain = find_chain(name)
    signer = sign.synth_signer(chain)

    def secret_of(tag):
        return lambda n: hashlib.sha256(f"{name} {tag} {n}".encode()).digest()

    for i in range(4):  # each signer cycles through its key types and wallets
        proof = signer.proof(chain, secret_of(i), i, NOW)
        row = ProofRow(name, proof.address, tuple(proof.signatures), None, proof.script)
        v = check_row(row, NOW)
        assert v.status == BOUND, (i, v)
        assert check_row(ProofRow(name, proof.address, tuple(proof.signatures), LAST, proof.script), NOW).status == INVALID
        last = signer.proof(chain, secret_of(i), i, LAST)
        assert check_row(ProofRow(name, proof.address, tuple(last.signatures), LAST, proof.script), NOW).status == UNBOUND
        other = signer.proof(chain, secret_of(f"other {i}"), i, NOW)
        assert check_row(ProofRow(name, proof.address, tuple(other.signatures), None, proof.script), NOW).status == INVALID
        assert check_row(ProofRow(name, proof.address, (), None, proof.script), NOW).status == MISSING
        checks = signer.bare_checks(chain, proof, NOW)
        assert len(checks.ecdsa) + len(checks.ed25519) + len(checks.sr25519) == 1


def test_ton_spellings_are_one_wallet_and_the_wallet_order_is_documented():
    from pipeline.ownership import ton
    from pipeline.ownership.check import canonical_address

    chain = find_chain("ton")
    e = ed(9)
    public = sign.ed25519_public(e)
    assert list(ton.WALLETS) == ["v5r1", "v4r2", "v3r2", "v3r1", "highload-v3"]
    for wallet in ton.WALLETS:
        account = ton.wallet_account(ton.WALLETS[wallet], public)
        spellings = [ton.friendly(account, b, u) for b in (True, False) for u in (True, False)] + [f"0:{account.hex()}"]
        assert {canonical_address(chain, s) for s in spellings} == {f"0:{account.hex()}"}
        v = check_row(ProofRow("ton", spellings[1], (sign.sign_ton(e, NOW),), None, public.hex()), NOW)
        assert (v.status, v.reason) == (BOUND, f"Ed25519 (TON wallet {wallet}) over this period's challenge")


def test_polkadot_network_prefixes_and_sr25519_randomness():
    seed = bytes(range(32))
    public, one = sign.sign_polkadot_sr25519(seed, NOW)
    _, two = sign.sign_polkadot_sr25519(seed, NOW)
    assert one != two  # sr25519 signs with fresh randomness; both verify
    for chain_name, prefix in (("polkadot", 0), ("kusama", 2)):
        chain = find_chain(chain_name)
        address = sign.polkadot_address(chain, public)
        for sig in (one, two):
            assert check_row(ProofRow(chain_name, address, (sig,)), NOW).status == BOUND
        other = "kusama" if chain_name == "polkadot" else "polkadot"
        s, why = status(ProofRow(other, address, (one,)))
        assert s == INVALID and f"SS58 network prefix {prefix} is not {other}'s" in why


def test_a_published_ton_row_of_a_major_exchange_is_unbound():
    """The TON row of the example file a major exchange publishes with its verifier
    (okx/proof-of-reserves, example/okx_por_example.csv): its key's highload v3 wallet (subwallet
    4269, timeout 43200) is the address, and the signature is Ed25519 over its framing of the fixed
    sentence. Replayable: unbound; as this period's proof: invalid."""
    row = ProofRow("TON", "UQB1CKrUWm7qf41Z1GeEE6AgVVj5cH6y6x1aRmWe6q4mj1fn",
                   ("0x6c5b3b11b8d4a7b356cb4e4e4a960e476d05b52824a62ef961054617b401f157ef6c01c537f3751c22ba018f97b067d508b455f"
                    "6cbdf757a64ca2571e76dc004",), "I am an OKX address",
                   "6711ba8eaa47855b01d73e3849cd93861b1c11d7a86ae5fb8f96bb63d9be5a6b")
    v = check_row(row, NOW)
    assert (v.status, v.canonical) == (UNBOUND, "0:7508aad45a6eea7f8d59d4678413a0205558f9707eb2eb1d5a46659eeaae268f")
    assert v.reason.startswith("Ed25519 over OKX's framing (TON wallet highload-v3) over another text")
    assert check_row(ProofRow(row.chain, row.address, row.signatures, None, row.script), NOW).status == INVALID


def test_cardano_byron_addresses_are_unsupported_not_invalid():
    byron = "Ae2tdPwUPEZFRbyhz3cpfC2CumGzNkFBN2L42rcUc2yjQpEkxDbkPodpMAi"  # CIP-19's Byron test vector
    v = check_row(ProofRow("cardano", byron, ("00",)), NOW)
    assert (v.status, v.canonical) == (UNSUPPORTED, byron) and "Byron" in v.reason
    s, why = status(ProofRow("cardano", byron[:-1] + "j", ("00",)))  # its CRC no longer holds
    assert s == INVALID and "not a Cardano address" in why
