"""BLAKE3 over many short messages per call, compiled with numba: no Python work per message.

Every message of the liabilities tree fits in one BLAKE3 chunk (1 024 bytes): nonce and user key
(keyed mode), leaf ``1 + 32 + 16m`` bytes, node ``1 + 2(32 + 16m)`` bytes (m ≤ 29 assets). For such
a message BLAKE3 is one chunk's blocks compressed in sequence, the last with ``ROOT``; that is all
this module implements (the BLAKE3 paper's compression function, message schedule and flags). It
is checked byte for byte against the ``blake3`` package (the official implementation's binding) on
every length from 0 to 1 024, in plain, keyed and derive-key modes, with random keys
(``tests/test_blake3_batch.py``); the golden vectors and the reference-builder property tests guard
the tree on top. A message longer than one chunk goes to the ``blake3`` package, one call each.

numba compiles the kernel the first time a process calls it and caches the machine code beside this
file (``__pycache__``; ``NUMBA_CACHE_DIR`` moves it): a fresh worker loads it instead of compiling.

Where the CPU has AVX2 or AVX-512, ``hash_rows`` and ``hash_ragged`` use ``blake3_ir``'s kernel
instead (LLVM IR with explicit 8- or 16-lane vectors, compiled once per process: 3.5-6x faster than
the numba kernel, measured by ``jobs/bench_kernel.py``); without those features, or when compiling it
failed (a one-line warning says why), the numba kernel. ``POR_BLAKE3_KERNEL=numba`` or ``=ir`` forces
one (``ir`` raises ``SetupError`` with the reason where it cannot run); ``kernel_in_use()`` says which.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from blake3 import blake3
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ..errors import InputError, SetupError
from . import blake3_ir

CHUNK = 1024
DIGEST = 32
CHUNK_START, CHUNK_END, ROOT = 1, 2, 8
KEYED_HASH, DERIVE_KEY_CONTEXT, DERIVE_KEY_MATERIAL = 16, 32, 64
IV = np.array([0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19],
              dtype=np.uint64)
_PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]


def _schedule() -> np.ndarray:
    rows, order = [], list(range(16))
    for _ in range(7):
        rows.append(order)
        order = [order[p] for p in _PERMUTATION]
    return np.array(rows, dtype=np.int64)


SCHEDULE = _schedule()
"""The message word order of each of the 7 rounds (the permutation applied between rounds)."""
_M32 = np.uint64(0xFFFFFFFF)


@njit(inline="always")
def _g(a, b, c, d, x, y):  # type: ignore[no-untyped-def]
    a = (a + b + x) & _M32
    d ^= a
    d = ((d >> np.uint64(16)) | (d << np.uint64(16))) & _M32
    c = (c + d) & _M32
    b ^= c
    b = ((b >> np.uint64(12)) | (b << np.uint64(20))) & _M32
    a = (a + b + y) & _M32
    d ^= a
    d = ((d >> np.uint64(8)) | (d << np.uint64(24))) & _M32
    c = (c + d) & _M32
    b ^= c
    b = ((b >> np.uint64(7)) | (b << np.uint64(25))) & _M32
    return a, b, c, d


@njit(inline="always")
def _compress(cv, m, block_len, flags):  # type: ignore[no-untyped-def]
    """One compression of chunk 0 (counter 0); the new chaining value replaces ``cv``."""
    s0, s1, s2, s3, s4, s5, s6, s7 = cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7]
    s8, s9, s10, s11 = IV[0], IV[1], IV[2], IV[3]
    s12, s13, s14, s15 = np.uint64(0), np.uint64(0), np.uint64(block_len), np.uint64(flags)
    for r in range(7):
        w = SCHEDULE[r]
        s0, s4, s8, s12 = _g(s0, s4, s8, s12, m[w[0]], m[w[1]])
        s1, s5, s9, s13 = _g(s1, s5, s9, s13, m[w[2]], m[w[3]])
        s2, s6, s10, s14 = _g(s2, s6, s10, s14, m[w[4]], m[w[5]])
        s3, s7, s11, s15 = _g(s3, s7, s11, s15, m[w[6]], m[w[7]])
        s0, s5, s10, s15 = _g(s0, s5, s10, s15, m[w[8]], m[w[9]])
        s1, s6, s11, s12 = _g(s1, s6, s11, s12, m[w[10]], m[w[11]])
        s2, s7, s8, s13 = _g(s2, s7, s8, s13, m[w[12]], m[w[13]])
        s3, s4, s9, s14 = _g(s3, s4, s9, s14, m[w[14]], m[w[15]])
    cv[0], cv[1], cv[2], cv[3] = s0 ^ s8, s1 ^ s9, s2 ^ s10, s3 ^ s11
    cv[4], cv[5], cv[6], cv[7] = s4 ^ s12, s5 ^ s13, s6 ^ s14, s7 ^ s15


@njit(cache=True, nogil=True)
def _hash_messages(data, starts, lengths, keys, flags, out):  # type: ignore[no-untyped-def]
    """``out[i] = BLAKE3(data[starts[i]:starts[i]+lengths[i]])`` with chaining value ``keys[i]`` (or
    ``keys[0]`` when ``keys`` has one row) and mode ``flags``; every length ≤ 1 024."""
    n = starts.shape[0]
    m = np.zeros(16, dtype=np.uint64)
    cv = np.zeros(8, dtype=np.uint64)
    per_row = keys.shape[0] > 1
    for i in range(n):
        k = i if per_row else 0
        for j in range(8):
            cv[j] = keys[k, j]
        length = lengths[i]
        base = starts[i]
        blocks = max(1, (length + 63) // 64)
        for b in range(blocks):
            offset = b * 64
            block_len = min(64, length - offset)
            if block_len == 64:
                for w in range(16):
                    p = base + offset + 4 * w
                    m[w] = (np.uint64(data[p]) | (np.uint64(data[p + 1]) << np.uint64(8))
                            | (np.uint64(data[p + 2]) << np.uint64(16)) | (np.uint64(data[p + 3]) << np.uint64(24)))
            else:  # the last, short block: zero-padded
                for w in range(16):
                    m[w] = 0
                for t in range(block_len):
                    m[t // 4] |= np.uint64(data[base + offset + t]) << np.uint64(8 * (t % 4))
            f = flags
            if b == 0:
                f |= CHUNK_START
            if b == blocks - 1:
                f |= CHUNK_END | ROOT
            _compress(cv, m, block_len, f)
        for j in range(8):
            word = cv[j]
            for t in range(4):
                out[i, 4 * j + t] = np.uint8((word >> np.uint64(8 * t)) & np.uint64(0xFF))


LANES = 16
"""Messages hashed side by side: every step of the compression runs over 16 messages at once, which
LLVM turns into SIMD instructions (AVX2 here); one message's blocks still go one after another."""


