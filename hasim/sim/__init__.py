"""Floor 3: SimPy processes around the protocol objects: cluster, peer, links, sync channel, faults.

Four subpackages, each importing only those listed before it: ``scenario`` (what to simulate),
``dataplane`` (traffic, link fate, ESP flows, anti-replay windows), ``model`` (the cluster in SimPy:
world, sites, sync, detection, failover, probes, metrics) and ``scale`` (the same model with the ESP
state of all SAs in one bank, for 10,000 peers). ``api`` runs one of them.

``from hasim.sim import simulate, RunResult, load_scenario, scenario_from_dict`` is the public API;
the names load on first use so that ``import hasim.sim`` stays light (no SimPy, no NumPy).
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "simulate": "hasim.sim.api",
    "RunResult": "hasim.sim.api",
    "ScenarioConfig": "hasim.sim.scenario.config",
    "load_scenario": "hasim.sim.scenario.config",
    "scenario_from_dict": "hasim.sim.scenario.config",
    "with_overrides": "hasim.sim.scenario.config",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hasim.sim' has no attribute {name!r}")
