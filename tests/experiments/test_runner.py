"""The sweep runner: failed runs as rows, crash-safe resume, worker-count and Dask independence."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from toy_model import TOY

from hasim.errors import ConfigError
from hasim.experiments.results_store import VOLATILE_COLUMNS
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep

HERE = Path(__file__).parent


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in VOLATILE_COLUMNS if c in df.columns]).reset_index(drop=True)


def test_rows_summary_and_manifest(toy_dir: Path) -> None:
    spec = load_sweep(toy_dir / "sweep.toml")
    out = run_sweep(spec, toy_dir / "res", model=TOY, progress=False)
    assert (out.total, out.ran, out.failed) == (18, 18, 0)
    runs = pd.read_parquet(toy_dir / "res" / "runs.parquet")
    assert list(runs["index"]) == list(range(18))
    assert {
        "run_id",
        "seed",
        "model.a",
        "variant",
        "model.b",
        "y",
        "count",
        "error",
        "run_wall_s",
        "config",
        "hasim_version",
        "git_revision",
    } <= set(runs.columns)
    assert runs["error"].isna().all()
    assert json.loads(runs["config"][3])["model"]["b"] == 10.0
    summary = pd.read_csv(toy_dir / "res" / "summary.csv")
    assert len(summary) == 6 and (summary["n_runs"] == 3).all()
    # y = a * b + 0.25 * N(0,1): the mean over 3 replications of point (a=3, high) is near 30
    row = summary[(summary["model.a"] == 3.0) & (summary["variant"] == "high")].iloc[0]
    ys = runs[(runs["model.a"] == 3.0) & (runs["variant"] == "high")]["y"]
    assert row["y_mean"] == pytest.approx(ys.mean())
    assert row["y_ci_low"] < row["y_mean"] < row["y_ci_high"]
    assert abs(row["y_mean"] - 30.0) < 2.0
    manifest = json.loads((toy_dir / "res" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["runs_completed"] == 18
    for key in (
        "hasim_version",
        "git_revision",
        "git_dirty",
        "sweep_hash",
        "root_seed",
        "start_time",
        "end_time",
        "host",
    ):
        assert key in manifest
    assert manifest["root_seed"] == 42
    assert not (toy_dir / "res" / "parts").exists()


def test_a_failing_run_is_a_row_with_its_error(toy_dir: Path) -> None:
    text = (toy_dir / "sweep.toml").read_text().replace('"model.noise" = 0.25', '"model.fail_when_a" = 2.0')
    (toy_dir / "sweep.toml").write_text(text)
    out = run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, workers=2, progress=False)
    assert out.failed == 6
    runs = pd.read_parquet(toy_dir / "res" / "runs.parquet")
    bad = runs[runs["model.a"] == 2.0]
    assert len(bad) == 6 and bad["error"].str.contains("RuntimeError: toy model refuses a=2.0").all()
    assert bad["y"].isna().all()
    summary = pd.read_csv(toy_dir / "res" / "summary.csv")
    assert list(summary["n_errors"]) == [0, 0, 3, 3, 0, 0]


def test_existing_results_need_resume_or_force(toy_dir: Path) -> None:
    spec = load_sweep(toy_dir / "sweep.toml")
    run_sweep(spec, toy_dir / "res", model=TOY, progress=False)
    with pytest.raises(ConfigError, match="--resume"):
        run_sweep(spec, toy_dir / "res", model=TOY, progress=False)
    again = run_sweep(spec, toy_dir / "res", model=TOY, progress=False, resume=True)
    assert (again.ran, again.already_done) == (0, 18)
    fresh = run_sweep(spec, toy_dir / "res", model=TOY, progress=False, force=True)
    assert fresh.ran == 18


def test_resume_refuses_another_version_unless_forced_and_notes_an_edited_sweep_file(toy_dir: Path) -> None:
    spec = load_sweep(toy_dir / "sweep.toml")
    run_sweep(spec, toy_dir / "res", model=TOY, progress=False)
    manifest_path = toy_dir / "res" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["hasim_version"] = "0.0.1"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="hasim_version") as err:
        run_sweep(spec, toy_dir / "res", model=TOY, progress=False, resume=True)
    assert err.value.key == "resume"
    out = run_sweep(spec, toy_dir / "res", model=TOY, progress=False, resume=True, force=True)
    assert out.ran == 0
    assert json.loads(manifest_path.read_text())["mixed_results"]
    # an edited sweep file needs no force: runs are keyed by their config and seed, so none reruns
    (toy_dir / "sweep.toml").write_text((toy_dir / "sweep.toml").read_text() + "\n# edited\n")
    edited = run_sweep(
        load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, progress=False, resume=True
    )
    assert (edited.ran, edited.already_done) == (0, 18)
    assert "sweep_hash" in json.loads(manifest_path.read_text())["edited_since_start"][0]


def _sweep_subprocess(toy_dir: Path, out: Path) -> subprocess.Popen[bytes]:
    code = (
        "import sys; from hasim.cli import main; "
        f"main(['sweep', {str(toy_dir / 'slow.toml')!r}, '--model', 'toy_model:TOY', '--workers', '2', "
        f"'--out', {str(out)!r}, '--no-progress'])"
    )
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sigkill_midway_then_resume_equals_uninterrupted(toy_dir: Path) -> None:
    slow = (toy_dir / "sweep.toml").read_text().replace('"model.noise" = 0.25', '"model.sleep_s" = 0.04')
    slow = slow.replace("replications = 3", "replications = 6")  # 36 runs of 40 ms on 2 workers
    (toy_dir / "slow.toml").write_text(slow)
    killed = toy_dir / "killed"
    proc = _sweep_subprocess(toy_dir, killed)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        parts = killed / "parts"
        if parts.exists() and len(list(parts.glob("*.json"))) >= 8:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    fragments = list((killed / "parts").glob("*.json"))
    assert 8 <= len(fragments) < 36
    for f in fragments:  # every fragment left behind is whole
        json.loads(f.read_text())
    spec = load_sweep(toy_dir / "slow.toml")
    resumed = run_sweep(spec, killed, model=TOY, workers=2, resume=True, progress=False)
    assert resumed.already_done >= 8 and resumed.ran == 36 - resumed.already_done
    whole = toy_dir / "whole"
    run_sweep(spec, whole, model=TOY, workers=2, progress=False)
    a = pd.read_parquet(killed / "runs.parquet")
    b = pd.read_parquet(whole / "runs.parquet")
    pd.testing.assert_frame_equal(_stable(a), _stable(b))
    assert (killed / "summary.csv").exists()


def test_same_metrics_with_one_and_two_workers_and_dask(toy_dir: Path) -> None:
    spec = load_sweep(toy_dir / "sweep.toml")
    frames = []
    for name, kwargs in [
        ("w1", {"workers": 1}),
        ("w2", {"workers": 2}),
        ("dask", {"workers": 2, "dask": "local"}),
    ]:
        run_sweep(spec, toy_dir / name, model=TOY, progress=False, **kwargs)  # type: ignore[arg-type]
        frames.append(_stable(pd.read_parquet(toy_dir / name / "runs.parquet")))
        manifest = json.loads((toy_dir / name / "manifest.json").read_text())
        assert (
            manifest["executor"]["kind"] == {"w1": "inline", "w2": "process-pool", "dask": "dask-local"}[name]
        )
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])


def test_a_running_dask_cluster_by_address_gives_the_same_metrics(toy_dir: Path) -> None:
    from distributed import LocalCluster

    spec = load_sweep(toy_dir / "sweep.toml")
    run_sweep(spec, toy_dir / "w1", model=TOY, progress=False, workers=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = str(cluster.scheduler_address)
        run_sweep(spec, toy_dir / "remote", model=TOY, progress=False, workers=1, dask=address)
    manifest = json.loads((toy_dir / "remote" / "manifest.json").read_text())
    assert manifest["executor"]["kind"] == "dask"
    assert address in json.dumps(manifest["executor"])
    assert manifest["executor"]["workers"] == 2  # counted on the cluster, not taken from --workers
    pd.testing.assert_frame_equal(
        _stable(pd.read_parquet(toy_dir / "w1" / "runs.parquet")),
        _stable(pd.read_parquet(toy_dir / "remote" / "runs.parquet")),
    )


def test_timelines_are_recorded_for_selected_runs(toy_dir: Path) -> None:
    text = (
        toy_dir / "sweep.toml"
    ).read_text() + '\n[[timelines]]\nname = "high"\nwhere = { variant = "high" }\n'
    (toy_dir / "sweep.toml").write_text(text)
    run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, progress=False)
    tl = pd.read_parquet(toy_dir / "res" / "timelines.parquet")
    assert set(tl["timeline"]) == {"high"}
    runs = pd.read_parquet(toy_dir / "res" / "runs.parquet")
    assert set(tl["run_id"]) == {runs["run_id"][3]}  # the first run of the first "high" point
    assert set(tl["record"]) == {"ike_messages", "sync_exchanges", "drops", "timeline", "counters"}
    assert {"time", "node", "kind", "value", "src", "message_id"} <= set(tl.columns)


def test_a_dead_worker_stops_the_sweep_and_keeps_finished_runs(toy_dir: Path) -> None:
    text = (toy_dir / "sweep.toml").read_text()
    text = text.replace(
        '{ label = "high", set = { "model.b" = 10.0 } }',
        '{ label = "high", set = { "model.b" = 10.0, "model.label" = "die" } }',
    )
    (toy_dir / "sweep.toml").write_text(text)
    spec = load_sweep(toy_dir / "sweep.toml")
    with pytest.raises(ChildProcessError, match="--resume"):
        run_sweep(spec, toy_dir / "res", model=TOY, workers=2, progress=False)
    parts = [json.loads(p.read_text()) for p in (toy_dir / "res" / "parts").glob("*.json")]
    assert all(p["error"] is None and p["variant"] == "low" for p in parts)  # no run blamed for the crash
    manifest = json.loads((toy_dir / "res" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and "worker process died" in manifest["interruption"]


def test_dirty_means_code_edits_not_rewritten_results(tmp_path: Path) -> None:
    from hasim.experiments.provenance import tree_state

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    assert tree_state(tmp_path) == ("unknown", False)
    (tmp_path / "hasim").mkdir()
    (tmp_path / "results").mkdir()
    (tmp_path / "hasim" / "model.py").write_text("x = 1\n")
    (tmp_path / "results" / "runs.csv").write_text("a\n1\n")
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "empty")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    rev, dirty = tree_state(tmp_path)
    assert len(rev) == 40 and not dirty
    (tmp_path / "results" / "runs.csv").write_text("a\n2\n")  # a sweep rewrote its results
    assert tree_state(tmp_path) == (rev, False)
    (tmp_path / "hasim" / "model.py").write_text("x = 2\n")  # the code changed
    assert tree_state(tmp_path) == (rev, True)


def test_four_to_eight_replications_with_resume_runs_only_the_new_four(toy_dir: Path) -> None:
    text = (toy_dir / "sweep.toml").read_text().replace("replications = 3", "replications = 4")
    (toy_dir / "sweep.toml").write_text(text)
    first = run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, progress=False)
    assert first.ran == 6 * 4
    old = pd.read_parquet(toy_dir / "res" / "runs.parquet")
    (toy_dir / "sweep.toml").write_text(text.replace("replications = 4", "replications = 8"))
    more = run_sweep(
        load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, workers=2, resume=True, progress=False
    )
    assert (more.ran, more.already_done, more.total) == (6 * 4, 6 * 4, 6 * 8)
    new = pd.read_parquet(toy_dir / "res" / "runs.parquet")
    assert list(new["index"]) == list(range(48)) and list(new["replication"]) == list(range(8)) * 6
    kept = new.set_index("run_id").loc[old["run_id"]]
    assert list(kept["y"]) == list(old["y"]) and list(kept["seed"]) == list(old["seed"])
    summary = pd.read_csv(toy_dir / "res" / "summary.csv")
    assert (summary["n_runs"] == 8).all() and (summary["y_n"] == 8).all()
    fresh = run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "fresh", model=TOY, progress=False)
    assert fresh.ran == 48
    pd.testing.assert_frame_equal(_stable(new), _stable(pd.read_parquet(toy_dir / "fresh" / "runs.parquet")))


ADAPTIVE = """\
[sweep]
name = "adaptive"
base = "base.toml"
replications = { min = 10, max = 80, metric = "hit", half_width = 0.1 }
root_seed = 11

