"""BLAKE3 over many one-chunk messages as LLVM IR with explicit vector types, compiled in-process.

``blake3_batch``'s numba kernel leaves the vector registers to LLVM's auto-vectoriser; this module
writes the lanes out instead: the generator below emits LLVM IR text in which every word of the
compression state is an ``<N x i32>`` vector (one lane per message), the rotates are the
``llvm.fshr`` funnel-shift intrinsics, the message blocks are loaded 64 bytes per message and
transposed into lanes with ``shufflevector`` (the butterfly: ``log2 N`` stages of ``N`` shuffles),
and the chaining values are transposed back the same way. ``N`` is 16 where the CPU has AVX-512 (F
and BW), 8 where it has AVX2, read from llvmlite's host CPU features at run time; without either the
caller keeps the numba kernel. Nothing is compiled at install time: llvmlite (which numba brings)
parses and JIT-compiles the module the first time a process asks for it, and the
process keeps it (``kernel()``); a fork inherits it, a spawned worker compiles its own once.

Only one chunk (≤ 1 024 bytes) per message, chunk counter 0: the message's blocks compressed in
sequence, the first with ``CHUNK_START``, the last with ``CHUNK_END | ROOT``, mode flags and chaining
value (the IV, the key, or the derive-key context key) as the caller says. Two entry points:

* ``rows``: ``n`` messages of ``width`` bytes at ``data + i * width``;
* ``ragged``: message ``i`` at ``data + starts[i]`` of ``lengths[i]`` bytes; the lanes of a group
  finish at their own block (a finished lane keeps its chaining value).

Both read at most 64 bytes from a block's start, and only inside ``data[0:data_len]``: a block whose
64-byte window would cross the end is first copied to the stack; bytes past a message's end are
masked to zero. Keys: ``(1, 8)`` or ``(n, 8)`` uint32 words; output ``(n, 8)`` uint32 words.
Checked byte for byte against the ``blake3`` package (``tests/test_blake3_ir.py``).
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

CHUNK_START, CHUNK_END, ROOT = 1, 2, 8
IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_PERMUTATION = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
LANES_VARIABLE = "POR_BLAKE3_LANES"
"""Forces the vector width (8 or 16) when the CPU has what it needs: for benchmarks and tests."""


PREFETCH = 256
"""Bytes ahead of each lane's block prefetched (705-byte rows from memory: 154 -> 134 ns, measured)."""


def _schedule() -> list[list[int]]:
    rows, order = [], list(range(16))
    for _ in range(7):
        rows.append(order)
        order = [order[p] for p in _PERMUTATION]
    return rows


class _Emitter:
    """Lines of one function's body and fresh SSA names."""

    def __init__(self, lanes: int) -> None:
        self.lanes = lanes
        self.vec = f"<{lanes} x i32>"
        self.lines: list[str] = []
        self.count = 0

    def name(self, hint: str = "t") -> str:
        self.count += 1
        return f"%{hint}{self.count}"

    def op(self, text: str, hint: str = "t") -> str:
        target = self.name(hint)
        self.lines.append(f"  {target} = {text}")
        return target

    def op_as(self, target: str, text: str) -> str:
        """An instruction whose name was taken earlier (a loop's next value, named in its phi)."""
        self.lines.append(f"  {target} = {text}")
        return target

    def emit(self, text: str) -> None:
        self.lines.append(text if text.endswith(":") else f"  {text}")

    def label(self, name: str) -> None:
        self.lines.append(f"{name}:")

    def splat(self, value: int, width: int | None = None, kind: str = "i32") -> str:
        return "<" + ", ".join([f"{kind} {value}"] * (width or self.lanes)) + ">"

    # vector arithmetic on <N x i32>
    def add(self, a: str, b: str) -> str:
        return self.op(f"add {self.vec} {a}, {b}")

    def xor(self, a: str, b: str) -> str:
        return self.op(f"xor {self.vec} {a}, {b}")

    def rotr(self, a: str, bits: int) -> str:
        n = self.lanes
        return self.op(f"call {self.vec} @llvm.fshr.v{n}i32({self.vec} {a}, {self.vec} {a}, {self.vec} {self.splat(bits)})")

    def shuffle(self, a: str, b: str, mask: list[int], width: int) -> str:
        m = ", ".join(f"i32 {i}" for i in mask)
        return self.op(f"shufflevector <{width} x i32> {a}, <{width} x i32> {b}, <{len(mask)} x i32> <{m}>")

    def splat_scalar(self, scalar: str, kind: str = "i32") -> str:
        vec = f"<{self.lanes} x {kind}>"
        one = self.op(f"insertelement {vec} poison, {kind} {scalar}, i64 0")
        return self.op(f"shufflevector {vec} {one}, {vec} poison, <{self.lanes} x i32> zeroinitializer")

    def gather(self, scalars: list[str], kind: str) -> str:
        """The lanes' scalars as one vector."""
        vec = "poison"
        for lane, scalar in enumerate(scalars):
            vec = self.op(f"insertelement <{self.lanes} x {kind}> {vec}, {kind} {scalar}, i64 {lane}")
        return vec


