"""The failover model against values worked out by hand (arithmetic in the comments)."""

from __future__ import annotations

import math

import pytest

from hasim.analysis.counter_space import SEQ_MAX_32, failovers_until_rekey
from hasim.analysis.failover_model import (
    FailoverParams,
    drop_breakdown,
    expected_replay_drops,
    inbound_exposure,
    max_sync_interval,
    mid_stale_probability,
    min_mid_increment,
    min_replay_delta,
    min_skip_forward,
    outbound_count,
    p_no_replay_drop,
    replay_drop_quantile,
    staleness,
    strict_sync_survival,
)
from hasim.analysis.staleness import Staleness, effective_lag
from hasim.errors import ConfigError

# r = 1000 pps, T = 1 s, constant traffic, loss-free sync, detection 3 s > latency 0: lag 0.
BASE = FailoverParams(rate=1000.0, sync_interval=1.0, detection=3.0)


def test_constant_rate_loss_free_quantile_is_999() -> None:
    # A ~ U[0, 1), X = rA ~ U[0, 1000), N = floor(X + V) with V ~ U(0, 1] (random phase).
    # P(N <= n) = P(X + V < n + 1) = integral_0^1 (n + 1 - v)/1000 dv = (n + 0.5)/1000 for n + 1 <= 1000.
    # n = 999: 0.9995 >= 0.999; n = 998: 0.9985 < 0.999. So s* = 999, not 1000: the count reaches
    # 1000 only when a packet falls exactly in the crash period's last slot (probability 0.0005).
    # (A fluid N = rA gives P(N <= 999) = 0.999 too; a sim aligning packets with sync instants
    # has N = floor(rA) in 0..999 and would need only 998.)
    assert p_no_replay_drop(BASE, 999) == pytest.approx(0.9995, abs=1e-12)
    assert p_no_replay_drop(BASE, 998) == pytest.approx(0.9985, abs=1e-12)
    assert min_skip_forward(BASE, 0.999) == 999
    # E[N] = r E[A] = 1000 * 0.5
    assert outbound_count(BASE).mean() == pytest.approx(500.0)


def test_constant_rate_expected_drops_and_breakdown() -> None:
    # E[(N - s)^+] = E[(X - s)^+] = (1000 - s)^2 / 2000 for 0 <= s < 1000; s = 500: 125.
    assert expected_replay_drops(BASE, 500) == pytest.approx(125.0)
    # s = 0, W = 32: too old = E[(X - 32)^+] = 968^2/2000 = 468.512; duplicates = 500 - 468.512 = 31.488.
    dup, old = drop_breakdown(BASE, 0)
    assert old == pytest.approx(468.512)
    assert dup == pytest.approx(31.488)
    # 0.9-quantile of drops with s = 500: Q_N(0.9) = 900 ((n + 0.5)/1000 >= 0.9 -> n >= 899.5), 900 - 500.
    assert replay_drop_quantile(BASE, 500, 0.9) == 400
    assert expected_replay_drops(BASE, 1000) == 0.0


def test_max_sync_interval_constant_rate() -> None:
    # With T > 1 s, X ~ U[0, 1000T): P(N <= 999) = H(1000) - H(999) = (1000^2 - 999^2)/(2000 T)
    # = 1999/(2000 T) >= 0.999  <=>  T <= 1999/1998 = 1.000500500...
    assert max_sync_interval(BASE, 999, 0.999) == pytest.approx(1999 / 1998, rel=1e-7)
    # A zero rate never drops anything: any interval is fine.
    assert max_sync_interval(FailoverParams(rate=0.0, sync_interval=1.0, detection=1.0), 0, 0.999) == math.inf


def test_lossy_sync_mixture_quantile() -> None:
    # r = 100, T = 1, q = 0.5: pieces X in [100j, 100j + 100) with weights 0.5, 0.25, 0.125, 0.0625, ...
    params = FailoverParams(rate=100.0, sync_interval=1.0, detection=3.0, sync_loss=0.5)
    # E[N] = 100 (T/2 + T q/(1 - q)) = 100 (0.5 + 1) = 150
    assert outbound_count(params).mean() == pytest.approx(150.0)
    # P(N <= 199) = 0.5 * 1 + 0.25 * (H(200) - H(199)) + 0 with H on [100, 200):
    # H(200) = 200 - 150 = 50, H(199) = 99^2/200 = 49.005 -> 0.995; total 0.5 + 0.24875 = 0.74875
    assert p_no_replay_drop(params, 199) == pytest.approx(0.74875)
    # Target 0.9: the first three pieces give 0.875; the fourth [300, 400) must give 0.4 of its 0.0625:
    # (n - 300 + 0.5)/100 >= 0.4 -> n >= 339.5 -> s* = 340.
    assert min_skip_forward(params, 0.9) == 340


def test_poisson_loss_free_small_rate() -> None:
    # r = 2, T = 1, Poisson: P(N = 0) = integral_0^1 e^{-2a} da = (1 - e^-2)/2 = 0.43233...
    # P(N <= 1) = integral_0^1 e^{-2a}(1 + 2a) da = (1 - e^-2)/2 + (1 - e^-2)/2 - e^-2 = 1 - 2e^-2
    params = FailoverParams(rate=2.0, sync_interval=1.0, detection=3.0, traffic="poisson")
    assert p_no_replay_drop(params, 0) == pytest.approx((1 - math.exp(-2)) / 2, rel=1e-10)
    assert p_no_replay_drop(params, 1) == pytest.approx(1 - 2 * math.exp(-2), rel=1e-10)
    # E[(N - 0)^+] = E[N] = 1
    assert expected_replay_drops(params, 0) == pytest.approx(1.0, rel=1e-10)