@intrinsic
def _stack_u32(typingctx, count):  # type: ignore[no-untyped-def]
    """A pointer to ``count`` uint32 on the stack (``count`` a compile-time constant). The lane state
    lives there rather than in a heap array: LLVM then knows nothing else reads or writes it and keeps
    values in registers between the steps of a round (25 % faster on 705-byte messages, measured)."""
    if not isinstance(count, types.IntegerLiteral):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return cgutils.alloca_once(  # type: ignore[no-untyped-call]
            builder, context.get_value_type(types.uint32), size=count.literal_value)

    return types.CPointer(types.uint32)(count), codegen  # type: ignore[no-untyped-call]


@njit(inline="always")
def _g_lanes(s, a, b, c, d, m, x, y):  # type: ignore[no-untyped-def]
    for lane in range(LANES):
        va = np.uint32(s[a, lane] + s[b, lane] + m[x, lane])
        vd = s[d, lane] ^ va
        vd = np.uint32((vd >> np.uint32(16)) | (vd << np.uint32(16)))
        vc = np.uint32(s[c, lane] + vd)
        vb = s[b, lane] ^ vc
        vb = np.uint32((vb >> np.uint32(12)) | (vb << np.uint32(20)))
        va = np.uint32(va + vb + m[y, lane])
        vd = vd ^ va
        vd = np.uint32((vd >> np.uint32(8)) | (vd << np.uint32(24)))
        vc = np.uint32(vc + vd)
        vb = vb ^ vc
        vb = np.uint32((vb >> np.uint32(7)) | (vb << np.uint32(25)))
        s[a, lane] = va
        s[b, lane] = vb
        s[c, lane] = vc
        s[d, lane] = vd


