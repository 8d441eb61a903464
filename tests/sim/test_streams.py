"""Named random streams: the block-served byte source gives exactly ``Generator.bytes``."""

from __future__ import annotations

import numpy as np
import pytest

from hasim.sim.streams import ByteSource, RandomStreams


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**31 - 1])
def test_byte_source_matches_generator_bytes_call_by_call(seed: int) -> None:
    sizes = [*np.random.default_rng(seed).integers(0, 70, size=400).tolist(), 0, 1, 2, 3, 4, 5, 4096, 7]
    ref = np.random.Generator(np.random.PCG64(seed))
    src = ByteSource(np.random.Generator(np.random.PCG64(seed)))
    for n in sizes:
        assert src(n) == ref.bytes(n)


def test_zero_octets_consume_a_word_as_generator_bytes_does() -> None:
    ref = np.random.Generator(np.random.PCG64(7))
    src = ByteSource(np.random.Generator(np.random.PCG64(7)))
    assert src(0) == ref.bytes(0) == b""
    assert src(4) == ref.bytes(4)


def test_one_source_per_path() -> None:
    streams = RandomStreams(3)
    a, b = streams.random_bytes("nonces", "cluster", "x"), streams.random_bytes("nonces", "cluster", "x")
    ref = RandomStreams(3).fresh("nonces", "cluster", "x")
    assert [a(16), b(16), a(8)] == [ref.bytes(16), ref.bytes(16), ref.bytes(8)]


def test_negative_count_is_refused() -> None:
    with pytest.raises(ValueError):
        ByteSource(np.random.Generator(np.random.PCG64(1)))(-1)


def test_refills_of_an_odd_number_of_words_keep_the_word_order() -> None:
    """Blocks are whole 64-bit outputs: a request of an odd number of words past the block (4,100 octets
    are 1,025 words) leaves half an output in the block, which the next call must get first."""
    ref = np.random.Generator(np.random.PCG64(11))
    src = ByteSource(np.random.Generator(np.random.PCG64(11)))
    for n in [1, 4100, 3, 8191, 0, 5, 4097, 16, 12, 9000, 1]:
        assert src(n) == ref.bytes(n)