def butterfly(rows: list[str], width: int, bits: int, e: _Emitter) -> list[str]:
    """Swaps bit ``k`` of the row index with bit ``k`` of the column index for ``k < bits``: with
    ``len(rows) == width == 2**bits`` a transpose. Each stage is its own inverse and the stages
    commute, so the same call undoes itself."""
    for k in range(bits):
        h = 1 << k
        new = list(rows)
        for r in range(len(rows)):
            lo, hi = r & ~h, r | h
            mask = []
            for c in range(width):
                source_row = (r & ~h) | (c & h)
                source_col = (c & ~h) | (r & h)
                mask.append(source_col if source_row == lo else width + source_col)
            new[r] = e.shuffle(rows[lo], rows[hi], mask, width)
        rows = new
    return rows


def _g(e: _Emitter, s: list[str], a: int, b: int, c: int, d: int, x: str, y: str) -> None:
    va = e.add(e.add(s[a], s[b]), x)
    vd = e.rotr(e.xor(s[d], va), 16)
    vc = e.add(s[c], vd)
    vb = e.rotr(e.xor(s[b], vc), 12)
    va = e.add(e.add(va, vb), y)
    vd = e.rotr(e.xor(vd, va), 8)
    vc = e.add(vc, vd)
    vb = e.rotr(e.xor(vb, vc), 7)
    s[a], s[b], s[c], s[d] = va, vb, vc, vd


def _compress(e: _Emitter, cv: list[str], m: list[str], block_len: str, flags: str) -> list[str]:
    """The 7 rounds over N lanes, counter 0; returns the 8 new chaining-value vectors."""
    zero = "zeroinitializer"
    s = list(cv) + [e.splat(IV[0]), e.splat(IV[1]), e.splat(IV[2]), e.splat(IV[3]), zero, zero, block_len, flags]
    for w in _schedule():
        _g(e, s, 0, 4, 8, 12, m[w[0]], m[w[1]])
        _g(e, s, 1, 5, 9, 13, m[w[2]], m[w[3]])
        _g(e, s, 2, 6, 10, 14, m[w[4]], m[w[5]])
        _g(e, s, 3, 7, 11, 15, m[w[6]], m[w[7]])
        _g(e, s, 0, 5, 10, 15, m[w[8]], m[w[9]])
        _g(e, s, 1, 6, 11, 12, m[w[10]], m[w[11]])
        _g(e, s, 2, 7, 8, 13, m[w[12]], m[w[13]])
        _g(e, s, 3, 4, 9, 14, m[w[14]], m[w[15]])
    return [e.xor(s[j], s[j + 8]) for j in range(8)]


