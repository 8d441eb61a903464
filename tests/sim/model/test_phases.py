"""Random clock phases: each run draws the phase of the periodic sync and of the heartbeats, so a crash
at a fixed time meets a uniformly random staleness and detection delay.

Set-up (the quiet scenario of the hand-worked tests): constant 1000 packets/s each way, loss-free
10 ms links, sync every T = 1 s, crash at 10.5 s, skip 0. With sync phase p the syncs come at p + k T,
so the standby's snapshot is a = (10.5 - p) mod T old and the new member resends the r a packets
it does not know of: the peer drops them as replays (to one packet: the lattice and the 0.5 ms
sync latency). Uniform p makes a uniform over [0, T): mean drops r T / 2 = 500. The last heartbeat
before the crash is h + k (h the heartbeat phase), detected 3 x 1 s + 0.609375 s + 0.5 ms later.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep
from hasim.sim import simulate
from hasim.sim.streams import RandomStreams

from ..scenarios import metric_diff, scenario

FIXED_SKIP = {"skip_policy": "fixed", "skip_packets": 0}


def _random_run(seed: int) -> dict[str, float | int]:
    cfg = scenario(cluster={"phases": "random"}, faults=[{"at_s": 10.5}], policy=FIXED_SKIP)
    return simulate(cfg, seed).metrics


def test_each_run_meets_the_staleness_and_detection_of_its_own_phases() -> None:
    stale = []
    for seed in range(12):
        m = _random_run(seed)
        streams = RandomStreams(seed)
        p = float(streams.get("phases", "sync", "cluster").random())
        h = float(streams.get("phases", "heartbeat", "cluster").random())
        a = (10.5 - p) % 1.0
        assert abs(m["esp_out_replay_drops"] - 1000 * a) <= 1.5, (seed, a)
        last_heartbeat = h + math.floor(10.5 - h)
        assert abs(m["detection_time_s"] - (last_heartbeat + 0.0005 + 3.609375 - 10.5)) < 1e-9
        assert m["sa_survival"] == 1.0
        stale.append(a)
    assert max(stale) - min(stale) > 0.5  # the phases differ between runs


def test_mean_replay_drops_are_r_t_over_2_within_the_sweeps_interval(tmp_path: Path) -> None:
    base = """\
[scenario]
duration_s = 20.0
[cluster]
sync_interval_s = 1.0
[traffic]
model = "constant"
esp_out_pps = 1000.0
esp_in_pps = 1000.0
liveness_interval_s = 0.0
rekey_interval_s = 0.0
[links]
latency_s = 0.01
[[faults]]
kind = "crash"
at_s = 10.5
[policy]
skip_policy = "fixed"
skip_packets = 0
"""
    (tmp_path / "base.toml").write_text(base)
    (tmp_path / "sweep.toml").write_text(
        '[sweep]\nname = "phase"\nbase = "base.toml"\nreplications = 40\nroot_seed = 3\n'
    )
    run_sweep(load_sweep(tmp_path / "sweep.toml"), tmp_path / "res", workers=2, progress=False)
    row = pd.read_csv(tmp_path / "res" / "summary.csv").iloc[0]
    assert row["esp_out_replay_drops_n"] == 40
    assert row["esp_out_replay_drops_ci_low"] <= 1000 * 1.0 / 2 <= row["esp_out_replay_drops_ci_high"]
    assert row["sa_survival_mean"] == 1.0


def test_fixed_phases_keep_the_worked_example() -> None:
    cfg = scenario(faults=[{"at_s": 10.5}], policy=FIXED_SKIP)  # phases = "fixed"
    for seed in (1, 2):
        m = simulate(cfg, seed).metrics
        assert m["esp_out_replay_drops"] == 500 and abs(m["detection_time_s"] - 3.109875) < 1e-9


def test_both_engines_draw_the_same_phases() -> None:
    cfg = scenario(
        cluster={"phases": "random", "members": 3},
        traffic={"peers": 5, "liveness_interval_s": 2.0},
        faults=[{"at_s": 10.5}, {"at_s": 15.0}],
    )
    for seed in (1, 2):
        scaled = simulate(cfg, seed, esp_path="scaled").metrics
        assert metric_diff(scaled, simulate(cfg, seed, esp_path="vectorized").metrics) == {}
