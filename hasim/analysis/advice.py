"""The numbers ``hasim advise`` reports, gathered from the failover model in one frozen value.

Why: one function computes every figure a design review asks for (RFC 6311 sections 5.1, 5.2,
8.2; RFC 4303 section 3.3.3), so that the text output and ``--json`` cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hasim.analysis.counter_space import counter_fraction, failovers_until_rekey
from hasim.analysis.detection import DetectionFigures
from hasim.analysis.failover_model import (
    FailoverParams,
    drop_breakdown,
    expected_replay_drops,
    inbound_count,
    inbound_exposure,
    max_sync_interval,
    mid_stale_probability,
    min_mid_increment,
    min_replay_delta,
    min_skip_forward,
    outbound_count,
    staleness,
    strict_sync_survival,
)
from hasim.analysis.skip_policies import estimate_policy
from hasim.errors import ConfigError

__all__ = ["FORMULAS", "RFC_FALLBACK_SKIP", "Advice", "advise"]

#: The skip RFC 6311 section 5.2 suggests when the rate is hard to estimate.
RFC_FALLBACK_SKIP = 2**30

FORMULAS: dict[str, str] = {
    "staleness": "A = lag + U + J*T, U ~ U[0,T), P(J=j) = (1-q) q^j, lag = max(0, L - D) or L",
    "packets": "N = floor(r*A + V), V ~ U(0,1] (constant) or N | A ~ Poisson(r*A) (poisson)",
    "replay_drops": "drops = max(0, N - s); P(no drop) = P(N <= s)",
    "min_skip_forward": "s* = min{n : P(N <= n) >= target}",
    "max_sync_interval": "T* = max{T : P(N <= s | T) >= target}",
    "mid_stale": "P(stale) = 1 - E[exp(-lambda*A)]; strict R5.1-5: K <= M1 increment, K ~ Poisson(lambda*A)",
    "inbound": "N_in ~ packets at r_in in A + D; delta* = min{n : P(N_in <= n) >= target}",
    "counter_space": "failovers until rekey = (2^32 - 1 - used) // s (2^64 - 1 with ESN)",
    "estimate_policy": "s = ceil(f*r*(A + D)); cost E[s] = f*r*(E[A] + D)",
    "detection": "takeover = last advertisement received + MDI, MDI = m*I + (256 - prio)*I/256 (VRRP) or "
    "the heartbeat timeout (strongSwan); false failovers/h = 3600/I * P(received, then n lost), "
    "n = min{n : (n+1)*I >= MDI}; split brain each = (n+1)*I - MDI + I*E[further losses] (VRRP; "
    "strongSwan: ended by the HA_SEGMENT_TAKE of the takeover or node 1's heartbeat, "
    "hasim.analysis.strongswan_split)",
}


@dataclass(frozen=True)
class Advice:
    """Every figure of one ``hasim advise`` answer (infinities stand for "unbounded")."""

    params: FailoverParams
    target_survival: float
    staleness_mean_s: float
    expected_packets: float
    min_skip_forward: int
    survival_at_min_skip: float
    margin_packets: float
    margin_s: float
    skip_forward: int
    max_sync_interval_s: float
    expected_drops: float
    expected_duplicate_drops: float
    expected_too_old_drops: float
    counter_fraction: float
    failovers_until_rekey: float
    rfc_fallback_failovers: float
    mid_stale_probability: float
    strict_survival_at_window: float
    strict_min_mid_increment: int
    sync_only_survival: float
    inbound_expected_unseen: float
    inbound_min_delta: int
    inbound_strict_replayable: float
    estimate_factor: float
    estimate_expected_skip: float
    estimate_p_drop: float
    estimate_failovers_until_rekey: float
    detection_model: DetectionFigures | None = None
    """The heartbeat detector's figures, when advertisements were described (``--advertisement``)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: parameters nested under "params", infinities as null, plus the formulas."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if key == "params":
                value = dict(value, inbound_rate=self.params.rate_in)
            out[key] = _json_safe(value)
        out["formulas"] = dict(FORMULAS)
        return out


def _json_safe(value: Any) -> Any:
    """Infinities and NaN (undefined) as null, also inside nested dicts."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def advise(
    params: FailoverParams,
    target: float,
    skip: int | None = None,
    estimate_factor: float = 2.0,
    detection_model: DetectionFigures | None = None,
) -> Advice:
    """Compute the advice for ``params`` at survival target ``target``; ``skip`` defaults to s*.

    ``estimate_factor`` is the safety factor of the rate x time-since-sync policy set beside it.
    """
    s_min = min_skip_forward(params, target)
    if skip is not None and skip < 0:
        raise ConfigError("skip", f"must be >= 0, got {skip}")
    s = s_min if skip is None else skip
    count = outbound_count(params)
    a_mean = staleness(params).mean()
    duplicate, too_old = drop_breakdown(params, s)
    delta = min_replay_delta(params, target)
    estimate = estimate_policy(params, estimate_factor)
    estimate_skip = math.ceil(estimate.expected_skip)
    return Advice(
        params=params,
        target_survival=target,
        staleness_mean_s=a_mean,
        expected_packets=count.mean(),
        min_skip_forward=s_min,
        survival_at_min_skip=count.cdf(s_min),
        margin_packets=s_min - count.mean(),
        margin_s=(s_min / params.rate - a_mean) if params.rate > 0 else math.inf,
        skip_forward=s,
        max_sync_interval_s=max_sync_interval(params, s, target),
        expected_drops=expected_replay_drops(params, s),
        expected_duplicate_drops=duplicate,
        expected_too_old_drops=too_old,
        counter_fraction=counter_fraction(s, params.esn),
        failovers_until_rekey=failovers_until_rekey(s, 0, params.esn),
        rfc_fallback_failovers=failovers_until_rekey(RFC_FALLBACK_SKIP, 0, params.esn),
        mid_stale_probability=mid_stale_probability(params),
        strict_survival_at_window=strict_sync_survival(params),
        strict_min_mid_increment=min_mid_increment(params, target),
        sync_only_survival=1.0,
        inbound_expected_unseen=inbound_count(params).mean(),
        inbound_min_delta=delta,
        inbound_strict_replayable=inbound_exposure(params, delta).strict_replayable,
        estimate_factor=estimate_factor,
        estimate_expected_skip=estimate.expected_skip,
        estimate_p_drop=estimate.p_drop,
        estimate_failovers_until_rekey=failovers_until_rekey(estimate_skip, 0, params.esn),
        detection_model=detection_model,
    )
