"""The closed-form model against the simulator on a small grid where the model's assumptions hold.

Setting: experiments/model_validation/scenario.toml (constant or Poisson 1000 pps, lossless in-order
link, crash at a uniform phase of the sync period, fixed skip forward, liveness every 0.5 s).
For each cell, 30 seeded runs: the model's prediction must lie inside the simulated mean's 99%
t interval (99% rather than 95% so that a change in how the simulator draws its streams does not
fail one cell in twenty by chance).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hasim.analysis.failover_model import FailoverParams, expected_replay_drops, strict_sync_survival
from hasim.experiments.stats import mean_ci
from hasim.sim import simulate
from hasim.sim.config import scenario_from_dict, with_overrides

SCENARIO = Path(__file__).resolve().parents[2] / "experiments" / "model_validation" / "scenario.toml"
SEEDS = range(30)


def run_cell(overrides: dict[str, Any]) -> tuple[list[float], list[float]]:
    base = tomllib.loads(SCENARIO.read_text())
    cfg = scenario_from_dict(with_overrides(base, overrides))
    drops, stale = [], []
    for seed in SEEDS:
        m = simulate(cfg, seed).metrics
        assert m["failovers"] == 1
        drops.append(float(m["esp_out_replay_drops"]))
        stale.append(1.0 if m["sync_requests_dropped_stale"] > 0 else 0.0)
    return drops, stale


@pytest.mark.slow
@pytest.mark.rfc("R5.2-1", "R5.1-5")
@pytest.mark.parametrize(
    ("traffic", "interval", "skip"),
    [("constant", 1.0, 0), ("constant", 2.0, 700), ("poisson", 0.5, 100)],
)
def test_simulated_drops_and_stale_syncs_match_the_model(traffic: str, interval: float, skip: int) -> None:
    drops, stale = run_cell(
        {"traffic.model": traffic, "cluster.sync_interval_s": interval, "policy.skip_packets": skip}
    )
    # lag = max(0, 0.5 ms - D) = 0; liveness every 0.5 s by the cluster: periodic, rate 2/s.
    params = FailoverParams(
        rate=1000.0,
        sync_interval=interval,
        detection=3.0,
        latency=0.0005,
        traffic="poisson" if traffic == "poisson" else "constant",
        ike_rate=2.0,
        ike_process="constant",
    )
    predicted = expected_replay_drops(params, skip)
    mean, low, high = mean_ci(drops, 0.99)
    assert low <= predicted <= high, f"E[drops] model {predicted:.1f}, sim {mean:.1f} [{low:.1f}, {high:.1f}]"
    p_stale_sync = 1.0 - strict_sync_survival(params)
    mean, low, high = mean_ci(stale, 0.99)
    if math.isnan(low):  # every run alike: the interval collapses to the mean
        low = high = mean
    assert low - 1e-9 <= p_stale_sync <= high + 1e-9, (
        f"P(sync dropped) model {p_stale_sync:.3f}, sim {mean:.3f}"
    )
