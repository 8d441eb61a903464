"""Student t quantiles and confidence intervals, against printed t tables and hand computation."""

from __future__ import annotations

import math

import pytest

from hasim.experiments.intervals import metric_interval, wilson
from hasim.experiments.metric_kinds import COUNT, DURATION, PROPORTION, VALUE
from hasim.experiments.stats import mean_ci, t_cdf, t_quantile

# Two-sided 95% critical values from standard t tables (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 19: 2.093, 29: 2.045, 100: 1.984}


@pytest.mark.parametrize(("df", "value"), sorted(TABLE.items()))
def test_t_quantile_matches_table(df: int, value: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(value, abs=5e-4)


def test_t_quantile_limits_and_symmetry() -> None:
    assert t_quantile(0.975, 1e7) == pytest.approx(1.959964, abs=1e-5)  # normal limit
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    # df = 1 is Cauchy: quantile tan(pi (p - 1/2))
    assert t_quantile(0.9, 1) == pytest.approx(math.tan(math.pi * 0.4), rel=1e-9)
    # df = 2 has a closed form: t = (2p - 1) sqrt(2 / (4p(1-p)))
    p = 0.95
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) * math.sqrt(2 / (4 * p * (1 - p))), rel=1e-9)
    assert t_cdf(0.0, 5) == pytest.approx(0.5)


def test_mean_ci_by_hand() -> None:
    # values 1, 2, 3: mean 2, s = 1, half width = 4.303 / sqrt(3)
    mean, lo, hi = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert hi - mean == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)
    assert mean - lo == pytest.approx(hi - mean)
    m1, lo1, hi1 = mean_ci([5.0])
    assert m1 == 5.0 and math.isnan(lo1) and math.isnan(hi1)
    assert mean_ci([4.0, 4.0, 4.0]) == (4.0, 4.0, 4.0)


def test_wilson_against_published_values() -> None:
    # Wilson score 95% intervals as tabulated (Newcombe 1998, Statistics in Medicine 17, table I):
    # 5 of 10 -> [0.2366, 0.7634]; 0 of 10 -> [0, 0.2775]; and 3 of 4 -> [0.3006, 0.9544]
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(3, 4) == pytest.approx((0.3006, 0.9544), abs=1e-4)
    # n of n: the lower bound is n / (n + z^2), never the zero-width [1, 1] of "4 of 4"
    z2 = 1.959963984540054**2
    assert wilson(4, 4) == pytest.approx((4 / (4 + z2), 1.0))


def test_a_proportion_interval_stays_in_0_1_and_counts_undefined_runs() -> None:
    iv = metric_interval([0.0, 1.0, 1.0, 1.0, math.nan], PROPORTION)
    assert (iv.mean, iv.n, iv.undefined) == (0.75, 4, 1)
    assert (iv.low, iv.high) == pytest.approx(wilson(3, 4))  # Student t would give [-0.05, 1.55]
    # runs with several SAs each: the per-run fractions add up to the successes of n run-trials
    several = metric_interval([0.5, 1.0, 0.75, 0.75], PROPORTION)
    assert several.mean == 0.75 and (several.low, several.high) == pytest.approx(wilson(3.0, 4))


def test_counts_and_durations_are_clipped_at_zero() -> None:
    mean, lo, hi = mean_ci([0.0, 0.0, 0.0, 8.0])  # t interval 2 +- 3.182 * 4 / 2 reaches below 0
    assert lo < 0
    iv = metric_interval([0.0, 0.0, 0.0, 8.0], COUNT)
    assert (iv.mean, iv.low, iv.high) == (mean, 0.0, hi)
    assert metric_interval([math.nan, math.nan], DURATION).n == 0
    assert math.isnan(metric_interval([3.0], DURATION).low)
    assert metric_interval([-5.0, 5.0], VALUE).low < -5.0  # a plain value is not clipped
