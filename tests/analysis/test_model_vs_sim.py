"""The closed-form model against the simulator on a small grid where the model's assumptions hold.

Setting: experiments/model_validation/scenario.toml (constant or Poisson 1000 pps, lossless in-order
link, crash at a uniform phase of the sync period, fixed skip forward). Each cell runs seeded
simulations; the model's prediction must lie inside the simulated mean's 99% t interval (99% rather
than 95% so that a change in how the simulator draws its streams does not fail one cell in twenty
by chance). The drop cells run without liveness checks (they do not touch the ESP counters and
make runs several times slower); the Message ID cell runs them every 0.5 s.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from hasim.analysis.failover_model import FailoverParams, expected_replay_drops, strict_sync_survival
from hasim.experiments.stats import mean_ci
from hasim.sim import simulate
from hasim.sim.scenario.config import scenario_from_dict, with_overrides

SCENARIO = Path(__file__).resolve().parents[2] / "experiments" / "model_validation" / "scenario.toml"


def run_cell(overrides: dict[str, Any], seeds: range) -> list[dict[str, float | int]]:
    base = tomllib.loads(SCENARIO.read_text())
    cfg = scenario_from_dict(with_overrides(base, overrides))
    out = []
    for seed in seeds:
        metrics = simulate(cfg, seed).metrics
        assert metrics["failovers"] == 1
        out.append(metrics)
    return out


def params(traffic: str, interval: float) -> FailoverParams:
    # lag = max(0, 0.5 ms - D) = 0; the cluster's liveness checks are periodic, every 0.5 s (2/s).
    return FailoverParams(
        rate=1000.0,
        sync_interval=interval,
        detection=3.0,
        latency=0.0005,
        traffic="poisson" if traffic == "poisson" else "constant",
        ike_rate=2.0,
        ike_process="constant",
    )


@pytest.mark.slow
@pytest.mark.rfc("R5.2-1")
@pytest.mark.parametrize(
    ("traffic", "interval", "skip"),
    [("constant", 1.0, 0), ("constant", 2.0, 700), ("poisson", 0.5, 100)],
)
def test_simulated_replay_drops_match_the_model(traffic: str, interval: float, skip: int) -> None:
    runs = run_cell(
        {
            "traffic.model": traffic,
            "traffic.liveness_interval_s": 0.0,
            "cluster.sync_interval_s": interval,
            "policy.skip_packets": skip,
        },
        range(40),
    )
    # E[(N - s)^+]: constant T = 1, s = 0: 500; T = 2, s = 700: (2000 - 700)^2 / 4000 = 422.5.
    predicted = expected_replay_drops(params(traffic, interval), skip)
    mean, low, high = mean_ci([float(m["esp_out_replay_drops"]) for m in runs], 0.99)
    assert low <= predicted <= high, f"E[drops] model {predicted:.1f}, sim {mean:.1f} [{low:.1f}, {high:.1f}]"


@pytest.mark.slow
@pytest.mark.rfc("R5.1-5")
def test_strict_peer_drops_stale_syncs_as_predicted() -> None:
    runs = run_cell({"cluster.sync_interval_s": 2.0}, range(30))
    # lambda A ~ U[0, 4), K = floor(lambda A + V); M1 = known + 1 is dropped iff K >= 2:
    # 1 - (H(2) - H(1)) = 1 - (4/8 - 1/8) = 0.625.
    predicted = 1.0 - strict_sync_survival(params("constant", 2.0))
    assert predicted == pytest.approx(0.625)
    mean, low, high = mean_ci([1.0 if m["sync_requests_dropped_stale"] > 0 else 0.0 for m in runs], 0.99)
    assert low <= predicted <= high, (
        f"P(sync dropped) model {predicted:.3f}, sim {mean:.3f} [{low:.3f}, {high:.3f}]"
    )
