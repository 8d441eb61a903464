"""How many packets a sender emitted during the standby's staleness: the count N behind replay drops.

Why: at failover the new member resumes from the counter of its last delivered update; the N
packets the dead member sent after that update are the ones the peer has already seen (RFC 6311
section 5.2, RFC 4303 section 3.4.3). N counts the packets of a stream of rate r in an interval
of random length A (:class:`~hasim.analysis.staleness.Staleness`), piece by uniform piece:

* constant-rate traffic, with a phase independent of the crash: N = floor(rA + V), V ~ U(0, 1].
  For rA ~ U[alpha, beta) this gives P(N <= n) = H(n + 1) - H(n) with H(x) = E[(x - rA)^+]
  (piecewise quadratic), and E[(N - s)^+] = E[(rA - s)^+] (the sum over k >= s of P(N > k)
  telescopes to it).
* Poisson traffic: N | A ~ Poisson(rA). With the identity integral_0^y P(X_t <= n) dt =
  E[min(X_y, n + 1)], P(N <= n) = (E[min(X_b, n+1)] - E[min(X_a, n+1)]) / (b - a) for means
  a = r start, b = r end; E[(N - s)^+] uses the antiderivative
  :func:`~hasim.analysis.poisson.poisson_excess_integral` the same way.

The mixture weights left out when the geometric series is cut are counted as "N larger than
anything asked", so every CDF here errs low (the advice errs safe).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from hasim.analysis.poisson import (
    poisson_cdf,
    poisson_excess_integral,
    poisson_mean_excess,
    poisson_mean_min,
)
from hasim.analysis.staleness import Staleness

__all__ = ["PacketCount", "Traffic"]

Traffic = Literal["constant", "poisson"]


def _uniform_h(x: float, alpha: float, beta: float) -> float:
    """H(x) = E[(x - X)^+] for X ~ Uniform[alpha, beta)."""
    if x <= alpha:
        return 0.0
    if x >= beta:
        return x - (alpha + beta) / 2.0
    return (x - alpha) ** 2 / (2.0 * (beta - alpha))


def _uniform_excess(s: float, alpha: float, beta: float) -> float:
    """E[(X - s)^+] for X ~ Uniform[alpha, beta)."""
    if s >= beta:
        return 0.0
    if s <= alpha:
        return (alpha + beta) / 2.0 - s
    return (beta - s) ** 2 / (2.0 * (beta - alpha))


def _narrow(a: float, b: float) -> bool:
    # A piece much narrower than the Poisson spread sqrt(mean) acts like its midpoint
    # (relative error of order ((b - a)/sqrt(mean))**2 < 1e-8) and avoids cancellation.
    return b - a <= 1e-4 * max(1.0, math.sqrt(b))


@dataclass(frozen=True)
class PacketCount:
    """N: packets of a rate-``rate`` stream sent during a staleness interval A."""

    rate: float
    staleness: Staleness
    traffic: Traffic = "constant"

    def __post_init__(self) -> None:
        if not (self.rate >= 0.0 and math.isfinite(self.rate)):
            raise ValueError("rate must be a non-negative finite number")
        if self.traffic not in ("constant", "poisson"):
            raise ValueError("traffic must be 'constant' or 'poisson'")

    def _means(self) -> list[tuple[float, float, float]]:
        return [(w, self.rate * a, self.rate * b) for w, a, b in self.staleness.pieces()]

    def mean(self) -> float:
        """E[N] = r E[A] for both traffic models."""
        return self.rate * self.staleness.mean()

    def _piece_cdf(self, n: int, a: float, b: float) -> float:
        if self.traffic == "constant":
            return _uniform_h(n + 1.0, a, b) - _uniform_h(float(n), a, b)
        if _narrow(a, b):
            return poisson_cdf(n, (a + b) / 2.0)
        return (poisson_mean_min(n + 1, b) - poisson_mean_min(n + 1, a)) / (b - a)

    def cdf(self, n: int) -> float:
        """P(N <= n)."""
        if n < 0:
            return 0.0
        if self.rate == 0.0:
            return 1.0
        total = sum(w * self._piece_cdf(n, a, b) for w, a, b in self._means())
        return min(1.0, max(0.0, total))

    def expected_excess(self, s: int) -> float:
        """E[(N - s)^+]: the expected replay drops for a skip forward of s (see failover_model)."""
        if self.rate == 0.0:
            return 0.0
        s = max(0, s)
        total = 0.0
        for w, a, b in self._means():
            if self.traffic == "constant":
                total += w * _uniform_excess(float(s), a, b)
            elif _narrow(a, b):
                mid = (a + b) / 2.0
                total += w * poisson_mean_excess(s, mid)
            else:
                total += w * (poisson_excess_integral(s, b) - poisson_excess_integral(s, a)) / (b - a)
        return max(0.0, total)

    def quantile(self, p: float) -> int:
        """The smallest n >= 0 with P(N <= n) >= p (bisection; Markov's bound gives the bracket)."""
        if not 0.0 < p < 1.0:
            raise ValueError("p must lie in (0, 1)")
        if self.rate == 0.0 or self.cdf(0) >= p:
            return 0
        # Markov: P(N > n) <= E[N]/(n + 1) <= 1 - p once n + 1 >= E[N]/(1 - p).
        hi = max(1, math.ceil(self.mean() / (1.0 - p)))
        while self.cdf(hi) < p:
            hi *= 2
            if hi > 2**70:
                raise ValueError("quantile beyond 2**70: target too close to 1")
        lo = 0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.cdf(mid) >= p:
                hi = mid
            else:
                lo = mid
        return hi
