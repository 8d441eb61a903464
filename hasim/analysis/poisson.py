"""Poisson tail sums for the failover model: CDF, survival, truncated means, all in closed form.

Why here: the packets a dead member sent after the standby's last update (RFC 6311 section 5.2)
are Poisson given the staleness when traffic is Poisson, and the IKE exchanges completed in that
time (section 5.1) are Poisson too. The model then needs P(X <= k), E[min(X, c)], E[(X - s)^+]
and an antiderivative of the latter in the mean, for means from 0 to about 1e9.

Numerics: no SciPy. A tail sum starts at the pmf of k (one ``math.lgamma``) and walks away from
the mode with the ratio recurrence p(j-1)/p(j) = j/mu (down) or p(j+1)/p(j) = mu/(j+1) (up),
vectorized with NumPy as a cumulative sum of log ratios. The sum always runs over the tail that
does not contain the mode, so its terms fall at least like exp(-d**2 / (2 mu)) and
12 sqrt(mu) + 60 terms reach far below double precision.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "poisson_cdf",
    "poisson_excess_integral",
    "poisson_mean_excess",
    "poisson_mean_min",
    "poisson_sf",
]


def _log_pmf(k: int, mu: float) -> float:
    return -mu + k * math.log(mu) - math.lgamma(k + 1)


def _terms(mu: float) -> int:
    return int(12.0 * math.sqrt(mu)) + 60


def _lower_tail(k: int, mu: float) -> float:
    """P(X <= k) for k below the mean, summed downward from k."""
    n = min(k + 1, _terms(mu))
    steps = np.log((k - np.arange(n - 1, dtype=np.float64)) / mu)
    logs = np.concatenate(([0.0], np.cumsum(steps)))
    return math.exp(_log_pmf(k, mu) + math.log(float(np.exp(logs).sum())))


def _upper_tail(k: int, mu: float) -> float:
    """P(X > k) for k at or above the mean, summed upward from k + 1."""
    n = _terms(mu)
    steps = np.log(mu / (k + 2 + np.arange(n - 1, dtype=np.float64)))
    logs = np.concatenate(([0.0], np.cumsum(steps)))
    return math.exp(_log_pmf(k + 1, mu) + math.log(float(np.exp(logs).sum())))


def poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu); 0 for k < 0."""
    if k < 0:
        return 0.0
    if mu <= 0.0:
        return 1.0
    if k < mu:
        return min(1.0, _lower_tail(k, mu))
    return max(0.0, 1.0 - _upper_tail(k, mu))


def poisson_sf(k: int, mu: float) -> float:
    """P(X > k) for X ~ Poisson(mu), summed over the far tail directly when k >= mu (no 1 - F)."""
    if k < 0:
        return 1.0
    if mu <= 0.0:
        return 0.0
    if k < mu:
        return max(0.0, 1.0 - _lower_tail(k, mu))
    return min(1.0, _upper_tail(k, mu))


def poisson_mean_min(c: int, mu: float) -> float:
    """E[min(X, c)] = mu P(X <= c - 2) + c P(X >= c), from k p_k = mu p_(k-1)."""
    if c <= 0:
        return 0.0
    return mu * poisson_cdf(c - 2, mu) + c * poisson_sf(c - 1, mu)


def poisson_mean_excess(s: int, mu: float) -> float:
    """E[(X - s)^+] = mu P(X >= s - 1) - s P(X >= s), from k p_k = mu p_(k-1)."""
    if s <= 0:
        return mu - s
    return mu * poisson_sf(s - 2, mu) - s * poisson_sf(s - 1, mu)


def poisson_excess_integral(s: int, y: float) -> float:
    """Integral over mu from 0 to y of E[(X_mu - s)^+], for s >= 0.

    d/dmu P(X_mu >= j+1) = p_j(mu), so the integral equals E[(X_y - s)(X_y - s - 1)/2; X_y > s],
    which the factorial moments E[X(X-1); X >= s] = y**2 P(X >= s - 2) and
    E[X; X >= s] = y P(X >= s - 1) turn into three tail probabilities.
    """
    if s < 0:
        raise ValueError("s must be >= 0")
    if y <= 0.0:
        return 0.0
    s2, s1, s0 = poisson_sf(s - 3, y), poisson_sf(s - 2, y), poisson_sf(s - 1, y)
    return 0.5 * (y * y * s2 - 2.0 * s * y * s1 + s * (s + 1) * s0)
