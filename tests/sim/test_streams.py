"""Each named stream is numpy's PCG64 seeded by ``SeedSequence(seed, spawn_key=sha256(name)[:16])``.

RandomStreams builds its Generators a cheaper way (hasim/sim/streams.py); these tests build the
expected ones the documented way, with numpy's own SeedSequence, and compare states and draws.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hasim.sim.streams import RandomStreams


def documented(seed: int, path: tuple[str, ...]) -> np.random.Generator:
    digest = hashlib.sha256("/".join(path).encode()).digest()
    key = tuple(int.from_bytes(digest[i : i + 4], "big") for i in range(0, 16, 4))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


PATHS = [
    ("links", "esp", "sa3.c0.out", "loss"),
    ("links", "ike", "peer_to_cluster", "9999", "jitter"),
    ("nonces", "cluster", "spi.m0"),
    ("traffic", "liveness", "peer", "0"),
    ("keys", "ike"),
]


@pytest.mark.parametrize("seed", [0, 1, 10000, 2**32 - 1, 2**32, 2**64 + 3, 2**127 + 1, 2**128 + 9, 2**200])
def test_streams_are_the_documented_generators(seed: int) -> None:
    streams = RandomStreams(seed)
    for path in PATHS:
        want = documented(seed, path)
        got = streams.get(*path)
        assert got.bit_generator.state == want.bit_generator.state
        assert np.array_equal(got.random(7), want.random(7))
        assert got.bytes(13) == want.bytes(13)
        assert streams.fresh(*path).bit_generator.state == documented(seed, path).bit_generator.state


def test_a_stream_is_one_generator_per_run() -> None:
    streams = RandomStreams(5)
    assert streams.get("sync", "cluster", "loss") is streams.get("sync", "cluster", "loss")
    draw = streams.random_bytes("nonces", "peer", "iv")
    first = draw(16)
    assert first == documented(5, ("nonces", "peer", "iv")).bytes(16)