@njit(inline="always")
def _compress_lanes(cv, m, s, block_len, flags):  # type: ignore[no-untyped-def]
    """One compression (chunk 0) of 16 messages at once: ``cv`` (8, 16), ``m`` (16, 16) words,
    ``block_len`` and ``flags`` per lane (16,)."""
    for j in range(8):
        for lane in range(LANES):
            s[j, lane] = cv[j, lane]
    for lane in range(LANES):
        s[8, lane] = np.uint32(IV[0])
        s[9, lane] = np.uint32(IV[1])
        s[10, lane] = np.uint32(IV[2])
        s[11, lane] = np.uint32(IV[3])
        s[12, lane] = 0
        s[13, lane] = 0
        s[14, lane] = block_len[lane]
        s[15, lane] = flags[lane]
    for r in range(7):
        w = SCHEDULE[r]
        _g_lanes(s, 0, 4, 8, 12, m, w[0], w[1])
        _g_lanes(s, 1, 5, 9, 13, m, w[2], w[3])
        _g_lanes(s, 2, 6, 10, 14, m, w[4], w[5])
        _g_lanes(s, 3, 7, 11, 15, m, w[6], w[7])
        _g_lanes(s, 0, 5, 10, 15, m, w[8], w[9])
        _g_lanes(s, 1, 6, 11, 12, m, w[10], w[11])
        _g_lanes(s, 2, 7, 8, 13, m, w[12], w[13])
        _g_lanes(s, 3, 4, 9, 14, m, w[14], w[15])
    for j in range(8):
        for lane in range(LANES):
            cv[j, lane] = s[j, lane] ^ s[j + 8, lane]


@njit(cache=True)
def _lane_state(blocks):  # type: ignore[no-untyped-def]
    """Scratch for 16 messages of ``blocks`` blocks: message bytes (and the same memory as words),
    block lengths and flags per lane. The state, message words and chaining values are on the stack."""
    buf = np.zeros((LANES, blocks * 64), dtype=np.uint8)
    return buf, buf.view(np.uint32), np.zeros(LANES, dtype=np.uint32), np.zeros(LANES, dtype=np.uint32)


