"""hasim: a discrete-event simulator of IKEv2/IPsec hot-standby cluster failover (RFC 6311).

The Python API (docs/api.md)::

    import hasim
    out = hasim.sweep("readings_r515", "results/readings", overrides={"sweep.replications": 1})
    print(out.summary)

``load_scenario``, ``with_overrides``, ``simulate``, ``sweep``, ``load_results``, ``list_examples``
and the figure functions ``heatmap``, ``curves``, ``failover_timeline`` load on first use, so that
``import hasim`` stays light. Floors, imports flowing down only: ``wire`` (bytes), ``protocol``
(sans-IO state machines), ``sim`` (SimPy processes) and ``experiments`` (sweeps, results, reports).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_scenario": "hasim.api",
    "with_overrides": "hasim.api",
    "simulate": "hasim.api",
    "sweep": "hasim.api",
    "load_results": "hasim.api",
    "Simulation": "hasim.api",
    "SweepRun": "hasim.api",
    "Results": "hasim.api",
    "list_examples": "hasim.experiments.examples",
    "heatmap": "hasim.experiments.plots_sweep",
    "curves": "hasim.experiments.plots_sweep",
    "failover_timeline": "hasim.experiments.plots_timeline",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hasim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
