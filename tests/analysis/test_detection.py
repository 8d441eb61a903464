"""Closed-form detection figures (``hasim.analysis.detection``) against hand values and brute force.

Hand values: VRRP 1 s, priority 100: MDI 3.609375 s, n = 3 (4 x 1 >= 3.609375 > 3 x 1); with
Bernoulli loss p = 0.1: 3600 x 0.9 x 0.1^3 = 3.24 false failovers per hour, split brain each
4 - 3.609375 + 0.1 / 0.9 = 0.50173611 s. strongSwan 1 s / 2.1 s: n = 2, 3600 x 0.9 x 0.01 = 32.4; its
split brain is ended sooner by HA_SEGMENT_TAKE (worked in test_bernoulli_by_hand).
"""

from __future__ import annotations

import numpy as np
import pytest

from hasim.analysis.detection import HeartbeatLoss, detection_figures, losses_to_fail, poisson_rate_interval
from hasim.errors import ConfigError
from hasim.protocol.membership import DetectionConfig, DetectionStyle


def test_loss_free_by_hand() -> None:
    fig = detection_figures(DetectionConfig(), 100, latency=0.0005)
    assert fig.master_down_s == 3.609375
    assert fig.skew_s == 0.609375
    assert (fig.detection_min_s, fig.detection_max_s) == (2.609875, 3.609875)
    assert fig.detection_mean_s == pytest.approx(3.109875)
    assert fig.false_failovers_per_hour == 0.0 and fig.split_brain_s_per_hour == 0.0
    fast = detection_figures(DetectionConfig(interval=0.1), 100)
    assert fast.master_down_s == pytest.approx(0.3609375, abs=1e-15)


def test_losses_to_fail() -> None:
    assert losses_to_fail(1.0, 3.609375) == 3
    assert losses_to_fail(1.0, 2.1) == 2
    assert losses_to_fail(1.0, 2.0) == 1  # the arrival on the deadline loses the tie
    assert losses_to_fail(0.1, 0.3609375) == 3


def test_bernoulli_by_hand() -> None:
    fig = detection_figures(DetectionConfig(), 100, loss=HeartbeatLoss(0.1))
    assert fig.losses_to_fail == 3
    assert fig.false_failovers_per_hour == pytest.approx(3.24)
    assert fig.split_brain_mean_s == pytest.approx(0.390625 + 0.1 / 0.9)
    ss = detection_figures(DetectionConfig(style=DetectionStyle.STRONGSWAN), 100, loss=HeartbeatLoss(0.1))
    assert ss.false_failovers_per_hour == pytest.approx(32.4)
    # strongSwan's split brain (hasim.analysis.strongswan_split), latency 0, q = 0.9, delta = 0.9 s:
    # taken by node 1, its TAKE or heartbeat at 0 ends it (1 - 0.01); else per period m the attempts
    # at 0.9 + m (Y's heartbeat and X's TAKE: 0.81) and 1 + m (X's heartbeat: 0.9), both failing with
    # 0.19 x 0.1 = 0.019: E_1 = 0.01 x sum 0.019^m (0.81 (0.9 + m) + 0.19 x 0.9 (1 + m)) = 0.01 x
    # 0.919 / 0.981. Taken by node 0: its TAKE at 0 (0.9, it keeps), else X's heartbeat and Y's TAKE
    # back at 0 (0.81); then Y's heartbeat at 0.9 + m (0.9), X's heartbeat and the TAKE back at 1 + m
    # (0.81): E_0 = 0.1 x 0.19 x 0.91 / 0.981. Node 0 takes 1 / (1 + 0.9) of the false failovers.
    e1, e0 = 0.01 * 0.919 / 0.981, 0.1 * 0.19 * 0.91 / 0.981
    assert ss.split_brain_mean_s == pytest.approx((0.9 * e1 + e0) / 1.9, rel=1e-12)


def _brute_force(lost: np.ndarray, n: int) -> tuple[int, float]:
    """Count maximal runs of >= n losses after a received one, and their mean length beyond n."""
    runs, extra, k = 0, 0, 0
    first = int(np.argmax(~lost))  # start from the first received one
    for x in lost[first:]:
        if x:
            k += 1
        else:
            if k >= n:
                runs += 1
                extra += k - n
            k = 0
    return runs, extra / max(runs, 1)


def test_gilbert_elliott_against_a_long_loss_sequence() -> None:
    loss = HeartbeatLoss(model="gilbert_elliott", ge_good_to_bad=0.05, ge_bad_to_good=0.4)
    fig = detection_figures(DetectionConfig(), 100, loss=loss)
    rng = np.random.default_rng(1)
    count = 2_000_000
    u = rng.random(count)
    states = np.empty(count, dtype=bool)
    bad = False
    for i in range(count):  # the link's rule: move state before each packet, then lose it
        bad = (u[i] >= 0.4) if bad else (u[i] < 0.05)
        states[i] = bad
    runs, extra = _brute_force(states, fig.losses_to_fail)  # lost in the bad state only
    expected = fig.false_failovers_per_hour * count / 3600.0
    assert abs(runs - expected) < 4 * np.sqrt(expected)
    assert fig.split_brain_mean_s == pytest.approx(0.390625 + extra, abs=0.05)


def test_bad_loss_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="loss"):
        HeartbeatLoss(1.5)
    with pytest.raises(ConfigError, match="loss_model"):
        HeartbeatLoss(model="burst")


def test_poisson_rate_interval_by_hand() -> None:
    # Garwood's exact 95% limits for a count of 0, 1 and 10 (tables: 0-3.689, 0.0253-5.572, 4.795-18.39),
    # per hour of exposure; over half an hour the rates double
    assert poisson_rate_interval(0, 3600.0) == (0.0, pytest.approx(3.6889, abs=1e-4))
    one = poisson_rate_interval(1, 3600.0)
    assert one == (pytest.approx(0.0253, abs=1e-4), pytest.approx(5.5716, abs=1e-4))
    lo, hi = poisson_rate_interval(10, 1800.0)
    assert (lo, hi) == (pytest.approx(2 * 4.7954, abs=1e-3), pytest.approx(2 * 18.3904, abs=1e-3))