def _function(lanes: int, ragged: bool) -> str:
    """One entry point: ``void f(ptr data, i64 data_len, ptr starts, ptr lengths, i64 width, i64 n,
    ptr keys, i64 per_row, i32 flags, ptr out)`` (``starts``/``lengths`` i64, used when ragged;
    ``width`` used when not)."""
    e = _Emitter(lanes)
    n_ = lanes
    v = e.vec
    bits = n_.bit_length() - 1
    e.label("entry")
    scratch = e.op(f"alloca [{64 * n_} x i8], align 64", "scratch")
    one_key = [e.op(f"load i32, ptr {e.op(f'getelementptr i32, ptr %keys, i64 {j}')}, align 4") for j in range(8)]
    one_key_v = [e.splat_scalar(k) for k in one_key]
    e.emit("br label %group")

    # ---- one group of N messages
    e.label("group")
    nf, nb, new_cv = e.name("nf"), e.name("nb"), [e.name("cv") for _ in range(8)]
    first = e.op(f"phi i64 [0, %entry], [{nf}, %next]", "first")
    more = e.op(f"icmp slt i64 {first}, %n")
    e.emit(f"br i1 {more}, label %setup, label %done")
    e.label("setup")
    left = e.op(f"sub i64 %n, {first}")
    full_group = e.op(f"icmp sge i64 {left}, {n_}")
    idx, base, length, blocks = [], [], [], []
    for lane in range(n_):
        i = e.op(f"add i64 {first}, {lane}")
        inside = e.op(f"icmp slt i64 {i}, %n")
        idx.append(e.op(f"select i1 {inside}, i64 {i}, i64 {first}", "idx"))
        if ragged:
            base.append(e.op(f"load i64, ptr {e.op(f'getelementptr i64, ptr %starts, i64 {idx[-1]}')}, align 8", "start"))
            length.append(e.op(f"load i64, ptr {e.op(f'getelementptr i64, ptr %lengths, i64 {idx[-1]}')}, align 8", "len"))
        else:
            base.append(e.op(f"mul i64 {idx[-1]}, %width", "start"))
            length.append("%width")
    w64 = f"<{n_} x i64>"
    if not ragged:
        up = e.op("add i64 %width, 63")
        blocks.append(e.op(f"call i64 @llvm.umax.i64(i64 {e.op(f'lshr i64 {up}, 6')}, i64 1)", "blocks"))
        most = blocks[0]
    if ragged:  # the lanes' lengths and starts as vectors: block lengths, flags and masks in a few instructions
        len_v, start_v = e.gather(length, "i64"), e.gather(base, "i64")
        up_v = e.op(f"add {w64} {len_v}, {e.splat(63, kind='i64')}")
        whole_v = e.op(f"lshr {w64} {up_v}, {e.splat(6, kind='i64')}")
        blocks_v = e.op(f"call {w64} @llvm.umax.v{n_}i64({w64} {whole_v}, {w64} {e.splat(1, kind='i64')})")
        most = e.op(f"call i64 @llvm.vector.reduce.umax.v{n_}i64({w64} {blocks_v})", "most")
    per_row = e.op("icmp ne i64 %perrow, 0")
    e.emit(f"br i1 {per_row}, label %keys_rows, label %keys_one")
    e.label("keys_one")
    e.emit("br label %block")
    e.label("keys_rows")
    key_rows = []
    for lane in range(8 if n_ == 16 else n_):
        words = []
        for half in (0, 8) if n_ == 16 else (0,):
            k = e.op(f"mul i64 {idx[lane + half]}, 8")
            p = e.op(f"getelementptr i32, ptr %keys, i64 {k}")
            words.append(e.op(f"load <8 x i32>, ptr {p}, align 4"))
        key_rows.append(e.shuffle(words[0], words[1], list(range(16)), 8) if n_ == 16 else words[0])
    row_keys = butterfly(key_rows, n_, 3, e)
    e.emit("br label %block")

    # ---- one block of every lane
    e.label("block")
    b = e.op(f"phi i64 [0, %keys_one], [0, %keys_rows], [{nb}, %loaded]", "b")
    cv = [e.op(f"phi {v} [{one_key_v[j]}, %keys_one], [{row_keys[j]}, %keys_rows], [{new_cv[j]}, %loaded]")
          for j in range(8)]
    offset = e.op(f"shl i64 {b}, 6", "off")
    byte_rows = []
    iota = "<" + ", ".join(f"i8 {t}" for t in range(64)) + ">"
    rem0 = e.op(f"sub i64 %width, {offset}", "rem")
    if ragged:
        off_v = e.splat_scalar(offset, "i64")
        rem_v = e.op(f"sub {w64} {len_v}, {off_v}")
        end_v = e.op(f"add {w64} {e.op(f'add {w64} {start_v}, {off_v}')}, {e.splat(64, kind='i64')}")
        window_v = e.op(f"icmp sle {w64} {end_v}, {e.splat_scalar('%datalen', 'i64')}")
        full_v = e.op(f"icmp sge {w64} {rem_v}, {e.splat(64, kind='i64')}")
        ok_v = e.op(f"and <{n_} x i1> {window_v}, {full_v}")
        fast = e.op(f"call i1 @llvm.vector.reduce.and.v{n_}i1(<{n_} x i1> {ok_v})")
    else:  # the lanes' windows lie in order: the last lane's (unclamped) is the furthest
        last = e.op(f"add i64 {first}, {n_ - 1}")
        at = e.op(f"mul i64 {last}, %width")
        at = e.op(f"add i64 {at}, {offset}")
        end = e.op(f"add i64 {at}, 64")
        inside = e.op(f"icmp sle i64 {end}, %datalen")
        full = e.op(f"icmp sge i64 {rem0}, 64")
        fast = e.op(f"and i1 {inside}, {full}")
    e.emit(f"br i1 {fast}, label %fastload, label %copy")
    e.label("fastload")  # every lane a whole block inside the data: no copy, no mask
    fast_rows = []
    for lane in range(n_):
        at = e.op(f"add i64 {base[lane]}, {offset}")
        p = e.op(f"getelementptr i8, ptr %data, i64 {at}")
        fast_rows.append(e.op(f"load <16 x i32>, ptr {p}, align 1"))
        if PREFETCH:
            ahead = e.op(f"getelementptr i8, ptr {p}, i64 {PREFETCH}")
            e.emit(f"call void @llvm.prefetch.p0(ptr {ahead}, i32 0, i32 3, i32 1)")
    e.emit("br label %loaded")
    e.label("copy")  # some lane's block is short or near the data's end: lane by lane
    rem_scalars, window_ok = [], []
    for lane in range(n_):
        rem_scalars.append(e.op(f"sub i64 {length[lane]}, {offset}", "rem"))
        end = e.op(f"add i64 {e.op(f'add i64 {base[lane]}, {offset}')}, 64")
        window_ok.append(e.op(f"icmp sle i64 {end}, %datalen", "inside"))
    e.emit("br label %copy0")
    for lane in range(n_):
        e.label(f"copy{lane}")
        e.emit(f"br i1 {window_ok[lane]}, label %copy{lane}_done, label %copy{lane}_stack")
        e.label(f"copy{lane}_stack")
        slot = e.op(f"getelementptr i8, ptr {scratch}, i64 {64 * lane}")
        e.emit(f"call void @llvm.memset.p0.i64(ptr align 1 {slot}, i8 0, i64 64, i1 false)")
        pos = e.op(f"call i64 @llvm.smax.i64(i64 {rem_scalars[lane]}, i64 0)")
        count = e.op(f"call i64 @llvm.smin.i64(i64 {pos}, i64 64)")
        at = e.op(f"add i64 {base[lane]}, {offset}")
        src = e.op(f"getelementptr i8, ptr %data, i64 {at}")  # count is 0 past the message's end
        e.emit(f"call void @llvm.memcpy.p0.p0.i64(ptr align 1 {slot}, ptr align 1 {src}, i64 {count}, i1 false)")
        e.emit(f"br label %copy{lane}_done")
        e.label(f"copy{lane}_done")
        e.emit(f"br label %copy{lane + 1}" if lane + 1 < n_ else "br label %load")
    e.label("load")
    for lane in range(n_):
        at = e.op(f"add i64 {base[lane]}, {offset}")
        direct = e.op(f"getelementptr i8, ptr %data, i64 {at}")
        stack = e.op(f"getelementptr i8, ptr {scratch}, i64 {64 * lane}")
        p = e.op(f"select i1 {window_ok[lane]}, ptr {direct}, ptr {stack}")
        raw = e.op(f"load <64 x i8>, ptr {p}, align 1")
        pos = e.op(f"call i64 @llvm.smax.i64(i64 {rem_scalars[lane]}, i64 0)")
        count = e.op(f"call i64 @llvm.smin.i64(i64 {pos}, i64 64)")
        c8 = e.op(f"trunc i64 {count} to i8")
        c8v = e.op(f"insertelement <64 x i8> poison, i8 {c8}, i64 0")
        c8s = e.op(f"shufflevector <64 x i8> {c8v}, <64 x i8> poison, <64 x i32> zeroinitializer")
        keep = e.op(f"icmp ult <64 x i8> {iota}, {c8s}")
        masked = e.op(f"select <64 x i1> {keep}, <64 x i8> {raw}, <64 x i8> zeroinitializer")
        byte_rows.append(e.op(f"bitcast <64 x i8> {masked} to <16 x i32>", "row"))
    e.emit("br label %loaded")
    e.label("loaded")
    byte_rows = [e.op(f"phi <16 x i32> [{x}, %fastload], [{y}, %load]") for x, y in zip(fast_rows, byte_rows, strict=True)]
    m: list[str] = [""] * 16
    for part in range(16 // n_):
        chunk = [byte_rows[lane] if n_ == 16 else
                 e.shuffle(byte_rows[lane], byte_rows[lane], list(range(part * n_, part * n_ + n_)), 16)
                 for lane in range(n_)]
        for j, row in enumerate(butterfly(chunk, n_, bits, e)):
            m[part * n_ + j] = row
    # block lengths, flags, and which lanes are still hashing
    is_first = e.op(f"icmp eq i64 {b}, 0")
    f1 = e.op(f"select i1 {is_first}, i32 {CHUNK_START}, i32 0")
    start_flags = e.op(f"or i32 %flags, {f1}")
    next_b = e.op(f"add i64 {b}, 1")
    if ragged:
        zero64 = e.splat(0, kind="i64")
        pos_v = e.op(f"call {w64} @llvm.smax.v{n_}i64({w64} {rem_v}, {w64} {zero64})")
        count_v = e.op(f"call {w64} @llvm.smin.v{n_}i64({w64} {pos_v}, {w64} {e.splat(64, kind='i64')})")
        lens = e.op(f"trunc {w64} {count_v} to {v}")
        is_last = e.op(f"icmp eq {w64} {blocks_v}, {e.splat_scalar(next_b, 'i64')}")
        f2 = e.op(f"select <{n_} x i1> {is_last}, {v} {e.splat(CHUNK_END | ROOT)}, {v} zeroinitializer")
        flag_v = e.op(f"or {v} {e.splat_scalar(start_flags)}, {f2}")
    else:
        pos = e.op(f"call i64 @llvm.smax.i64(i64 {rem0}, i64 0)")
        c32 = e.op(f"trunc i64 {e.op(f'call i64 @llvm.smin.i64(i64 {pos}, i64 64)')} to i32")
        is_last = e.op(f"icmp eq i64 {next_b}, {blocks[0]}")
        f2 = e.op(f"select i1 {is_last}, i32 {CHUNK_END | ROOT}, i32 0")
        lens, flag_v = e.splat_scalar(c32), e.splat_scalar(e.op(f"or i32 {start_flags}, {f2}"))
    new = _compress(e, cv, m, lens, flag_v)
    if ragged:  # a lane past its last block keeps its chaining value
        active = e.op(f"icmp ult {w64} {e.splat_scalar(b, 'i64')}, {blocks_v}")
        new = [e.op(f"select <{n_} x i1> {active}, {v} {x}, {v} {y}") for x, y in zip(new, cv, strict=True)]
    new = [e.op_as(name, f"or {v} {x}, zeroinitializer") for name, x in zip(new_cv, new, strict=True)]
    e.op_as(nb, f"add i64 {b}, 1")
    again = e.op(f"icmp ult i64 {nb}, {most}")
    e.emit(f"br i1 {again}, label %block, label %store")

    # ---- the chaining values back to rows
    e.label("store")
    out_rows = butterfly(new, n_, 3, e)
    outs = []
    for lane in range(n_):
        row = out_rows[lane % 8]
        half = lane // 8
        digest = row if n_ == 8 else e.shuffle(row, row, list(range(8 * half, 8 * half + 8)), 16)
        k = e.op(f"mul i64 {idx[lane]}, 8")
        outs.append((digest, e.op(f"getelementptr i32, ptr %out, i64 {k}")))
    e.emit(f"br i1 {full_group}, label %store_all, label %store_lane0")
    e.label("store_all")
    for digest_words, p in outs:
        e.emit(f"store <8 x i32> {digest_words}, ptr {p}, align 4")
    e.emit("br label %next")
    for lane, (digest_words, p) in enumerate(outs):
        e.label(f"store_lane{lane}")
        wanted = e.op(f"icmp slt i64 {lane}, {left}")
        e.emit(f"br i1 {wanted}, label %store_lane{lane}_do, label %next")
        e.label(f"store_lane{lane}_do")
        e.emit(f"store <8 x i32> {digest_words}, ptr {p}, align 4")
        e.emit(f"br label %store_lane{lane + 1}" if lane + 1 < n_ else "br label %next")
    e.label("next")
    e.op_as(nf, f"add i64 {first}, {n_}")
    e.emit("br label %group")
    e.label("done")
    e.emit("ret void")

    name = f"blake3_{'ragged' if ragged else 'rows'}_{n_}"
    head = (f"define void @{name}(ptr noalias nocapture readonly %data, i64 %datalen, ptr noalias nocapture readonly %starts, "
            f"ptr noalias nocapture readonly %lengths, i64 %width, i64 %n, ptr noalias nocapture readonly %keys, "
            f"i64 %perrow, i32 %flags, ptr noalias nocapture %out) #0 {{")
    return "\n".join([head, *e.lines, "}"])


def module_text(lanes: int) -> str:
    """The LLVM IR module: ``blake3_rows_N`` and ``blake3_ragged_N`` for ``N = lanes`` (8 or 16)."""
    if lanes not in (8, 16):
        raise ValueError(f"{lanes} lanes: the kernel is generated for 8 or 16")
    v = f"<{lanes} x i32>"
    declarations = [
        f"declare {v} @llvm.fshr.v{lanes}i32({v}, {v}, {v})",
        "declare i64 @llvm.umax.i64(i64, i64)",
        "declare void @llvm.prefetch.p0(ptr, i32, i32, i32)",
        "declare i64 @llvm.smax.i64(i64, i64)",
        "declare i64 @llvm.smin.i64(i64, i64)",
        f"declare <{lanes} x i64> @llvm.umax.v{lanes}i64(<{lanes} x i64>, <{lanes} x i64>)",
        f"declare <{lanes} x i64> @llvm.smax.v{lanes}i64(<{lanes} x i64>, <{lanes} x i64>)",
        f"declare <{lanes} x i64> @llvm.smin.v{lanes}i64(<{lanes} x i64>, <{lanes} x i64>)",
        f"declare i64 @llvm.vector.reduce.umax.v{lanes}i64(<{lanes} x i64>)",
        f"declare i1 @llvm.vector.reduce.and.v{lanes}i1(<{lanes} x i1>)",
        "declare void @llvm.memset.p0.i64(ptr, i8, i64, i1)",
        "declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)",
        f'attributes #0 = {{ nounwind "min-legal-vector-width"="{32 * lanes}" "prefer-vector-width"="{32 * lanes}" }}',
    ]
    return "\n\n".join([_function(lanes, False), _function(lanes, True), *declarations]) + "\n"


# ------------------------------------------------------------------ compiling once per process

_SIGNATURE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                              ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint32, ctypes.c_void_p)


