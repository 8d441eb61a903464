"""Offered ESP traffic of one direction of one Child SA: constant, Poisson or on/off bursts.

An :class:`ArrivalProcess` yields send times independent of everything else in the run (the offered
load); the cluster decides what is actually sent. ``until(t)`` returns every time in [previous, t) as an
array and ``next_time()``/``pop()`` walk the same times one by one, from the same draws, so the
vectorized and packet-by-packet data paths see identical traffic. Draws come from the ``traffic``
streams, in chunks whose values do not depend on how the times are requested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_accumulate = np.add.accumulate
"""``np.cumsum`` without its dispatch (the same ufunc, the same additions)."""
_NONE = np.zeros(0)
_NONE.flags.writeable = False
"""What a request with no new times returns (shared, read-only)."""

_CHUNK = 4096
_CHUNK_S = 4.0
"""A chunk holds at most _CHUNK times, and about _CHUNK_S seconds of them (at least 64): memory per flow
follows its rate, not a fixed 32 KiB (10,000 peers have tens of thousands of flows)."""


@dataclass(frozen=True, slots=True)
class PoissonDraws:
    """Where a Poisson flow's draws stand, for code that draws its next times in bulk
    (``hasim.sim.scale.offered``): its stream, its mean gap (``exponential``'s scale), the times drawn
    and not yet returned, and the last time drawn."""

    rng: np.random.Generator
    gap: float
    held: NDArray[np.float64]
    last: float


class ArrivalProcess:
    """Send times of one flow: constant (phase + k/rate), poisson, or onoff (exponential periods)."""

    __slots__ = (
        "_buf",
        "_chunk",
        "_drawn",
        "_gap",
        "_k",
        "_last",
        "_off_s",
        "_on",
        "_on_s",
        "_period_end",
        "_period_start",
        "_phase",
        "_pos",
        "_rng",
        "model",
        "rate",
    )

    def __init__(
        self, model: str, rate: float, rng: np.random.Generator, *, on_s: float = 1.0, off_s: float = 1.0
    ) -> None:
        self.model = model
        self.rate = float(rate)
        self._gap = 1.0 / self.rate if self.rate > 0 else 0.0
        """The mean gap of a Poisson flow (``exponential``'s scale)."""
        self._rng = rng
        self._on_s, self._off_s = on_s, off_s
        self._chunk = max(64, min(_CHUNK, math.ceil(self.rate * _CHUNK_S)))
        self._buf = _NONE
        self._pos = 0
        self._k = 0
        self._phase = float(rng.random()) / self.rate if self.rate > 0 else 0.0
        self._last = self._phase
        self._period_end = self._phase
        self._on = False
        self._period_start = self._phase
        self._drawn = self._phase
        """The last time drawn so far (where the next refill starts)."""

    def _refill(self, n: int) -> None:
        """Append the next ``n`` times (about, for onoff) to the buffer; the values do not depend on how
        many are drawn at once.

        Poisson times are drawn straight into the new buffer after the times still held: standard
        exponentials times the mean gap are the values ``exponential(mean, n)`` gives (NumPy draws
        each as ``scale * standard_exponential``), and the running sum starts from the last time, the
        same additions in the same order as a cumsum over all the gaps so far."""
        buf, pos = self._buf, self._pos
        if self.model == "poisson":
            k = buf.shape[0] - pos
            out = np.empty(k + n)
            if k:
                out[:k] = buf[pos:]
            new = out[k:]
            self._rng.standard_exponential(out=new)
            new *= self._gap
            new[0] += self._last
            _accumulate(new, out=new)
            self._last = self._drawn = float(new[-1])
            self._buf = out
            self._pos = 0
            return
        if self.model == "constant":
            ks = np.arange(self._k, self._k + n, dtype=np.float64)
            new = self._phase + ks / self.rate
            self._k += n
        else:
            new = self._onoff_chunk(n)
        rest = buf[pos:]
        self._buf = np.concatenate((rest, new)) if rest.shape[0] else new
        self._pos = 0
        if new.shape[0]:
            self._drawn = float(new[-1])

    def _onoff_chunk(self, chunk: int) -> np.ndarray:
        out: list[np.ndarray] = []
        total = 0
        while total < chunk:
            if not self._on:
                self._period_start = self._period_end
                self._period_end = self._period_start + float(self._rng.exponential(self._off_s))
                self._on = True
                self._period_start = self._period_end
                self._period_end = self._period_start + float(self._rng.exponential(self._on_s))
                self._k = 0
            n_total = int(np.ceil((self._period_end - self._period_start) * self.rate))
            n = min(n_total - self._k, chunk)
            ks = np.arange(self._k, self._k + n, dtype=np.float64)
            times = self._period_start + ks / self.rate
            times = times[times < self._period_end]
            out.append(times)
            total += times.shape[0]
            self._k += n
            if self._k >= n_total:
                self._on = False
        return np.concatenate(out) if out else np.zeros(0)

    def until(self, t: float) -> np.ndarray:
        """All send times in [previous call, t), in order.

        A refill draws about as many times as [last drawn, t) needs (mean plus four standard
        deviations): a long request costs one draw call and leaves few times drawn ahead. What is
        returned is a view; the buffer keeps only the times not yet returned."""
        if self.rate <= 0:
            return _NONE
        while self._drawn < t or self._pos >= self._buf.shape[0]:  # draw on after the times held
            self._refill(self._chunk_for(t))
        buf, pos = self._buf, self._pos
        j = int(buf.searchsorted(t))
        if j <= pos:
            return _NONE
        self._pos = j
        if j > self._chunk:  # drop the times returned (the view keeps them while it is used)
            self._buf = buf[j:].copy()
            self._pos = 0
        return buf[pos:j]

    def _chunk_for(self, t: float) -> int:
        """How many times to draw for a request up to ``t``: the usual chunk, or more for a long one."""
        mean = (t - self._drawn) * self.rate
        if mean <= self._chunk:
            return self._chunk
        return int(mean + 4.0 * math.sqrt(mean)) + 16

    def poisson_draws(self) -> PoissonDraws:
        """Where this flow's draws stand, for a caller that draws a Poisson flow's next times itself (the
        same numbers in the same order; this process is then no longer asked for them)."""
        return PoissonDraws(self._rng, self._gap, self._buf[self._pos :], self._last)

    def next_time(self) -> float:
        """The next send time (not consumed); inf when the rate is zero."""
        if self.rate <= 0:
            return float("inf")
        if self._pos >= self._buf.shape[0]:
            self._refill(self._chunk)
        return float(self._buf[self._pos])

    def pop(self) -> float:
        """Consume and return the next send time."""
        t = self.next_time()
        self._pos += 1
        return t
