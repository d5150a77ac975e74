"""One reserve row in, one status out. Pure: no I/O; the orchestration runs it per chunk of rows.

Statuses: ``bound`` (a valid proof over this period's challenge), ``unbound`` (a valid proof over
some other text, e.g. a fixed sentence: replayable), ``invalid`` (a signature, script, key or
address that does not check out, or a spelling that is not canonical), ``missing`` (no proof),
``unsupported`` (a chain or an address type this tool cannot check). Each comes with its reason.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from . import bitcoin, ed25519, evm
from .chains import BITCOIN, EVM, SOLANA, TRON, Chain, Refused, find_chain

BOUND, UNBOUND, INVALID, MISSING, UNSUPPORTED = "bound", "unbound", "invalid", "missing", "unsupported"
STATUSES = (BOUND, UNBOUND, INVALID, MISSING, UNSUPPORTED)
OWNERS_NOT_CHECKED = "owners not confirmed on chain"
"""The note of a contract-wallet row whose owners' signatures verify: on their word alone the row is
at most ``unbound``; ``pipeline.reserves.ownership`` makes it ``bound`` only when the chain's node
confirms the owners and the threshold (``pipeline.onchain.safe``)."""
MAX_SIGNATURES = 16


@dataclass(frozen=True)
class ProofRow:
    chain: str
    address: str
    signatures: tuple[str, ...] = ()
    message: str | None = None
    script: str | None = None
    """The redeem/witness script (Bitcoin multisig) or the public key (Ed25519 chains), hex."""
    owners: tuple[str, ...] = ()
    """Owner addresses of a contract wallet (EVM chains), one signature each, in order."""


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    chain: str = ""
    """The chain's canonical name ("" when it is not on the list)."""
    canonical: str = ""
    """The address in its chain's canonical spelling ("" when it does not decode)."""
    note: str = ""
    signers: tuple[str, ...] = ()
    """Contract wallets: the distinct owners (canonical, ``0x`` + 40 hex) whose signatures verified."""
    pending: bool = False
    """A contract wallet signed over this period's challenge: ``bound`` once the chain confirms its owners."""


def _spelling(text: str, what: str) -> str | None:
    """Why ``text`` is not a plain spelling (None when it is)."""
    if text and text.isascii() and text.isprintable() and " " not in text:
        return None  # the common case, without a loop per character
    if text != text.strip():
        return f"{what} {text!r} has surrounding spaces"
    for ch in text:
        if not ch.isascii() or not ch.isprintable() or ch.isspace():
            name = unicodedata.name(ch, "unnamed")
            return f"{what} {text!r} contains U+{ord(ch):04X} ({name}); only printable ASCII is accepted"
    return None if text else f"{what} is empty"


def canonical_address(chain: Chain, text: str) -> str:
    """``text`` in ``chain``'s canonical spelling, or ``Refused``."""
    if chain.family == BITCOIN:
        return bitcoin.decode_address(chain, text).canonical
    if chain.family == EVM:
        return "0x" + evm.decode_evm(text).hex()
    if chain.family == TRON:
        evm.decode_tron(text)
        return text
    if chain.family == SOLANA:
        ed25519.decode_solana(text)
        return text
    return ed25519.decode_aptos(text)


def _one(row: ProofRow) -> str:
    if len(row.signatures) != 1:
        raise Refused(f"a single-key address takes one signature, not {len(row.signatures)}")
    return row.signatures[0]


