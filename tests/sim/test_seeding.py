"""Stream seeding: the seed words and generators are NumPy's own ``SeedSequence(seed, spawn_key=key)``'s."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest

from hasim.sim.seeding import SpawnSeeder
from hasim.sim.streams import RandomStreams, _Seeded, _spawn_key, _spawn_keys

SEEDS = [0, 1, 7, 2**31 - 1, 2**32 - 1, 2**32, 2**63 + 5, 2**64 - 1, 2**64, 2**100 + 3, 2**128, 2**200 + 9]
"""Seeds of one to seven 32-bit words: padded to the pool size, exactly four, more than four."""


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_words_are_numpys(seed: int) -> None:
    rnd = random.Random(seed)
    seeder = SpawnSeeder(seed)
    for _ in range(200):
        key = (
            rnd.choice([0, 1, 2**32 - 1, rnd.getrandbits(32)]),
            rnd.getrandbits(32),
            rnd.choice([0, rnd.getrandbits(32)]),
            rnd.getrandbits(32),
        )
        ref = np.random.SeedSequence(seed, spawn_key=key)
        assert seeder.words(key) == ref.generate_state(8).tolist()
        assert seeder.pcg64_words(key).tolist() == ref.generate_state(4, np.uint64).tolist()


@pytest.mark.parametrize("seed", [0, 3, 2**64 - 1])
def test_streams_draw_what_a_seed_sequence_per_stream_draws(seed: int) -> None:
    paths = [
        ("links", "esp", "cluster_to_peer/17/0", "loss"),
        ("traffic", "esp", "x"),
        ("nonces", "peer", "m0.sa3"),
    ]
    streams = RandomStreams(seed)
    for path in paths:
        ref = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=_spawn_key(path))))
        gen = streams.get(*path)
        assert gen.random(50).tolist() == ref.random(50).tolist()
        assert gen.exponential(2.0, 7).tolist() == ref.exponential(2.0, 7).tolist()
        assert streams.fresh(*path).bytes(9) == np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(seed, spawn_key=_spawn_key(path)))
        ).bytes(9)


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        RandomStreams(-1)


def test_seed_words_are_handed_over_once() -> None:
    seeded = _Seeded()
    np.random.PCG64(seeded.hand(SpawnSeeder(1).pcg64_words((1, 2, 3, 4))))  # PCG64 takes any ISeedSequence
    with pytest.raises(ValueError):
        seeded.generate_state(4, np.uint64)


def test_spawn_keys_in_one_go_are_each_paths_key() -> None:
    paths = [("links", "esp", f"cluster_to_peer/{i}/{i % 2}", "loss") for i in range(300)] + [("nonces", "x")]
    for path, key in zip(paths, _spawn_keys(paths).tolist(), strict=True):
        digest = hashlib.sha256("/".join(path).encode()).digest()
        assert key == [int.from_bytes(digest[4 * w : 4 * w + 4], "big") for w in range(4)]
        assert tuple(key) == _spawn_key(path)


def test_prepared_streams_are_the_same_streams() -> None:
    paths = [("traffic", "esp", f"cluster_to_peer/{i}/0") for i in range(50)] + [("nonces", "peer", "m0.sa1")]
    prepared, plain = RandomStreams(11), RandomStreams(11)
    prepared.prepare(paths)
    for path in reversed(paths):
        assert prepared.get(*path).random(20).tolist() == plain.get(*path).random(20).tolist()
    assert not prepared._ready  # each prepared seed was taken by its stream
