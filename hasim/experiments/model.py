"""What a sweep runs: a model = resolve a config, run it with a seed, optionally record events.

The runner is generic over this triple so that it can be tested with small analytic models and used
with the simulator without change. The default model adapts ``hasim.sim`` (imported lazily, so that
``hasim sweep --dry-run`` of a toy model and the runner's tests do not need the simulator).
All callables must be module-level functions: they are pickled to worker processes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hasim.experiments.config_tree import apply_overrides
from hasim.experiments.metric_kinds import SIM_METRIC_KINDS, MetricKind
from hasim.sim.scenario.cost import RunCost, estimate_cost

Metrics = dict[str, float | int]
RunFn = Callable[[dict[str, Any], int], Metrics]
ResolveFn = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
RecordsFn = Callable[[dict[str, Any], int], dict[str, list[dict[str, Any]]]]
CostFn = Callable[[dict[str, Any]], RunCost]


@dataclass(frozen=True)
class Model:
    """A runnable model: ``run(config, seed) -> metrics``, ``resolve(base, overrides) -> full config``.

    ``records`` (optional) reruns one configuration and returns per-event rows (e.g. ``timeline``)
    for the failover timeline figure. ``kinds`` declares each metric's kind (``metric_kinds.py``),
    which fixes its summary interval; None means every metric is a plain real value.
    """

    name: str
    run: RunFn
    resolve: ResolveFn
    records: RecordsFn | None = None
    kinds: Mapping[str, MetricKind] | None = None
    cost: CostFn | None = None
    """The estimated cost of one run of a resolved config, checked before a sweep starts."""


def resolve_generic(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Schema-free resolution: deep copy of ``base`` with dotted overrides; unknown keys are errors."""
    return apply_overrides(base, overrides)


def resolve_scenario(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Validate through the simulator's config: ConfigError names the dotted key; returns the full config.

    A top-level list section given whole (``faults = [{...}, {...}]``) replaces the base's list, so a
    sweep can vary the fault schedule; everything else goes through ``hasim.sim.with_overrides``.
    """
    from hasim.sim import scenario_from_dict, with_overrides

    whole = {k: v for k, v in overrides.items() if "." not in k and isinstance(v, list)}
    dotted = {k: v for k, v in overrides.items() if k not in whole}
    merged = {**copy.deepcopy(dict(base)), **copy.deepcopy(whole)}
    return dict(scenario_from_dict(with_overrides(merged, dotted)).to_dict())


def simulate_metrics(config: dict[str, Any], seed: int) -> Metrics:
    """One simulator run -> its metrics row (RunResult.metrics).

    Its world is freed before ``simulate`` returns (``World.dismantle``): a worker running runs back to
    back holds one run's memory at a time (a Dask worker running eager_vs_lazy_100k went past its
    12 GiB limit in its third run while a finished world waited for the collector).
    """
    from hasim.sim import scenario_from_dict, simulate

    return dict(simulate(scenario_from_dict(config), seed).metrics)


def simulate_records(config: dict[str, Any], seed: int) -> dict[str, list[dict[str, Any]]]:
    """One simulator run with per-event records (``timeline`` etc.) for the failover timeline figure;
    its world is freed before ``simulate`` returns, as in ``simulate_metrics``."""
    from hasim.sim import scenario_from_dict, simulate

    return dict(simulate(scenario_from_dict(config), seed, records=True).records)


def simulate_cost(config: dict[str, Any]) -> RunCost:
    """The simulator's estimate for one run of ``config`` (hasim.sim.scenario.cost)."""
    from hasim.sim import scenario_from_dict
    from hasim.sim.scale.world import scaled_supported

    cfg = scenario_from_dict(config)
    return estimate_cost(cfg, scaled_supported(cfg, records=False))


def simulator_model() -> Model:
    """The default model: hasim's failover simulator."""
    return Model(
        name="hasim.sim",
        run=simulate_metrics,
        resolve=resolve_scenario,
        records=simulate_records,
        kinds=SIM_METRIC_KINDS,
        cost=simulate_cost,
    )
