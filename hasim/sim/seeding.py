"""The seed words of a named stream, as ``numpy.random.SeedSequence(seed, spawn_key=key)`` makes them.

A run has a stream per flow, link feature and SA end (180,000 at 10,000 peers). Building a
``SeedSequence`` for each and keeping it inside its ``PCG64`` cost about 25 microseconds and 0.5 KiB
a stream. All streams of a run share their entropy (the run's seed) and differ only in the spawn key,
and NumPy's algorithm (``numpy/random/bit_generator.pyx``: ``mix_entropy`` over the seed's 32-bit words
padded to the pool size, then the key's words; ``generate_state``) hashes the seed's words first,
with a hash constant that advances the same way whatever the data. So :class:`SpawnSeeder` mixes the
seed once and, per stream, only the key's four words: integer arithmetic modulo 2**32, the same
operations in the same order. ``tests/sim/test_seeding.py`` holds it to NumPy's own ``SeedSequence``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_M = 0xFFFFFFFF
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_MULT_L = 0xCA01F9DD
_MIX_MULT_R = 0x4973F715
_XSHIFT = 16
"""(Written out as 16 in the per-key loop.)"""
_POOL = 4
"""SeedSequence's default pool size (words)."""


def _mix(x: int, y: int) -> int:
    r = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _M
    return r ^ (r >> _XSHIFT)


def _words32(n: int) -> list[int]:
    """An integer's 32-bit words, least significant first (``[0]`` for 0), as SeedSequence reads it."""
    if n < 0:
        raise ValueError(f"a seed must be a non-negative integer, got {n}")
    out = [n & _M]
    n >>= 32
    while n:
        out.append(n & _M)
        n >>= 32
    return out


class SpawnSeeder:
    """Seed words of ``SeedSequence(seed, spawn_key=key)`` for many four-word keys of one seed."""

    __slots__ = ("_hash_a", "_hash_b", "_pool")

    def __init__(self, seed: int) -> None:
        run = _words32(seed)
        run += [0] * (_POOL - len(run))  # a spawn key follows: the seed is padded to the pool size
        hc = _INIT_A

        def hashmix(value: int) -> int:
            nonlocal hc
            value ^= hc
            hc = (hc * _MULT_A) & _M
            value = (value * hc) & _M
            return value ^ (value >> _XSHIFT)

        pool = [hashmix(run[i]) for i in range(_POOL)]
        for i_src in range(_POOL):
            for i_dst in range(_POOL):
                if i_src != i_dst:
                    pool[i_dst] = _mix(pool[i_dst], hashmix(pool[i_src]))
        for word in run[_POOL:]:
            for i_dst in range(_POOL):
                pool[i_dst] = _mix(pool[i_dst], hashmix(word))
        self._pool = tuple(pool)
        """The pool after the seed's words: the same for every key."""
        steps = []
        for _ in range(4 * _POOL):  # each key word is hashed into each pool word
            before = hc
            hc = (hc * _MULT_A) & _M
            steps.append((before, hc))
        self._hash_a = tuple(steps)
        """The hash constant before and after each of the key's hashes (it does not depend on the data)."""
        hb, steps = _INIT_B, []
        for _ in range(2 * _POOL):
            before = hb
            hb = (hb * _MULT_B) & _M
            steps.append((before, hb))
        self._hash_b = tuple(steps)

    def words(self, key: tuple[int, int, int, int]) -> list[int]:
        """``SeedSequence(seed, spawn_key=key).generate_state(8, np.uint32)`` as integers."""
        p0, p1, p2, p3 = self._pool
        ha = self._hash_a
        k = 0
        for word in key:  # each key word into each pool word: the hashes do not depend on the pool
            v = ((word ^ ha[k][0]) * ha[k][1]) & _M
            r = (_MIX_MULT_L * p0 - _MIX_MULT_R * (v ^ (v >> 16))) & _M
            p0 = r ^ (r >> 16)
            v = ((word ^ ha[k + 1][0]) * ha[k + 1][1]) & _M
            r = (_MIX_MULT_L * p1 - _MIX_MULT_R * (v ^ (v >> 16))) & _M
            p1 = r ^ (r >> 16)
            v = ((word ^ ha[k + 2][0]) * ha[k + 2][1]) & _M
            r = (_MIX_MULT_L * p2 - _MIX_MULT_R * (v ^ (v >> 16))) & _M
            p2 = r ^ (r >> 16)
            v = ((word ^ ha[k + 3][0]) * ha[k + 3][1]) & _M
            r = (_MIX_MULT_L * p3 - _MIX_MULT_R * (v ^ (v >> 16))) & _M
            p3 = r ^ (r >> 16)
            k += 4
        out = []
        for p, (before, after) in zip((p0, p1, p2, p3, p0, p1, p2, p3), self._hash_b, strict=True):
            v = ((p ^ before) * after) & _M
            out.append(v ^ (v >> 16))
        return out

    def pcg64_words(self, key: tuple[int, int, int, int]) -> NDArray[np.uint64]:
        """What ``PCG64`` asks its seed sequence for: ``generate_state(4, np.uint64)`` (pairs of 32-bit
        words, little-endian)."""
        w = self.words(key)
        return np.array(
            [w[0] | w[1] << 32, w[2] | w[3] << 32, w[4] | w[5] << 32, w[6] | w[7] << 32], dtype=np.uint64
        )

    def pcg64_words_many(self, keys: NDArray[np.uint32]) -> NDArray[np.uint64]:
        """:meth:`pcg64_words` of each row of ``keys`` (shape ``(m, 4)``), in array operations: the
        same arithmetic on 64-bit lanes, reduced modulo 2**32 after each product."""
        m = np.uint64(_M)
        k = keys.astype(np.uint64)
        pool = [np.full(keys.shape[0], p, dtype=np.uint64) for p in self._pool]
        steps = iter(self._hash_a)
        for j in range(4):
            word = k[:, j]
            for i_dst in range(_POOL):
                before, after = next(steps)
                v = ((word ^ np.uint64(before)) * np.uint64(after)) & m
                v ^= v >> np.uint64(_XSHIFT)
                r = (np.uint64(_MIX_MULT_L) * pool[i_dst] - np.uint64(_MIX_MULT_R) * v) & m
                pool[i_dst] = r ^ (r >> np.uint64(_XSHIFT))
        out = np.empty((keys.shape[0], 4), dtype=np.uint64)
        half = []
        for i, (before, after) in enumerate(self._hash_b):
            v = ((pool[i % _POOL] ^ np.uint64(before)) * np.uint64(after)) & m
            half.append(v ^ (v >> np.uint64(_XSHIFT)))
        for w in range(4):
            out[:, w] = half[2 * w] | (half[2 * w + 1] << np.uint64(32))
        return out
