"""The simulator's entry point: ``simulate(config, seed) -> RunResult`` (one result row per run).

Experiments, sweeps and the scale work call only this. Same (config, seed) -> identical metrics,
except ``wall_time_s``. ``esp_path`` picks how ESP is simulated, with identical metrics:
``"auto"`` (default) = ``"scaled"`` (:mod:`hasim.sim.scale.world`: the flows of all SAs in one bank,
for 10,000 peers) wherever it is exact (no records, no attacker, Bernoulli loss), else
``"vectorized"`` (one NumPy batch per flow); ``"reference"`` runs it packet by packet as SimPy events
(slow; the tests compare the paths on small runs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hasim.sim.scenario.sections import ScenarioConfig

if TYPE_CHECKING:
    from hasim.sim.model.world import World


@dataclass(frozen=True)
class RunResult:
    """One run: ``metrics`` (names in hasim.sim.model.metrics) and, on request, flat ``records`` per kind
    (``ike_messages``, ``sync_exchanges``, ``drops``, ``timeline``, ``esp_sample``)."""

    metrics: dict[str, float | int]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ike_raw: list[tuple[float, str, str, int, bytes, Any]] = field(default_factory=list, repr=False)


def simulate(
    config: ScenarioConfig,
    seed: int,
    *,
    records: bool = False,
    esp_path: str = "auto",
    on_clock: Callable[[Callable[[], float]], None] | None = None,
) -> RunResult:
    """Run one scenario with one seed (``config.scenario.seed`` is only the CLI's default).

    ``on_clock``, if given, is called once before the run with a function that reads the simulated
    time, so that a caller can show progress from another thread; the run itself is untouched.
    """
    from hasim.sim.gc_policy import collector_held_back
    from hasim.sim.heap_policy import heap_kept
    from hasim.sim.model.world import World
    from hasim.sim.scenario.config import check_seed

    seed = check_seed(seed)
    start = time.perf_counter()
    from hasim.sim.scale.world import ScaledWorld, scaled_supported

    world: World
    if esp_path == "scaled" or (esp_path == "auto" and scaled_supported(config, records=records)):
        world = ScaledWorld(config, seed, records=records)
    else:
        world = World(
            config, seed, records=records, esp_path="vectorized" if esp_path == "auto" else esp_path
        )
    if on_clock is not None:
        env = world.env  # the clock stays readable after the world is dismantled
        on_clock(lambda: float(env.now))
    with collector_held_back(), heap_kept():
        world.run()
        result = _result(world, time.perf_counter() - start, records=records)
        world.dismantle()  # what it held is freed here by reference counting, before the collector is back
    return result


def _result(world: World, wall_s: float, *, records: bool) -> RunResult:
    """What a finished world hands back: its metrics and, on request, its records."""
    from hasim.sim.model.metrics import collect

    metrics = collect(world, wall_s)
    if not records:
        return RunResult(metrics)
    recs = dict(world.probes.records)
    recs["esp_sample"] = [
        {"time": t, "src": s, "dst": d, "sa": i, "spi": spi, "seq": seq}
        for i, fl in world.flows.items()
        for f in fl
        for (t, s, d, spi, seq) in f.sample.rows
    ]
    recs["esp_sample"].sort(key=lambda r: r["time"])
    return RunResult(metrics, recs, list(world.probes.ike_raw))
