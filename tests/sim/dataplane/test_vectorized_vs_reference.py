"""The vectorized ESP data plane gives exactly the metrics of the packet-by-packet SimPy path; runs are
deterministic per seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.sim import simulate

from ..scenarios import metric_diff, scenario

S2S = Path(__file__).resolve().parents[3] / "experiments" / "scenarios" / "site_to_site.toml"

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
        "policy": {"trigger": "out_of_window", "skip_policy": "fixed", "skip_packets": 50},
        "faults": [{"at_s": 10.5}, {"at_s": 14.2}, {"kind": "loss_burst", "at_s": 5.0, "duration_s": 0.3}],
    },
    "esn_huge_skip_rekey": {
        "policy": {"esn": True, "skip_policy": "large"},
        "links": {"loss": 0.01},
    },
    # split brains: both members send ESP with their own counters to the same window
    "split_brain_lossy": {
        "traffic": {"child_sas": 2, "liveness_interval_s": 1.5},
        "links": {"loss": 0.05, "jitter_s": 0.003, "reorder": 0.05, "duplicate": 0.02},
        "policy": {"skip_policy": "fixed", "skip_packets": 200},
        "faults": [{"kind": "sync_partition", "at_s": 3.0, "duration_s": 5.0}, {"at_s": 14.5}],
    },
    "split_brain_three_masters_bursty": {
        "cluster": {"members": 3},
        "traffic": {"model": "poisson", "liveness_interval_s": 2.0},
        "links": {"loss_model": "gilbert_elliott"},
        "faults": [{"kind": "sync_partition", "at_s": 3.0, "duration_s": 6.0}],
    },
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
    assert metric_diff(vec, ref) == {}
    assert vec["esp_out_sent"] > 1000


def test_same_seed_same_row_other_seed_other_row() -> None:
    cfg = scenario(
        links={"loss": 0.02, "jitter_s": 0.002}, traffic={"model": "poisson"}, faults=[{"at_s": 10.5}]
    )
    a, b, c = simulate(cfg, 1).metrics, simulate(cfg, 1).metrics, simulate(cfg, 2).metrics
    assert metric_diff(a, b) == {}
    assert metric_diff(a, c) != {}


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    loss=st.sampled_from([0.0, 0.02, 0.2]),
    jitter=st.sampled_from([0.0, 0.004]),
    reorder=st.sampled_from([0.0, 0.1]),
    duplicate=st.sampled_from([0.0, 0.05]),
    crash=st.floats(6.0, 12.0),
    skip=st.integers(0, 400),
    model=st.sampled_from(["constant", "poisson", "onoff"]),
)
def test_property_vectorized_equals_reference(
    seed: int,
    loss: float,
    jitter: float,
    reorder: float,
    duplicate: float,
    crash: float,
    skip: int,
    model: str,
) -> None:
    cfg = scenario(
        scenario={"duration_s": 15.0},
        traffic={"esp_out_pps": 150.0, "esp_in_pps": 90.0, "model": model, "liveness_interval_s": 3.0},
        links={"loss": loss, "jitter_s": jitter, "reorder": reorder, "duplicate": duplicate},
        policy={"skip_policy": "fixed", "skip_packets": skip},
        faults=[{"at_s": crash}],
    )
    assert metric_diff(simulate(cfg, seed).metrics, simulate(cfg, seed, esp_path="reference").metrics) == {}


def test_same_row_in_another_process() -> None:
    code = (
        "import json; from hasim.sim import simulate, load_scenario;"
        f"m = simulate(load_scenario({str(S2S)!r}), 5).metrics; m.pop('wall_time_s');"
        "print(json.dumps(m, sort_keys=True))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(h)},
        ).stdout
        for h in (1, 2)
    }
    assert len(outs) == 1
