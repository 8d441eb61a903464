"""Failure detection in closed form: detection time, false failovers and split brain from heartbeat loss.

The model is the one the simulator runs (:mod:`hasim.protocol.membership`): the master advertises every
I seconds, a backup takes over when nothing arrived for the master-down interval MDI (VRRP: RFC 5798
6.1; strongSwan HA: the heartbeat timeout). Derivation (docs/model.md section 7):

- Loss-free, a crash is detected MDI after the last advertisement received; with one-way latency L
  and the crash at a uniform phase of the advertisement schedule, detection - crash is uniform on
  (L + MDI - I, L + MDI], mean L + MDI - I/2.
- A backup that received advertisement k times out iff the next n are all lost, where n is the
  least n with (n + 1) I >= MDI (ties go to the timer): VRRP 1 s, priority 100: 3.609375 s, n = 3;
  strongSwan 1 s / 2.1 s: n = 2. Each maximal run of >= n losses after a received advertisement
  gives exactly one false failover (the backup serves until the master's next advertisement reaches
  it and it steps down), so false failovers per hour = 3600 / I x P(received, then n lost).
- Split brain of one false failover: from the timeout (MDI after the last received) to the first
  advertisement that arrives again: (n + 1) I - MDI + I E[K], K the further losses in the run (VRRP:
  the master outranks the backup, which steps down on hearing it). strongSwan's HA rules end it
  sooner (the member that took over pushes HA_SEGMENT_TAKE; node 1 keeps the SAs):
  :mod:`hasim.analysis.strongswan_split`.

Loss per advertisement is a Markov chain (hasim's link: Bernoulli is one state with loss p;
Gilbert-Elliott moves state before each packet, then loses it with the state's probability); with
transition matrix P, stationary law pi, R = diag(1 - l), Q = P diag(l):
P(received, then n lost) = v 1 with v = pi R Q^n, and E[K] = v Q (I - Q)^-1 1 / v 1. Exact when
the link's jitter stays below (n + 1) I - MDI.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hasim.analysis.poisson import poisson_cdf, poisson_sf
from hasim.analysis.strongswan_split import strongswan_split_brain_mean
from hasim.errors import ConfigError
from hasim.protocol.membership import DetectionConfig, DetectionStyle

__all__ = [
    "DetectionFigures",
    "HeartbeatLoss",
    "detection_figures",
    "losses_to_fail",
    "poisson_rate_interval",
]

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class HeartbeatLoss:
    """Loss of advertisements on the cluster link (the same fields as a link section)."""

    loss: float = 0.0
    """Bernoulli loss probability (model "bernoulli")."""
    model: str = "bernoulli"
    ge_good_to_bad: float = 0.01
    ge_bad_to_good: float = 0.3
    ge_loss_good: float = 0.0
    ge_loss_bad: float = 1.0

    def __post_init__(self) -> None:
        if self.model not in ("bernoulli", "gilbert_elliott"):
            raise ConfigError("loss_model", f"must be bernoulli or gilbert_elliott, got {self.model!r}")
        for name in ("loss", "ge_good_to_bad", "ge_bad_to_good", "ge_loss_good", "ge_loss_bad"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ConfigError(name, f"must lie in [0, 1], got {value}")

    def chain(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(transition matrix, stationary law, loss probability per state) of the loss process."""
        if self.model == "bernoulli":
            return np.ones((1, 1)), np.ones(1), np.array([self.loss])
        g2b, b2g = self.ge_good_to_bad, self.ge_bad_to_good
        trans = np.array([[1.0 - g2b, g2b], [b2g, 1.0 - b2g]])
        total = g2b + b2g
        pi = np.array([1.0, 0.0]) if total == 0 else np.array([b2g / total, g2b / total])
        return trans, pi, np.array([self.ge_loss_good, self.ge_loss_bad])

    @property
    def mean_loss(self) -> float:
        """Long-run fraction of advertisements lost."""
        _, pi, loss = self.chain()
        return float(pi @ loss)


