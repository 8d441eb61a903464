"""What a sweep will cost before any run starts: runs, CPU time, disk, and its heaviest run.

A sweep file of ten million replications or a range of 10^12 points is a typing slip, not a study:
expanding it would hang even under ``--dry-run``. So the number of runs is bounded first, from the
axis lengths and the replications alone (nothing is expanded), against ``--max-runs``; only then are
the points resolved, each point's run cost estimated once (the model's ``cost``, for the simulator
hasim.sim.scenario.cost) and multiplied by its replications.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass

from hasim.errors import ConfigError
from hasim.experiments.executors import ExecutorInfo
from hasim.experiments.model import Model
from hasim.experiments.sweep_spec import PointSpec, SweepSpec, expand_points
from hasim.sim.scenario.cost import Limits, RunCost, check_cost, format_bytes

DEFAULT_MAX_RUNS = 100_000
# A finished run's fragment (parts/<run_id>.json: config and metrics as JSON) takes one 4 KiB block
# or its size; all fragments exist at once just before they are folded into runs.parquet.
_FRAGMENT_BYTES = 2000
_BLOCK = 4096


def runs_bound(spec: SweepSpec) -> int:
    """The most runs the sweep can have (skip_if and exclude only remove points), without expanding."""
    points = math.prod(len(axis.settings) for axis in spec.axes)
    most = spec.adaptive.max if spec.adaptive is not None else spec.replications
    return points * most


def check_columns(spec: SweepSpec, model: Model) -> None:
    """ConfigError when an axis column is named like one of the model's metrics (it would hide it), or
    when an adaptive sweep's precision metric is none of them (a mistyped one would never reach its
    precision: every point would run ``max`` replications)."""
    if spec.adaptive is not None and model.kinds is not None and spec.adaptive.metric not in model.kinds:
        close = difflib.get_close_matches(spec.adaptive.metric, list(model.kinds), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            "sweep.replications.metric", f"got {spec.adaptive.metric!r}; not a metric of {model.name}{hint}"
        )
    for i, axis in enumerate(spec.axes):
        for col in axis.columns:
            if model.kinds is not None and col in model.kinds:
                key = f"axes[{i}].name" if axis.kind == "list" else f"axes[{i}]"
                raise ConfigError(key, f"column {col!r} is a metric of {model.name}; choose another name")


def check_size(spec: SweepSpec, max_runs: int) -> None:
    """ConfigError naming the keys that make the sweep larger than ``max_runs`` runs."""
    bound = runs_bound(spec)
    if bound <= max_runs:
        return
    most = spec.adaptive.max if spec.adaptive is not None else spec.replications
    sizes = [(len(axis.settings), f"axes[{i}]") for i, axis in enumerate(spec.axes)]
    keys = [k for n, k in sorted(sizes, reverse=True) if n > 1][:2]
    if most > 1:
        keys.insert(0, "sweep.replications.max" if spec.adaptive is not None else "sweep.replications")
    shape = " x ".join([*(str(n) for n, _ in sizes), f"{most} replications"])
    raise ConfigError(
        ", ".join(keys) or "sweep",
        f"up to {bound:,} runs ({shape}) exceed --max-runs {max_runs:,}; "
        "make the sweep smaller or raise --max-runs",
    )


@dataclass(frozen=True)
class SweepEstimate:
    """The sweep's size and cost, and its heaviest point (for the per-run limits)."""

    runs: int
    points: int
    cpu_s: float
    disk_bytes: float
    heaviest: RunCost | None
    """The run cost of the point with the most CPU time (None when the model has no cost)."""


def estimate_sweep(
    spec: SweepSpec, model: Model, max_runs: int = DEFAULT_MAX_RUNS, limits: Limits | None = None
) -> SweepEstimate:
    """Bound, then expand the points (not the runs) and add up each point's estimated cost.

    With ``limits``, a point whose runs exceed them is a ConfigError naming its keys and the point.
    """
    check_columns(spec, model)
    check_size(spec, max_runs)
    points = expand_points(spec, model)
    reps = spec.adaptive.max if spec.adaptive is not None else spec.replications
    cpu = disk = 0.0
    heaviest: RunCost | None = None
    for p in points:
        disk += reps * max(_BLOCK, len(json.dumps(p.config, default=str)) + _FRAGMENT_BYTES)
        if model.cost is None:
            continue
        cost = model.cost(p.config)
        if limits is not None:
            try:
                check_cost(cost, limits)
            except ConfigError as exc:
                where = ", ".join(f"{k}={v}" for k, v in p.params.items())
                raise ConfigError(exc.key, f"{exc.message} (point {p.point}: {where})") from None
        cpu += reps * cost.cpu_s
        if heaviest is None or cost.cpu_s > heaviest.cpu_s:
            heaviest = cost
    return SweepEstimate(len(points) * reps, len(points), cpu, disk, heaviest)


@dataclass(frozen=True)
class RunMemory:
    """The estimated peak memory of the sweep's most demanding run, and which point it is."""

    bytes: float
    point: str


def point_costs(points: list[PointSpec], model: Model) -> dict[int, RunCost]:
    """Each point's estimated run cost (empty when the model gives none)."""
    if model.cost is None:
        return {}
    return {p.point: model.cost(p.config) for p in points}


def heaviest_memory(points: list[PointSpec], costs: dict[int, RunCost]) -> RunMemory | None:
    """The point whose runs are estimated to need the most memory (None without estimates)."""
    if not costs or not points:
        return None
    heavy = max(points, key=lambda p: costs[p.point].memory_bytes)
    where = ", ".join(f"{k}={v}" for k, v in heavy.params.items())
    return RunMemory(
        costs[heavy.point].memory_bytes, f"point {heavy.point}" + (f": {where}" if where else "")
    )


def check_worker_memory(info: ExecutorInfo, need: RunMemory | None) -> None:
    """ConfigError when a worker gives one run less memory than the heaviest run is estimated to need.

    A Dask worker past its ``memory_limit`` is restarted by its nanny and the run is retried on
    another worker until it is declared lost, so a sweep that cannot fit is refused before it starts.
    """
    if need is None or info.memory_per_run is None or info.memory_per_run >= need.bytes:
        return
    raise ConfigError(
        "--dask",
        f"worker {info.tightest_worker} gives a run {format_bytes(info.memory_per_run)} (memory_limit / "
        f"nthreads) but the heaviest run needs about {format_bytes(need.bytes)} ({need.point}); start "
        "workers with a larger --memory-limit or fewer --nthreads, or use --force",
    )
