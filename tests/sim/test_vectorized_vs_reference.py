"""The vectorized ESP data plane gives exactly the metrics of the packet-by-packet SimPy path; runs are
deterministic per seed."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hasim.sim import simulate

from .scenarios import scenario

CASES: dict[str, dict[str, Any]] = {
    "clean": {},
    "lossy": {"links": {"loss": 0.05, "jitter_s": 0.003, "reorder": 0.05, "duplicate": 0.02}},
    "bursty": {
        "traffic": {"model": "poisson", "child_sas": 2, "liveness_interval_s": 2.0},
        "links": {"loss_model": "gilbert_elliott"},
        "policy": {"trigger": "lazy", "ipsec_after_failover": "lenient"},
        "attacker": {"enabled": True, "replay_after_s": 0.0},
    },
    "onoff_two_failovers": {
        "cluster": {"members": 3},
        "traffic": {"model": "onoff", "peers": 2, "liveness_interval_s": 1.5},
        "policy": {"trigger": "on_trigger", "skip_policy": "fixed", "skip_packets": 50},
        "faults": [{"at_s": 10.5}, {"at_s": 14.2}, {"kind": "loss_burst", "at_s": 5.0, "duration_s": 0.3}],
    },
    "esn_huge_skip_rekey": {
        "policy": {"esn": True, "skip_policy": "huge"},
        "links": {"loss": 0.01},
    },
}


def _same(a: dict[str, float | int], b: dict[str, float | int]) -> dict[str, tuple[float, float]]:
    return {
        k: (a[k], b[k])
        for k in a
        if k != "wall_time_s"
        and a[k] != b[k]
        and not (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_vectorized_equals_packet_by_packet(case: str) -> None:
    extra = dict(CASES[case])
    extra.setdefault("faults", [{"at_s": 10.5}])
    cfg = scenario(**{"traffic": {"esp_out_pps": 300.0, "esp_in_pps": 200.0}} | extra)
    if "traffic" in extra:
        cfg = scenario(**extra | {"traffic": {"esp_out_pps": 300.0, "esp_in_pps": 200.0} | extra["traffic"]})
    vec = simulate(cfg, 9).metrics
    ref = simulate(cfg, 9, esp_path="reference").metrics
    assert _same(vec, ref) == {}
    assert vec["esp_out_sent"] > 1000


def test_same_seed_same_row_other_seed_other_row() -> None:
    cfg = scenario(
        links={"loss": 0.02, "jitter_s": 0.002}, traffic={"model": "poisson"}, faults=[{"at_s": 10.5}]
    )
    a, b, c = simulate(cfg, 1).metrics, simulate(cfg, 1).metrics, simulate(cfg, 2).metrics
    assert _same(a, b) == {}
    assert _same(a, c) != {}
