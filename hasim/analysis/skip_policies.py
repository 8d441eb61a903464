"""Failure detection time and the "estimate" skip policy, in the terms of the failover model.

Why: RFC 6311 section 5.2 says the skip "is based on the outgoing IPsec bandwidth and the frequency
of synchronization". A member can estimate it at takeover as rate x (time since its last update)
x a safety factor f (hasim's ``policy.skip_policy = "estimate"``). That time is A + D, the
staleness plus the detection time, so the estimate covers N (packets sent during A only) with room
to spare, but spends f r (E[A] + D) sequence numbers per failover, D included. This module gives
D from VRRP's parameters (RFC 5798 section 6.1) and the estimate policy's cost and residual drops,
to set beside the quantile-sized fixed skip of :func:`~hasim.analysis.failover_model.min_skip_forward`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hasim.analysis.failover_model import FailoverParams, staleness
from hasim.analysis.poisson import poisson_mean_excess, poisson_sf
from hasim.errors import ConfigError
from hasim.protocol.membership import DetectionConfig

__all__ = ["EstimatePolicy", "estimate_policy", "master_down_interval"]

_POINTS = 400  # midpoints per uniform piece of A


def master_down_interval(advertisement: float, multiplier: int = 3, priority: int = 100) -> float:
    """RFC 5798 6.1: multiplier x Advertisement_Interval + Skew_Time, Skew = (256 - priority) x ivl / 256.

    The detection time of a crash is this minus the time since the last advertisement, so this is
    the worst case (the model's conservative D); VRRP's defaults (1 s, 3, priority 100) give 3.609375 s.
    """
    if not (math.isfinite(advertisement) and advertisement > 0):
        raise ConfigError("advertisement", f"must be > 0 s, got {advertisement}")
    if multiplier < 1:
        raise ConfigError("multiplier", f"must be >= 1, got {multiplier}")
    if not 1 <= priority <= 255:
        raise ConfigError("priority", f"must lie in 1..255, got {priority}")
    return DetectionConfig(interval=advertisement, multiplier=multiplier).master_down_interval(priority)


@dataclass(frozen=True)
class EstimatePolicy:
    """What skip = ceil(f r (A + D)) does: its mean (the counter cost) and the drops it leaves."""

    factor: float
    expected_skip: float
    p_drop: float
    expected_drops: float


def estimate_policy(params: FailoverParams, factor: float = 2.0) -> EstimatePolicy:
    """Mean skip, P(N > skip) and E[(N - skip)^+] for skip = ceil(factor r (A + D)) (R5.2-2).

    Integrated over A by the midpoint rule on each uniform piece. Given A = a, constant traffic has
    N = floor(ra + V) (P(N > m) = clip(ra - m, 0, 1), E[(N - m)^+] = (ra - m)^+); Poisson traffic
    has N ~ Poisson(ra).
    """
    if not (math.isfinite(factor) and factor >= 1.0):
        raise ConfigError("factor", f"must be >= 1, got {factor}")
    r, d = params.rate, params.detection
    skip_mean = p_drop = drops = 0.0
    for weight, start, end in staleness(params).pieces():
        a = start + (np.arange(_POINTS) + 0.5) * (end - start) / _POINTS
        m = np.ceil(factor * r * (a + d))
        skip_mean += weight * float(m.mean())
        if params.traffic == "constant":
            p_drop += weight * float(np.clip(r * a - m, 0.0, 1.0).mean())
            drops += weight * float(np.maximum(r * a - m, 0.0).mean())
        else:
            p = [poisson_sf(int(mi), r * ai) for ai, mi in zip(a, m, strict=True)]
            e = [poisson_mean_excess(int(mi), r * ai) for ai, mi in zip(a, m, strict=True)]
            p_drop += weight * float(np.mean(p))
            drops += weight * float(np.mean(e))
    return EstimatePolicy(factor=factor, expected_skip=skip_mean, p_drop=p_drop, expected_drops=drops)