@dataclass(frozen=True)
class DetectionFigures:
    """What a detection configuration does, loss-free and with heartbeat loss."""

    style: str
    interval_s: float
    priority: int
    master_down_s: float
    """Detection = last advertisement received + this (RFC 5798 6.1 Master_Down_Interval)."""
    skew_s: float
    detection_min_s: float
    detection_mean_s: float
    detection_max_s: float
    """Loss-free crash -> takeover, the crash at a uniform phase (one-way latency included)."""
    losses_to_fail: int
    """Advertisements lost in a row that make a backup take over from a live master."""
    heartbeat_loss: float
    """Long-run fraction of advertisements lost."""
    false_failovers_per_hour: float
    split_brain_mean_s: float
    """Mean split brain per false failover (nan without false failovers)."""
    split_brain_s_per_hour: float


def losses_to_fail(interval: float, master_down: float) -> int:
    """Least n with (n + 1) x interval >= master_down: n lost in a row after a received one time out."""
    n = 0
    while (n + 1) * interval < master_down:
        n += 1
    return n


def detection_figures(
    cfg: DetectionConfig, priority: int = 100, latency: float = 0.0, loss: HeartbeatLoss | None = None
) -> DetectionFigures:
    """Closed-form detection figures of ``cfg`` for a backup of ``priority`` over a link of ``latency``."""
    if not (math.isfinite(latency) and latency >= 0.0):
        raise ConfigError("latency", f"must be >= 0 s, got {latency}")
    loss = loss or HeartbeatLoss()
    ivl = cfg.interval
    mdi = cfg.master_down_interval(priority)
    n = losses_to_fail(ivl, mdi)
    trans, pi, lost = loss.chain()
    lose_step = trans * lost[np.newaxis, :]
    v = pi * (1.0 - lost)  # received, in its state
    for _ in range(n):
        v = v @ lose_step
    p_fail = float(v.sum())
    rate = SECONDS_PER_HOUR / ivl * p_fail
    if p_fail <= 0.0:
        split = math.nan
    else:
        eye = np.eye(lose_step.shape[0])
        try:
            tail = np.linalg.solve(eye - lose_step, lose_step @ np.ones(lose_step.shape[0]))
            extra = float(v @ tail) / p_fail
        except np.linalg.LinAlgError:
            extra = math.inf
        split = (n + 1) * ivl - mdi + ivl * extra
        if cfg.style is DetectionStyle.STRONGSWAN:  # a TAKE, or node 1's heartbeat, ends it sooner
            split = strongswan_split_brain_mean(ivl, mdi, n, latency, loss.mean_loss)
    return DetectionFigures(
        style=str(cfg.style),
        interval_s=ivl,
        priority=priority,
        master_down_s=mdi,
        skew_s=cfg.skew(priority) if cfg.style is DetectionStyle.VRRP else 0.0,
        detection_min_s=latency + mdi - ivl,
        detection_mean_s=latency + mdi - ivl / 2,
        detection_max_s=latency + mdi,
        losses_to_fail=n,
        heartbeat_loss=loss.mean_loss,
        false_failovers_per_hour=rate,
        split_brain_mean_s=split,
        split_brain_s_per_hour=0.0 if p_fail <= 0.0 else rate * split,
    )


def poisson_rate_interval(count: int, exposure_s: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson rate per hour from ``count`` events in ``exposure_s`` seconds.

    The bounds are the means mu with P(X >= count | mu) = (1 - level)/2 and P(X <= count | mu) =
    (1 - level)/2, found by bisection (no count: lower 0, upper -ln((1 - level)/2)).
    """
    if count < 0 or not (math.isfinite(exposure_s) and exposure_s > 0):
        raise ConfigError("exposure_s", f"need count >= 0 and exposure > 0, got {count}, {exposure_s}")
    tail = (1.0 - level) / 2

    def solve(f: Callable[[float], float], target: float) -> float:
        lo, hi = 0.0, max(10.0, 4.0 * count + 10.0)
        for _ in range(200):
            mid = (lo + hi) / 2
            if f(mid) < target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    lower = 0.0 if count == 0 else solve(lambda mu: poisson_sf(count - 1, mu), tail)
    upper = solve(lambda mu: 1.0 - poisson_cdf(count, mu), 1.0 - tail)
    per_hour = SECONDS_PER_HOUR / exposure_s
    return lower * per_hour, upper * per_hour
