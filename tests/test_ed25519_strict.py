"""Strict Ed25519 (schemas/reserves.md, "Ed25519"): small-order and non-canonical A and R, and S ≥ L,
are refused before the verification equation is tried. Each forgery below is accepted by OpenSSL's
plain verification (asserted here, so the test shows the attack is real), and must be `invalid`."""

from __future__ import annotations

import base58
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pipeline.ownership import ed25519
from pipeline.testing import sign
from pipeline.ownership.challenge import challenge_text
from pipeline.ownership.check import BOUND, INVALID, ProofRow, check_row

NOW = challenge_text("Example Exchange", "2026-11", "ab" * 32)
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
IDENTITY = (1).to_bytes(32, "little")
ZERO = bytes(32)  # y = 0: a point of order 4; as a Solana address, 11111111111111111111111111111111
ORDER_2 = (P - 1).to_bytes(32, "little")


def permissive(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def test_the_torsion_points_are_the_eight_known_ones():
    assert len(ed25519.SMALL_ORDER) == 8
    assert {IDENTITY, ZERO, ORDER_2} <= ed25519.SMALL_ORDER
    assert bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05") in ed25519.SMALL_ORDER
    assert bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a") in ed25519.SMALL_ORDER


def test_the_system_program_address_cannot_be_bound_with_a_keyless_signature():
    address = base58.b58encode(ZERO).decode()
    assert address == "11111111111111111111111111111111"
    forged = ZERO + bytes(32)  # R = the same small-order point, S = 0
    assert permissive(ZERO, forged, NOW.encode())  # OpenSSL alone would accept it, for every message
    for encoded in (forged.hex(), base58.b58encode(forged).decode()):
        v = check_row(ProofRow("solana", address, (encoded,)), NOW)
        assert v.status == INVALID and "small-order" in v.reason


@pytest.mark.parametrize("point", sorted(ed25519.SMALL_ORDER), ids=lambda b: b.hex()[:8])
def test_every_small_order_public_key_is_refused_on_aptos_and_solana(point):
    accepted = [r for r in sorted(ed25519.SMALL_ORDER) if permissive(point, r + bytes(32), NOW.encode())]
    signature = (accepted[0] if accepted else point) + bytes(32)
    aptos = ed25519.aptos_address(point)
    v = check_row(ProofRow("aptos", aptos, (signature.hex(),), script=point.hex()), NOW)
    assert v.status == INVALID and "the public key is a small-order" in v.reason
    solana = base58.b58encode(point).decode()
    v = check_row(ProofRow("solana", solana, (signature.hex(),)), NOW)
    assert v.status == INVALID and "the public key is a small-order" in v.reason


@pytest.mark.parametrize("r", sorted(ed25519.SMALL_ORDER), ids=lambda b: b.hex()[:8])
def test_a_small_order_r_is_refused_under_a_real_key(r):
    key = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    public = sign.ed25519_public(key)
    v = check_row(ProofRow("solana", sign.solana_address(key), ((r + bytes(32)).hex(),)), NOW)
    assert v.status == INVALID and "R is a small-order" in v.reason
    assert public not in ed25519.SMALL_ORDER


def test_s_at_or_above_the_group_order_is_refused():
    key = Ed25519PrivateKey.from_private_bytes(bytes([9]) * 32)
    good = bytes.fromhex(sign.sign_ed25519(key, NOW))
    address = sign.solana_address(key)
    assert check_row(ProofRow("solana", address, (good.hex(),)), NOW).status == BOUND
    s = int.from_bytes(good[32:], "little")
    for bad_s in (s + L, L, 2**256 - 1):
        forged = good[:32] + bad_s.to_bytes(32, "little")
        v = check_row(ProofRow("solana", address, (forged.hex(),)), NOW)
        assert v.status == INVALID and "S is not below the group order" in v.reason


def test_non_canonical_encodings_of_a_and_r_are_refused():
    key = Ed25519PrivateKey.from_private_bytes(bytes([11]) * 32)
    good = bytes.fromhex(sign.sign_ed25519(key, NOW))
    public = sign.ed25519_public(key)
    y_above_p = (P + 1).to_bytes(32, "little")  # the identity spelled with y = p + 1
    negative_zero = bytearray(IDENTITY)
    negative_zero[31] |= 0x80
    for a in (y_above_p, bytes(negative_zero), b"\xff" * 32):
        with pytest.raises(ed25519.Refused, match="canonical"):
            ed25519.check_strict(a, good)
    for r in (y_above_p, bytes(negative_zero)):
        with pytest.raises(ed25519.Refused, match="R is not a canonical"):
            ed25519.check_strict(public, r + good[32:])
    ed25519.check_strict(public, good)  # the honest signature passes every rule


def test_ordinary_keys_and_signatures_pass_the_strict_rules():
    for i in range(1, 60):
        key = Ed25519PrivateKey.from_private_bytes(i.to_bytes(32, "big"))
        signature = key.sign(NOW.encode())
        ed25519.check_strict(key.public_key().public_bytes_raw(), signature)
