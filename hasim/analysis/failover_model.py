"""Closed-form model of one hot-standby failover: replay drops, stale Message IDs, exposure, cost.

Why: simulation answers "what happens at these settings"; design reviews also ask "what settings
do we need". This module answers the second in closed form; ``hasim advise`` prints it and
experiments/model_validation checks it against the simulator. Full text: docs/model.md.

Setting (one IKE SA, one Child SA per direction)
-----------------------------------------------
The active member sends ESP at r packets/s and takes a sync update of its state (outgoing ESP
counter, Message IDs, inbound window) every T seconds; an update reaches the standby L seconds
later, or is lost with probability q, independently. The member crashes at a time uniform over
a long run; the standby takes over D seconds later (D = master-down interval: multiplier x
advertisement + skew, e.g. VRRP 3 x 1 s + skew).

1. Staleness (:mod:`hasim.analysis.staleness`). The standby's state at takeover is the newest
   update taken at least ``lag`` before the crash, with lag = max(0, L - D) when updates in flight
   at the crash still arrive (default) or lag = L when the crash loses them too. The crash phase
   within a period is U ~ Uniform[0, T); each lost update pushes the age back a period:
   A = lag + U + J T with P(J = j) = (1 - q) q**j. Loss-free and "lost" in-flight updates give the
   textbook A ~ Uniform[L, L + T).

2. Outbound replay drops (RFC 6311 section 5.2; RFC 4303 section 3.4.3). The counter holds the
   last number sent (RFC 4303 section 3.3.3: the first packet carries 1). Let c be the counter in
   the standby's update and N the packets the dead member sent after it (numbers c+1 .. c+N;
   :mod:`hasim.analysis.packet_count`: N = floor(rA + V) for constant rate with an independent
   phase, Poisson(rA) given A for Poisson traffic). Assume the data path from the dead member
   delivered all of them in order, so the peer's right edge is c + N with every number in its
   window marked as seen. The new member skips forward by s and sends c+s+1, c+s+2, ...; the
   peer's right edge stays at c + N until a number passes it, so packet c+s+k is dropped iff
   c+s+k <= c+N: as DUPLICATE when it lies in the window (the last min(W, N-s) drops), as TOO_OLD
   below it (the first (N - s - W)^+). Drops = (N - s)^+ exactly, whatever W, and

       P(no drop) = P(N <= s),  E[drops] = E[(N - s)^+],  p-quantile = (Q_N(p) - s)^+,
       minimal s for a target p:  s* = Q_N(p) = min{n : P(N <= n) >= p},
       maximal T for a given s: the largest T with P(N <= s | T) >= p (A grows with T).

   Loss or reordering on the data path leaves holes in the peer's window, which the new member's
   packets may fill: then the drops are fewer, so (N - s)^+ is an upper bound. D does not enter
   (nobody sends on the outbound SA between crash and takeover) except through ``lag``.

3. Stale Message IDs (RFC 6311 section 5.1, R5.1-5). IKE requests the cluster initiates (DPD,
   rekeys) form a Poisson process of rate lambda. The standby's Message IDs are stale iff one
   happened during A: P(stale) = 1 - E[exp(-lambda A)] (Laplace transform of the mixture).
   (Periodic liveness checks with a random phase count like constant-rate packets instead:
   K = floor(lambda A + V), ``ike_process="constant"``.) With K such requests (numbers
   n0 .. n0+K-1 after the snapshot's next ID n0) and the sync request sent with M1 = n0 + i
   (R5.1-2: i >= the IKE window; hasim's member uses i = window + policy.m1_margin):
   * strict reading (highest value seen = any request from the cluster): the peer drops the sync
     iff M1 <= n0 + K - 1, so the IKE SA survives iff K <= i: P = P(K <= i), and the minimal
     increment for a target p is Q_K(p);
   * sync_only reading (highest M1 of earlier sync requests): the first failover always
     resynchronizes (R5.1-6, R5.1-7 take the max), P = 1.
   Peer-initiated exchanges only make P1 stale, which R5.1-7 repairs under both readings.

4. Inbound exposure (RFC 6311 sections 5.2, 8.2). The peer keeps sending at r_in through A and
   the detection time, so N_in counts packets of rate r_in in A + D (same model, lag + D). The
   standby's window knows none of them. A delta of at least N_in in IPSEC_REPLAY_COUNTER_SYNC
   (R5.2-4) moves the peer past them; the minimal delta for a target p is Q_(N_in)(p).
   * lenient (accept outside the window for a grace period G, R8.2-1): all N_in captured packets
     can be replayed into the new member during G: exposure E[N_in] packets for G seconds;
   * strict (accept only above c_in + delta): no replay of them is accepted when delta >= N_in
     (E[(N_in - delta)^+] otherwise, at most W of those inside the window), but legitimate
     packets the peer sends before it applies the delta are dropped: at most
     min(r_in t_resync, E[(delta - N_in)^+]) by Jensen (min is concave).

5. Counter space (:mod:`hasim.analysis.counter_space`): each failover spends s numbers;
   (2**32 - 1 - used) // s failovers fit without ESN, (2**64 - 1 - used) // s with ESN; the
   RFC's fallback s = 2**30 leaves 3 failovers on a non-ESN SA before a rekey is forced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hasim.analysis.packet_count import PacketCount, Traffic
from hasim.analysis.staleness import InFlight, Staleness, effective_lag
from hasim.errors import ConfigError

__all__ = [
    "FailoverParams",
    "InboundExposure",
    "drop_breakdown",
    "expected_replay_drops",
    "inbound_count",
    "inbound_exposure",
    "max_sync_interval",
    "mid_stale_probability",
    "min_mid_increment",
    "min_replay_delta",
    "min_skip_forward",
    "outbound_count",
    "p_no_replay_drop",
    "replay_drop_quantile",
    "staleness",
    "strict_sync_survival",
]

_MAX_LOSS = 0.9


def _check(key: str, ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(key, message)


def _finite(x: float) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


@dataclass(frozen=True)
class FailoverParams:
    """The model's inputs; units are packets, seconds and probabilities (see the module docstring)."""

    rate: float
    sync_interval: float
    detection: float
    latency: float = 0.0
    sync_loss: float = 0.0
    traffic: Traffic = "constant"
    in_flight: InFlight = "delivered"
    inbound_rate: float | None = None
    ike_rate: float = 0.0
    ike_process: Traffic = "poisson"
    ike_window: int = 1
    replay_window: int = 32
    esn: bool = False

    def __post_init__(self) -> None:
        _check("rate", _finite(self.rate) and self.rate >= 0, f"must be >= 0 packets/s, got {self.rate}")
        _check(
            "sync_interval",
            _finite(self.sync_interval) and self.sync_interval > 0,
            f"must be > 0 s, got {self.sync_interval}",
        )
        _check(
            "detection",
            _finite(self.detection) and self.detection >= 0,
            f"must be >= 0 s, got {self.detection}",
        )
        _check("latency", _finite(self.latency) and self.latency >= 0, f"must be >= 0 s, got {self.latency}")
        _check(
            "sync_loss",
            _finite(self.sync_loss) and 0 <= self.sync_loss <= _MAX_LOSS,
            f"must lie in [0, {_MAX_LOSS}], got {self.sync_loss}",
        )
        _check(
            "traffic",
            self.traffic in ("constant", "poisson"),
            f"must be constant or poisson, got {self.traffic!r}",
        )
        _check(
            "in_flight",
            self.in_flight in ("delivered", "lost"),
            f"must be delivered or lost, got {self.in_flight!r}",
        )
        if self.inbound_rate is not None:
            _check(
                "inbound_rate",
                _finite(self.inbound_rate) and self.inbound_rate >= 0,
                f"must be >= 0 packets/s, got {self.inbound_rate}",
            )
        _check(
            "ike_rate",
            _finite(self.ike_rate) and self.ike_rate >= 0,
            f"must be >= 0 per s, got {self.ike_rate}",
        )
        _check(
            "ike_process",
            self.ike_process in ("constant", "poisson"),
            f"must be constant (periodic) or poisson, got {self.ike_process!r}",
        )
        _check("ike_window", self.ike_window >= 1, f"must be >= 1, got {self.ike_window}")
        _check("replay_window", self.replay_window >= 1, f"must be >= 1, got {self.replay_window}")

    @property
    def rate_in(self) -> float:
        """The peer's sending rate on the inbound SA (defaults to the outbound rate)."""
        return self.rate if self.inbound_rate is None else self.inbound_rate


