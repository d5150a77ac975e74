"""por-v3's fragments in bulk, compiled with numba: holdings, fragment keys, splits, leaves, padding
leaf keys. Pure: no I/O.

Every byte string hashed here is taken from ``pipeline.protocol.v3`` (``fragment_message``,
``split_message``, the padding-leaf tag and ``lp``), and every rule is ``v3``'s, applied to many
holdings per call: ``fk = Hk(uk, 0x00 ‖ lp(symbol) ‖ u8(i))``; the cuts
``floor((a + 1) · R / 2^128)`` (a 128 × 128 → 256-bit multiply with 32-bit limbs), sorted; the
parts as differences of the sorted cuts; the leaf ``Hk(key, u128be(equity) ‖ u128be(debt))``;
``pk = Hk(K_pad, 0x03 ‖ lp(symbol) ‖ u64be(d))``. ``tests/test_fragments.py`` checks each against
``v3`` on random inputs, amounts 0, 1 and near 2^128 included.

Layouts: a user key is a ``(32,)`` uint8 row; amounts are ``(…, 2, 2)`` uint64 ``[equity/debt][hi, lo]``
(``pipeline.tree.sums``' lanes, two "assets": equity and debt) or, as stored and hashed, 32 bytes
``u128be(equity) ‖ u128be(debt)``. Fragment ``i`` of holding ``h`` is row ``h · s + i``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numba import carray, njit

from ..protocol import v3
from ..protocol.keys import SecretKey
from . import blake3_batch as bb

_ONE_BLOCK = bb.KEYED_HASH | bb.CHUNK_START | bb.CHUNK_END | bb.ROOT
_M32 = np.uint64(0xFFFFFFFF)


@dataclass
class Holdings:
    """The non-zero holdings of ``n`` users, user by user and asset by asset."""

    user: np.ndarray  # (H,) int64: the row of the holder
    asset: np.ndarray  # (H,) int64: the asset index j
    amounts: np.ndarray  # (H, 2, 2) uint64: [equity/debt][hi, lo]

    def __len__(self) -> int:
        return int(self.user.shape[0])


@dataclass
class Fragments:
    """``s`` fragments per holding: fragment ``i`` of holding ``h`` is row ``h · s + i``."""

    asset: np.ndarray  # (F,) int64
    keys: np.ndarray  # (F, 32) uint8: fk
    amounts: np.ndarray  # (F, 32) uint8: u128be(equity) ‖ u128be(debt)

    def __len__(self) -> int:
        return int(self.asset.shape[0])


# ------------------------------------------------------------------ holdings


@njit(cache=True, nogil=True)
def _count_holdings(held):  # type: ignore[no-untyped-def]
    n, lanes = held.shape
    count = 0
    for u in range(n):
        for j in range(lanes // 2):
            if held[u, 2 * j] or held[u, 2 * j + 1]:
                count += 1
    return count


@njit(cache=True, nogil=True)
def _fill_holdings(held, flat, user, asset, amounts):  # type: ignore[no-untyped-def]
    n, lanes = held.shape
    h = 0
    k = 0
    for u in range(n):
        for j in range(lanes // 2):
            e, d = held[u, 2 * j], held[u, 2 * j + 1]
            if not (e or d):
                continue
            user[h] = u
            asset[h] = j
            for t in range(2):
                amounts[h, t, 0] = 0
                amounts[h, t, 1] = 0
            if e:
                amounts[h, 0, 0] = flat[k, 0]
                amounts[h, 0, 1] = flat[k, 1]
                k += 1
            if d:
                amounts[h, 1, 0] = flat[k, 0]
                amounts[h, 1, 1] = flat[k, 1]
                k += 1
            h += 1


def holdings_from_lanes(held: np.ndarray, flat: np.ndarray) -> Holdings:
    """Holdings from sparse amounts over ``2m`` lanes (lane ``2j`` the equity of asset ``j``, ``2j + 1``
    its debt): ``held`` (n, 2m) bool, ``flat`` (held.sum(), 2) uint64 ``[hi, lo]`` row by row, lane by
    lane. A holding is an asset with a non-zero lane; a user holding nothing has none."""
    held = np.ascontiguousarray(held, dtype=np.bool_)
    if held.shape[1] % 2:
        raise ValueError(f"{held.shape[1]} lanes: expected two per asset")
    count = int(_count_holdings(held)) if held.shape[0] else 0
    out = Holdings(np.empty(count, np.int64), np.empty(count, np.int64), np.empty((count, 2, 2), np.uint64))
    if count:
        _fill_holdings(held, np.ascontiguousarray(flat, dtype=np.uint64), out.user, out.asset, out.amounts)
    return out


# ------------------------------------------------------------------ keyed one-block hashes from a table


@njit(cache=True, nogil=True)
def _table_lanes(words, lengths, msg_idx, keys, key_idx, out):  # type: ignore[no-untyped-def]
    """``out[i] = Hk(keys[key_idx[i]], message msg_idx[i])``: messages of at most 64 bytes from a
    table (``words`` (T, 16) uint32, zero-padded; ``lengths`` (T,)), keys (K, 8) uint32, 16 at a time."""
    n = msg_idx.shape[0]
    s = carray(bb._stack_u32(256), (16, bb.LANES))  # type: ignore[call-arg]
    m = carray(bb._stack_u32(256), (16, bb.LANES))
    cv = carray(bb._stack_u32(128), (8, bb.LANES))
    block_len = np.zeros(bb.LANES, dtype=np.uint32)
    flags = np.full(bb.LANES, _ONE_BLOCK, dtype=np.uint32)
    for first in range(0, n, bb.LANES):
        count = min(bb.LANES, n - first)
        for lane in range(bb.LANES):
            i = first + lane if lane < count else first
            t = msg_idx[i]
            k = key_idx[i]
            for w in range(16):
                m[w, lane] = words[t, w]
            for j in range(8):
                cv[j, lane] = keys[k, j]
            block_len[lane] = lengths[t]
        bb._compress_lanes(cv, m, s, block_len, flags)
        for lane in range(count):
            for j in range(8):
                out[first + lane, j] = cv[j, lane]


def _message_table(messages: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Messages of at most 64 bytes as zero-padded little-endian words, and their lengths."""
    raw = np.zeros((len(messages), 64), dtype=np.uint8)
    for t, msg in enumerate(messages):
        if len(msg) > 64:
            raise ValueError("a table message is at most one block (64 bytes)")
        raw[t, : len(msg)] = np.frombuffer(msg, dtype=np.uint8)
    return raw.view("<u4").astype(np.uint32), np.array([len(x) for x in messages], dtype=np.uint32)


