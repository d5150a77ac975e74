"""The TON family: addresses of the standard wallet contracts, derived from the public key, and a
plain Ed25519 signature over the text.

* Address: ``workchain:account``, the account the representation hash (SHA-256, TON's cell hash)
  of the wallet's ``StateInit`` (its code cell and its initial data cell: sequence number 0, the
  wallet id, the public key, empty dictionaries). Spellings, all one wallet: raw ``0:<64 hex>``,
  and the user-friendly 48 characters, base64 url-safe or standard, of ``flags ‖ workchain ‖ account
  ‖ CRC-16/XMODEM``, flags 0x11 bounceable (``EQ…``) or 0x51 non-bounceable (``UQ…``); flag 0x80
  (testnet) is another network and refused. Canonical spelling: raw, ``0:`` and 64 lower-case hex
  digits. Wallets live in the basechain (workchain 0); a masterchain address is not supported.
* Wallets (``WALLETS``): ``v3r1``, ``v3r2`` and ``v4r2`` (wallet id 698983191), ``v5r1`` (wallet id
  2147483409: mainnet's global id -239 with the client context of workchain 0, subwallet 0) and
  ``highload-v3`` (subwallet id 4269 = 0x10ad, timeout 43200 s = 12 h). The code cells are the
  ones ``@ton/ton`` (and, highload v3, ton-blockchain/highload-wallet-contract-v3) deploy; only
  their hashes and depths enter the address, and the golden vectors hold them to the SDK's.
* The row's ``script``: ``[WALLET[/ID[/TIMEOUT]]:]PUBLIC_KEY`` (32 bytes, hex), e.g.
  ``v4r2:5f2a…``, ``v5r1/2147483409:…``, ``highload-v3/4269/3600:…``. Without a wallet, the
  key's wallets are tried in the order ``v5r1, v4r2, v3r2, v3r1, highload-v3`` with their default
  ids, and the first whose address is the row's is the one proven. A named wallet whose address is
  not the row's is refused (wrong wallet version or id).
* What is signed: Ed25519 (strict, ``ed25519``) over the message's UTF-8 bytes, what
  ``@ton/crypto`` ``sign(Buffer.from(message), secretKey)`` and a custody tool's raw Ed25519 signing
  produce; the signature is 64 bytes, hex or base64. Also read: Ed25519 over the framing a major
  exchange's published files use (``rules.okx_framed``: ``var_str("OKX Signed Message:\\n") ‖
  var_str(message)``; its verifier derives v3r2 and highload v3 addresses). (TON Connect's
  ``signData`` signs a hash of a framed text that also holds the app's domain and a timestamp,
  which a row has no column for: it is not read.)

The cell hashing (two ordinary cells without references of their own but the code's) is written
here: the one Python package that has it, ``pytoniq-core``, brings six dependencies (a network
client and two more curve libraries among them) for what is one SHA-256 per cell.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from dataclasses import dataclass

from . import ed25519
from .chains import Chain, Family, Refused
from .rules import ProofRow, Unsupported, okx_framed, one_signature

BOUNCEABLE, NON_BOUNCEABLE, TESTNET = 0x11, 0x51, 0x80
_RAW = re.compile(r"(-?[0-9]+):([0-9a-fA-F]{64})")
_KEY = re.compile(r"(?:(v3r1|v3r2|v4r2|v5r1|highload-v3)(?:/([0-9]{1,10}))?(?:/([0-9]{1,7}))?:)?(?:0x)?([0-9a-fA-F]{64})")
_B64 = re.compile(r"[A-Za-z0-9+/_-]{48}")


@dataclass(frozen=True)
class Wallet:
    name: str
    code_hash: bytes
    code_depth: int
    wallet_id: int
    """v3/v4: the subwallet id; v5r1: the wallet id; highload v3: the subwallet id."""
    timeout: int = 0
    """Highload v3 only: the timeout (seconds) in its data."""


WALLETS = {w.name: w for w in (
    Wallet("v5r1", bytes.fromhex("20834b7b72b112147e1b2fb457b84e74d1a30f04f737d4f62a668e9552d2b72f"), 6, 2147483409),
    Wallet("v4r2", bytes.fromhex("feb5ff6820e2ff0d9483e7e0d62c817d846789fb4ae580c878866d959dabd5c0"), 7, 698983191),
    Wallet("v3r2", bytes.fromhex("84dafa449f98a6987789ba232358072bc0f76dc4524002a5d0918b9a75d2d599"), 0, 698983191),
    Wallet("v3r1", bytes.fromhex("b61041a58a7980b946e8fb9e198e3c904d24799ffa36574ea4251c41a566f581"), 0, 698983191),
    Wallet("highload-v3", bytes.fromhex("11acad7955844090f283bf238bc1449871f783e7cc0979408d3f4859483e8525"), 6, 4269,
           43200),
)}
"""The standard wallets, in the order they are tried, with their default ids."""


def _cell(value: int, size: int, refs: tuple[tuple[bytes, int], ...] = ()) -> tuple[bytes, int]:
    """``(representation hash, depth)`` of an ordinary cell of ``size`` bits, those of ``value`` (below
    2^size) from the most significant, and references ``refs`` (their hashes and depths): TON's cell
    hash, level 0. The data are padded to whole bytes with a 1 and then 0s (``tests`` hold this to the
    same hash over a string of 0/1, the way TON's documentation writes it)."""
    pad = -size % 8
    data = ((value << pad | 1 << (pad - 1)) if pad else value).to_bytes((size + pad) // 8, "big")
    descriptors = bytes([len(refs), size // 8 + (size + 7) // 8])
    body = descriptors + data + b"".join(d.to_bytes(2, "big") for _, d in refs) + b"".join(h for h, _ in refs)
    return hashlib.sha256(body).digest(), 1 + max(d for _, d in refs) if refs else 0


def data_cell(wallet: Wallet, public: bytes) -> tuple[int, int]:
    """``(value, size)`` of the wallet's initial data cell: what ``@ton/ton``'s ``create`` (and the
    highload v3 wrapper) store (a sequence number 0 where the wallet has one)."""
    key = int.from_bytes(public, "big")  # 256 bits
    if wallet.name in ("v3r1", "v3r2"):  # seqno(32) wallet_id(32) key(256)
        return wallet.wallet_id << 256 | key, 320
    if wallet.name == "v4r2":  # seqno(32) wallet_id(32) key(256), an empty plugins dictionary (0)
        return (wallet.wallet_id << 256 | key) << 1, 321
    if wallet.name == "v5r1":  # signatures allowed (1) seqno(32) wallet_id(32) key(256), no extensions (0)
        return ((1 << 64 | wallet.wallet_id) << 256 | key) << 1, 322
    # highload v3: key(256) subwallet_id(32), two empty dictionaries (0 0), last_clean_time(64) 0, timeout(22)
    return (key << 32 | wallet.wallet_id) << 88 | wallet.timeout, 376


@functools.lru_cache(maxsize=256)
def wallet_account(wallet: Wallet, public: bytes) -> bytes:
    """The 32-byte account of ``wallet`` with ``public`` (in the basechain)."""
    data = _cell(*data_cell(wallet, public))
    # StateInit: no split_depth, not special, code and data present, no library (0 0 1 1 0)
    account, _ = _cell(0b00110, 5, ((wallet.code_hash, wallet.code_depth), data))
    return account


def friendly(account: bytes, bounceable: bool = True, url_safe: bool = True, workchain: int = 0) -> str:
    body = bytes([BOUNCEABLE if bounceable else NON_BOUNCEABLE, workchain & 0xFF]) + account
    raw = body + binascii.crc_hqx(body, 0).to_bytes(2, "big")
    return (base64.urlsafe_b64encode(raw) if url_safe else base64.b64encode(raw)).decode("ascii")


@functools.lru_cache(maxsize=8)
def decode_address(text: str) -> tuple[int, bytes]:
    """``(workchain, account)`` of any of an address's spellings, or ``Refused``."""
    m = _RAW.fullmatch(text)
    if m:
        workchain = int(m.group(1))
        if not -128 <= workchain <= 127 or str(workchain) != m.group(1):
            raise Refused(f"workchain {m.group(1)} of a raw TON address is not a plain number from -128 to 127")
        return workchain, bytes.fromhex(m.group(2))
    if not _B64.fullmatch(text) or ("-" in text or "_" in text) and ("+" in text or "/" in text):
        raise Refused("not a TON address (0:<64 hex digits>, or 48 characters of base64)")
    raw = base64.b64decode(text.replace("-", "+").replace("_", "/"))
    if binascii.crc_hqx(raw[:34], 0).to_bytes(2, "big") != raw[34:]:
        raise Refused("not a valid TON address (CRC-16 checksum)")
    if raw[0] & TESTNET:
        raise Refused("a testnet TON address (flag 0x80); the chain is mainnet")
    if raw[0] not in (BOUNCEABLE, NON_BOUNCEABLE):
        raise Refused(f"TON address flags {raw[0]:#04x} are neither bounceable (0x11) nor non-bounceable (0x51)")
    return int.from_bytes(raw[1:2], "big", signed=True), raw[2:34]


def parse_key(script: str | None) -> tuple[tuple[Wallet, ...], bytes]:
    """The wallets to try and the public key, from the row's ``script``, or ``Refused``."""
    if not script:
        raise Refused("a TON address is proven with its public key (script column: [WALLET:]KEY); none given")
    m = _KEY.fullmatch(script)
    if not m:
        raise Refused("the script column is not [WALLET[/ID[/TIMEOUT]]:]PUBLIC_KEY with a 32-byte hex key and a wallet "
                      "of v3r1, v3r2, v4r2, v5r1, highload-v3")
    name, wallet_id, timeout, key = m.groups()
    public = bytes.fromhex(key)
    if name is None:
        return tuple(WALLETS.values()), public
    wallet = WALLETS[name]
    if timeout is not None and name != "highload-v3":
        raise Refused(f"a timeout is given for {name}, which has none (highload-v3 only)")
    if wallet_id is not None:
        if int(wallet_id) >= 2**32 or timeout is not None and int(timeout) >= 2**22:
            raise Refused("the wallet id is not below 2^32 or the timeout below 2^22")
        wallet = Wallet(wallet.name, wallet.code_hash, wallet.code_depth, int(wallet_id),
                        int(timeout) if timeout is not None else wallet.timeout)
    return (wallet,), public


def _signature(text: str) -> bytes:
    if re.fullmatch(r"(0x)?[0-9a-fA-F]{128}", text):
        return bytes.fromhex(text.removeprefix("0x"))
    try:
        raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 64:
        raise Refused("the signature is not 64 bytes of hex or base64")
    return raw


class TonFamily:
    """TON's rules behind ``pipeline.ownership.family.ChainFamily``."""

    name = Family.TON

    def canonical(self, chain: Chain, address: str) -> str:
        workchain, account = decode_address(address)
        return f"{workchain}:{account.hex()}"

    def prove(self, chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
        workchain, account = decode_address(row.address)
        signature = _signature(one_signature(row))
        wallets, public = parse_key(row.script)
        if workchain != 0:
            raise Unsupported(f"a workchain {workchain} address: the standard wallets are derived in the basechain (0)")
        found = next((w for w in wallets if wallet_account(w, public) == account), None)
        if found is None:
            tried = ", ".join(f"{w.name} (id {w.wallet_id}{f', timeout {w.timeout}' if w.name == 'highload-v3' else ''})"
                              for w in wallets)
            raise Refused(f"the public key's wallet is not this address (tried {tried}): another key, or another "
                          "wallet version or id")
        try:
            ed25519.verify(public, signature, message.encode("utf-8"))
        except Refused as exc:
            if "does not verify" not in str(exc):
                raise
            ed25519.verify(public, signature, okx_framed(message))  # the exchange's framing, or the plain refusal
            return f"Ed25519 over OKX's framing (TON wallet {found.name})", ""
        return f"Ed25519 (TON wallet {found.name})", ""


FAMILY = TonFamily()