def _target(p: float) -> float:
    _check("target_survival", _finite(p) and 0.0 < p < 1.0, f"must lie strictly between 0 and 1, got {p}")
    return p


def staleness(params: FailoverParams, sync_interval: float | None = None) -> Staleness:
    """The distribution of A, the age of the standby's state when the active member crashes (step 1)."""
    lag = effective_lag(params.latency, params.detection, params.in_flight)
    period = params.sync_interval if sync_interval is None else sync_interval
    return Staleness(lag=lag, period=period, loss=params.sync_loss)


def outbound_count(params: FailoverParams, sync_interval: float | None = None) -> PacketCount:
    """N: packets the dead member sent after the standby's last delivered update (step 2)."""
    return PacketCount(params.rate, staleness(params, sync_interval), params.traffic)


def p_no_replay_drop(params: FailoverParams, skip: int) -> float:
    """P(N <= s): the probability that no packet of the new member is dropped as a replay."""
    return outbound_count(params).cdf(skip)


def expected_replay_drops(params: FailoverParams, skip: int) -> float:
    """E[(N - s)^+]: expected packets of the new member the peer drops as replays."""
    return outbound_count(params).expected_excess(skip)


def replay_drop_quantile(params: FailoverParams, skip: int, p: float) -> int:
    """The p-quantile of the drops (N - s)^+, i.e. (Q_N(p) - s)^+."""
    return max(0, outbound_count(params).quantile(_target(p)) - skip)


