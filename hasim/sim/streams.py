"""Named random streams of one run: one ``numpy.random.Generator`` per purpose, spawned from one seed.

Each stream is keyed by a path of names (``("links", "cluster_to_peer", "loss")``) and seeded with
``SeedSequence(seed, spawn_key=<stable hash of the path>)``. A stream therefore depends only on the run's
seed and its own name: adding, removing or reordering other streams never shifts it, which keeps
results comparable across versions of the model (DESIGN.md, "every random draw ... per stream").
Top-level families: ``links``, ``traffic``, ``faults``, ``nonces``, ``attacker``, ``keys``, ``sync``,
``phases`` (the clocks' phases: heartbeats and periodic sync).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable

import numpy as np

FAMILIES = ("links", "traffic", "faults", "nonces", "attacker", "keys", "sync", "phases")


def _spawn_key(path: tuple[str, ...]) -> tuple[int, ...]:
    """A stable integer key for a stream name (not Python's salted hash)."""
    return struct.unpack_from(">4I", hashlib.sha256("/".join(path).encode()).digest())


class RandomStreams:
    """The run's streams: ``get("links", "peer_to_cluster", "loss")`` gives the same Generator every call."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._cache: dict[tuple[str, ...], np.random.Generator] = {}
        self._bytes: dict[tuple[str, ...], ByteSource] = {}

    def get(self, *path: str) -> np.random.Generator:
        """The Generator of one named stream; its first component must be one of FAMILIES."""
        if not path or path[0] not in FAMILIES:
            raise ValueError(f"stream family must be one of {FAMILIES}, got {path!r}")
        gen = self._cache.get(path)
        if gen is None:
            seq = np.random.SeedSequence(self.seed, spawn_key=_spawn_key(path))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._cache[path] = gen
        return gen

    def fresh(self, *path: str) -> np.random.Generator:
        """A new Generator of a stream, at its start (for a reference path that replays the same draws)."""
        if not path or path[0] not in FAMILIES:
            raise ValueError(f"stream family must be one of {FAMILIES}, got {path!r}")
        seq = np.random.SeedSequence(self.seed, spawn_key=_spawn_key(path))
        return np.random.Generator(np.random.PCG64(seq))

    def random_bytes(self, *path: str) -> Callable[[int], bytes]:
        """A ``Callable[[int], bytes]`` drawing from one stream, for protocol objects (nonces, SPIs, keys):
        the octets ``get(*path).bytes(n)`` would give, call after call (:class:`ByteSource`). A stream
        drawn this way is drawn only this way: every call for one path shares one source."""
        src = self._bytes.get(path)
        if src is None:
            src = self._bytes[path] = ByteSource(self.get(*path))
        return src


class ByteSource:
    """``Generator.bytes`` served from blocks: the same octets, call after call, at a fraction of the cost.

    ``Generator.bytes(n)`` draws ``ceil(n / 4)`` uniform 32-bit words (one for ``n = 0``) with
    ``integers(0, 2**32, dtype=uint32)`` and returns the first ``n`` of their little-endian octets. The
    bit generator hands out the two halves of each 64-bit output in turn, across calls, so words drawn
    ahead in blocks are the same words in the same order. A call takes its words from the block and
    returns their first ``n`` octets, as ``bytes`` would. Blocks start small and double (up to 4 KiB),
    so a stream drawn a few times costs little memory. Nothing else may draw from the generator.
    """

    __slots__ = ("_block", "_buf", "_gen", "_pos")

    def __init__(self, gen: np.random.Generator) -> None:
        self._gen = gen
        self._buf = b""
        self._pos = 0
        self._block = 16

    def __call__(self, n: int) -> bytes:
        if n < 0:
            raise ValueError(f"cannot draw {n} octets")
        pos = self._pos
        end = pos + (((n + 3) & ~3) or 4)  # the whole words ``bytes(n)`` consumes (one for n = 0)
        if end > len(self._buf):
            words = max(self._block, (end - len(self._buf) + 3) // 4)
            self._block = min(self._block * 2, 1024)
            fresh = self._gen.integers(0, 1 << 32, size=words, dtype=np.uint32).astype("<u4").tobytes()
            self._buf = self._buf[pos:] + fresh
            end -= pos
            pos = 0
        self._pos = end
        return self._buf[pos : pos + n]
