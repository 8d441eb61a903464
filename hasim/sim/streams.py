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
import sys
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


class _ByteSource:
    """``Generator.bytes`` of one stream without its per-call overhead (about 10x cheaper; IVs and nonces
    of every IKE message): the same octets, from ``random_raw``. ``bytes(n)`` takes ceil(n/4) 32-bit
    words (one for n = 0), each the low then the high half of a 64-bit draw; an odd word's unused high
    half is kept for the next call, as PCG64 keeps it (``has_uint32``). Once anyone else draws from the
    Generator, the kept half goes back into it and ``Generator.bytes`` is used from then on."""

    __slots__ = ("gen", "half", "plain")

    def __init__(self, gen: np.random.Generator, *, plain: bool) -> None:
        self.gen = gen
        self.half: int | None = None
        self.plain = plain or sys.byteorder != "little"

    def draw(self, n: int) -> bytes:
        if self.plain:
            return self.gen.bytes(n)
        words = (n - 1) // 4 + 1 if n > 0 else 1
        head = b""
        if self.half is not None:
            head = self.half.to_bytes(4, "little")
            self.half = None
            words -= 1
        if not words:
            return head[:n]
        raw = self.gen.bit_generator.random_raw((words + 1) // 2)
        if words & 1:
            last = int(raw[-1])
            self.half = last >> 32
            body = raw[:-1].tobytes() + (last & _M32).to_bytes(4, "little")
        else:
            body = raw.tobytes()
        return (head + body)[:n]

    def hand_over(self) -> None:
        """Another user of the Generator: put the kept half word back into its state; plain from now."""
        if self.half is not None:
            bits = self.gen.bit_generator
            state = dict(bits.state)
            state["has_uint32"], state["uinteger"] = 1, self.half
            bits.state = state
            self.half = None
        self.plain = True


class RandomStreams:
    """The run's streams: ``get("links", "peer_to_cluster", "loss")`` gives the same Generator every call."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._cache: dict[tuple[str, ...], np.random.Generator] = {}
        self._words = _seed_words(self.seed) if self.seed >= 0 else []
        self._bytes: dict[tuple[str, ...], _ByteSource] = {}

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
        elif path in self._bytes:
            self._bytes[path].hand_over()
        return gen

    def fresh(self, *path: str) -> np.random.Generator:
        """A new Generator of a stream, at its start (for a reference path that replays the same draws)."""
        if not path or path[0] not in FAMILIES:
            raise ValueError(f"stream family must be one of {FAMILIES}, got {path!r}")
        return self._new(path)

    def random_bytes(self, *path: str) -> Callable[[int], bytes]:
        """A ``Callable[[int], bytes]`` drawing from one stream, for protocol objects (nonces, SPIs, keys)."""
        if not path or path[0] not in FAMILIES:
            raise ValueError(f"stream family must be one of {FAMILIES}, got {path!r}")
        src = self._bytes.get(path)
        if src is None:
            gen = self._cache.get(path)
            plain = gen is not None  # handed out by get() before: others may draw from it
            if gen is None:
                gen = self._cache[path] = self._new(path)
            src = self._bytes[path] = _ByteSource(gen, plain=plain)
        return src.draw
