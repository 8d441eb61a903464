"""The Python API behind ``import hasim``: scenarios, one run, sweeps and committed results.

Everything a notebook needs without reaching into the floors: a scenario comes from a path, a dict
or the name of a packaged example; ``simulate`` gives metrics and, on request, the event records as
pandas DataFrames; ``sweep`` runs a sweep file, packaged experiment or dict on local workers or a
Dask client and hands back its runs and summary as DataFrames; ``load_results`` reads a results
folder. The names are documented with examples in docs/api.md (run as tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from hasim.errors import ConfigError, parse_toml, read_utf8
from hasim.experiments.examples import find_example
from hasim.experiments.report_figures import LoadedResults
from hasim.experiments.runner import SweepOutcome
from hasim.experiments.sweep_source import SweepSource

if TYPE_CHECKING:
    from distributed import Client

    from hasim.sim import ScenarioConfig

Results = LoadedResults


def read_scenario(source: str | Path | Mapping[str, Any] | ScenarioConfig) -> dict[str, Any]:
    """The raw scenario table of ``source`` (not yet validated): a path, an example's name, a dict."""
    from hasim.sim import ScenarioConfig

    if isinstance(source, ScenarioConfig):
        return source.to_dict()
    if isinstance(source, Mapping):
        return dict(source)
    path = _path(source, "scenario", "a TOML path, an example's name, a dict or a loaded scenario")
    if not path.is_file():
        if isinstance(source, str) and "/" not in source and not source.endswith(".toml"):
            path = find_example(source, "scenario").path
        else:
            raise ConfigError(str(source), "no such scenario file")
    return parse_toml(read_utf8(path, "a scenario (TOML)"), str(path))


def _path(source: Any, key: str, want: str) -> Path:
    """``source`` as a path; anything else (5, None, a list) is a ConfigError naming ``key``."""
    if not isinstance(source, str | Path):
        raise ConfigError(key, f"got {type(source).__name__}; expected {want}")
    return Path(source)


def load_scenario(
    source: str | Path | Mapping[str, Any] | ScenarioConfig, overrides: Mapping[str, Any] | None = None
) -> ScenarioConfig:
    """A validated scenario from a TOML path, a dict, a packaged example's name or a scenario.

    ``overrides`` maps dotted keys to values (``{"cluster.sync_interval_s": 0.5}``, ``faults[0].at_s``,
    ``links.loss`` for both directions), validated like the file: a mistake raises ConfigError naming
    the key.
    """
    from hasim.sim import scenario_from_dict, with_overrides

    raw = read_scenario(source)
    return scenario_from_dict(with_overrides(raw, overrides) if overrides else raw)


def with_overrides(
    scenario: ScenarioConfig | Mapping[str, Any], overrides: Mapping[str, Any]
) -> ScenarioConfig:
    """A copy of ``scenario`` (a loaded scenario or a dict) with dotted-key ``overrides`` applied."""
    return load_scenario(scenario, overrides)


@dataclass(frozen=True)
class Simulation:
    """One run: ``metrics`` (name -> value) and, with ``records=True``, one DataFrame per record kind
    (``ike_messages``, ``sync_exchanges``, ``drops``, ``timeline``, ``esp_sample``)."""

    scenario: ScenarioConfig
    seed: int
    metrics: dict[str, float | int]
    records: dict[str, pd.DataFrame] = field(default_factory=dict)

    def metrics_frame(self) -> pd.DataFrame:
        """The metrics as a one-row DataFrame (columns = metric names), handy for ``pd.concat``."""
        return pd.DataFrame([self.metrics])


