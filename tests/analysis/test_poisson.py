"""Poisson tail sums against an independent computation: plain pmf sums from k = 0 with math.lgamma."""

from __future__ import annotations

import math

import pytest

from hasim.analysis.poisson import (
    poisson_cdf,
    poisson_excess_integral,
    poisson_mean_excess,
    poisson_mean_min,
    poisson_sf,
)


def pmf(k: int, mu: float) -> float:
    return math.exp(-mu + k * math.log(mu) - math.lgamma(k + 1))


def cdf_by_sum(k: int, mu: float) -> float:
    return math.fsum(pmf(j, mu) for j in range(k + 1))


CASES = [(0, 0.5), (3, 2.0), (10, 10.0), (7, 15.0), (25, 10.0), (950, 1000.0), (1050, 1000.0), (1000, 1000.0)]


@pytest.mark.parametrize(("k", "mu"), CASES)
def test_cdf_and_sf_match_pmf_sums(k: int, mu: float) -> None:
    expected = cdf_by_sum(k, mu)
    assert poisson_cdf(k, mu) == pytest.approx(expected, rel=1e-10, abs=1e-14)
    assert poisson_sf(k, mu) == pytest.approx(1.0 - expected, rel=1e-9, abs=1e-14)


def test_hand_values() -> None:
    # P(X <= 1 | mu = 2) = e^-2 (1 + 2) = 3 e^-2 = 0.40600584970983811
    assert poisson_cdf(1, 2.0) == pytest.approx(3 * math.exp(-2), rel=1e-12)
    # P(X > 0 | mu = 1) = 1 - e^-1
    assert poisson_sf(0, 1.0) == pytest.approx(1 - math.exp(-1), rel=1e-12)
    assert poisson_cdf(-1, 3.0) == 0.0
    assert poisson_cdf(5, 0.0) == 1.0


def test_far_tails_are_tiny_not_negative() -> None:
    # 10 sigma below and above mu = 1e6: both tails below 1e-20 but representable, never negative.
    assert 0.0 <= poisson_cdf(990_000, 1e6) < 1e-20
    assert 0.0 <= poisson_sf(1_010_000, 1e6) < 1e-20
    assert poisson_cdf(1_010_000, 1e6) == 1.0


@pytest.mark.parametrize(("c", "mu"), [(1, 0.7), (2, 2.0), (5, 3.0), (30, 25.0)])
def test_mean_min_and_excess_match_sums(c: int, mu: float) -> None:
    terms = range(0, 400)
    e_min = math.fsum(min(k, c) * pmf(k, mu) for k in terms)
    e_excess = math.fsum(max(0, k - c) * pmf(k, mu) for k in terms)
    assert poisson_mean_min(c, mu) == pytest.approx(e_min, rel=1e-10)
    assert poisson_mean_excess(c, mu) == pytest.approx(e_excess, rel=1e-10)


def test_excess_integral_hand_value_s1() -> None:
    # E[(X_mu - 1)^+] = mu - 1 + e^-mu, so its integral over [0, y] is y^2/2 - y + 1 - e^-y.
    y = 2.5
    assert poisson_excess_integral(1, y) == pytest.approx(y * y / 2 - y + 1 - math.exp(-y), rel=1e-12)
    # s = 0: the integral of mu is y^2/2.
    assert poisson_excess_integral(0, y) == pytest.approx(y * y / 2, rel=1e-12)


@pytest.mark.parametrize(("s", "y"), [(3, 4.0), (10, 8.0), (20, 30.0)])
def test_excess_integral_matches_quadrature(s: int, y: float) -> None:
    # Midpoint rule over mu of the pmf-sum excess; the integrand is smooth, 2000 points suffice.
    n = 2000
    h = y / n
    total = 0.0
    for i in range(n):
        mu = (i + 0.5) * h
        total += h * math.fsum(max(0, k - s) * pmf(k, mu) for k in range(0, 120))
    assert poisson_excess_integral(s, y) == pytest.approx(total, rel=1e-6)
