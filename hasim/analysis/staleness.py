"""The age of the standby's copy of the counters when the active member crashes.

Why: every loss at failover (replay drops, stale Message IDs, inbound exposure) grows with how old
the standby's last delivered sync update is (RFC 6311 sections 5.1, 5.2, 7). With updates taken
every T seconds, each lost independently with probability q, a crash at a uniformly random time
leaves the standby holding an update of age

    A = lag + U + J T,    U ~ Uniform[0, T),    P(J = j) = (1 - q) q**j,

a mixture of uniform pieces [lag + jT, lag + (j+1)T) with geometric weights. ``lag`` is how long
before the crash an update must have been taken to be in place at takeover (see
:func:`effective_lag`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["InFlight", "Staleness", "effective_lag"]

InFlight = Literal["delivered", "lost"]

#: Mixture mass left out when the geometric series is cut (counted as "worst case" by callers).
TAIL_EPS = 1e-15


def effective_lag(latency: float, detection: float, in_flight: InFlight = "delivered") -> float:
    """How old an update must at least be (at the crash) to be the standby's state at takeover.

    An update taken at time t reaches the standby at t + latency. If updates in flight at the crash
    still arrive ("delivered", the default: the link does not recall packets a dead host sent),
    the standby takes over at crash + detection and holds every update taken before the crash
    with t + latency <= crash + detection, so lag = max(0, latency - detection). If the crash also
    loses the updates in flight ("lost"), only updates delivered before the crash count: lag =
    latency, the conservative reading that gives A ~ Uniform[latency, latency + T).
    """
    if in_flight == "lost":
        return latency
    return max(0.0, latency - detection)


@dataclass(frozen=True)
class Staleness:
    """The distribution of A: ``lag + U + J * period`` (see the module docstring)."""

    lag: float
    period: float
    loss: float = 0.0

    def __post_init__(self) -> None:
        if not (self.period > 0.0 and math.isfinite(self.period)):
            raise ValueError("period must be a positive finite number")
        if not (self.lag >= 0.0 and math.isfinite(self.lag)):
            raise ValueError("lag must be a non-negative finite number")
        if not 0.0 <= self.loss < 1.0:
            raise ValueError("loss must lie in [0, 1)")

    def pieces(self) -> list[tuple[float, float, float]]:
        """(weight, start, end) of each uniform piece, until the remaining weight is below TAIL_EPS."""
        out: list[tuple[float, float, float]] = []
        weight = 1.0 - self.loss
        left = 1.0
        j = 0
        while left > TAIL_EPS and weight > 0.0:
            start = self.lag + j * self.period
            out.append((weight, start, start + self.period))
            left -= weight
            weight *= self.loss
            j += 1
        return out

    def mean(self) -> float:
        """E[A] = lag + T/2 + T q/(1 - q)."""
        return self.lag + self.period / 2.0 + self.period * self.loss / (1.0 - self.loss)

    def cdf(self, a: float) -> float:
        """P(A <= a)."""
        total = 0.0
        for weight, start, end in self.pieces():
            if a >= end:
                total += weight
            elif a > start:
                total += weight * (a - start) / (end - start)
        return min(1.0, total)

    def laplace(self, rate: float) -> float:
        """E[exp(-rate A)] = exp(-rate lag) (1 - exp(-rate T))/(rate T) (1 - q)/(1 - q exp(-rate T))."""
        if rate < 0.0:
            raise ValueError("rate must be >= 0")
        x = rate * self.period
        if x == 0.0:
            return 1.0
        uniform = -math.expm1(-x) / x
        geometric = (1.0 - self.loss) / (1.0 - self.loss * math.exp(-x))
        return math.exp(-rate * self.lag) * uniform * geometric