[[axes]]
kind = "grid"
key = "model.p"
values = [1.0, 0.5]
"""


def test_adaptive_replications_stop_at_the_precision_or_the_maximum(toy_dir: Path) -> None:
    (toy_dir / "adaptive.toml").write_text(ADAPTIVE)
    spec = load_sweep(toy_dir / "adaptive.toml")
    out = run_sweep(spec, toy_dir / "w1", model=TOY, progress=False)
    summary = pd.read_csv(toy_dir / "w1" / "summary.csv")
    # p = 1: every trial succeeds; the Wilson interval of n of n has half width z^2 / (2 (n + z^2)):
    # 0.139 at 10 runs, 0.081 at 20, so 20 runs. p = 0.5: about 1.96 * 0.5 / sqrt(n) <= 0.1 needs
    # ~96 runs, more than the maximum: 10, 20, 40, 80 and not reached.
    assert list(summary["n_runs"]) == [20, 80]
    assert list(summary["precision_reached"]) == [True, False]
    assert out.ran == 100
    row = summary.iloc[0]
    assert (row["hit_mean"], row["hit_ci_high"]) == (1.0, 1.0)
    assert row["hit_ci_low"] == pytest.approx(20 / (20 + 1.959963984540054**2))
    manifest = json.loads((toy_dir / "w1" / "manifest.json").read_text())
    assert manifest["adaptive"]["points_reached"] == 1
    run_sweep(spec, toy_dir / "w2", model=TOY, workers=2, progress=False)
    pd.testing.assert_frame_equal(
        _stable(pd.read_parquet(toy_dir / "w1" / "runs.parquet")),
        _stable(pd.read_parquet(toy_dir / "w2" / "runs.parquet")),
    )
    # a lower maximum, then the same sweep resumed with the higher one: only the missing runs run
    (toy_dir / "adaptive.toml").write_text(ADAPTIVE.replace("max = 80", "max = 40"))
    run_sweep(load_sweep(toy_dir / "adaptive.toml"), toy_dir / "res", model=TOY, progress=False)
    (toy_dir / "adaptive.toml").write_text(ADAPTIVE)
    again = run_sweep(
        load_sweep(toy_dir / "adaptive.toml"), toy_dir / "res", model=TOY, progress=False, resume=True
    )
    assert (again.ran, again.already_done) == (40, 60)
    pd.testing.assert_frame_equal(
        _stable(pd.read_parquet(toy_dir / "w1" / "runs.parquet")),
        _stable(pd.read_parquet(toy_dir / "res" / "runs.parquet")),
    )


def test_integer_metrics_stay_integers_in_runs_parquet(toy_dir: Path) -> None:
    # the toy's "count" and "hit" are Python ints: stored as int64, not widened to float64 by the
    # empty runs.parquet a sweep writes before its first run (a rerun must store what the first stored)
    run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, progress=False)
    runs = pd.read_parquet(toy_dir / "res" / "runs.parquet")
    assert runs["count"].dtype == "int64" and runs["hit"].dtype == "int64"
