"""A sweep on a Dask cluster given by address, as docs/sweeps.md tells a user to run
experiments/eager_vs_lazy_100k: a scheduler and two single-threaded workers with a memory limit,
started here as their own processes (``dask scheduler``, ``dask worker``), and the sweep pointed at the
scheduler's address. At 20 peers instead of 100,000 the runs take seconds; their metrics must be
those of the same sweep on local workers, bit for bit. The same cluster, whose workers give a run
1 GiB, refuses the full-size sweep before anything is written: its heaviest run is estimated above
that (hasim.sim.scenario.cost)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from hasim.cli import main
from hasim.errors import ConfigError
from hasim.experiments.executors import ExecutorInfo, memory_per_run
from hasim.experiments.model import simulator_model
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_estimate import RunMemory, check_worker_memory, heaviest_memory, point_costs
from hasim.experiments.sweep_source import load_sweep_source
from hasim.experiments.sweep_spec import expand_points

SWEEP = Path(__file__).resolve().parents[2] / "experiments" / "eager_vs_lazy_100k" / "sweep.toml"
SMALL = {"traffic.peers": 20}
WORKER_LIMIT = 2**30  # 1 GiB per worker, one thread each
# Columns that differ between two executions of the same runs: times, and who ran them.
UNSTABLE = ["run_wall_s", "wall_time_s", "hasim_version", "git_revision"]


def _wait(check: object, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {timeout:g} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and a worker process with two single-threaded workers of 1 GiB each."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(info),
            ],
            cwd=folder,
            **quiet,  # type: ignore[call-overload]
        )
    ]
    try:
        _wait(lambda: info.exists() and "address" in info.read_text(), "the scheduler writes its address")
        address = json.loads(info.read_text())["address"]
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    "--nworkers",
                    "2",
                    "--nthreads",
                    "1",
                    "--memory-limit",
                    str(WORKER_LIMIT),
                    "--no-dashboard",
                    "--local-directory",
                    str(folder),
                ],
                cwd=folder,
                **quiet,  # type: ignore[call-overload]
            )
        )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for p in reversed(procs):  # each in its own session: end the worker's nannies with it
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _metrics(results: Path) -> pd.DataFrame:
    runs = pd.read_parquet(results / "runs.parquet")
    return runs.drop(columns=[c for c in UNSTABLE if c in runs.columns]).sort_values("run_id")


def test_eager_vs_lazy_100k_by_address_gives_the_local_workers_metrics(
    scheduler_address: str, tmp_path: Path
) -> None:
    spec = load_sweep_source(SWEEP, SMALL)
    local = run_sweep(spec, tmp_path / "local", workers=2, progress=False)
    remote = run_sweep(spec, tmp_path / "remote", dask=scheduler_address, progress=False)
    assert local.total == remote.total == 4 and local.failed == remote.failed == 0
    manifest = json.loads((tmp_path / "remote" / "manifest.json").read_text())
    assert manifest["executor"] == {
        "kind": "dask",
        "workers": 2,  # counted on the cluster
        "address": scheduler_address,
        "memory_per_run_bytes": WORKER_LIMIT,  # 1 GiB over one thread
    }
    a, b = _metrics(tmp_path / "local"), _metrics(tmp_path / "remote")
    assert len(a) == 4 and all(json.loads(c)["traffic"]["peers"] == 20 for c in a["config"])
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_a_cluster_too_small_for_the_heaviest_run_is_refused_before_anything_is_written(
    scheduler_address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "full"
    # no --max-memory: on a cluster the workers' memory counts, not the 8 GiB default for this machine
    argv = ["sweep", str(SWEEP), "--dask", scheduler_address, "--out", str(out)]
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hasim: error: --dask: worker tcp://127.0.0.1:")
    assert "gives a run 1.07 GB (memory_limit / nthreads)" in err[0]  # 2**30 bytes
    points = expand_points(load_sweep_source(SWEEP), simulator_model())
    need = heaviest_memory(points, point_costs(points, simulator_model()))
    assert need is not None and need.bytes > WORKER_LIMIT  # 100,000 SAs: GiB, not MiB
    assert not out.exists()


def test_memory_per_run_is_the_tightest_workers_limit_over_its_threads() -> None:
    gib = 2**30
    workers = {
        "tcp://a:1": {"memory_limit": 8 * gib, "nthreads": 2},  # 4 GiB a run
        "tcp://b:1": {"memory_limit": 3 * gib, "nthreads": 1},  # 3 GiB a run: the tightest
        "tcp://c:1": {"memory_limit": 0, "nthreads": 1},  # no limit
    }
    assert memory_per_run(workers) == (3 * gib, "tcp://b:1")
    assert memory_per_run({"tcp://c:1": {"memory_limit": 0, "nthreads": 4}}) == (None, None)
    info = ExecutorInfo("dask", 3, "tcp://s:8786", 3 * gib, "tcp://b:1")
    check_worker_memory(info, RunMemory(3 * gib, "point 0"))  # exactly enough
    check_worker_memory(info, None)  # no estimate: nothing to hold against
    check_worker_memory(ExecutorInfo("process-pool", 2), RunMemory(1e15, "point 0"))  # no limit known
    with pytest.raises(ConfigError, match=r"^--dask: worker tcp://b:1 gives a run 3.22 GB .* \(point 1\)"):
        check_worker_memory(info, RunMemory(3 * gib + 1, "point 1"))


def test_the_findings_to_check_name_the_simulators_metrics_and_the_sweeps_axes() -> None:
    from hasim.experiments.claims import load_claims

    claims = load_claims(SWEEP.parent / "claims.toml")
    kinds = simulator_model().kinds
    assert kinds is not None and claims
    assert {c.metric for c in claims} <= set(kinds)
    axes = {"policy.trigger", "cluster.sync_capacity_per_s"}
    for c in claims:
        named = set(re.findall(r"[a-z_]+\.[a-z_]+", c.where))
        assert named <= axes, (c.id, named - axes)


def test_hasim_sweep_on_a_client_checks_its_workers_too(scheduler_address: str, tmp_path: Path) -> None:
    from distributed import Client

    import hasim

    with Client(scheduler_address) as client:
        with pytest.raises(ConfigError, match=r"^--dask: worker tcp://127\.0\.0\.1:\d+ gives a run 1\.07 GB"):
            hasim.sweep(SWEEP, tmp_path / "full", client=client, progress=False)
        small = hasim.sweep(SWEEP, tmp_path / "small", overrides=SMALL, client=client, progress=False)
    assert not (tmp_path / "full").exists()
    manifest = json.loads((tmp_path / "small" / "manifest.json").read_text())
    assert manifest["executor"]["address"] == scheduler_address
    assert manifest["executor"]["memory_per_run_bytes"] == WORKER_LIMIT
    assert len(small.runs) == 4
