"""The runner submits the runs estimated longest first, so that no long run starts last and keeps one
worker busy while the others stand idle; the results folder keeps the sweep's order and the metrics
do not change (each run's seed comes from its key)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from hasim.experiments.model import simulator_model
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep

S2S = Path(__file__).resolve().parents[2] / "experiments" / "scenarios" / "site_to_site.toml"
# ESP packets grow with the peers (each its own tunnel), and the estimated CPU time with them.
SWEEP = f"""\
[sweep]
name = "order"
base = "{S2S.as_posix()}"
replications = 2
root_seed = 5

[fixed]
"scenario.duration_s" = 25.0

[[axes]]
kind = "grid"
key = "traffic.peers"
values = [1, 6, 3]
"""


def test_longest_runs_go_first_and_the_results_keep_the_sweeps_order(tmp_path: Path) -> None:
    (tmp_path / "sweep.toml").write_text(SWEEP)
    spec = load_sweep(tmp_path / "sweep.toml")
    model = simulator_model()
    started: list[int] = []  # the peers of each run, in the order the one in-process worker starts them

    def run(config: dict[str, Any], seed: int) -> dict[str, Any]:
        started.append(config["traffic"]["peers"])
        return model.run(config, seed)

    run_sweep(spec, tmp_path / "w1", model=dataclasses.replace(model, run=run), workers=1, progress=False)
    assert started == [6, 6, 3, 3, 1, 1]
    runs = pd.read_parquet(tmp_path / "w1" / "runs.parquet")
    assert list(runs["index"]) == list(range(6))
    assert list(runs["traffic.peers"]) == [1, 1, 6, 6, 3, 3]
    run_sweep(spec, tmp_path / "w2", workers=2, progress=False)
    cols = [c for c in runs.columns if c not in ("run_wall_s", "wall_time_s")]
    pd.testing.assert_frame_equal(runs[cols], pd.read_parquet(tmp_path / "w2" / "runs.parquet")[cols])