@dataclass(frozen=True)
class Kernel:
    """The compiled entry points of one process (``lanes`` wide) and what compiling them took."""

    lanes: int
    rows_fn: Callable[..., None]
    ragged_fn: Callable[..., None]
    compile_seconds: float  # CPU seconds, this process
    engine: object  # keeps the JIT's code alive

    def rows(self, rows: np.ndarray, keys: np.ndarray, flags: int, out: np.ndarray) -> None:
        """``out[i]`` = the chaining value after row ``i`` (``rows`` (n, width ≤ 1 024) uint8, contiguous;
        ``keys`` (1 or n, 8) uint32; ``out`` (n, 8) uint32)."""
        if not (rows.dtype == np.uint8 and rows.ndim == 2 and rows.flags.c_contiguous):
            raise ValueError("rows: a contiguous 2-d uint8 array")
        n, width = rows.shape
        if width > 1024:
            raise ValueError(f"rows of {width} bytes: longer than one chunk (1 024)")
        _check(keys, out, n)
        if n:
            self.rows_fn(rows.ctypes.data, n * width, None, None, width, n, keys.ctypes.data, int(keys.shape[0] > 1),
                         flags, out.ctypes.data)

    def ragged(self, data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, keys: np.ndarray, flags: int,
               out: np.ndarray) -> None:
        """``out[i]`` for ``data[starts[i]:starts[i] + lengths[i]]`` (every length ≤ 1 024, inside ``data``)."""
        n = starts.shape[0]
        _check(keys, out, n)
        if starts.dtype != np.int64 or lengths.dtype != np.int64 or lengths.shape != starts.shape:
            raise ValueError("starts and lengths: two int64 arrays of one length")
        if not (data.dtype == np.uint8 and data.ndim == 1 and data.flags.c_contiguous):
            raise ValueError("data: a contiguous uint8 array")
        if n:
            if int(lengths.min()) < 0 or int(lengths.max()) > 1024 or int(starts.min()) < 0 \
                    or int((starts + lengths).max()) > data.shape[0]:
                raise ValueError("a message outside the data, or longer than one chunk")
            starts = np.ascontiguousarray(starts)
            lengths = np.ascontiguousarray(lengths)
            self.ragged_fn(data.ctypes.data, data.shape[0], starts.ctypes.data, lengths.ctypes.data, 0, n,
                           keys.ctypes.data, int(keys.shape[0] > 1), flags, out.ctypes.data)


