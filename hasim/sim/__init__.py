"""Floor 3: SimPy processes around the protocol objects: cluster, peer, links, sync channel, faults.

``from hasim.sim import simulate, RunResult, load_scenario, scenario_from_dict`` is the public API;
the names load on first use so that ``import hasim.sim`` stays light (no SimPy, no NumPy).
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "simulate": "hasim.sim.api",
    "RunResult": "hasim.sim.api",
    "ScenarioConfig": "hasim.sim.config",
    "load_scenario": "hasim.sim.config",
    "scenario_from_dict": "hasim.sim.config",
    "with_overrides": "hasim.sim.config",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hasim.sim' has no attribute {name!r}")
