"""``import hasim``: scenarios from names, paths and dicts; one run; sweeps; committed results."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

import hasim
from hasim.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "experiments" / "scenarios" / "site_to_site.toml"


def test_scenario_from_name_path_and_dict_are_the_same() -> None:
    by_name = hasim.load_scenario("site_to_site")
    assert by_name == hasim.load_scenario(SITE)
    assert by_name == hasim.load_scenario(tomllib.loads(SITE.read_text()))
    assert by_name.scenario.name == "site_to_site" and by_name.cluster.sync_interval_s == 1.0


def test_with_overrides_accepts_a_loaded_scenario_and_leaves_it_unchanged() -> None:
    base = hasim.load_scenario("site_to_site")
    changed = hasim.with_overrides(base, {"cluster.sync_interval_s": 2, "links.loss": 0.01})
    assert changed.cluster.sync_interval_s == 2.0
    assert changed.links.cluster_to_peer.loss == 0.01 and changed.links.peer_to_cluster.loss == 0.01
    assert base.cluster.sync_interval_s == 1.0 and base.links.cluster_to_peer.loss == 0.001  # the file's
    assert changed.traffic == base.traffic


def test_bad_override_and_unknown_example_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"cluster\.sync_intervl_s.*did you mean 'sync_interval_s'"):
        hasim.load_scenario("site_to_site", {"cluster.sync_intervl_s": 1})
    with pytest.raises(ConfigError, match=r"site_to_sit.*did you mean 'site_to_site'"):
        hasim.load_scenario("site_to_sit")


def test_simulate_gives_metrics_and_record_frames() -> None:
    out = hasim.simulate("site_to_site", records=True)
    assert out.seed == 1  # the scenario's own seed
    # VRRP master-down: last advertisement at 20.0 s + 3 x 1 s + skew (256 - 100) / 256 s, crash at 20.5 s
    assert out.metrics["detection_time_s"] == pytest.approx(20.0 + 3 + 156 / 256 - 20.5, abs=1e-3)
    assert out.metrics["failovers"] == 1 and out.metrics["sa_survival"] == 1.0
    drops = out.records["drops"]
    assert isinstance(drops, pd.DataFrame) and {"time", "node", "reason", "count"} <= set(drops.columns)
    replay_in = drops[(drops["reason"] == "replay") & (drops["node"] == "cluster")]["count"].sum()
    assert replay_in == out.metrics["esp_in_replay_drops"]
    again = hasim.simulate(hasim.load_scenario("site_to_site"), seed=1)
    assert {k: v for k, v in again.metrics.items() if k != "wall_time_s"} == {
        k: v for k, v in out.metrics.items() if k != "wall_time_s"
    }
    assert again.records == {}
    assert list(out.metrics_frame().columns) == list(out.metrics)


SMALL = {
    "sweep": {"name": "small", "base": "site_to_site", "replications": 2, "root_seed": 7},
    "fixed": {"scenario.duration_s": 30.0},
    "axes": [{"kind": "grid", "key": "cluster.sync_interval_s", "values": [1.0, 4.0]}],
}


def _metrics(df: pd.DataFrame) -> pd.DataFrame:
    drop = ["run_wall_s", "wall_time_s", "git_revision"]
    return df.drop(columns=[c for c in drop if c in df.columns]).reset_index(drop=True)


def test_sweep_of_a_dict_gives_runs_and_summary_whatever_the_workers(tmp_path: Path) -> None:
    one = hasim.sweep(SMALL, tmp_path / "one", progress=False)
    assert len(one.runs) == 4 and len(one.summary) == 2 and one.failed == 0
    assert list(one.summary["n_runs"]) == [2, 2]
    assert list(one.summary["cluster.sync_interval_s"]) == [1.0, 4.0]
    two = hasim.sweep(SMALL, tmp_path / "two", workers=2, progress=False)
    pd.testing.assert_frame_equal(_metrics(one.runs), _metrics(two.runs))
    # the manifest keeps the sweep text actually run, base resolved to the packaged example
    assert "site_to_site.toml" in tomllib.loads(one.results.manifest["sweep_toml"])["sweep"]["base"]


def test_sweep_overrides_change_replications_and_scenario_keys(tmp_path: Path) -> None:
    out = hasim.sweep(
        SMALL,
        tmp_path / "r",
        overrides={"sweep.replications": 1, "scenario.duration_s": 25.0},
        progress=False,
    )
    assert len(out.runs) == 2
    import json

    assert {json.loads(c)["scenario"]["duration_s"] for c in out.runs["config"]} == {25.0}
    with pytest.raises(ConfigError, match="already holds results"):
        hasim.sweep(SMALL, tmp_path / "r", progress=False)


def test_sweep_on_a_dask_client(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    local = hasim.sweep(SMALL, tmp_path / "local", progress=False)
    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        remote = hasim.sweep(SMALL, tmp_path / "dask", client=client, progress=False)
    pd.testing.assert_frame_equal(_metrics(local.runs), _metrics(remote.runs))


def test_load_results_of_a_committed_experiment() -> None:
    res = hasim.load_results(REPO / "results" / "sync_vs_skip")
    # sweep.toml: 2 variants x 5 sync intervals x 5 skips, 20 replications each, doubled to 40 where
    # sa_survival's interval was wider than +-0.05 (the survival intervals are at least 0.08 at 20
    # runs, so every point doubled once)
    assert len(res.summary) == 2 * 5 * 5 and len(res.runs) == 2 * 5 * 5 * 40
    assert set(res.summary["n_runs"]) == {40}
    assert res.timelines is not None and set(res.timelines["timeline"]) == {
        "rfc6311, sync 2 s, no skip",
        "legacy, sync 4 s, skip 1000",
    }


def test_packaged_examples_are_listed_and_copied_with_their_base(tmp_path: Path) -> None:
    names = {(e.kind, e.name) for e in hasim.list_examples()}
    assert ("scenario", "site_to_site") in names and ("sweep", "sync_vs_skip") in names
    assert {n for k, n in names if k == "sweep"} == {
        p.parent.name for p in REPO.glob("experiments/*/sweep.toml")
    }
    from hasim.experiments.examples import copy_examples
    from hasim.experiments.sweep_source import load_sweep_source

    copied = copy_examples(["multi_failover"], tmp_path)
    assert tmp_path / "multi_failover" / "sweep.toml" in copied
    spec = load_sweep_source(
        tmp_path / "multi_failover" / "sweep.toml"
    )  # base: ../sync_vs_skip/scenario.toml
    assert spec.base_path == (tmp_path / "sync_vs_skip" / "scenario.toml").resolve()
    with pytest.raises(ConfigError, match="already exists"):
        copy_examples(["multi_failover"], tmp_path)


def test_progress_bar_follows_the_simulated_clock_and_changes_nothing() -> None:
    import io
    import time

    from hasim.experiments.run_progress import SimClockBar

    now = [0.0]
    out = io.StringIO()
    with SimClockBar(60.0, "demo", delay_s=0.0, file=out) as bar:
        bar.attach(lambda: now[0])
        for t in (15.0, 30.0, 61.0):
            now[0] = t
            time.sleep(0.6)
    text = out.getvalue()
    assert "30.0/60.0 simulated s" in text and "deciding the SAs' fates" in text
    assert text.rstrip().splitlines()[-1].count("60.0/60.0") == 1  # closed at the end of the run
    plain = hasim.simulate("site_to_site", seed=3)
    shown = hasim.simulate("site_to_site", seed=3, progress=True)
    drop = {"wall_time_s"}
    assert {k: v for k, v in plain.metrics.items() if k not in drop} == {
        k: v for k, v in shown.metrics.items() if k not in drop
    }


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda: hasim.load_scenario(5), "scenario"),
        (lambda: hasim.load_scenario(None), "scenario"),
        (lambda: hasim.load_results(None), "results"),
        (lambda: hasim.sweep([], progress=False), "sweep"),
        (lambda: hasim.sweep("readings_r515", 5, progress=False), "results"),
        (
            lambda: hasim.sweep("readings_r515", overrides=[("sweep.replications", 1)], progress=False),
            "overrides",
        ),
        (lambda: hasim.sweep("readings_r515", workers="2", progress=False), "--workers"),
        # 1.5 was cut to seed 1, -1 and NaN failed deep inside the random streams
        (lambda: hasim.simulate("site_to_site", 1.5), "seed"),
        (lambda: hasim.simulate("site_to_site", -1), "seed"),
        (lambda: hasim.simulate("site_to_site", float("nan")), "seed"),
        (lambda: hasim.simulate("site_to_site", 2**63), "seed"),
    ],
)
def test_a_wrong_argument_is_a_config_error_naming_it(call: object, key: str) -> None:
    """TypeError from pathlib, AttributeError or a ValueError deep in the random streams before."""
    with pytest.raises(ConfigError) as exc:
        call()  # type: ignore[operator]
    assert exc.value.key == key


def test_the_api_refuses_a_run_beyond_the_cost_limits_as_the_cli_does(tmp_path: Path) -> None:
    """10^7 peers for 10^6 s ran until killed through ``hasim.simulate``: the API skipped the estimate
    that ``hasim run`` makes; ``force=True`` is ``--force``."""
    with pytest.raises(ConfigError) as exc:
        hasim.simulate("site_to_site", overrides={"traffic.peers": 10**7, "scenario.duration_s": 1e6})
    assert exc.value.key.split(", ")[0] == "traffic.peers" and "--max-" in exc.value.message
    sweep = {
        "sweep": {"name": "big", "base": "site_to_site", "replications": 1, "root_seed": 1},
        "fixed": {"traffic.peers": 10**7, "scenario.duration_s": 1e6},
    }
    with pytest.raises(ConfigError) as exc:
        hasim.sweep(sweep, tmp_path / "big", progress=False)
    assert exc.value.key.split(", ")[0] == "traffic.peers"
    assert not (tmp_path / "big").exists()