def test_effective_lag_and_staleness() -> None:
    # Updates in flight at the crash arrive before takeover when L <= D: lag 0.
    assert effective_lag(0.5, 0.2, "delivered") == pytest.approx(0.3)
    assert effective_lag(0.01, 3.0, "delivered") == 0.0
    assert effective_lag(0.01, 3.0, "lost") == 0.01
    # Lost in flight, L = 0.2, T = 1: A ~ U[0.2, 1.2), mean 0.7.
    params = FailoverParams(rate=10.0, sync_interval=1.0, detection=3.0, latency=0.2, in_flight="lost")
    assert staleness(params).mean() == pytest.approx(0.7)
    assert staleness(params).cdf(0.7) == pytest.approx(0.5)
    # q = 0.2: E[A] = 0.2 + 0.5 + 0.2/0.8 = 0.95
    st = Staleness(lag=0.2, period=1.0, loss=0.2)
    assert st.mean() == pytest.approx(0.95)


def test_mid_staleness_and_strict_reading() -> None:
    # lambda = 0.1/s, T = 10 s, lag 0: E[e^{-lambda A}] = (1 - e^{-1})/1, so P(stale) = e^-1 = 0.36788.
    params = FailoverParams(rate=1.0, sync_interval=10.0, detection=3.0, ike_rate=0.1, ike_window=1)
    assert mid_stale_probability(params) == pytest.approx(math.exp(-1), rel=1e-12)
    # Strict R5.1-5 with M1 = known + 1: survives iff K <= 1, K | A ~ Poisson(0.1 A), lambda*A ~ U[0, 1):
    # integral_0^1 e^{-m}(1 + m) dm = (1 - e^-1) + (1 - 2e^-1) = 2 - 3e^-1 = 0.89636
    assert strict_sync_survival(params) == pytest.approx(2 - 3 * math.exp(-1), rel=1e-10)
    # P(K <= 2) adds integral_0^1 m^2 e^{-m}/2 dm = (2 - 5e^-1)/2, so P(K <= 2) = 3 - 5.5 e^-1 = 0.97666.
    assert strict_sync_survival(params, 2) == pytest.approx(3 - 5.5 * math.exp(-1), rel=1e-10)
    # Minimal increment: never below the window (R5.1-2); 0.95 needs 2 (0.896 < 0.95 <= 0.977).
    assert min_mid_increment(params, 0.5) == 1
    assert min_mid_increment(params, 0.95) == 2
    no_ike = FailoverParams(rate=1.0, sync_interval=10.0, detection=3.0)
    assert mid_stale_probability(no_ike) == 0.0
    assert strict_sync_survival(no_ike) == 1.0


def test_inbound_delta_and_exposure() -> None:
    # The peer keeps sending 1000 pps through A and D = 3 s: X ~ U[3000, 4000), E[N_in] = 3500.
    # delta*: (n - 3000 + 0.5)/1000 >= 0.999 -> n >= 3998.5 -> 3999.
    assert min_replay_delta(BASE, 0.999) == 3999
    exp = inbound_exposure(BASE, 4000, resync_time=0.1)
    assert exp.expected_unseen == pytest.approx(3500.0)
    assert exp.strict_replayable == 0.0
    # E[(4000 - N_in)^+] = 4000 - 3500 = 500, capped by r_in t_resync = 100.
    assert exp.strict_legit_drops_bound == pytest.approx(100.0)


def test_counter_space() -> None:
    # (2^32 - 1) // 2^30 = 3 (3.99999...), the RFC's fallback leaves three failovers without ESN.
    assert failovers_until_rekey(2**30) == 3
    # With ESN: (2^64 - 1) // 2^30 = 2^34 - 1.
    assert failovers_until_rekey(2**30, esn=True) == 2**34 - 1
    assert failovers_until_rekey(999) == SEQ_MAX_32 // 999 == 4_299_266
    assert failovers_until_rekey(1000, used=SEQ_MAX_32 - 2500) == 2
    assert failovers_until_rekey(0) == math.inf


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate", -1.0),
        ("sync_interval", 0.0),
        ("detection", float("nan")),
        ("sync_loss", 0.95),
        ("ike_window", 0),
    ],
)
def test_bad_parameters_name_their_key(field: str, value: float) -> None:
    kwargs: dict[str, float] = {"rate": 1.0, "sync_interval": 1.0, "detection": 1.0, field: value}
    with pytest.raises(ConfigError) as info:
        FailoverParams(**kwargs)  # type: ignore[arg-type]
    assert info.value.key == field


def test_bad_target() -> None:
    with pytest.raises(ConfigError):
        min_skip_forward(BASE, 1.0)


def test_periodic_liveness_checks() -> None:
    # Liveness every 0.5 s (lambda = 2/s, random phase), T = 2 s, lag 0: lambda A ~ U[0, 4),
    # K = floor(lambda A + V). P(K = 0) = H(1) - H(0) = 1/8, so P(stale) = 0.875.
    # Strict, M1 = known + 1: P(K <= 1) = H(2) - H(1) = 4/8 - 1/8 = 0.375.
    # P(K <= 3) = H(4) - H(3) = (4 - 2) - 9/8 = 0.875 < 0.999 <= P(K <= 4) = 1: minimal increment 4.
    params = FailoverParams(rate=1.0, sync_interval=2.0, detection=3.0, ike_rate=2.0, ike_process="constant")
    assert mid_stale_probability(params) == pytest.approx(0.875)
    assert strict_sync_survival(params) == pytest.approx(0.375)
    assert min_mid_increment(params, 0.999) == 4
