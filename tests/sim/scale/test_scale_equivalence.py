"""The scaled world (ESP flows in one bank, checkpoints, periodic sync as arrays) gives exactly the metrics
of the per-SA world, which the packet-by-packet tests pin to the reference path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hasim.sim import load_scenario, scenario_from_dict, simulate, with_overrides
from hasim.sim.scale import bank_state
from hasim.sim.scale.world import scaled_supported

from ..scenarios import metric_diff, scenario

RA10K = Path(__file__).resolve().parents[3] / "experiments" / "scenarios" / "remote_access_10k.toml"


def _ra10k(peers: int, **over: Any) -> Any:
    d = with_overrides(
        load_scenario(RA10K).to_dict(), {"traffic.peers": peers, "scenario.duration_s": 45.0} | over
    )
    return scenario_from_dict(d)


MIXED = {
    "traffic": {"child_sas_max": 2, "rate_spread": 4.0, "rekey_interval_s": 12.0, "rekey_jitter_s": 10.0}
}

CASES: dict[str, dict[str, Any]] = {
    "clean": {},
    "lossy_dup_reorder": {"links": {"loss": 0.05, "jitter_s": 0.003, "reorder": 0.05, "duplicate": 0.02}},
    "mixed_rekeys_liveness": MIXED | {"traffic": MIXED["traffic"] | {"liveness_interval_s": 2.0, "peers": 6}},
    "lazy_lenient": {
        "traffic": {"model": "poisson", "child_sas": 2, "liveness_interval_s": 2.0, "peers": 3},
        "policy": {"trigger": "lazy", "ipsec_after_failover": "lenient"},
    },
    "out_of_window_two_failovers": {
        "cluster": {"members": 3},
        "traffic": {"model": "onoff", "peers": 2, "liveness_interval_s": 1.5},
        "policy": {"trigger": "out_of_window", "skip_policy": "fixed", "skip_packets": 50},
        "faults": [{"at_s": 10.5}, {"at_s": 14.2}, {"kind": "loss_burst", "at_s": 5.0, "duration_s": 0.3}],
    },
    "esn_huge_skip_rekey": {"policy": {"esn": True, "skip_policy": "large"}, "links": {"loss": 0.01}},
    "no_skip_iv_reuse": {
        "traffic": {"peers": 3, "child_sas": 2},
        "policy": {"skip_policy": "fixed", "skip_packets": 0},
    },
    "sync_loss_partition": {
        "cluster": {"sync_loss": 0.3},
        "traffic": {"peers": 4},
        "faults": [{"kind": "sync_partition", "at_s": 7.0, "duration_s": 2.5}, {"at_s": 9.2}],
    },
    "simultaneous_failover": {
        "peer": {"is_cluster": True},
        "traffic": {"peers": 2, "liveness_interval_s": 3.0},
        "faults": [{"at_s": 10.5}, {"at_s": 10.5, "target": "peer"}],
    },
    "split_brain_and_repair": {
        "traffic": {"peers": 3, "liveness_interval_s": 2.0},
        "membership": {"repair_s": 4.0},
        "faults": [{"kind": "sync_partition", "at_s": 3.0, "duration_s": 5.0}, {"at_s": 12.5}],
    },
    "heartbeat_loss_strongswan": {
        "cluster": {"phases": "random"},
        "traffic": {"peers": 2, "liveness_interval_s": 2.0},
        "membership": {"style": "strongswan", "link": "own", "preempt": False},
        "heartbeat_link": {"loss": 0.3, "latency_s": 0.001, "jitter_s": 0.002},
    },
    "cluster_link_bursts_shared": {  # sync and advertisements step one Gilbert-Elliott chain per direction
        "cluster": {"members": 3, "sync_interval_s": 0.4},
        "cluster_link": {"loss_model": "gilbert_elliott", "ge_good_to_bad": 0.1, "ge_bad_to_good": 0.6},
        "traffic": {"peers": 4, "liveness_interval_s": 2.0},
        "membership": {"repair_s": 3.0},
    },
    "cluster_link_loss_jitter_partition": {  # two standbys: the loss stream in (SA, standby) order
        "cluster": {"members": 3, "sync_loss": 0.2, "phases": "random"},
        "cluster_link": {"jitter_s": 0.003},
        "traffic": {"peers": 5, "child_sas": 2},
        "faults": [{"kind": "sync_partition", "at_s": 6.1, "duration_s": 1.3}, {"at_s": 10.5}],
    },
    # split brains: both members send ESP with their own counters to the same window
    "split_brain_lossy_liveness": {
        "traffic": {"peers": 3, "child_sas": 2, "liveness_interval_s": 1.5},
        "links": {"loss": 0.05, "jitter_s": 0.003, "reorder": 0.05, "duplicate": 0.02},
        "policy": {"skip_policy": "fixed", "skip_packets": 200},
        "faults": [{"kind": "sync_partition", "at_s": 3.0, "duration_s": 5.0}, {"at_s": 14.5}],
    },
    "split_brain_three_masters": {
        "cluster": {"members": 3},
        "traffic": {"peers": 2, "model": "onoff", "liveness_interval_s": 2.0},
        "faults": [{"kind": "sync_partition", "at_s": 3.0, "duration_s": 6.0}],
    },
    "split_brain_both_ends": {  # the partition cuts the peer cluster's link too
        "peer": {"is_cluster": True},
        "traffic": {"peers": 2, "liveness_interval_s": 3.0},
        "faults": [{"kind": "sync_partition", "at_s": 4.5, "duration_s": 5.0}],
    },
    "takeover_after_duration": {  # the crash is detected after the ESP traffic ended (duration_s)
        "scenario": {"duration_s": 15.0},
        "traffic": {"esp_out_pps": 150.0, "esp_in_pps": 90.0, "liveness_interval_s": 3.0},
        "faults": [{"at_s": 12.0}],
    },
    "first_send_small_capacity": {
        "cluster": {"sync_capacity_per_s": 5.0},
        "traffic": {"peers": 8, "model": "onoff"},
        "policy": {"trigger": "first_send"},
    },
}


@pytest.mark.parametrize("send_few", [None, 0, 10**9], ids=["default", "arrays_only", "scalar_only"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_scaled_equals_per_sa(case: str, send_few: int | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also with every send and delivery of the bank done by its array path (the passes over all flows
    range by range, a flow or so each), and by its packet-by-packet path."""
    if send_few is not None:
        monkeypatch.setattr(bank_state, "SMALL_SEND", send_few)
        monkeypatch.setattr(bank_state, "SMALL", send_few)
        monkeypatch.setattr(bank_state, "MANY", 1 if send_few == 0 else send_few)
        monkeypatch.setattr(bank_state, "RANGE_COPIES", 1 if send_few == 0 else send_few)
    extra = dict(CASES[case])
    extra.setdefault("faults", [{"at_s": 10.5}])
    extra["traffic"] = {"esp_out_pps": 300.0, "esp_in_pps": 200.0} | extra.get("traffic", {})
    cfg = scenario(**extra)
    assert scaled_supported(cfg, records=False)
    per_sa = simulate(cfg, 9, esp_path="vectorized").metrics
    scaled = simulate(cfg, 9, esp_path="scaled").metrics
    assert metric_diff(per_sa, scaled) == {}
    assert per_sa["esp_out_sent"] > 1000
    if case == "no_skip_iv_reuse":
        assert per_sa["iv_reuse_events"] > 0  # the stale counters repeat sequence numbers (R3.4-1)
    if case.startswith("cluster_link"):
        assert per_sa["sync_channel_lost"] > 0
    if case == "cluster_link_bursts_shared":
        assert per_sa["failovers"] == 2  # the crash, then the repaired member preempts after its resync
    if case.startswith("split_brain"):
        assert per_sa["false_failovers"] >= 1 and per_sa["esp_out_sent"] > per_sa["esp_out_accepted"]
    if case == "takeover_after_duration":
        assert per_sa["flows_not_recovered"] > 0  # no packet after the takeover: nothing recovers


