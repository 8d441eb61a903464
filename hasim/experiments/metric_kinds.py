"""What each metric is (a proportion, a count, a duration, ...), which fixes the range its values and
its confidence interval may take.

A summary interval must never leave what the metric can be: a survival fraction stays in [0, 1], a
count and a time never go below 0. ``hasim.experiments.intervals`` picks the interval from the kind.
The simulator's metrics are declared here, in one table (``SIM_METRIC_KINDS``); a test checks that
every metric a run reports has an entry. A model without a table (a toy model in a test) gets
``VALUE`` (any real number, Student's t) for every metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class MetricKind:
    """A kind of metric: its name and the closed range [lo, hi] its values (and intervals) live in."""

    name: str
    lo: float
    hi: float


PROPORTION = MetricKind("proportion", 0.0, 1.0)
"""A fraction of trials in [0, 1] (e.g. surviving IKE SAs / IKE SAs); binomial interval over runs."""
COUNT = MetricKind("count", 0.0, math.inf)
"""A number of events per run (packets, exchanges), never negative."""
FRACTION = MetricKind("fraction", 0.0, 1.0)
"""A measured share in [0, 1], not a count of trials (e.g. counter space used): Student's t, clipped."""
DURATION = MetricKind("duration", 0.0, math.inf)
"""A time in seconds, never negative."""
VALUE = MetricKind("value", -math.inf, math.inf)
"""Any real number: Student's t interval, unbounded."""

KINDS = {k.name: k for k in (PROPORTION, FRACTION, COUNT, DURATION, VALUE)}

_COUNTS = (
    "ike_sas",
    "ike_sas_survived",
    "ike_sas_deleted_timeout",
    "ike_sas_deleted_other",
    "ike_retransmissions",
    "ike_out_of_window_drops",
    "ike_messages",
    "sync_exchanges_started",
    "sync_exchanges_completed",
    "sync_requests_dropped_stale",
    "sync_responses_dropped",
    "esp_out_sent",
    "esp_out_lost",
    "esp_out_outage",
    "esp_out_accepted",
    "esp_out_replay_drops",
    "esp_in_sent",
    "esp_in_lost",
    "esp_in_outage",
    "esp_in_accepted",
    "esp_in_replay_drops",
    "replayed_packets",
    "replayed_packets_accepted",
    "replayed_esp_accepted",
    "replayed_ike_accepted",
    "iv_reuse_events",
    "rekeys",
    "failovers",
    "flows_not_recovered",
    "sync_channel_bytes",
    "sync_channel_messages",
    "sync_channel_lost",
    "fate_survived",
    "fate_lost_timeout",
    "fate_unknown_to_standby",
    "fate_torn_down",
    "fate_black_holed",
    "fate_undecided",
    "false_failovers",
    "split_brain_sas_lost",
    "split_brain_sas_damaged",
    "takeovers_without_state",
    "preemptions",
    "rejoins",
)
_DURATIONS = (
    "detection_time_s",
    "recovery_time_s",
    "sync_wait_max_s",
    "sync_done_s",
    "wall_time_s",
    "decided_at_s",
    "split_brain_s",
    "false_failover_exposure_s",
)
_PROPORTIONS = ("sa_survival",)

SIM_METRIC_KINDS: Mapping[str, MetricKind] = {
    **{m: COUNT for m in _COUNTS},
    **{m: DURATION for m in _DURATIONS},
    **{m: PROPORTION for m in _PROPORTIONS},
    "counter_space_used": FRACTION,
}
"""The kind of every metric of a simulator run (``hasim.sim`` metrics)."""


def kind_of(metric: str, kinds: Mapping[str, MetricKind] | None) -> MetricKind:
    """The declared kind of ``metric``; ``VALUE`` when the model declares no kinds at all."""
    if kinds is None:
        return VALUE
    if metric not in kinds:
        raise KeyError(f"metric {metric!r} has no declared kind (hasim.experiments.metric_kinds)")
    return kinds[metric]
