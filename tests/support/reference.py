"""A tiny single-process reference builder, written straight from schemas/por-v1.md.

Plain Python and blake3 only: no numpy, no Dask, and nothing from ``pipeline``.
"""

from __future__ import annotations

from blake3 import blake3

LIMIT = 1 << 128


def derive(context: str, secret: bytes, period: str) -> bytes:
    return blake3(secret + period.encode(), derive_key_context=context).digest()


def user_key(secret: bytes, period: str, user_id: str) -> tuple[bytes, bytes]:
    k_nonce = derive("por-v1 user nonce key", secret, period)
    u = user_id.encode()
    nonce = blake3(u, key=k_nonce).digest()
    p = period.encode()
    uk = blake3(bytes([len(p)]) + p + u, key=nonce).digest()
    return nonce, uk


def enc(sums: list[int]) -> bytes:
    return b"".join(s.to_bytes(16, "big") for s in sums)


class ReferenceTree:
    """The whole tree of a snapshot ``{user_id: [balance per asset in protocol order]}``."""

    def __init__(self, users: dict[str, list[int]], secret: bytes, period: str, bucket_bits: int | None = None):
        self.period = period
        self.m = len(next(iter(users.values())))
        self.k_pad = derive("por-v1 padding key", secret, period)
        n = len(users)
        self.k = bucket_bits if bucket_bits is not None else min(24, max(0, (n - 1).bit_length() - 15))
        buckets: dict[int, list[tuple[bytes, str]]] = {}
        self.nonces = {}
        for uid in users:
            nonce, uk = user_key(secret, period, uid)
            self.nonces[uid] = nonce
            b = int.from_bytes(uk, "big") >> (256 - self.k)
            buckets.setdefault(b, []).append((uk, uid))
        largest = max(len(v) for v in buckets.values())
        self.h = 0
        while (1 << self.h) < largest:
            self.h += 1
        self.height = self.k + self.h
        self.leaves: dict[int, tuple[bytes, list[int]]] = {}
        self.position: dict[str, int] = {}
        for b, members in buckets.items():
            for rank, (uk, uid) in enumerate(sorted(members)):
                pos = (b << self.h) + rank
                self.position[uid] = pos
                bal = users[uid]
                self.leaves[pos] = (blake3(b"\x00" + uk + enc(bal)).digest(), list(bal))
        self.memo: dict[tuple[int, int], tuple[bytes, list[int]]] = {}

    def node(self, level: int, index: int) -> tuple[bytes, list[int]]:
        key = (level, index)
        if key in self.memo:
            return self.memo[key]
        lo, hi = index << level, (index + 1) << level
        if not any(lo <= p < hi for p in self.leaves):
            pad = blake3(b"\x02" + bytes([level]) + index.to_bytes(8, "big"), key=self.k_pad).digest()
            result = (pad, [0] * self.m)
        elif level == 0:
            result = self.leaves[index]
        else:
            lh, ls = self.node(level - 1, 2 * index)
            rh, rs = self.node(level - 1, 2 * index + 1)
            sums = [a + b for a, b in zip(ls, rs, strict=True)]
            if any(s >= LIMIT for s in sums):
                raise OverflowError("sum overflow")
            result = (blake3(b"\x01" + lh + enc(ls) + rh + enc(rs)).digest(), sums)
        self.memo[key] = result
        return result

    def root(self) -> tuple[bytes, list[int]]:
        return self.node(self.height, 0)

    def path(self, user_id: str) -> list[tuple[bytes, list[int]]]:
        pos = self.position[user_id]
        return [self.node(level, (pos >> level) ^ 1) for level in range(self.height)]
