"""Packet counts over a random staleness: the closed forms against brute-force mixtures and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.analysis.failover_model import (
    FailoverParams,
    max_sync_interval,
    mid_stale_probability,
    min_skip_forward,
)
from hasim.analysis.packet_count import PacketCount, Traffic
from hasim.analysis.staleness import Staleness


def poisson_cdf_by_lgamma(n: int, mu: float) -> float:
    if mu == 0.0:
        return 1.0
    return math.fsum(math.exp(-mu + k * math.log(mu) - math.lgamma(k + 1)) for k in range(n + 1))


def brute_poisson_mixture_cdf(n: int, rate: float, st_: Staleness, points: int = 4000) -> float:
    """Midpoint rule over each uniform piece of A of the lgamma-summed Poisson CDF."""
    total = 0.0
    for weight, a, b in st_.pieces():
        if weight < 1e-12:
            break
        h = (b - a) / points
        acc = math.fsum(poisson_cdf_by_lgamma(n, rate * (a + (i + 0.5) * h)) for i in range(points))
        total += weight * acc / points
    return total


@pytest.mark.parametrize(
    ("rate", "lag", "period", "loss", "n"),
    [
        (20.0, 0.0, 1.0, 0.0, 15),
        (20.0, 0.0, 1.0, 0.0, 25),
        (5.0, 0.3, 2.0, 0.2, 12),
        (50.0, 0.1, 0.5, 0.1, 40),
    ],
)
def test_poisson_mixture_cdf_matches_quadrature(
    rate: float, lag: float, period: float, loss: float, n: int
) -> None:
    st_ = Staleness(lag=lag, period=period, loss=loss)
    count = PacketCount(rate, st_, "poisson")
    assert count.cdf(n) == pytest.approx(brute_poisson_mixture_cdf(n, rate, st_), abs=2e-7)


def test_poisson_quantile_matches_independent_search() -> None:
    # r = 200 pps, T = 0.5 s, loss-free: the 0.999-quantile by a linear scan of the brute-force CDF.
    st_ = Staleness(lag=0.0, period=0.5, loss=0.0)
    count = PacketCount(200.0, st_, "poisson")
    q = count.quantile(0.999)
    assert brute_poisson_mixture_cdf(q, 200.0, st_, points=2000) >= 0.999 - 1e-6
    assert brute_poisson_mixture_cdf(q - 1, 200.0, st_, points=2000) < 0.999
    # Poisson spreads N beyond r T = 100: the quantile sits above the constant-rate one (100).
    assert q > PacketCount(200.0, st_, "constant").quantile(0.999)


def test_large_rate_is_fast_and_sane() -> None:
    # 1e6 pps, T = 1 s: N ~ U[0, 1e6) (constant); Poisson adds sqrt(1e6) = 1000-scale spread only.
    st_ = Staleness(lag=0.0, period=1.0, loss=0.0)
    q_const = PacketCount(1e6, st_, "constant").quantile(0.999)
    q_pois = PacketCount(1e6, st_, "poisson").quantile(0.999)
    assert q_const == 999_000  # (n + 0.5)/1e6 >= 0.999 -> n >= 998999.5
    assert 999_000 <= q_pois <= 1_001_000


rates = st.floats(min_value=0.1, max_value=5000.0, allow_nan=False)
periods = st.floats(min_value=0.01, max_value=10.0, allow_nan=False)
losses = st.floats(min_value=0.0, max_value=0.5, allow_nan=False)
TRAFFICS: list[Traffic] = ["constant", "poisson"]
traffics = st.sampled_from(TRAFFICS)
targets = st.floats(min_value=0.5, max_value=0.9999, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(rate=rates, period=periods, loss=losses, traffic=traffics, target=targets)
def test_quantile_is_the_smallest_meeting_the_target(
    rate: float, period: float, loss: float, traffic: Traffic, target: float
) -> None:
    count = PacketCount(rate, Staleness(0.0, period, loss), traffic)
    q = count.quantile(target)
    assert count.cdf(q) >= target
    assert q == 0 or count.cdf(q - 1) < target


@settings(max_examples=30, deadline=None)
@given(rate=rates, period=periods, loss=losses, traffic=traffics, n=st.integers(0, 20000))
def test_cdf_and_excess_are_monotone_in_n(
    rate: float, period: float, loss: float, traffic: Traffic, n: int
) -> None:
    count = PacketCount(rate, Staleness(0.0, period, loss), traffic)
    assert count.cdf(n) <= count.cdf(n + 1) + 1e-12
    assert count.expected_excess(n + 1) <= count.expected_excess(n) + 1e-9
    assert 0.0 <= count.cdf(n) <= 1.0


@settings(max_examples=30, deadline=None)
@given(rate=rates, period=periods, loss=losses, traffic=traffics, target=targets, factor=st.floats(1.0, 4.0))
def test_skip_grows_with_rate_interval_and_loss(
    rate: float, period: float, loss: float, traffic: Traffic, target: float, factor: float
) -> None:
    base = FailoverParams(rate=rate, sync_interval=period, detection=1.0, sync_loss=loss, traffic=traffic)
    s = min_skip_forward(base, target)
    faster = FailoverParams(
        rate=rate * factor, sync_interval=period, detection=1.0, sync_loss=loss, traffic=traffic
    )
    slower = FailoverParams(
        rate=rate, sync_interval=period * factor, detection=1.0, sync_loss=loss, traffic=traffic
    )
    lossier = FailoverParams(
        rate=rate,
        sync_interval=period,
        detection=1.0,
        sync_loss=min(0.9, loss + 0.1),
        traffic=traffic,
    )
    assert min_skip_forward(faster, target) >= s
    assert min_skip_forward(slower, target) >= s
    assert min_skip_forward(lossier, target) >= s
    assert min_skip_forward(base, min(0.99999, target + (1 - target) / 2)) >= s


@settings(max_examples=25, deadline=None)
@given(rate=rates, period=periods, traffic=traffics, target=targets)
def test_max_interval_round_trip(rate: float, period: float, traffic: Traffic, target: float) -> None:
    # The minimal skip for T meets the target at T, so the maximal T for that skip is at least T;
    # a larger skip allows a longer interval.
    params = FailoverParams(rate=rate, sync_interval=period, detection=1.0, traffic=traffic)
    s = min_skip_forward(params, target)
    t_max = max_sync_interval(params, s, target)
    assert t_max >= period * (1 - 1e-6)
    assert max_sync_interval(params, 2 * s + 10, target) >= t_max


@settings(max_examples=30, deadline=None)
@given(period=periods, loss=losses, lam=st.floats(0.0, 5.0), factor=st.floats(1.0, 4.0))
def test_mid_staleness_grows_with_rate_and_interval(
    period: float, loss: float, lam: float, factor: float
) -> None:
    def p(lam_: float, period_: float) -> float:
        return mid_stale_probability(
            FailoverParams(rate=1.0, sync_interval=period_, detection=1.0, sync_loss=loss, ike_rate=lam_)
        )

    base = p(lam, period)
    assert 0.0 <= base <= 1.0
    assert p(lam * factor, period) >= base - 1e-12
    assert p(lam, period * factor) >= base - 1e-12
