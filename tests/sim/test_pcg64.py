"""PCG64 stepped in Python integers gives NumPy's doubles, and a stream drawn that way draws the numbers
a Generator of the same stream draws."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.random.bit_generator import ISeedSequence
from numpy.typing import DTypeLike, NDArray

from hasim.sim.pcg64 import Pcg64Doubles
from hasim.sim.streams import RandomStreams


class _Words(ISeedSequence):
    """Hands PCG64 the given seed words (what any seed sequence hands it)."""

    def __init__(self, words: NDArray[np.uint64]) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype: DTypeLike = np.uint32) -> NDArray[np.uint64]:
        assert n_words == 4 and np.dtype(dtype) == np.uint64
        return self.words.copy()


def _numpy(words: NDArray[np.uint64], n: int) -> list[float]:
    gen = np.random.Generator(np.random.PCG64(_Words(words)))  # type: ignore[arg-type]
    return [gen.random() for _ in range(n)]


def test_random_words_give_numpys_doubles() -> None:
    rng = np.random.default_rng(2024)
    for _ in range(300):
        words = rng.integers(0, 2**64, size=4, dtype=np.uint64)
        ours = Pcg64Doubles(words.tolist())
        assert [ours.random() for _ in range(40)] == _numpy(words, 40)


@pytest.mark.parametrize(
    "words",
    [[0, 0, 0, 0], [2**64 - 1] * 4, [0, 1, 0, 1], [2**63, 0, 2**63, 0], [1, 2**64 - 1, 2**64 - 1, 0]],
)
def test_extreme_words_give_numpys_doubles(words: list[int]) -> None:
    ours = Pcg64Doubles(words)
    assert [ours.random() for _ in range(2000)] == _numpy(np.array(words, dtype=np.uint64), 2000)


def test_every_rotation_is_met() -> None:
    """XSL-RR rotates by the state's top six bits: over a few thousand draws every amount (0 included,
    where the left shift must vanish) occurs, and the doubles still agree."""
    words = [12345, 67890, 13579, 24680]
    ours, seen = Pcg64Doubles(words), set()
    ref = _numpy(np.array(words, dtype=np.uint64), 5000)
    for want in ref:
        seen.add(ours._state * 0x2360ED051FC65DA44385DF649FCCF645 + ours._inc >> 122 & 63)
        assert ours.random() == want
    assert seen == set(range(64))


def test_stream_doubles_are_the_stream_generators_draws() -> None:
    path = ("traffic", "liveness", "cluster", "17")
    ours = RandomStreams(99).doubles(*path)
    ref = RandomStreams(99).fresh(*path)
    assert [ours.random() for _ in range(10)] == [ref.random() for _ in range(10)]
    prepared = RandomStreams(99)
    prepared.prepare([path])
    assert prepared.doubles(*path).random() == RandomStreams(99).fresh(*path).random()
    with pytest.raises(ValueError):
        RandomStreams(99).doubles("nope", "x")
