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
        """A ``Callable[[int], bytes]`` drawing from one stream, for protocol objects (nonces, SPIs, keys)."""
        gen = self.get(*path)

        def draw(n: int) -> bytes:
            return gen.bytes(n)

        return draw
