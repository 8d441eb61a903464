"""The default model: sweeps over hasim's simulator (small scenarios, a few runs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hasim.errors import ConfigError
from hasim.experiments.metric_kinds import SIM_METRIC_KINDS
from hasim.experiments.model import resolve_scenario, simulator_model
from hasim.experiments.results_store import VOLATILE_COLUMNS
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import expand, load_sweep

BASE = """\
[scenario]
name = "tiny"
duration_s = 12.0

[cluster]
members = 3

[traffic]
esp_out_pps = 100.0
esp_in_pps = 100.0

[[faults]]
kind = "crash"
at_s = 2.0
jitter_s = 1.0
"""

SWEEP = """\
[sweep]
base = "base.toml"
replications = 2
root_seed = 11

[[axes]]
kind = "grid"
key = "cluster.sync_interval_s"
values = [0.5, 2.0]

[[axes]]
kind = "list"
[[axes.points]]
label = "one"
set = { faults = [{ kind = "crash", at_s = 2.0 }] }
[[axes.points]]
label = "two"
set = { faults = [{ kind = "crash", at_s = 2.0 }, { kind = "crash", at_s = 6.0 }] }
"""


@pytest.fixture
def sim_dir(tmp_path: Path) -> Path:
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    return tmp_path


def test_resolve_validates_through_the_simulator_and_replaces_fault_lists() -> None:
    base = {"scenario": {"name": "x"}, "faults": [{"kind": "crash", "at_s": 1.0}]}
    config = resolve_scenario(base, {"cluster.sync_interval_s": 0.5, "faults": []})
    assert config["cluster"]["sync_interval_s"] == 0.5
    assert config["faults"] == []
    assert "policy" in config and "traffic" in config  # defaults filled in
    with pytest.raises(ConfigError) as err:
        resolve_scenario(base, {"cluster.sync_interval_s": -1.0})
    assert err.value.key == "cluster.sync_interval_s"
    with pytest.raises(ConfigError) as err:
        resolve_scenario(base, {"cluster.colour": 1})
    assert "cluster.colour" in str(err.value)


def test_sweep_over_the_simulator_is_independent_of_worker_count(sim_dir: Path) -> None:
    spec = load_sweep(sim_dir / "sweep.toml")
    runs = expand(spec, simulator_model())
    assert len(runs) == 8
    assert runs[2].params["variant"] == "two" and len(runs[2].config["faults"]) == 2
    frames = []
    for workers in (1, 2):
        out = run_sweep(spec, sim_dir / f"w{workers}", workers=workers, progress=False)
        assert out.failed == 0
        df = pd.read_parquet(sim_dir / f"w{workers}" / "runs.parquet")
        frames.append(df.drop(columns=[c for c in VOLATILE_COLUMNS if c in df.columns]))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    df = frames[0]
    assert set(df["ike_sas"]) == {1}
    assert (df.loc[df["variant"] == "two", "failovers"] == 2).all()
    assert (df.loc[df["variant"] == "one", "failovers"] == 1).all()
    # every metric the simulator reports declares its kind, and every summary interval is inside it
    summary = pd.read_csv(sim_dir / "w1" / "summary.csv")
    metrics = [c for c in df.columns if c in SIM_METRIC_KINDS or f"{c}_mean" in summary.columns]
    assert metrics and set(metrics) <= set(SIM_METRIC_KINDS)
    for m in metrics:
        kind = SIM_METRIC_KINDS[m]
        low, high = summary[f"{m}_ci_low"].dropna(), summary[f"{m}_ci_high"].dropna()
        assert (low >= kind.lo).all() and (high <= kind.hi).all(), m
        assert (summary[f"{m}_n"] + summary[f"{m}_undefined"] == summary["n_runs"]).all()


@pytest.mark.parametrize("run", ["metrics", "records"])
def test_a_run_leaves_no_world_behind_for_the_next_run(run: str) -> None:
    """A sweep worker holds one run's memory at a time: nothing of a finished run's world is left
    for the collector to find later (the world takes itself apart, ``World.dismantle``)."""
    import gc
    import tomllib

    from hasim.experiments.model import simulate_metrics, simulate_records
    from hasim.sim.model.world import World

    config = resolve_scenario(tomllib.loads(BASE), {})
    gc.collect()
    gc.disable()  # a world kept alive by a reference cycle would stay among the tracked objects
    try:
        (simulate_metrics if run == "metrics" else simulate_records)(config, 5)
        assert [o for o in gc.get_objects() if isinstance(o, World)] == []
    finally:
        gc.enable()