def _check(keys: np.ndarray, out: np.ndarray, n: int) -> None:
    if keys.dtype != np.uint32 or keys.ndim != 2 or keys.shape[1] != 8 or keys.shape[0] not in (1, n) \
            or not keys.flags.c_contiguous:
        raise ValueError(f"keys: (1, 8) or ({n}, 8) contiguous uint32")
    if out.dtype != np.uint32 or out.shape != (n, 8) or not out.flags.c_contiguous:
        raise ValueError(f"out: ({n}, 8) contiguous uint32")


def host_lanes() -> tuple[int | None, str]:
    """The vector width this CPU takes (16 with AVX-512 F and BW, 8 with AVX2) and why; ``None`` and
    the reason when neither. ``POR_BLAKE3_LANES`` (8 or 16) narrows the choice."""
    cpu, has = _host()
    forced = os.environ.get(LANES_VARIABLE)
    if forced not in (None, "", "8", "16"):
        return None, f"{LANES_VARIABLE}={forced!r}: expected 8 or 16"
    if {"avx512f", "avx512bw"} <= has and forced in (None, "", "16"):
        return 16, "AVX-512 (F, BW)"
    if "avx2" in has and forced != "16":
        return 8, "AVX2"
    wanted = "AVX-512 F and BW" if forced == "16" else "AVX2"
    return None, f"the CPU ({cpu}) has no {wanted}"


