"""A results folder has one writer and stays inside results/; a killed sweep leaves no process behind.

Data-loss cases: a sweep named ``..`` wrote (and with --force would delete) results in
the current folder; a second sweep with --force into a running sweep's folder made the first one drop
all its rows at its final write; a label column named like a result column overwrote it; workers of a
SIGKILLed sweep ran on for minutes holding stdout.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from toy_model import TOY

from hasim.errors import ConfigError
from hasim.experiments.results_lock import LOCK_NAME, ResultsLock, lock_holder, results_status
from hasim.experiments.results_store import ResultsDir
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep

HERE = Path(__file__).parent


@pytest.mark.parametrize("name", ["..", ".", "/tmp/elsewhere", "a/b", "a\\\\b", "", " "])
def test_a_sweep_name_that_leaves_its_folder_is_refused(toy_dir: Path, name: str) -> None:
    text = (toy_dir / "sweep.toml").read_text().replace('name = "toy"', f'name = "{name}"')
    (toy_dir / "sweep.toml").write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_sweep(toy_dir / "sweep.toml")
    assert exc.value.key == "sweep.name"


@pytest.mark.parametrize(
    "column", ["index", "seed", "run_id", "error", "config", "point", "n_runs", "y_mean"]
)
def test_a_label_column_named_like_a_result_column_is_refused(toy_dir: Path, column: str) -> None:
    text = (toy_dir / "sweep.toml").read_text().replace('name = "variant"', f'name = "{column}"')
    (toy_dir / "sweep.toml").write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_sweep(toy_dir / "sweep.toml")
    assert exc.value.key == "axes[1].name"


def test_a_label_column_named_like_a_metric_is_refused_before_the_folder_is_touched(toy_dir: Path) -> None:
    text = (toy_dir / "sweep.toml").read_text().replace('name = "variant"', 'name = "count"')
    (toy_dir / "sweep.toml").write_text(text)
    spec = load_sweep(toy_dir / "sweep.toml")  # a file alone does not say what the model returns
    with pytest.raises(ConfigError, match="'count' is a metric") as exc:
        run_sweep(spec, toy_dir / "res", model=TOY, workers=1, progress=False)
    assert exc.value.key == "axes[1].name"
    assert not (toy_dir / "res").exists()


def test_a_metric_the_model_did_not_declare_stops_the_sweep_at_the_first_row(toy_dir: Path) -> None:
    text = (toy_dir / "sweep.toml").read_text().replace('name = "variant"', 'name = "count"')
    (toy_dir / "sweep.toml").write_text(text)
    spec = load_sweep(toy_dir / "sweep.toml")
    undeclared = dataclasses.replace(TOY, kinds=None)
    with pytest.raises(ConfigError, match="'count'"):
        run_sweep(spec, toy_dir / "res", model=undeclared, workers=1, progress=False)
    rd = ResultsDir(toy_dir / "res")
    assert rd.load_runs().empty
    manifest = rd.read_manifest()
    assert manifest is not None and manifest["status"] == "interrupted"


def test_force_starts_over_whatever_the_folder_holds(toy_dir: Path) -> None:
    spec = load_sweep(toy_dir / "sweep.toml")
    res = toy_dir / "res"
    res.mkdir()
    (res / "manifest.json").write_bytes(b"\xff\x00garbage{")
    (res / "runs.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ConfigError) as exc:
        run_sweep(spec, res, model=TOY, workers=1, resume=True, progress=False)
    assert exc.value.key == str(res / "manifest.json")
    out = run_sweep(spec, res, model=TOY, workers=1, force=True, progress=False)
    assert out.ran == 18 and len(pd.read_parquet(res / "runs.parquet")) == 18


def test_a_damaged_run_fragment_is_named_on_resume(toy_dir: Path) -> None:
    spec = load_sweep(toy_dir / "sweep.toml")
    res = toy_dir / "res"
    run_sweep(spec, res, model=TOY, workers=1, progress=False)
    (res / "parts").mkdir()
    (res / "parts" / "00003-deadbeef.json").write_text('{"run_id": ')
    with pytest.raises(ConfigError) as exc:
        run_sweep(spec, res, model=TOY, workers=1, resume=True, progress=False)
    assert exc.value.key.endswith("00003-deadbeef.json")


def test_lock_names_its_owner_and_a_dead_owners_lock_is_taken_over(tmp_path: Path) -> None:
    # A lock file written by a process that has ended: the kernel holds no lock on it any more.
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": 999999, "host": "gone", "since": "then"}))
    assert lock_holder(tmp_path) is None
    with ResultsLock(tmp_path) as lock:
        assert lock.took_over
        owner = json.loads((tmp_path / LOCK_NAME).read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with pytest.raises(ConfigError, match="locked"), ResultsLock(tmp_path):
            pass
    assert not (tmp_path / LOCK_NAME).exists()


def _sweep_process(
    toy_dir: Path, out: Path, *extra: str, stdout: int = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    args = ["sweep", str(toy_dir / "slow.toml"), "--model", "toy_model:TOY", "--workers", "2"]
    code = f"from hasim.cli import main; main({[*args, '--out', str(out), '--no-progress', *extra]!r})"
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, start_new_session=True, stdout=stdout, stderr=subprocess.PIPE
    )


def _slow(toy_dir: Path, sleep_s: float, replications: int) -> None:
    text = (
        (toy_dir / "sweep.toml").read_text().replace('"model.noise" = 0.25', f'"model.sleep_s" = {sleep_s}')
    )
    (toy_dir / "slow.toml").write_text(text.replace("replications = 3", f"replications = {replications}"))


def _wait_for_parts(folder: Path, n: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if (folder / "parts").exists() and len(list((folder / "parts").glob("*.json"))) >= n:
            return
        time.sleep(0.01)
    raise AssertionError(f"no {n} finished runs in {folder} (exit {proc.poll()})")


def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_second_sweep_into_a_running_sweeps_folder_exits_2_naming_the_owner(toy_dir: Path) -> None:
    _slow(toy_dir, 0.5, 4)  # 24 runs of 0.5 s on 2 workers: 6 s, the second sweep starts well within
    out = toy_dir / "shared"
    first = _sweep_process(toy_dir, out)
    _wait_for_parts(out, 2, first)
    second = _sweep_process(toy_dir, out, "--force")
    _, err = second.communicate(timeout=60)
    assert first.poll() is None, "the first sweep ended before the second one tried"
    assert second.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and f"pid {first.pid} on {socket.gethostname()}" in lines[0], lines
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err.decode()
    assert len(pd.read_parquet(out / "runs.parquet")) == 24  # the first sweep kept every row
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and not (out / LOCK_NAME).exists()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_sigkill_of_the_sweep_leaves_no_worker_and_closes_stdout(toy_dir: Path, sig: signal.Signals) -> None:
    _slow(toy_dir, 2.0, 4)  # 24 runs of 2 s: workers are mid-run when the main process dies
    out = toy_dir / "killed"
    proc = _sweep_process(toy_dir, out, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(workers := _children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) >= 2
    time.sleep(0.5)  # the workers are inside their first runs
    proc.send_signal(sig)
    killed_at = time.monotonic()
    proc.wait()
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 5)
    assert ready and proc.stdout.read() == b""  # EOF: no worker holds the pipe `| tee` would wait on
    while any(_alive(w) for w in workers) and time.monotonic() - killed_at < 5:
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "workers outlived the sweep"
    assert time.monotonic() - killed_at < 5
    rd = ResultsDir(out)
    manifest = rd.read_manifest()
    assert manifest is not None and manifest["status"] == "running"  # what the dead process left
    assert results_status(out, manifest) == "interrupted"  # what a reader is told


def test_a_full_disk_stops_the_sweep_and_the_manifest_says_so(
    toy_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_sweep(toy_dir / "sweep.toml")
    written = []

    def full(self: ResultsDir, row: dict[str, object]) -> None:
        if len(written) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(row)
        original(self, row)

    original = ResultsDir.write_part
    monkeypatch.setattr(ResultsDir, "write_part", full)
    with pytest.raises(OSError, match="No space left"):
        run_sweep(spec, toy_dir / "res", model=TOY, workers=1, progress=False)
    manifest = ResultsDir(toy_dir / "res").read_manifest()
    assert manifest is not None and manifest["status"] == "interrupted"
    assert "No space left on device" in manifest["interruption"]
    assert not (toy_dir / "res" / LOCK_NAME).exists()
    monkeypatch.undo()
    out = run_sweep(spec, toy_dir / "res", model=TOY, workers=1, resume=True, progress=False)
    assert (out.already_done, out.ran) == (5, 13)


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        kids = _children(todo.pop())
        out |= kids
        todo += kids
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_sweep_on_a_local_dask_cluster_leaves_no_process(toy_dir: Path, sig: signal.Signals) -> None:
    # --dask local: the sweep's process runs the scheduler and starts the workers (processes of
    # their own, with multiprocessing's resource tracker): all must end with the sweep, within the
    # 5 s a process pool's workers are given.
    _slow(toy_dir, 2.0, 4)
    out = toy_dir / "killed-dask"
    proc = _sweep_process(toy_dir, out, "--dask", "local")
    deadline = time.monotonic() + 90
    while not (out / "parts").exists() and time.monotonic() < deadline:  # workers are mid-run
        time.sleep(0.05)
    time.sleep(0.5)
    family = _descendants(proc.pid)
    assert len(family) >= 2, family  # the two workers at least
    proc.send_signal(sig)
    killed_at = time.monotonic()
    proc.wait()
    while any(_alive(p) for p in family) and time.monotonic() - killed_at < 5:
        time.sleep(0.05)
    assert not any(_alive(p) for p in family), "processes outlived the sweep"