def simulate(
    scenario: str | Path | Mapping[str, Any] | ScenarioConfig,
    seed: int | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    records: bool = False,
    progress: bool = False,
    force: bool = False,
) -> Simulation:
    """Run one scenario once; ``seed`` defaults to the scenario's own (``scenario.seed``).

    Same scenario and seed give the same metrics, bit for bit (``wall_time_s`` aside).
    ``progress=True`` shows a bar of simulated time for runs longer than two seconds. A run whose
    estimated cost is beyond ``hasim run``'s default limits (10^9 events, an hour of CPU, 8 GiB) is
    refused with a ConfigError naming the keys that drive it, unless ``force``.
    """
    from hasim.experiments.run_progress import SimClockBar
    from hasim.sim import simulate as run_one
    from hasim.sim.scale.world import scaled_supported
    from hasim.sim.scenario.config import check_seed
    from hasim.sim.scenario.cost import Limits, check_cost, estimate_cost

    cfg = load_scenario(scenario, overrides)
    run_seed = cfg.scenario.seed if seed is None else check_seed(seed)  # the metrics carry it
    if not force:
        check_cost(estimate_cost(cfg, scaled_supported(cfg, records=records)), Limits())
    with SimClockBar(cfg.scenario.duration_s, cfg.scenario.name, enabled=progress) as bar:
        result = run_one(cfg, run_seed, records=records, on_clock=bar.attach)
    frames = {kind: pd.DataFrame(rows) for kind, rows in result.records.items()}
    return Simulation(cfg, run_seed, dict(result.metrics), frames)


@dataclass(frozen=True)
class SweepRun:
    """What ``sweep`` did (``outcome``: runs executed, failed, already done) and its ``results``."""

    outcome: SweepOutcome
    results: Results

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run: ids, seed, parameters, every metric, ``error``."""
        return self.results.runs

    @property
    def summary(self) -> pd.DataFrame:
        """One row per parameter point: run counts, ``<metric>_mean``, ``_ci_low``, ``_ci_high``."""
        return self.results.summary

    @property
    def path(self) -> Path:
        """The results folder."""
        return self.outcome.results

    @property
    def failed(self) -> int:
        """Runs of this invocation that raised (their rows hold the error)."""
        return self.outcome.failed


def sweep(
    source: SweepSource,
    results: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    workers: int = 1,
    client: Client | None = None,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
) -> SweepRun:
    """Run a sweep: a sweep file, a packaged experiment's name or a dict shaped like a sweep file.

    ``overrides`` (the CLI's ``--set``) sets ``sweep.<field>`` (``{"sweep.replications": 2}``) or
    any scenario key for every run. Runs go to ``workers`` local processes, or to a Dask
    ``client`` if given (the caller owns it; a cluster whose workers give a run less memory than the
    heaviest run's estimate is refused unless ``force``). ``results`` defaults to ``results/<name>``;
    existing results are an error unless ``resume`` (run only the missing runs) or ``force`` (start
    over). As ``hasim sweep``, a run estimated beyond the default cost limits (10^9 events, an hour
    of CPU, 8 GiB) is refused before anything runs, unless ``force``.
    The progress bar is tqdm's ``auto`` one, a widget in Jupyter. Seeds come from run indices, so
    results do not depend on ``workers``.
    """
    from hasim.experiments.executors import ExecutorInfo, memory_per_run
    from hasim.experiments.model import simulator_model
    from hasim.experiments.report_figures import load_results as load
    from hasim.experiments.runner import run_sweep
    from hasim.experiments.sweep_estimate import estimate_sweep
    from hasim.experiments.sweep_source import load_sweep_source
    from hasim.sim.scenario.cost import Limits

    if results is not None:
        results = _path(results, "results", "the path of a results folder")
    spec = load_sweep_source(source, overrides)
    # on a Dask client the runs use the workers' memory, checked against their limits instead (as the CLI)
    limits = Limits(memory_bytes=float("inf")) if client is not None else Limits()
    estimate_sweep(spec, simulator_model(), limits=None if force else limits)
    executor, info = None, None
    if client is not None:
        executor = client.get_executor(pure=False)
        scheduler = client.scheduler_info()
        found = scheduler.get("workers", {})
        workers = max(1, len(found))
        info = ExecutorInfo("dask", workers, scheduler.get("address"), *memory_per_run(found))
    outcome = run_sweep(
        spec,
        results,
        workers=workers,
        executor=executor,
        executor_info=info,
        resume=resume,
        force=force,
        progress=progress,
        check_memory=not force,
    )
    return SweepRun(outcome, load(outcome.results))


def load_results(path: str | Path) -> Results:
    """A results folder (``results/sync_vs_skip``): ``manifest``, ``runs``, ``summary``, ``timelines``."""
    from hasim.experiments.report_figures import load_results as load

    return load(_path(path, "results", "the path of a results folder"))