@functools.cache
def _host() -> tuple[str, frozenset[str]]:
    from llvmlite import binding as llvm

    return llvm.get_host_cpu_name(), frozenset(name for name, on in llvm.get_host_cpu_features().items() if on)


def compile_kernel(lanes: int, cpu: str | None = None, features: str | None = None) -> Kernel:
    """Parses and JIT-compiles the module for this CPU (``cpu`` and ``features``: llvmlite's names, the
    host's by default; the tests compile for ``haswell``, AVX2 only, to check that code too); raises
    on any failure.

    No IR optimisation pipeline: the generated IR is already SSA with no redundant memory traffic,
    and O3 over it cost 0.2 s of CPU per process for no measurable gain (705-byte rows: 146 ns either
    way); the machine-code generator itself runs at O3."""
    from llvmlite import binding as llvm

    started = time.process_time()
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    if cpu is None:
        cpu, features = llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
    machine = target.create_target_machine(cpu=cpu, features=features or "", opt=3, codemodel="jitdefault")
    module = llvm.parse_assembly(module_text(lanes))
    module.verify()
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    addresses = [engine.get_function_address(f"blake3_{kind}_{lanes}") for kind in ("rows", "ragged")]
    if not all(addresses):
        raise RuntimeError("the JIT returned no address for an entry point")
    rows, ragged = (_SIGNATURE(address) for address in addresses)
    return Kernel(lanes, rows, ragged, time.process_time() - started, engine)


_lock = threading.Lock()
_state: dict[int, tuple[Kernel | None, str]] = {}
compiles: list[tuple[int, float]] = []
"""Every compile ``kernel()`` did in this process: (lanes, CPU seconds). One per process, normally."""


def kernel() -> tuple[Kernel | None, str]:
    """This process's kernel, compiled on the first call (and kept), with a one-line reason when there
    is none: the CPU lacks the features, or compiling failed (the error's type and first line)."""
    try:
        lanes, why = host_lanes()
    except Exception as error:  # noqa: BLE001  llvmlite missing or broken: the caller falls back
        return None, f"reading the CPU's features failed: {_one_line(error)}"
    if lanes is None:
        return None, why
    with _lock:
        if lanes not in _state:
            try:
                compiled = compile_kernel(lanes)
                compiles.append((lanes, compiled.compile_seconds))
                _state[lanes] = (compiled, f"{lanes} lanes ({why})")
            except Exception as error:  # noqa: BLE001  any failure of the JIT falls back, with its reason
                _state[lanes] = (None, f"compiling the {lanes}-lane LLVM IR kernel failed: {_one_line(error)}")
        return _state[lanes]


def _one_line(error: BaseException) -> str:
    first = (str(error).strip().splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {first}"
