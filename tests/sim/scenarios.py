"""Small scenario builders shared by the simulator tests (plain dicts, validated by scenario_from_dict)."""

from __future__ import annotations

import math
from typing import Any

from hasim.sim.scenario.config import ScenarioConfig, scenario_from_dict


def scenario(**sections: dict[str, Any]) -> ScenarioConfig:
    """A quiet base scenario (no liveness, no rekey, loss-free 10 ms links, fixed clock phases: heartbeats
    and syncs at whole seconds) with sections merged in."""
    base: dict[str, Any] = {
        "scenario": {"duration_s": 20.0},
        "cluster": {"sync_interval_s": 1.0, "phases": "fixed"},
        "traffic": {
            "esp_out_pps": 1000.0,
            "esp_in_pps": 1000.0,
            "liveness_interval_s": 0.0,
            "rekey_interval_s": 0.0,
        },
        "links": {"latency_s": 0.01},
    }
    for name, values in sections.items():
        if name == "faults":
            base["faults"] = values
        else:
            base.setdefault(name, {}).update(values)
    return scenario_from_dict(base)


def metric_diff(a: dict[str, float | int], b: dict[str, float | int]) -> dict[str, tuple[float, float]]:
    """The metrics two runs disagree on (wall time aside; NaN equals NaN), as (a, b) pairs."""
    return {
        k: (a[k], b[k])
        for k in a
        if k != "wall_time_s"
        and a[k] != b[k]
        and not (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
    }
