"""Named random streams of one run: one ``numpy.random.Generator`` per purpose, spawned from one seed.

Each stream is keyed by a path of names (``("links", "cluster_to_peer", "loss")``) and seeded with
``SeedSequence(seed, spawn_key=<stable hash of the path>)``. A stream therefore depends only on the run's
seed and its own name: adding, removing or reordering other streams never shifts it, which keeps
results comparable across versions of the model (DESIGN.md, "every random draw ... per stream").
Top-level families: ``links``, ``traffic``, ``faults``, ``nonces``, ``attacker``, ``keys``, ``sync``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

FAMILIES = ("links", "traffic", "faults", "nonces", "attacker", "keys", "sync")

_M32 = 0xFFFFFFFF
_HASH_CONST = [0x8B51F9DD]  # numpy SeedSequence.generate_state: INIT_B, then x MULT_B per word
for _ in range(8):
    _HASH_CONST.append((_HASH_CONST[-1] * 0x58F38DED) & _M32)


def _spawn_key(path: tuple[str, ...]) -> tuple[int, ...]:
    """A stable integer key for a stream name (not Python's salted hash)."""
    return struct.unpack_from(">4I", hashlib.sha256("/".join(path).encode()).digest())


def _seed_words(seed: int) -> list[int]:
    """The run entropy as SeedSequence assembles it with a spawn key: 32-bit words, least significant
    first, zero-padded to the pool size (4)."""
    words = []
    while True:
        words.append(seed & _M32)
        seed >>= 32
        if not seed:
            break
    return words + [0] * (4 - len(words))


class _StreamSeed(np.random.SeedSequence):
    """``SeedSequence(seed, spawn_key=key)`` built from its assembled entropy words (the same pool, a
    third of the cost: no per-int coercion), with PCG64's ``generate_state(4, uint64)`` computed in
    Python (same words; numpy's version spends most of its time in an ``errstate``). 180,000 streams
    of a 10,000-peer run are set up several times faster, every Generator drawing the same values."""

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words != 4 or dtype is not np.uint64:
            return super().generate_state(n_words, dtype)
        p0, p1, p2, p3 = self.pool.tolist()
        h = _HASH_CONST
        w = []
        for i, v in enumerate((p0, p1, p2, p3, p0, p1, p2, p3)):
            v = ((v ^ h[i]) * h[i + 1]) & _M32
            w.append(v ^ (v >> 16))
        return np.array(
            [w[0] | w[1] << 32, w[2] | w[3] << 32, w[4] | w[5] << 32, w[6] | w[7] << 32], np.uint64
        )


class RandomStreams:
    """The run's streams: ``get("links", "peer_to_cluster", "loss")`` gives the same Generator every call."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._cache: dict[tuple[str, ...], np.random.Generator] = {}
        self._words = _seed_words(self.seed) if self.seed >= 0 else []

    def _new(self, path: tuple[str, ...]) -> np.random.Generator:
        """A Generator at the start of stream ``path``: PCG64 seeded by SeedSequence(seed, spawn_key)."""
        if not self._words:  # negative seeds: SeedSequence's own error
            seq = np.random.SeedSequence(self.seed, spawn_key=_spawn_key(path))
            return np.random.Generator(np.random.PCG64(seq))
        entropy = np.array(self._words + list(_spawn_key(path)), dtype=np.uint32)
        return np.random.Generator(np.random.PCG64(_StreamSeed(entropy)))

    def get(self, *path: str) -> np.random.Generator:
        """The Generator of one named stream; its first component must be one of FAMILIES."""
        if not path or path[0] not in FAMILIES:
            raise ValueError(f"stream family must be one of {FAMILIES}, got {path!r}")
        gen = self._cache.get(path)
        if gen is None:
            gen = self._cache[path] = self._new(path)
        return gen

    def fresh(self, *path: str) -> np.random.Generator:
        """A new Generator of a stream, at its start (for a reference path that replays the same draws)."""
        if not path or path[0] not in FAMILIES:
            raise ValueError(f"stream family must be one of {FAMILIES}, got {path!r}")
        return self._new(path)

    def random_bytes(self, *path: str) -> Callable[[int], bytes]:
        """A ``Callable[[int], bytes]`` drawing from one stream, for protocol objects (nonces, SPIs, keys)."""
        gen = self.get(*path)

        def draw(n: int) -> bytes:
            return gen.bytes(n)

        return draw