def _words(keys: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 keys as (n, 8) little-endian uint32 words (BLAKE3's key words)."""
    return np.ascontiguousarray(keys, dtype=np.uint8).view("<u4").reshape(-1, 8).astype(np.uint32, copy=False)


def _digest_bytes(words: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(words, dtype="<u4").view(np.uint8).reshape(-1, 32)


def _table_hash(messages: Sequence[bytes], msg_idx: np.ndarray, key_words: np.ndarray, key_idx: np.ndarray
                ) -> np.ndarray:
    """(n, 8) uint32 digests of ``messages[msg_idx[i]]`` under key ``key_words[key_idx[i]]``."""
    words, lengths = _message_table(messages)
    out = np.empty((msg_idx.shape[0], 8), dtype=np.uint32)
    if msg_idx.shape[0]:
        _table_lanes(words, lengths, np.ascontiguousarray(msg_idx, np.int64), key_words,
                     np.ascontiguousarray(key_idx, np.int64), out)
    return out


# ------------------------------------------------------------------ splits


@njit(inline="always")
def _bswap32(x):  # type: ignore[no-untyped-def]
    return (((x & np.uint64(0xFF)) << np.uint64(24)) | ((x & np.uint64(0xFF00)) << np.uint64(8))
            | ((x >> np.uint64(8)) & np.uint64(0xFF00)) | ((x >> np.uint64(24)) & np.uint64(0xFF)))


@njit(inline="always")
def _cut(a_hi, a_lo, r_hi, r_lo, w):  # type: ignore[no-untyped-def]
    """``floor((a + 1) · r / 2^128)`` for a, r in [0, 2^128), as (hi, lo): 32-bit limbs, schoolbook
    (``w``: 16 words of scratch: the limbs of a + 1, of r, and the 8 of the product)."""
    mx = np.uint64(0xFFFFFFFFFFFFFFFF)
    if a_hi == mx and a_lo == mx:  # a + 1 = 2^128
        return r_hi, r_lo
    lo = a_lo + np.uint64(1)
    hi = a_hi + (np.uint64(1) if lo == 0 else np.uint64(0))
    w[0], w[1], w[2], w[3] = lo & _M32, lo >> np.uint64(32), hi & _M32, hi >> np.uint64(32)
    w[4], w[5], w[6], w[7] = r_lo & _M32, r_lo >> np.uint64(32), r_hi & _M32, r_hi >> np.uint64(32)
    for t in range(8, 16):
        w[t] = 0
    for i in range(4):
        carry = np.uint64(0)
        for j in range(4):
            t = w[i] * w[4 + j] + w[8 + i + j] + carry  # < 2^64: (2^32-1)^2 + 2 (2^32-1)
            w[8 + i + j] = t & _M32
            carry = t >> np.uint64(32)
        w[8 + i + 4] = carry
    return (w[15] << np.uint64(32)) | w[14], (w[13] << np.uint64(32)) | w[12]


@njit(inline="always")
def _put_u64be(out, row, at, value):  # type: ignore[no-untyped-def]
    for t in range(8):
        out[row, at + t] = np.uint8((value >> np.uint64(56 - 8 * t)) & np.uint64(0xFF))


@njit(cache=True, nogil=True)
def _split_rows(amounts, r_first, r_words, s, out):  # type: ignore[no-untyped-def]
    """Parts of every holding's equity and debt into ``out`` (H·s, 32) as ``u128be(e) ‖ u128be(d)``.
    ``r_first[h, t]``: the row of ``r[j,t,1]`` in ``r_words`` (the next s−2 rows follow), −1 for a zero amount."""
    limbs = np.zeros(16, dtype=np.uint64)
    cut_hi = np.zeros(s + 1, dtype=np.uint64)
    cut_lo = np.zeros(s + 1, dtype=np.uint64)
    for h in range(amounts.shape[0]):
        for t in range(2):
            a_hi, a_lo = amounts[h, t, 0], amounts[h, t, 1]
            first = r_first[h, t]
            cut_hi[0] = 0
            cut_lo[0] = 0
            cut_hi[s] = a_hi
            cut_lo[s] = a_lo
            for i in range(1, s):
                if first < 0:
                    cut_hi[i] = 0
                    cut_lo[i] = 0
                    continue
                w = r_words[first + i - 1]
                r_hi = (_bswap32(np.uint64(w[0])) << np.uint64(32)) | _bswap32(np.uint64(w[1]))
                r_lo = (_bswap32(np.uint64(w[2])) << np.uint64(32)) | _bswap32(np.uint64(w[3]))
                c_hi, c_lo = _cut(a_hi, a_lo, r_hi, r_lo, limbs)
                # insertion into the sorted cuts 1..i-1
                p = i
                while p > 1 and (cut_hi[p - 1] > c_hi or (cut_hi[p - 1] == c_hi and cut_lo[p - 1] > c_lo)):
                    cut_hi[p] = cut_hi[p - 1]
                    cut_lo[p] = cut_lo[p - 1]
                    p -= 1
                cut_hi[p] = c_hi
                cut_lo[p] = c_lo
            for i in range(s):
                lo = cut_lo[i + 1] - cut_lo[i]
                borrow = np.uint64(1) if cut_lo[i + 1] < cut_lo[i] else np.uint64(0)
                hi = cut_hi[i + 1] - cut_hi[i] - borrow
                row = h * s + i
                _put_u64be(out, row, 16 * t, hi)
                _put_u64be(out, row, 16 * t + 8, lo)


@njit(cache=True, nogil=True)
def _split_index(amounts, asset, user, s, r_first, msg_idx, key_idx):  # type: ignore[no-untyped-def]
    """The split-randomness messages of every non-zero amount: rows of ``r_first`` and the
    (message, key) pairs; returns how many messages."""
    k = 0
    for h in range(amounts.shape[0]):
        for t in range(2):
            if amounts[h, t, 0] == 0 and amounts[h, t, 1] == 0:
                r_first[h, t] = -1
                continue
            r_first[h, t] = k
            for i in range(1, s):
                msg_idx[k] = (asset[h] * 2 + t) * (s - 1) + (i - 1)
                key_idx[k] = user[h]
                k += 1
    return k


def make_fragments(uks: np.ndarray, holdings: Holdings, symbols: Sequence[str], fragments: int) -> Fragments:
    """Every holding's ``s`` fragments: keys ``fk[j,i]`` and the split parts of equity and debt
    (``v3.fragment_key``, ``v3.split``). ``uks`` (n, 32): the holders' keys, ``holdings.user`` rows of it."""
    s = fragments
    if not v3.MIN_FRAGMENTS <= s <= v3.MAX_FRAGMENTS:
        raise ValueError(f"fragments {s} outside [{v3.MIN_FRAGMENTS}, {v3.MAX_FRAGMENTS}]")
    count = len(holdings)
    if count == 0:
        return Fragments(np.zeros(0, np.int64), np.zeros((0, 32), np.uint8), np.zeros((0, 32), np.uint8))
    key_words = _words(uks)
    fk_messages = [v3.fragment_message(sym, i) for sym in symbols for i in range(s)]
    rep_asset = np.repeat(holdings.asset, s)
    fk_idx = rep_asset * s + np.tile(np.arange(s, dtype=np.int64), count)
    fk = _table_hash(fk_messages, fk_idx, key_words, np.repeat(holdings.user, s))

    amounts = np.ascontiguousarray(holdings.amounts, dtype=np.uint64)
    r_first = np.empty((count, 2), dtype=np.int64)
    msg_idx = np.empty(count * 2 * (s - 1), dtype=np.int64)
    key_idx = np.empty(count * 2 * (s - 1), dtype=np.int64)
    used = int(_split_index(amounts, np.ascontiguousarray(holdings.asset, np.int64),
                            np.ascontiguousarray(holdings.user, np.int64), s, r_first, msg_idx, key_idx))
    r_messages = [v3.split_message(sym, t, i) for sym in symbols for t in (v3.EQUITY, v3.DEBT) for i in range(1, s)]
    r_words = _table_hash(r_messages, msg_idx[:used], key_words, key_idx[:used])
    parts = np.empty((count * s, 32), dtype=np.uint8)
    _split_rows(amounts, r_first, r_words if used else np.zeros((1, 8), np.uint32), s, parts)
    return Fragments(rep_asset, _digest_bytes(fk), parts)


# ------------------------------------------------------------------ padding leaves and amounts


def padding_leaf_keys(k_pad: SecretKey, symbol: str, first: int, count: int) -> np.ndarray:
    """``pk[j,d] = Hk(K_pad, 0x03 ‖ lp(symbol_j) ‖ u64be(d))`` for ``d = first … first + count − 1``."""
    prefix = np.frombuffer(v3.PADDING_LEAF_TAG + v3.lp(symbol), dtype=np.uint8)
    rows = np.empty((count, len(prefix) + 8), dtype=np.uint8)
    rows[:, : len(prefix)] = prefix
    rows[:, len(prefix):] = np.arange(first, first + count, dtype=np.uint64).astype(">u8").view(np.uint8).reshape(-1, 8)
    return bb.hash_rows(rows, key=k_pad.reveal())


# ------------------------------------------------------------------ leaves and nodes: no message is assembled


@njit(cache=True, nogil=True)
def _leaf_lanes(amount_words, key_words, out):  # type: ignore[no-untyped-def]
    """``out[i] = Hk(key_words[i], amounts[i])``: one 32-byte block per leaf, words loaded straight
    from the rows (``amount_words`` (n, 8) little-endian words of ``u128be(e) ‖ u128be(d)``)."""
    n = amount_words.shape[0]
    s = carray(bb._stack_u32(256), (16, bb.LANES))  # type: ignore[call-arg]
    m = carray(bb._stack_u32(256), (16, bb.LANES))
    cv = carray(bb._stack_u32(128), (8, bb.LANES))
    block_len = np.full(bb.LANES, 32, dtype=np.uint32)
    flags = np.full(bb.LANES, _ONE_BLOCK, dtype=np.uint32)
    for w in range(8, 16):
        for lane in range(bb.LANES):
            m[w, lane] = 0
    for first in range(0, n, bb.LANES):
        count = min(bb.LANES, n - first)
        for lane in range(bb.LANES):
            i = first + lane if lane < count else first
            for w in range(8):
                m[w, lane] = amount_words[i, w]
                cv[w, lane] = key_words[i, w]
        bb._compress_lanes(cv, m, s, block_len, flags)
        for lane in range(count):
            for j in range(8):
                out[first + lane, j] = cv[j, lane]


@njit(inline="always")
def _put_sum_words(m, lane, at, hi, lo):  # type: ignore[no-untyped-def]
    """The 16 bytes ``u128be(hi · 2^64 + lo)`` as four little-endian message words from ``at``."""
    m[at, lane] = np.uint32(_bswap32(hi >> np.uint64(32)))
    m[at + 1, lane] = np.uint32(_bswap32(hi & _M32))
    m[at + 2, lane] = np.uint32(_bswap32(lo >> np.uint64(32)))
    m[at + 3, lane] = np.uint32(_bswap32(lo & _M32))


@njit(cache=True, nogil=True)
def _parent_lanes(hash_words, sums, node_key, out, parent):  # type: ignore[no-untyped-def]
    """por-v3 parents of pairs ``(2i, 2i+1)``: ``Hk(K_node, h_L ‖ u128be(e_L) ‖ u128be(d_L) ‖ h_R ‖ …)``, two
    64-byte blocks per node, words taken from the children; the parents' sums added on the way.
    Returns the first kind (0 equity, 1 debt) whose total reaches 2^128, or -1."""
    pairs = parent.shape[0]
    s = carray(bb._stack_u32(256), (16, bb.LANES))  # type: ignore[call-arg]
    m = carray(bb._stack_u32(256), (16, bb.LANES))
    cv = carray(bb._stack_u32(128), (8, bb.LANES))
    block_len = np.full(bb.LANES, 64, dtype=np.uint32)
    first_flags = np.full(bb.LANES, bb.KEYED_HASH | bb.CHUNK_START, dtype=np.uint32)
    last_flags = np.full(bb.LANES, bb.KEYED_HASH | bb.CHUNK_END | bb.ROOT, dtype=np.uint32)
    overflow = -1
    for first in range(0, pairs, bb.LANES):
        count = min(bb.LANES, pairs - first)
        for side in range(2):
            for lane in range(bb.LANES):
                child = 2 * (first + lane if lane < count else first) + side
                for w in range(8):
                    m[w, lane] = hash_words[child, w]
                _put_sum_words(m, lane, 8, sums[child, 0, 0], sums[child, 0, 1])
                _put_sum_words(m, lane, 12, sums[child, 1, 0], sums[child, 1, 1])
                if side == 0:
                    for j in range(8):
                        cv[j, lane] = node_key[j]
            bb._compress_lanes(cv, m, s, block_len, first_flags if side == 0 else last_flags)
        for lane in range(count):
            i = first + lane
            for j in range(8):
                out[i, j] = cv[j, lane]
            for t in range(2):
                a_hi, a_lo = sums[2 * i, t, 0], sums[2 * i, t, 1]
                lo = a_lo + sums[2 * i + 1, t, 1]
                carry = np.uint64(1) if lo < a_lo else np.uint64(0)
                hi = a_hi + sums[2 * i + 1, t, 0]
                wrapped = hi < a_hi
                hi += carry
                if (wrapped or (carry == 1 and hi == 0)) and overflow < 0:
                    overflow = t
                parent[i, t, 0] = hi
                parent[i, t, 1] = lo
    return overflow


@njit(cache=True, nogil=True)
def _parent_lanes_indexed(hash_words, sums, left, right, pad_words, node_key, out, parent):  # type: ignore[no-untyped-def]
    """``_parent_lanes`` with the children named: parent ``i`` of nodes ``left[i]`` and ``right[i]``, or of
    ``left[i]`` and padding node ``pad_words[-right[i] - 1]`` (sums zero) when ``right[i] < 0``."""
    pairs = parent.shape[0]
    s = carray(bb._stack_u32(256), (16, bb.LANES))  # type: ignore[call-arg]
    m = carray(bb._stack_u32(256), (16, bb.LANES))
    cv = carray(bb._stack_u32(128), (8, bb.LANES))
    block_len = np.full(bb.LANES, 64, dtype=np.uint32)
    first_flags = np.full(bb.LANES, bb.KEYED_HASH | bb.CHUNK_START, dtype=np.uint32)
    last_flags = np.full(bb.LANES, bb.KEYED_HASH | bb.CHUNK_END | bb.ROOT, dtype=np.uint32)
    zero = np.uint64(0)
    overflow = -1
    for first in range(0, pairs, bb.LANES):
        count = min(bb.LANES, pairs - first)
        for lane in range(bb.LANES):
            i = first + lane if lane < count else first
            a = left[i]
            for w in range(8):
                m[w, lane] = hash_words[a, w]
                cv[w, lane] = node_key[w]
            _put_sum_words(m, lane, 8, sums[a, 0, 0], sums[a, 0, 1])
            _put_sum_words(m, lane, 12, sums[a, 1, 0], sums[a, 1, 1])
        bb._compress_lanes(cv, m, s, block_len, first_flags)
        for lane in range(bb.LANES):
            i = first + lane if lane < count else first
            b = right[i]
            if b >= 0:
                for w in range(8):
                    m[w, lane] = hash_words[b, w]
                _put_sum_words(m, lane, 8, sums[b, 0, 0], sums[b, 0, 1])
                _put_sum_words(m, lane, 12, sums[b, 1, 0], sums[b, 1, 1])
            else:
                for w in range(8):
                    m[w, lane] = pad_words[-b - 1, w]
                _put_sum_words(m, lane, 8, zero, zero)
                _put_sum_words(m, lane, 12, zero, zero)
        bb._compress_lanes(cv, m, s, block_len, last_flags)
        for lane in range(count):
            i = first + lane
            a, b = left[i], right[i]
            for j in range(8):
                out[i, j] = cv[j, lane]
            for t in range(2):
                a_hi, a_lo = sums[a, t, 0], sums[a, t, 1]
                b_hi = sums[b, t, 0] if b >= 0 else zero
                b_lo = sums[b, t, 1] if b >= 0 else zero
                lo = a_lo + b_lo
                carry = np.uint64(1) if lo < a_lo else np.uint64(0)
                hi = a_hi + b_hi
                wrapped = hi < a_hi
                hi += carry
                if (wrapped or (carry == 1 and hi == 0)) and overflow < 0:
                    overflow = t
                parent[i, t, 0] = hi
                parent[i, t, 1] = lo
    return overflow


_NODE_KEY_WORDS = np.frombuffer(v3.NODE_KEY, dtype="<u4").astype(np.uint32)


def leaf_hashes(keys: np.ndarray, amounts_be: np.ndarray) -> np.ndarray:
    """``Hk(key, u128be(equity) ‖ u128be(debt))`` of every row (``v3.leaf_hash``): fragment and padding
    leaves alike. ``keys`` (n, 32), ``amounts_be`` (n, 32) uint8."""
    n = keys.shape[0]
    out = np.empty((n, 8), dtype=np.uint32)
    if n:
        _leaf_lanes(_words(amounts_be), _words(keys), out)
    return _digest_bytes(out)


def parent_nodes(hashes: np.ndarray, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """por-v3's parents of consecutive pairs of an even number of nodes (``v3.node_hash``, ``v3.add_pair``):
    ``(hashes (n/2, 32), sums (n/2, 2, 2), first kind that overflows or -1)``."""
    n = hashes.shape[0]
    out = np.empty((n // 2, 8), dtype=np.uint32)
    parent = np.empty((n // 2, 2, 2), dtype=np.uint64)
    if n == 0:
        return _digest_bytes(out), parent, -1
    overflow = _parent_lanes(_words(hashes), np.ascontiguousarray(sums, dtype=np.uint64), _NODE_KEY_WORDS, out,
                             parent)
    return _digest_bytes(out), parent, int(overflow)


def parent_nodes_indexed(hashes: np.ndarray, sums: np.ndarray, left: np.ndarray, right: np.ndarray,
                         pads: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """por-v3's parents of the pairs ``(left[i], right[i])`` of nodes (``right[i] < 0``: the padding node
    ``pads[-right[i] - 1]``, sums zero): ``(hashes, sums, first kind that overflows or -1)``."""
    n = left.shape[0]
    out = np.empty((n, 8), dtype=np.uint32)
    parent = np.empty((n, 2, 2), dtype=np.uint64)
    if n == 0:
        return _digest_bytes(out), parent, -1
    pad_words = _words(pads) if len(pads) else np.zeros((1, 8), dtype=np.uint32)
    overflow = _parent_lanes_indexed(_words(hashes), np.ascontiguousarray(sums, dtype=np.uint64),
                                     np.ascontiguousarray(left, np.int64), np.ascontiguousarray(right, np.int64),
                                     pad_words, _NODE_KEY_WORDS, out, parent)
    return _digest_bytes(out), parent, int(overflow)
