"""The first_send trigger asks a flow for its next packet after the takeover; in the scaled engine a
flow whose current epoch holds no more offered times must ask its arrival process (it once asked
itself again, without end, and the run failed with RecursionError)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hasim.experiments.sweep_spec import run_seed
from hasim.sim import scenario_from_dict, simulate, with_overrides

from ..scenarios import metric_diff

SCENARIO = Path(__file__).parents[3] / "experiments" / "eager_vs_lazy" / "scenario.toml"


def test_first_send_beyond_the_epoch_matches_the_per_flow_engine() -> None:
    # experiment 4's point (first_send, 100 peers, 10 exchanges/s), replication 3 of root seed 7007:
    # an on/off flow silent past the bank's epoch when the takeover asks for its next packet
    base = tomllib.loads(SCENARIO.read_text())
    cfg = scenario_from_dict(with_overrides(base, {"policy.trigger": "first_send"}))
    seed = run_seed(7007, 3)
    scaled = simulate(cfg, seed, esp_path="scaled").metrics
    assert scaled["sync_exchanges_started"] == 100
    assert metric_diff(scaled, simulate(cfg, seed, esp_path="vectorized").metrics) == {}