@njit(cache=True, nogil=True)
def _hash_rows_lanes(rows, keys, flags, out):  # type: ignore[no-untyped-def]
    """Equal-length messages (the rows of ``rows``, each ≤ 1 024 bytes), 16 at a time; ``keys``
    (1 or n, 8) uint32 chaining values; ``out`` (n, 8) uint32 digests (little-endian words)."""
    n, width = rows.shape
    blocks = max(1, (width + 63) // 64)
    buf, words, block_len, f = _lane_state(blocks)
    s = carray(_stack_u32(256), (16, LANES))  # type: ignore[call-arg]  # state words (the intrinsic takes its context first)
    m = carray(_stack_u32(256), (16, LANES))  # message words
    cv = carray(_stack_u32(128), (8, LANES))  # chaining values
    per_row = keys.shape[0] > 1
    for first in range(0, n, LANES):
        count = min(LANES, n - first)
        for lane in range(count):
            buf[lane, :width] = rows[first + lane]
            for j in range(8):
                cv[j, lane] = keys[first + lane, j] if per_row else keys[0, j]
        for b in range(blocks):
            length = min(64, width - 64 * b)
            fb = flags
            if b == 0:
                fb |= CHUNK_START
            if b == blocks - 1:
                fb |= CHUNK_END | ROOT
            for lane in range(LANES):
                block_len[lane] = length
                f[lane] = fb
            for w in range(16):
                for lane in range(LANES):
                    m[w, lane] = words[lane, 16 * b + w]
            _compress_lanes(cv, m, s, block_len, f)
        for lane in range(count):
            for j in range(8):
                out[first + lane, j] = cv[j, lane]


@njit(cache=True, nogil=True)
def _hash_short_lanes(data, starts, lengths, keys, flags, out):  # type: ignore[no-untyped-def]
    """Messages of at most 64 bytes (one block each: nonces, user keys), 16 at a time, each with its
    own length; ``keys`` (1 or n, 8) uint32; ``out`` (n, 8) uint32."""
    n = starts.shape[0]
    buf, words, block_len, f = _lane_state(1)
    s = carray(_stack_u32(256), (16, LANES))  # type: ignore[call-arg]  # state words (the intrinsic takes its context first)
    m = carray(_stack_u32(256), (16, LANES))  # message words
    cv = carray(_stack_u32(128), (8, LANES))  # chaining values
    per_row = keys.shape[0] > 1
    for lane in range(LANES):
        f[lane] = flags | CHUNK_START | CHUNK_END | ROOT
    for first in range(0, n, LANES):
        count = min(LANES, n - first)
        for lane in range(count):
            i = first + lane
            length = lengths[i]
            for t in range(64):
                buf[lane, t] = data[starts[i] + t] if t < length else 0
            block_len[lane] = length
            for j in range(8):
                cv[j, lane] = keys[i, j] if per_row else keys[0, j]
        for w in range(16):
            for lane in range(LANES):
                m[w, lane] = words[lane, w]
        _compress_lanes(cv, m, s, block_len, f)
        for lane in range(count):
            for j in range(8):
                out[first + lane, j] = cv[j, lane]


KERNEL_VARIABLE = "POR_BLAKE3_KERNEL"
"""``numba`` or ``ir`` forces a kernel (tests, benchmarks); unset (or ``auto``): the IR kernel where it runs."""
_warned: set[str] = set()


def _ir_kernel() -> blake3_ir.Kernel | None:
    """The IR kernel when it is chosen and runs here, else None (the numba kernel)."""
    choice = os.environ.get(KERNEL_VARIABLE, "").strip().lower()
    if choice == "numba":
        return None
    if choice not in ("", "auto", "ir"):
        raise InputError(f"unknown BLAKE3 kernel {choice!r}: expected numba, ir or auto", parameter=KERNEL_VARIABLE)
    kernel, reason = blake3_ir.kernel()
    if kernel is None:
        if choice == "ir":
            raise SetupError("the LLVM IR BLAKE3 kernel", reason, f"unset {KERNEL_VARIABLE} to use the numba kernel")
        if reason.startswith(("compiling", "reading")) and reason not in _warned:  # a missing feature is no news
            _warned.add(reason)
            warnings.warn(f"BLAKE3: the numba kernel, because {reason}", RuntimeWarning, stacklevel=3)
    return kernel


def kernel_in_use() -> tuple[str, str]:
    """``("ir", "16 lanes (AVX-512 (F, BW))")`` or ``("numba", why)``: what ``hash_rows`` would use now."""
    if os.environ.get(KERNEL_VARIABLE, "").strip().lower() == "numba":
        return "numba", f"{KERNEL_VARIABLE}=numba"
    kernel, reason = blake3_ir.kernel()
    return ("ir" if kernel is not None else "numba"), reason


def _key_words(keys: np.ndarray) -> np.ndarray:
    """(k, 32) uint8 keys -> (k, 8) little-endian words as uint32 (a view when ``keys`` is contiguous)."""
    return np.ascontiguousarray(keys, dtype=np.uint8).view("<u4").reshape(-1, 8).astype(np.uint32, copy=False)


_IV32 = IV.astype(np.uint32).reshape(1, 8)


def _mode(key: bytes | np.ndarray | None, derive_key_context: str | None) -> tuple[np.ndarray, int]:
    if derive_key_context is not None:
        context = derive_key_context.encode("utf-8")
        if len(context) > CHUNK:
            raise ValueError("derive-key contexts longer than 1 024 bytes are not supported")
        context_key = np.empty((1, DIGEST), dtype=np.uint8)
        data, start, length = np.frombuffer(context, dtype=np.uint8), np.zeros(1, np.int64), np.array([len(context)], np.int64)
        kernel = _ir_kernel()
        if kernel is not None:
            words = np.empty((1, 8), dtype=np.uint32)
            kernel.ragged(data, start, length, _IV32, DERIVE_KEY_CONTEXT, words)
            context_key = _digests(words)
        else:
            _hash_messages(data, start, length, IV.reshape(1, 8), DERIVE_KEY_CONTEXT, context_key)
        return _key_words(context_key), DERIVE_KEY_MATERIAL
    if key is None:
        return _IV32, 0
    array = np.frombuffer(key, dtype=np.uint8) if isinstance(key, bytes) else np.asarray(key, dtype=np.uint8)
    if array.size % DIGEST or array.size == 0:
        raise ValueError("a BLAKE3 key is 32 bytes (or one 32-byte key per message)")
    return _key_words(array.reshape(-1, DIGEST)), KEYED_HASH


def _digests(words: np.ndarray) -> np.ndarray:
    """(n, 8) uint32 chaining values -> (n, 32) uint8 digests (little-endian words)."""
    return np.ascontiguousarray(words, dtype="<u4").view(np.uint8).reshape(-1, DIGEST)


def hash_ragged(data: bytes | np.ndarray, offsets: np.ndarray, key: bytes | np.ndarray | None = None,
                derive_key_context: str | None = None) -> np.ndarray:
    """BLAKE3-256 of ``data[offsets[i]:offsets[i+1]]`` for every i, as ``(n, 32)`` uint8.

    ``key``: None (plain hash), 32 bytes (keyed, the same key for all), or ``(n, 32)`` uint8 (keyed,
    one key per message). ``derive_key_context``: derive-key mode instead.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        buf = np.frombuffer(data, dtype=np.uint8)
    else:
        buf = np.ascontiguousarray(data, dtype=np.uint8).reshape(-1)
    offsets = np.asarray(offsets, dtype=np.int64)
    n = offsets.shape[0] - 1
    keys, flags = _mode(key, derive_key_context)
    if n <= 0:
        return np.empty((0, DIGEST), dtype=np.uint8)
    if keys.shape[0] not in (1, n):
        raise ValueError(f"{keys.shape[0]} keys for {n} messages")
    starts, lengths = offsets[:-1], np.diff(offsets)
    if int(lengths.min()) < 0 or int(offsets[0]) < 0 or int(offsets[-1]) > buf.shape[0]:
        raise ValueError(f"offsets must rise from 0 or more to at most the data's {buf.shape[0]} bytes")
    kernel = _ir_kernel()
    if kernel is not None and int(lengths.max()) <= CHUNK:
        out = np.empty((n, 8), dtype=np.uint32)
        kernel.ragged(buf, np.ascontiguousarray(starts), lengths, keys, flags, out)
        return _digests(out)
    if int(lengths.max()) <= 64:  # one block each: nonces and user keys
        out = np.empty((n, 8), dtype=np.uint32)
        _hash_short_lanes(buf, starts, lengths, keys.astype(np.uint32), flags, out)  # a writable copy: numba's cached type
        return _digests(out)
    out8 = np.empty((n, DIGEST), dtype=np.uint8)
    long = lengths > CHUNK
    short = np.flatnonzero(~long)
    if short.size and kernel is not None:
        words = np.empty((short.size, 8), dtype=np.uint32)
        kernel.ragged(buf, starts[short], lengths[short],
                      np.ascontiguousarray(keys[short] if keys.shape[0] > 1 else keys), flags, words)
        out8[short] = _digests(words)
    elif short.size:
        part = np.empty((short.size, DIGEST), dtype=np.uint8)
        _hash_messages(buf, starts[short], lengths[short], (keys[short] if keys.shape[0] > 1 else keys).astype(np.uint64),
                       flags, part)
        out8[short] = part
    for i in np.flatnonzero(long):  # beyond one chunk: the package, one call each
        message = buf[starts[i]:starts[i] + lengths[i]].tobytes()
        if derive_key_context is not None:
            digest = blake3(message, derive_key_context=derive_key_context).digest()
        elif key is None:
            digest = blake3(message).digest()
        else:
            digest = blake3(message, key=keys[i if keys.shape[0] > 1 else 0].astype("<u4").tobytes()).digest()
        out8[i] = np.frombuffer(digest, np.uint8)
    return out8


def hash_rows(messages: np.ndarray, key: bytes | np.ndarray | None = None,
              derive_key_context: str | None = None) -> np.ndarray:
    """BLAKE3-256 of every row of a 2-d ``uint8`` array (equal-length messages), as ``(n, 32)``."""
    rows = np.ascontiguousarray(messages, dtype=np.uint8)
    n, width = rows.shape
    if width > CHUNK:
        return hash_ragged(rows.reshape(-1), np.arange(n + 1, dtype=np.int64) * width, key, derive_key_context)
    keys, flags = _mode(key, derive_key_context)
    if keys.shape[0] not in (1, n):
        raise ValueError(f"{keys.shape[0]} keys for {n} messages")
    out = np.empty((n, 8), dtype=np.uint32)
    if n:
        kernel = _ir_kernel()
        if kernel is not None:
            kernel.rows(rows, keys, flags, out)
        else:
            _hash_rows_lanes(rows, keys.astype(np.uint32), flags, out)
    return _digests(out)
