"""Sweep throughput: a 200-run sweep of a small scenario on 1 and 2 workers, and on a local Dask cluster.

Prints ``bench sweep workers=N runs_per_s=... efficiency=...`` (efficiency = speed-up / workers,
target >= 0.85 on 2 workers) and ``bench sweep executor=dask-local ... overhead_ratio=...`` (Dask wall
time over process-pool wall time at the same worker count, minus one).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hasim.experiments.model import simulator_model
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep

# A small site-to-site scenario: one IKE SA, one Child SA, one crash; about 0.1 s per run, so that
# the figure measures the sweep machinery's overhead against real work rather than pure overhead.
BASE = """\
[scenario]
name = "bench-small"
duration_s = 60.0

[traffic]
esp_out_pps = 1000.0
esp_in_pps = 1000.0
liveness_interval_s = 2.0

[[faults]]
kind = "crash"
at_s = 20.0
jitter_s = 5.0
"""

SWEEP = """\
[sweep]
name = "bench_sweep"
base = "base.toml"
replications = 10
root_seed = 2026

[[axes]]
kind = "range"
key = "cluster.sync_interval_s"
start = 0.1
stop = 2.0
step = 0.1
"""


def _timed(folder: Path, name: str, workers: int, dask: str | None = None) -> tuple[float, int]:
    spec = load_sweep(folder / "sweep.toml")
    start = time.perf_counter()
    out = run_sweep(spec, folder / name, model=simulator_model(), workers=workers, dask=dask, progress=False)
    return time.perf_counter() - start, out.total


def main() -> None:
    """Run the 200-run sweep three ways and print the bench lines."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "base.toml").write_text(BASE)
        (folder / "sweep.toml").write_text(SWEEP)
        wall1, n = _timed(folder, "w1", 1)
        rate1 = n / wall1
        print(
            f"bench sweep workers=1 runs={n} wall_s={wall1:.3f} runs_per_s={rate1:.2f} efficiency=1.0",
            flush=True,
        )
        wall2, _ = _timed(folder, "w2", 2)
        rate2 = n / wall2
        print(
            f"bench sweep workers=2 runs={n} wall_s={wall2:.3f} runs_per_s={rate2:.2f} "
            f"efficiency={rate2 / rate1 / 2:.3f}",
            flush=True,
        )
        try:
            wall_d, _ = _timed(folder, "dask", 2, dask="local")
        except ImportError:
            print("bench sweep executor=dask-local skipped=1 reason=distributed_not_installed", flush=True)
            return
        print(
            f"bench sweep executor=dask-local workers=2 runs={n} wall_s={wall_d:.3f} "
            f"runs_per_s={n / wall_d:.2f} overhead_ratio={wall_d / wall2 - 1:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
