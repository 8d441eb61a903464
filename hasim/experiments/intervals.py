"""The confidence interval of one metric at one parameter point, chosen by the metric's kind.

- **proportion** (e.g. ``sa_survival``): Wilson score interval over *runs*, with each run's fraction
  as the outcome of one trial: ``k = sum of the runs' fractions`` of ``n`` runs. With one SA per run
  (site-to-site) this is exactly the binomial Wilson interval. With several SAs per run the SAs are
  not independent trials (they share one crash instant, one detection, one sync), so counting SAs as
  trials would overstate the precision; counting runs is valid whatever the correlation, because a
  per-run fraction in [0, 1] with mean p has a variance of at most p (1 - p), the Bernoulli case
  that Wilson's score test assumes (so the interval is conservative when runs vary less).
  We chose this over a cluster bootstrap: the bootstrap gives the zero-width interval [1, 1] when
  every run agrees (the degenerate "4 of 4" case), needs resampling seeds and is unreliable at
  20 runs; Wilson needs none of that, never leaves [0, 1] and is never zero-width.
- **count**, **duration**, **fraction**, **value**: Student's t over runs (``stats.mean_ci``),
  clipped to the kind's range (a count never below 0, a fraction within [0, 1]). Clipping only
  removes impossible values, so the coverage does not drop.

Every interval carries ``n`` (runs that defined the metric) and ``undefined`` (runs that finished
but reported NaN, e.g. a recovery time when no flow recovered), so no run is silently dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from hasim.experiments.metric_kinds import PROPORTION, MetricKind
from hasim.experiments.stats import mean_ci


@dataclass(frozen=True)
class Interval:
    """Mean and confidence interval of a metric over the runs that defined it."""

    mean: float
    low: float
    high: float
    n: int
    undefined: int
    method: str

    @property
    def half_width(self) -> float:
        """Half the interval's width (NaN when there is no interval)."""
        return (self.high - self.low) / 2.0


def wilson(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion with ``successes`` of ``n`` trials.

    ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``; ``successes`` may be fractional
    (the sum of per-run fractions, see the module docstring).
    """
    if n <= 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    p = min(max(successes / n, 0.0), 1.0)
    z2n = z * z / n
    centre = p + z2n / 2.0
    spread = z * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    denom = 1.0 + z2n
    # the bounds contain p exactly (rounding must not put a lower bound of 1e-17 above 0 of 0)
    return max(0.0, min(p, (centre - spread) / denom)), min(1.0, max(p, (centre + spread) / denom))


def method_name(kind: MetricKind, level: float = 0.95) -> str:
    """How ``metric_interval`` bounds a metric of this kind, in words for figure captions."""
    pct = f"{100 * level:g}%"
    if kind is PROPORTION:
        return f"{pct} Wilson score interval over runs"
    clipped = " clipped to the metric's range" if kind.lo > -math.inf or kind.hi < math.inf else ""
    return f"{pct} Student t interval{clipped}"


def metric_interval(values: Sequence[float], kind: MetricKind, level: float = 0.95) -> Interval:
    """Mean and interval of ``values`` (one per finished run; NaN = undefined in that run)."""
    xs = [float(v) for v in values]
    defined = [x for x in xs if not math.isnan(x)]
    n, undefined = len(defined), len(xs) - len(defined)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, undefined, "none")
    if kind is PROPORTION:
        total = math.fsum(defined)
        low, high = wilson(total, n, level)
        return Interval(total / n, low, high, n, undefined, "wilson over runs")
    mean, low, high = mean_ci(defined, level)
    if not math.isnan(low):
        low, high = max(low, kind.lo), min(high, kind.hi)
    return Interval(mean, low, high, n, undefined, "student t" + (" clipped" if kind.lo > -math.inf else ""))