def drop_breakdown(params: FailoverParams, skip: int) -> tuple[float, float]:
    """(expected DUPLICATE drops, expected TOO_OLD drops): the first (N - s - W)^+ are too old."""
    count = outbound_count(params)
    total = count.expected_excess(skip)
    too_old = count.expected_excess(skip + params.replay_window)
    return total - too_old, too_old


def min_skip_forward(params: FailoverParams, target: float) -> int:
    """s* = Q_N(target): the smallest skip forward with P(no replay drop) >= target (R5.2-1, R5.2-2)."""
    return outbound_count(params).quantile(_target(target))


def max_sync_interval(params: FailoverParams, skip: int, target: float) -> float:
    """The largest T with P(N <= skip | T) >= target; 0.0 if even T -> 0 fails, inf if no T fails."""
    _target(target)
    if params.rate == 0.0:
        return math.inf

    def ok(period: float) -> bool:
        return outbound_count(params, period).cdf(skip) >= target

    lo = 1e-9
    if not ok(lo):
        return 0.0
    hi = max(2.0 * (skip + 1) / params.rate, 1e-6)
    while ok(hi):
        lo, hi = hi, hi * 2.0
        if hi > 1e12:
            return math.inf
    while hi - lo > 1e-9 * hi:
        mid = (lo + hi) / 2.0
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


def mid_stale_probability(params: FailoverParams) -> float:
    """P(K >= 1): a cluster-initiated IKE exchange happened after the last update (R5.1-1).

    Poisson exchanges: 1 - E[exp(-lambda A)]; periodic ones (liveness checks every 1/lambda s with a
    random phase): 1 - P(floor(lambda A + V) = 0).
    """
    if params.ike_process == "poisson":
        return 1.0 - staleness(params).laplace(params.ike_rate)
    return 1.0 - _ike_count(params).cdf(0)


def _ike_count(params: FailoverParams) -> PacketCount:
    return PacketCount(params.ike_rate, staleness(params), params.ike_process)


def strict_sync_survival(params: FailoverParams, increment: int | None = None) -> float:
    """P(K <= i): the strict reading of R5.1-5 accepts the sync request (i defaults to the IKE window)."""
    i = params.ike_window if increment is None else increment
    return _ike_count(params).cdf(i)


def min_mid_increment(params: FailoverParams, target: float) -> int:
    """The smallest M1 increment i with P(K <= i) >= target under the strict reading (at least the window)."""
    return max(params.ike_window, _ike_count(params).quantile(_target(target)))


def inbound_count(params: FailoverParams) -> PacketCount:
    """N_in: packets the peer sent after the standby's last update until takeover (step 4)."""
    base = staleness(params)
    shifted = Staleness(lag=base.lag + params.detection, period=base.period, loss=base.loss)
    return PacketCount(params.rate_in, shifted, params.traffic)


def min_replay_delta(params: FailoverParams, target: float) -> int:
    """The smallest IPSEC_REPLAY_COUNTER_SYNC delta covering N_in with probability target (R5.2-4)."""
    return inbound_count(params).quantile(_target(target))


@dataclass(frozen=True)
class InboundExposure:
    """Replay exposure on the inbound SA under the two R8.2-1 policies (step 4)."""

    expected_unseen: float  # E[N_in]: replayable during the grace period under the lenient policy
    strict_replayable: float  # E[(N_in - delta)^+] (an upper bound: at most W lie in the window)
    strict_legit_drops_bound: float  # min(r_in t_resync, E[(delta - N_in)^+])


def inbound_exposure(params: FailoverParams, delta: int, resync_time: float = 0.0) -> InboundExposure:
    """Exposure and cost of each inbound policy for a requested delta (R5.2-4, R8.2-1)."""
    _check("resync_time", _finite(resync_time) and resync_time >= 0, f"must be >= 0 s, got {resync_time}")
    count = inbound_count(params)
    mean = count.mean()
    over = count.expected_excess(delta)
    under = delta - mean + over  # E[(delta - N)^+] = delta - E[N] + E[(N - delta)^+]
    return InboundExposure(
        expected_unseen=mean,
        strict_replayable=over,
        strict_legit_drops_bound=min(params.rate_in * resync_time, max(0.0, under)),
    )
