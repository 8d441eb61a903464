"""NumPy's PCG64 stepped in Python integers, for streams drawn one double at a time and only once or twice.

Making a ``numpy.random.Generator`` (its ``PCG64``, the bit generator's lock, the seed words handed
over) costs about 10 microseconds of CPU in a large run; a draw in Python integers costs one or two,
against a third of one from a Generator. A stream drawn once (a liveness clock's phase, 20,000 of them
at 10,000 peers) is cheaper this way. An IKE SA's link streams, drawn about six times a run (once per
message), about break even in CPU and take far less memory this way (a Generator, its bit generator and
lock are some 0.7 KiB, four streams a peer), so they are drawn this way too (``LinkChannel``'s
``one_by_one``). :class:`Pcg64Doubles` gives the doubles
``Generator.random()`` gives from the same seed words, call after call, without a Generator: PCG64 is a
128-bit linear congruential generator with the XSL-RR output (``numpy/random/src/pcg64``), and
``random()`` is the top 53 bits of the next 64-bit output times 2**-53. ``tests/sim/test_pcg64.py``
holds it to NumPy's own generator.
"""

from __future__ import annotations

from collections.abc import Sequence

_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_MULT = (2549297995355413924 << 64) + 4865540595714422341
"""PCG's default 128-bit multiplier."""
_TO_DOUBLE = 1.0 / 9007199254740992.0
"""2**-53."""


class Pcg64Doubles:
    """The doubles of ``Generator(PCG64(seq)).random()``, one per call, where ``words`` are what ``seq``
    hands PCG64 (``generate_state(4, np.uint64)``: the initial state's high and low words, then the
    stream selector's)."""

    __slots__ = ("_inc", "_state")

    def __init__(self, words: Sequence[int]) -> None:
        w0, w1, w2, w3 = map(int, words)
        inc = ((((w2 << 64) | w3) << 1) | 1) & _M128
        # pcg_setseq_128_srandom_r: state 0, one step, add the initial state, one more step
        self._state = ((((inc + ((w0 << 64) | w1)) & _M128) * _MULT) + inc) & _M128
        self._inc = inc

    def random(self) -> float:
        """The next double in [0, 1): step, then XSL-RR (the high and low halves xor-ed, rotated right
        by the top six bits), top 53 bits."""
        state = self._state = (self._state * _MULT + self._inc) & _M128
        high = state >> 64
        rot = high >> 58
        x = high ^ (state & _M64)
        return ((((x >> rot) | (x << (64 - rot))) & _M64) >> 11) * _TO_DOUBLE