@pytest.mark.parametrize("capacity", [1000.0, 100.0])  # 100/s: the gate's period is the watch's poll
@pytest.mark.parametrize("trigger", ["proactive", "lazy", "out_of_window"])
def test_remote_access_10k_small_equals_per_sa(trigger: str, capacity: float) -> None:
    cfg = _ra10k(25, **{"policy.trigger": trigger, "cluster.sync_capacity_per_s": capacity})
    per_sa = simulate(cfg, 4, esp_path="vectorized").metrics
    scaled = simulate(cfg, 4, esp_path="scaled").metrics
    assert metric_diff(per_sa, scaled) == {}
    assert per_sa["rekeys"] > 0 and per_sa["failovers"] == 1


def test_auto_takes_the_per_sa_world_where_the_bank_is_not_exact() -> None:
    assert not scaled_supported(scenario(attacker={"enabled": True}), records=False)
    assert not scaled_supported(scenario(links={"loss_model": "gilbert_elliott"}), records=False)
    assert not scaled_supported(scenario(), records=True)
    cfg = scenario(attacker={"enabled": True, "replay_after_s": 0.0}, faults=[{"at_s": 5.5}])
    assert metric_diff(simulate(cfg, 3, esp_path="auto").metrics, simulate(cfg, 3).metrics) == {}
