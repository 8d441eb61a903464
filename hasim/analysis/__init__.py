"""Closed-form failover model behind ``hasim advise``; depends on no simulator floor.

Derivation: :mod:`hasim.analysis.failover_model` and docs/model.md (RFC 6311 sections 5.1, 5.2,
7, 8; RFC 4303 section 3.3.3).
"""

from __future__ import annotations

from hasim.analysis.advice import Advice, advise
from hasim.analysis.counter_space import failovers_until_rekey
from hasim.analysis.detection import DetectionFigures, HeartbeatLoss, detection_figures
from hasim.analysis.failover_model import (
    FailoverParams,
    expected_replay_drops,
    max_sync_interval,
    mid_stale_probability,
    min_skip_forward,
    p_no_replay_drop,
    strict_sync_survival,
)

__all__ = [
    "Advice",
    "DetectionFigures",
    "FailoverParams",
    "HeartbeatLoss",
    "advise",
    "detection_figures",
    "expected_replay_drops",
    "failovers_until_rekey",
    "max_sync_interval",
    "mid_stale_probability",
    "min_skip_forward",
    "p_no_replay_drop",
    "strict_sync_survival",
]
