"""experiments/model_validation/compare.py on a hand-made runs table: predictions and intervals."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

HERE = Path(__file__).resolve().parents[2] / "experiments" / "model_validation"


def load_compare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("model_validation_compare", HERE / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_rows() -> None:
    compare = load_compare()
    scenario = tomllib.loads((HERE / "scenario.toml").read_text())
    runs = pd.DataFrame(
        {
            "case": ["model"] * 4,
            "cluster.sync_interval_s": [1.0] * 4,
            "policy.skip_packets": [500] * 4,
            "esp_out_replay_drops": [0, 100, 200, 200],
            "sync_requests_dropped_stale": [0, 0, 3, 0],
            "failovers": [1] * 4,
            "error": [None] * 4,
        }
    )
    table = compare.compare(runs, scenario)
    row = table.iloc[0]
    # mean of 0, 100, 200, 200 = 125 = the model's (1000 - 500)^2 / 2000
    assert row["drops_mean"] == pytest.approx(125.0)
    assert row["drops_model"] == pytest.approx(125.0)
    assert bool(row["drops_model_in_ci"])
    # one run of four had its sync dropped; the model (liveness every 0.5 s, T = 1): 1 - 0.75
    assert row["sync_dropped_mean"] == pytest.approx(0.25)
    assert row["sync_dropped_model"] == pytest.approx(0.25)
    assert bool(row["assumptions_hold"])
