"""Small scenario builders shared by the simulator tests (plain dicts, validated by scenario_from_dict)."""

from __future__ import annotations

from typing import Any

from hasim.sim.config import ScenarioConfig, scenario_from_dict


def scenario(**sections: dict[str, Any]) -> ScenarioConfig:
    """A quiet base scenario (no liveness, no rekey, loss-free 10 ms links) with sections merged in."""
    base: dict[str, Any] = {
        "scenario": {"duration_s": 20.0},
        "cluster": {"sync_interval_s": 1.0},
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
