"""Named random streams of one run: one ``numpy.random.Generator`` per purpose, spawned from one seed.

Each stream is keyed by a path of names (``("links", "cluster_to_peer", "loss")``) and seeded as
``SeedSequence(seed, spawn_key=<stable hash of the path>)`` seeds it (:mod:`hasim.sim.seeding` works
out the same seed words at a fraction of the cost). A stream therefore depends only on the run's
seed and its own name: adding, removing or reordering other streams never shifts it, which keeps
results comparable across versions of the model (DESIGN.md, "every random draw ... per stream").
Top-level families: ``links``, ``traffic``, ``faults``, ``nonces``, ``attacker``, ``keys``, ``sync``,
``phases`` (the clocks' phases: heartbeats and periodic sync).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable
from typing import cast

import numpy as np
from numpy.random.bit_generator import ISeedSequence
from numpy.typing import DTypeLike, NDArray

from hasim.sim.pcg64 import Pcg64Doubles
from hasim.sim.seeding import SpawnSeeder

FAMILIES = ("links", "traffic", "faults", "nonces", "attacker", "keys", "sync", "phases")


def _spawn_key(path: tuple[str, ...]) -> tuple[int, int, int, int]:
    """A stable integer key for a stream name (not Python's salted hash): the first four big-endian
    32-bit words of the SHA-256 of its components joined by slashes."""
    a, b, c, d = struct.unpack_from(">4I", hashlib.sha256("/".join(path).encode()).digest())
    return a, b, c, d


def _spawn_keys(paths: list[tuple[str, ...]]) -> NDArray[np.uint32]:
    """:func:`_spawn_key` of each of ``paths``, as rows of an array: the digests' first 16 octets
    joined and read as big-endian words in one go."""
    sha = hashlib.sha256
    octets = b"".join([sha("/".join(p).encode()).digest()[:16] for p in paths])
    return np.frombuffer(octets, dtype=">u4").astype(np.uint32).reshape(len(paths), 4)


class _Seeded(ISeedSequence):
    """The seed words of the stream being made, handed to ``PCG64`` once (numpy's interface for seed
    sequences): the generator is the one ``PCG64(SeedSequence(seed, spawn_key=key))`` gives, without
    keeping a ``SeedSequence`` per stream (a run has hundreds of thousands of streams). One object per
    run serves every stream, words set just before each generator takes them: a generator keeps its
    seed sequence, and one per stream would be kept for nothing."""

    __slots__ = ("_words",)

    def __init__(self) -> None:
        self._words: NDArray[np.uint64] | None = None

    def hand(self, words: NDArray[np.uint64]) -> np.random.SeedSequence:
        """Itself, holding ``words`` for the next ``generate_state`` (typed as what ``PCG64`` takes)."""
        self._words = words
        return cast(np.random.SeedSequence, self)

    def generate_state(self, n_words: int, dtype: DTypeLike = np.uint32) -> NDArray[np.uint64]:
        words = self._words
        wrong_type = dtype is not _U64 and np.dtype(dtype) != np.uint64
        if words is None or n_words != words.shape[0] or wrong_type:
            raise ValueError("a stream's seed words are drawn once, as PCG64 draws them")
        self._words = None
        return words


_U64 = np.uint64
_Generator = np.random.Generator
_PCG64 = np.random.PCG64


class RandomStreams:
    """The run's streams: ``get("links", "peer_to_cluster", "loss")`` gives the same Generator every call."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._seeder = SpawnSeeder(self.seed)
        self._ready: dict[tuple[str, ...], NDArray[np.uint64]] = {}
        """Seed words worked out ahead (``prepare``), each taken by the stream's first generator."""
        self._cache: dict[tuple[str, ...], np.random.Generator] = {}
        self._bytes: dict[tuple[str, ...], ByteSource] = {}
        self._seeded = _Seeded()

    def get(self, *path: str) -> np.random.Generator:
        """The Generator of one named stream; its first component must be one of FAMILIES."""
        gen = self._cache.get(path)
        if gen is None:
            gen = self._cache[path] = self._new(path)
        return gen

    def fresh(self, *path: str) -> np.random.Generator:
        """A new Generator of a stream, at its start (for a reference path that replays the same draws)."""
        return self._new(path)

    def _new(self, path: tuple[str, ...]) -> np.random.Generator:
        if not path or path[0] not in FAMILIES:
            raise ValueError(f"stream family must be one of {FAMILIES}, got {path!r}")
        return _Generator(_PCG64(self._seeded.hand(self._words(path))))

    def doubles(self, *path: str) -> Pcg64Doubles:
        """A stream at its start drawn one double at a time: the doubles ``fresh(*path).random()`` gives,
        call after call, without making a Generator (:mod:`hasim.sim.pcg64`), for streams drawn once or
        a few times. A stream drawn this way is drawn only this way."""
        if not path or path[0] not in FAMILIES:
            raise ValueError(f"stream family must be one of {FAMILIES}, got {path!r}")
        return Pcg64Doubles(self._words(path).tolist())

    def _words(self, path: tuple[str, ...]) -> NDArray[np.uint64]:
        """The PCG64 seed words of a stream: worked out ahead (``prepare``) or now."""
        words = self._ready.pop(path, None) if self._ready else None
        if words is None:
            return self._seeder.pcg64_words(_spawn_key(path))
        if not self._ready:
            self._ready = {}  # the emptied table's memory back
        return words

    def prepare(self, paths: Iterable[tuple[str, ...]]) -> None:
        """Work out the seed words of many streams at once (about 1 microsecond each instead of 15), for
        the streams set-up is about to create: each is taken by the stream's first generator, so list
        only streams that will be drawn from."""
        todo = [p for p in paths if p not in self._cache]
        if not todo:
            return
        keys = _spawn_keys(todo)
        for p, words in zip(todo, self._seeder.pcg64_words_many(keys), strict=True):
            self._ready[p] = words

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
    bit generator hands out the two halves of each 64-bit output in turn (low half first), across calls,
    so words drawn ahead in blocks are the same words in the same order, and a block of whole 64-bit
    outputs (``random_raw``, about a sixth of the cost of ``integers``) holds them, two a output, when
    no half is held back: the generator is fresh and nothing else draws from it. A call takes its words
    from the block and returns their first ``n`` octets, as ``bytes`` would. Blocks start at 256 octets
    and double (up to 4 KiB): one block holds what almost every IKE SA's stream draws in a run (at
    remote_access_10k, 99% of them draw at most 56 words: IVs, nonces and SPIs), since each refill costs
    about as much as drawing one block of any size, and a stream drawn a few times costs little memory.
    """

    __slots__ = ("_block", "_buf", "_gen", "_pos")

    def __init__(self, gen: np.random.Generator) -> None:
        self._gen = gen
        self._buf = b""
        self._pos = 0
        self._block = 64

    def __call__(self, n: int) -> bytes:
        if n < 0:
            raise ValueError(f"cannot draw {n} octets")
        pos = self._pos
        end = pos + (((n + 3) & ~3) or 4)  # the whole words ``bytes(n)`` consumes (one for n = 0)
        if end > len(self._buf):
            outputs = (max(self._block, (end - len(self._buf)) // 4) + 1) // 2  # 64-bit: two words each
            self._block = min(self._block * 2, 1024)
            fresh = self._gen.bit_generator.random_raw(outputs).astype("<u8").tobytes()
            self._buf = self._buf[pos:] + fresh
            end -= pos
            pos = 0
        self._pos = end
        return self._buf[pos : pos + n]
