"""A run row names the code that ran it: on a Dask cluster, the worker's checkout, not the client's.

A worker is started as its own process on another checkout of hasim (a copy of this one's package,
committed in a git repository of its own, so its revision is one no other tree has) and the toy
sweep is pointed at its scheduler: every row and the manifest's count of runs per revision must name
that checkout's revision, worked out here with git, while the manifest's own revision stays the
client's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import hasim
from hasim.experiments.provenance import code_version, revision_counts
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep

HERE = Path(__file__).parent


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def other_checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A checkout of hasim in a git repository of its own, and its revision."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(
        Path(hasim.__file__).resolve().parent, root / "hasim", ignore=shutil.ignore_patterns("__pycache__")
    )
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "the worker's checkout")
    return root, _git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def worker_on(other_checkout: tuple[Path, str]) -> Iterator[str]:
    """A scheduler (this process) and one worker process importing hasim from ``other_checkout``."""
    from distributed import Client, LocalCluster

    root, _ = other_checkout
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(HERE)])}  # and the toy model
    with LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster:
        address = str(cluster.scheduler_address)
        argv = ["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"]
        worker = subprocess.Popen(
            [sys.executable, "-m", *argv, "--local-directory", str(root.parent)],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            with Client(address, timeout=60) as client:
                client.wait_for_workers(1, timeout=90)
                here = client.run(lambda: __import__("hasim").__file__)
                assert [Path(f).parent for f in here.values()] == [root / "hasim"]  # the other checkout
            yield address
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()


def test_rows_name_the_workers_revision_and_the_manifest_counts_them(
    worker_on: str, other_checkout: tuple[Path, str], toy_dir: Path
) -> None:
    from toy_model import TOY

    _, revision = other_checkout
    client = code_version()
    assert revision != client.git_revision
    spec = load_sweep(toy_dir / "sweep.toml")
    out = run_sweep(spec, toy_dir / "res", model=TOY, dask=worker_on, progress=False)
    assert out.ran == 18 and out.failed == 0
    runs = pd.read_parquet(toy_dir / "res" / "runs.parquet")
    assert set(runs["git_revision"]) == {revision}  # committed, no edits since: no "-dirty"
    assert set(runs["hasim_version"]) == {hasim.__version__}
    manifest = json.loads((toy_dir / "res" / "manifest.json").read_text())
    assert manifest["run_revisions"] == {revision: 18}
    assert manifest["git_revision"] == client.git_revision  # the client's, which ran no run


def test_a_local_sweep_names_this_checkout(toy_dir: Path) -> None:
    from toy_model import TOY

    cv = code_version()
    run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, workers=2, progress=False)
    runs = pd.read_parquet(toy_dir / "res" / "runs.parquet")
    assert set(runs["git_revision"]) == {cv.git_revision + ("-dirty" if cv.git_dirty else "")}
    manifest = json.loads((toy_dir / "res" / "manifest.json").read_text())
    assert manifest["run_revisions"] == {runs["git_revision"][0]: 18}


def test_revision_counts_are_sorted_counts() -> None:
    assert revision_counts(["b", "a", "b", "a-dirty", "b"]) == {"a": 1, "a-dirty": 1, "b": 3}
    assert revision_counts([]) == {}
