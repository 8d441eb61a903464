"""VRRP detection time and the rate x time-since-sync skip policy, against hand and brute-force values."""

from __future__ import annotations

import math

import pytest

from hasim.analysis.failover_model import FailoverParams
from hasim.analysis.skip_policies import estimate_policy, master_down_interval
from hasim.errors import ConfigError


def test_master_down_interval_rfc5798() -> None:
    # 3 x 1 s + (256 - 100) x 1 / 256 = 3 + 0.609375
    assert master_down_interval(1.0) == pytest.approx(3.609375)
    # priority 255 (the owner): skew 1/256 of the interval
    assert master_down_interval(0.1, 3, 255) == pytest.approx(0.3 + 0.1 / 256)
    with pytest.raises(ConfigError):
        master_down_interval(0.0)
    with pytest.raises(ConfigError):
        master_down_interval(1.0, priority=0)


def test_estimate_policy_constant_covers_everything() -> None:
    # r = 1000, T = 1, D = 3, f = 2: skip = ceil(2000 (A + 3)), E ~ 2000 * 3.5 (+ up to 1 for the ceiling).
    params = FailoverParams(rate=1000.0, sync_interval=1.0, detection=3.0)
    est = estimate_policy(params, 2.0)
    assert 7000.0 <= est.expected_skip <= 7001.0
    # N <= ceil(rA) <= skip whenever f >= 1: no drops at all.
    assert est.p_drop == 0.0
    assert est.expected_drops == 0.0


def pois_sf(m: int, mu: float) -> float:
    return 1.0 - math.fsum(math.exp(-mu + k * math.log(mu) - math.lgamma(k + 1)) for k in range(m + 1))


def test_estimate_policy_poisson_without_detection_time() -> None:
    # r = 5, T = 1, D = 0, f = 1: skip = ceil(5a), N ~ Poisson(5a): P(N > ceil(5a)) averaged over a.
    params = FailoverParams(rate=5.0, sync_interval=1.0, detection=0.0, traffic="poisson")
    est = estimate_policy(params, 1.0)
    n = 2000
    brute = math.fsum(pois_sf(math.ceil(5 * (i + 0.5) / n), 5 * (i + 0.5) / n) for i in range(n)) / n
    assert est.p_drop == pytest.approx(brute, abs=2e-4)
    assert 0.1 < est.p_drop < 0.5


def test_bad_factor() -> None:
    with pytest.raises(ConfigError):
        estimate_policy(FailoverParams(rate=1.0, sync_interval=1.0, detection=1.0), 0.5)