def _prove(chain: Chain, row: ProofRow, message: str, canonical: str) -> tuple[str, str]:
    """``(what was proven, note)`` or ``Refused``/``_Unsupported``."""
    if chain.family == BITCOIN:
        address = bitcoin.decode_address(chain, row.address)
        if row.script:
            return bitcoin.check_multisig(chain, address, message, list(row.signatures), row.script), ""
        if address.kind == bitcoin.P2WSH:
            raise Refused("a P2WSH address is proven by its witness script and signatures; no script given")
        signature = _one(row)
        compact = len(signature) == 88  # base64 of 65 bytes
        if address.kind in (bitcoin.P2WPKH, bitcoin.P2TR) and not compact:
            if chain.name != "bitcoin":
                raise _Unsupported(f"BIP-322 on {chain.name} is not supported")
            return bitcoin.check_bip322(canonical, message, signature), ""
        if address.kind == bitcoin.P2TR:
            raise _Unsupported("a taproot address cannot sign a BIP-137 message; give a BIP-322 signature")
        return bitcoin.check_single(chain, address, message, signature), ""
    if chain.family == EVM:
        if row.owners:
            if len(row.owners) != len(row.signatures):
                raise Refused(f"{len(row.owners)} owner(s) but {len(row.signatures)} signature(s); one each")
            for i, (owner, signature) in enumerate(zip(row.owners, row.signatures, strict=True)):
                why = _spelling(owner, f"owner {i + 1}")
                if why:
                    raise Refused(why)
                try:
                    evm.check_signed(evm.decode_evm(owner), message, signature, tron=False)
                except Refused as exc:
                    raise Refused(f"owner {i + 1} {owner}: {exc}") from None
            return f"contract wallet, {len(row.owners)} owner signature(s) (EIP-191)", OWNERS_NOT_CHECKED
        return evm.check_signed(evm.decode_evm(row.address), message, _one(row), tron=False), ""
    if chain.family == TRON:
        return evm.check_signed(evm.decode_tron(row.address), message, _one(row), tron=True), ""
    signature = _one(row)
    if chain.family == SOLANA:  # the address is the public key; a given key must be the same one
        public = ed25519.check_signed(row.script or row.address, message, signature)
        if public != ed25519.decode_solana(row.address):
            raise Refused("the public key does not derive the address")
        return "Ed25519 (Solana)", ""
    if not row.script:
        raise Refused("an Aptos address is proven with its public key (script column); none given")
    public = ed25519.check_signed(row.script, message, signature)
    if ed25519.aptos_address(public) != canonical:
        raise Refused("the public key does not derive the address (sha3-256(key || 0x00))")
    return "Ed25519 (Aptos)", ""


class _Unsupported(Exception):
    pass


def check_row(row: ProofRow, challenge: str | None) -> Verdict:
    """The row's status and reason. ``challenge`` is this period's text (None: nothing is bound)."""
    why = _spelling(row.chain, "chain")
    if why:
        return Verdict(INVALID, why)
    chain = find_chain(row.chain)
    if chain is None:
        return Verdict(UNSUPPORTED, f"chain {row.chain!r} is not on the supported list (schemas/reserves.md)")
    why = _spelling(row.address, "address")
    if why:
        return Verdict(INVALID, why, chain.name)
    try:
        canonical = canonical_address(chain, row.address)
    except Refused as exc:
        return Verdict(INVALID, str(exc), chain.name)
    if not row.signatures:
        return Verdict(MISSING, "no signature", chain.name, canonical)
    if len(row.signatures) > MAX_SIGNATURES:
        return Verdict(INVALID, f"{len(row.signatures)} signatures (at most {MAX_SIGNATURES})", chain.name, canonical)
    message = row.message if row.message is not None else challenge
    if message is None:
        return Verdict(INVALID, "no message, and no challenge to check the signature against", chain.name, canonical)
    try:
        proven, note = _prove(chain, row, message, canonical)
    except Refused as exc:
        return Verdict(INVALID, str(exc), chain.name, canonical)
    except _Unsupported as exc:
        return Verdict(UNSUPPORTED, str(exc), chain.name, canonical)
    if note == OWNERS_NOT_CHECKED:  # never bound on the owners' word: the chain must confirm them
        signers = tuple(dict.fromkeys("0x" + evm.decode_evm(o).hex() for o in row.owners))
        over = ("this period's challenge" if challenge is not None and message == challenge
                else f"another text ({message if len(message) <= 60 else message[:57] + '...'!r})")
        return Verdict(UNBOUND, f"{proven} over {over}; not bound: that these owners control the contract and meet "
                       "its threshold was not confirmed on chain (a node for the chain confirms getOwners() and "
                       "getThreshold() at the snapshot height)", chain.name, canonical, note, signers,
                       pending=challenge is not None and message == challenge)
    if challenge is not None and message == challenge:
        return Verdict(BOUND, f"{proven} over this period's challenge", chain.name, canonical, note)
    shown = message if len(message) <= 60 else message[:57] + "..."
    return Verdict(UNBOUND, f"{proven} over another text ({shown!r}): replayable, not bound to this period",
                   chain.name, canonical, note)
