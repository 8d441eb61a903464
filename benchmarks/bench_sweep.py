"""Sweep throughput: 16 runs of about one CPU second each on 1 and 2 workers, and on a local Dask cluster.

The one-worker sweep runs inline; the same sweep on a pool of one worker process shows what a worker
process costs (start-up, pickling, results coming back) without a second core to share.

Each run is the remote-access gateway (experiments/scenarios/remote_access_10k.toml) at 450 peers:
long enough that a worker's start-up and the writing of each result are small beside the run, as in a
real sweep. Printed per executor: wall time, runs per second, and

- ``efficiency``: speed-up over one worker, divided by the workers (target >= 0.9 on 2 workers). It
  needs the machine to itself: on a shared machine other jobs take cores the workers would use;
- ``busy``: the share of the workers' time spent inside runs (the runs' own wall seconds, summed, over
  workers x the sweep's wall time). What the sweep machinery loses to start-up, result writing,
  pickling and an idle worker at the end shows here, and other jobs' load barely does (it slows the
  runs and the sweep alike);
- ``cpu_ratio``: CPU seconds of the sweep (the main process and its workers) over the one-worker
  sweep's: the work that running in parallel adds;
- ``run_wall_ratio``: the runs' mean wall time over the one-worker sweep's (the slow-down of each run
  when two run at once on a shared machine); ``efficiency`` is about ``busy`` over this;
- ``startup_s`` (from the sweep's start to the first run's start), ``finish_s`` (from the last result
  to the sweep's end: folding results, summary) and ``main_cpu_s`` (the main process's CPU seconds:
  submitting, receiving and writing results): where the time outside runs goes;
- ``load_1m``: the machine's load average when the sweep started.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hasim.experiments.model import simulator_model
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep

BASE = Path(__file__).resolve().parents[1] / "experiments" / "scenarios" / "remote_access_10k.toml"

SWEEP = f"""\
[sweep]
name = "bench_sweep"
base = "{BASE.as_posix()}"
replications = 8
root_seed = 2026

[fixed]
"traffic.peers" = 450

[[axes]]
kind = "grid"
key = "cluster.sync_capacity_per_s"
values = [500.0, 1000.0]
"""


@dataclass(frozen=True)
class Timed:
    """One sweep's figures."""

    wall_s: float
    cpu_s: float
    main_cpu_s: float
    runs: int
    in_runs_s: float
    startup_s: float
    finish_s: float
    load_1m: float


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(folder: Path, name: str, workers: int, dask: str | None = None, pool: bool = False) -> Timed:
    spec = load_sweep(folder / "sweep.toml")
    load = os.getloadavg()[0]
    arrivals: list[tuple[float, float]] = []  # (when the row was written, the run's own wall seconds)

    def on_row(row: dict[str, object]) -> None:
        arrivals.append((time.perf_counter(), float(row["run_wall_s"])))  # type: ignore[arg-type]

    main0, cpu0, start = time.process_time(), _cpu(), time.perf_counter()
    with contextlib.ExitStack() as stack:
        executor = stack.enter_context(ProcessPoolExecutor(workers)) if pool else None
        out = run_sweep(
            spec,
            folder / name,
            model=simulator_model(),
            workers=workers,
            dask=dask,
            executor=executor,
            progress=False,
            on_row=on_row,
        )
    end = time.perf_counter()
    wall, cpu, main_cpu = end - start, _cpu() - cpu0, time.process_time() - main0
    runs = pd.read_parquet(folder / name / "runs.parquet")
    assert runs["error"].isna().all(), runs["error"].dropna().tolist()
    # inline, a run is done at submit and its row written after the first few: no start to read
    inline = workers == 1 and dask is None and not pool
    first = math.nan if inline else min(t - w for t, w in arrivals) - start
    return Timed(
        wall, cpu, main_cpu, out.total, float(runs["run_wall_s"].sum()), first, end - arrivals[-1][0], load
    )


def _line(label: str, workers: int, t: Timed, one: Timed) -> str:
    return (
        f"bench sweep {label}workers={workers} runs={t.runs} wall_s={t.wall_s:.3f} "
        f"runs_per_s={t.runs / t.wall_s:.3f} efficiency={one.wall_s / t.wall_s / workers:.3f} "
        f"busy={t.in_runs_s / (workers * t.wall_s):.3f} cpu_ratio={t.cpu_s / one.cpu_s:.3f} "
        f"run_wall_ratio={t.in_runs_s / one.in_runs_s:.3f} startup_s={t.startup_s:.3f} "
        f"finish_s={t.finish_s:.3f} main_cpu_s={t.main_cpu_s:.3f} load_1m={t.load_1m:.2f}"
    )


def main() -> None:
    """Run the sweep three ways and print the bench lines."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sweep.toml").write_text(SWEEP)
        one = _timed(folder, "w1", 1)
        print(_line("", 1, one, one), flush=True)
        pool = _timed(folder, "p1", 1, pool=True)  # what a worker process costs, without a second core
        print(_line("executor=process-pool ", 1, pool, one), flush=True)
        two = _timed(folder, "w2", 2)
        print(_line("", 2, two, one), flush=True)
        try:
            dask = _timed(folder, "dask", 2, dask="local")
        except ImportError:
            print("bench sweep executor=dask-local skipped=1 reason=distributed_not_installed", flush=True)
            return
        print(
            _line("executor=dask-local ", 2, dask, one)
            + f" overhead_ratio={dask.wall_s / two.wall_s - 1:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
