"""The run-cost estimate: counts worked out by hand from the scenario, limits that name the driving keys.

Scenario A (below): 3 peers, 2 Child SAs each, 100 + 50 packets/s per Child SA, 20 s, a cluster of 2
with a sync every 0.5 s, a crash at 8 s, liveness every 10 s, rekeys every 5 s, advertisements every 1 s:

- ESP packets: 3 x 2 x (100 + 50) x 20 = 18,000.
- the fate-deciding tail: an SA is decided once each end completed an exchange after the takeover, by
  the crash (8 s) + its detection ((3 + 1) x 1 s) + a liveness interval (10 s) = 22 s, 2 s past the 20 s;
  an SA given up on timeout runs on through strongSwan's retransmissions (4 x (1 + 1.8 + 1.8^2 + 1.8^3 +
  1.8^4 + 1.8^5) = 165.06112 s), with chance 0.001 per SA and crash: the IKE side of an SA runs
  20 + 2 + 0.001 x 165.06112 = 22.16506112 s.
- IKE messages: liveness 3 peers x 2 ends x 2 messages x 22.16506112 / 10 = 26.59807; rekeys
  3 x 2 x 4 messages x 22.16506112 / 5 = 106.39229; the takeover's sync exchanges 3 x 4 x 1 crash = 12;
  in all 144.99036.
- sync: the cluster has a standby until the crash at 8 s: 8 / 0.5 = 16 rounds, each updating
  3 x (1 + 2) = 9 SAs: 16 + 144 = 160.
- timers: 2 members x 20 / 1 = 40 advertisements.
- memory: 60 MB + 3 IKE SAs x 33 kB + 6 Child SAs x 15 kB + the offered packets held, 48 bytes each:
  12 flows (6 Child SAs, both ways), an epoch of max(2 x 0.5 s, min(30 s, 192 x 12 / 900 packets/s))
  = 2.56 s holds 2,304 packets: 60,000,000 + 99,000 + 90,000 + 110,592 = 60,299,592 bytes.
"""

from __future__ import annotations

import pytest

from hasim.errors import ConfigError
from hasim.sim.scenario.config import scenario_from_dict
from hasim.sim.scenario.cost import (
    Limits,
    check_cost,
    decide_tail,
    estimate_cost,
    held_packets,
    mean_rate_factor,
)

A = {
    "scenario": {"duration_s": 20.0},
    "cluster": {"members": 2, "sync_interval_s": 0.5, "advertisement_interval_s": 1.0},
    "traffic": {
        "peers": 3,
        "child_sas": 2,
        "esp_out_pps": 100.0,
        "esp_in_pps": 50.0,
        "liveness_interval_s": 10.0,
        "rekey_interval_s": 5.0,
    },
    "faults": [{"kind": "crash", "at_s": 8.0}],
}


def test_counts_of_scenario_a_by_hand() -> None:
    cost = estimate_cost(scenario_from_dict(A))
    assert cost.esp_packets == pytest.approx(18_000)
    assert decide_tail(scenario_from_dict(A)) == pytest.approx(2.16506112, abs=1e-8)
    assert cost.ike_messages == pytest.approx(26.59807 + 106.39229 + 12)
    assert cost.sync_updates == pytest.approx(16 + 144)
    assert cost.memory_bytes == pytest.approx(60_299_592)
    assert cost.timer_events == pytest.approx(40)
    assert cost.events == pytest.approx(18_000 + 144.99036 + 160 + 40)


def test_the_epoch_budget_is_the_scaled_engines() -> None:
    from hasim.sim.scale import world
    from hasim.sim.scenario import cost

    assert cost.EPOCH_PACKETS_PER_FLOW == world._EPOCH_PACKETS_PER_FLOW


def test_the_packets_held_are_an_epoch_of_192_a_flow() -> None:
    # epoch = max(2 sync intervals, min(30 s, 192 x flows / rate)); held = rate x epoch
    assert held_packets(1e3, 1000, 1.0) == pytest.approx(30e3)  # 30 s: under 192 a flow
    assert held_packets(1e5, 1000, 0.5) == pytest.approx(192e3)  # 1.92 s of 100,000 packets/s
    assert held_packets(1e6, 10_000, 1.0) == pytest.approx(2e6)  # never under two sync intervals
    assert held_packets(0.0, 10, 1.0) == 0.0


def test_mean_rate_factor_of_a_log_uniform_spread() -> None:
    # E[f] for ln f ~ U[-ln s, ln s]: (s - 1/s) / (2 ln s); s = e gives (e - 1/e) / 2 = sinh(1).
    assert mean_rate_factor(1.0) == 1.0
    assert mean_rate_factor(2.718281828459045) == pytest.approx(1.1752011936438014)


def test_on_off_traffic_sends_for_its_duty_cycle_and_counts_its_periods() -> None:
    d = {**A, "traffic": {**A["traffic"], "model": "onoff", "on_s": 0.3, "off_s": 0.7}}
    cost = estimate_cost(scenario_from_dict(d))
    assert cost.esp_packets == pytest.approx(18_000 * 0.3)
    # 6 flows' on and off periods: 3 x 2 x 2 x 20 / (0.3 + 0.7) = 240, plus the 40 advertisements
    assert cost.timer_events == pytest.approx(240 + 40)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cluster.sync_interval_s", 1e-9),
        ("traffic.liveness_interval_s", 1e-9),
        ("traffic.rekey_interval_s", 1e-6),
        ("traffic.peers", 10_000_000),
        ("scenario.duration_s", 1e12),
    ],
)
def test_a_run_beyond_the_limits_is_refused_naming_its_key(key: str, value: float) -> None:
    section, name = key.split(".")
    d = {**A, section: {**A.get(section, {}), name: value}}
    cost = estimate_cost(scenario_from_dict(d))
    with pytest.raises(ConfigError) as exc:
        check_cost(cost, Limits())
    assert exc.value.key.split(", ")[0] == key


def test_a_rate_spread_that_multiplies_the_packets_is_named() -> None:
    # 100 peers at the widest spread: mean factor 1e6 / (2 ln 1e6) = 36,191, so 100 x 2 x 150 x 36,191
    # x 20 s = 2.2e10 ESP packets, over --max-events; the spread is the factor furthest over its default
    d = {**A, "traffic": {**A["traffic"], "peers": 100, "rate_spread": 1e6}}
    cost = estimate_cost(scenario_from_dict(d))
    assert cost.esp_packets == pytest.approx(100 * 2 * 150 * mean_rate_factor(1e6) * 20)
    with pytest.raises(ConfigError) as exc:
        check_cost(cost, Limits())
    assert exc.value.key.split(", ")[0] == "traffic.rate_spread" and "--max-events" in exc.value.message


def test_within_the_limits_nothing_is_refused_and_each_limit_counts() -> None:
    cost = estimate_cost(scenario_from_dict(A))
    check_cost(cost, Limits())
    with pytest.raises(ConfigError, match="--max-events"):
        check_cost(cost, Limits(events=1000))
    with pytest.raises(ConfigError, match="--max-memory"):
        check_cost(cost, Limits(memory_bytes=1e6))


# Scenario B: 2 peers, 1 Child SA each, 100 packets/s out, 10 s, a sync every second, no liveness checks,
# no rekeys by time, no faults: IKE messages come only from what the test sets.
B = {
    "scenario": {"duration_s": 10.0},
    "cluster": {"sync_interval_s": 1.0},
    "traffic": {"peers": 2, "esp_out_pps": 100.0, "esp_in_pps": 0.0, "liveness_interval_s": 0.0},
}
B["traffic"]["rekey_interval_s"] = 0.0


@pytest.mark.parametrize(
    ("fraction", "sync", "esn", "rekeys"),
    [
        # 1e-7 of 2**32 = 429.4967 packets a rekey: 1,000 sent, floor(1000 / 429.4967) = 2 rekeys
        (1e-7, 1.0, False, 2),
        (1e-7, 10.0, False, 1),  # one sync round in 10 s: the counters are looked at once
        (1e-9, 1.0, False, 10),  # every 4.29 packets, but at most once a round: 10 rounds
        (1e-9, 1.0, True, 0),  # 1e-9 of 2**64 packets is never reached
        (0.9, 1.0, False, 0),  # the default: 3.9e9 packets
    ],
)
def test_rekeys_when_a_counter_passes_its_fraction_are_counted(
    fraction: float, sync: float, esn: bool, rekeys: int
) -> None:
    d = {
        **B,
        "cluster": {"sync_interval_s": sync},
        "traffic": {**B["traffic"], "rekey_counter_fraction": fraction},
        "policy": {"esn": esn},
    }
    cost = estimate_cost(scenario_from_dict(d))
    assert cost.ike_messages == pytest.approx(2 * 1 * 4 * rekeys)  # peers x Child SAs x 4 messages


def test_rekeys_every_few_packets_are_refused_naming_the_fraction() -> None:
    # 20,000 peers, 1 packet/s out, an hour: 3,600 / 4.29 = 838 rekeys a Child SA by its counter and
    # 1 by time (rekey_interval_s 1 h): 20,000 x 4 x 839 = 6.7e7 IKE messages, 2.8 h of CPU
    d = {
        "scenario": {"duration_s": 3600.0},
        "traffic": {"peers": 20_000, "esp_out_pps": 1.0, "esp_in_pps": 1.0, "liveness_interval_s": 0.0},
    }
    d["traffic"]["rekey_counter_fraction"] = 1e-9
    cost = estimate_cost(scenario_from_dict(d))
    assert cost.ike_messages == pytest.approx(20_000 * 4 * (838 + 1))
    with pytest.raises(ConfigError) as exc:
        check_cost(cost, Limits())
    assert exc.value.key.split(", ")[0] == "traffic.rekey_counter_fraction"


@pytest.mark.parametrize(
    ("timeout", "peer_cluster", "flaps"),
    [
        # a 1 ms timeout, 0.5 ms sync latency: one flap per 1 + 4 x 0.5 = 3 ms, 10 / 0.003 in 10 s
        (0.001, False, 10 / 0.003),
        (0.001, True, 2 * 10 / 0.003),  # the peer cluster flaps as well
        (2.1, False, 0.0),  # strongSwan's default: longer than the 1 s heartbeat interval
    ],
)
def test_a_strongswan_standby_timing_out_between_heartbeats_flaps(
    timeout: float, peer_cluster: bool, flaps: float
) -> None:
    d = {
        **B,
        "cluster": {"sync_interval_s": 1.0, "sync_latency_s": 0.0005},
        "membership": {"style": "strongswan", "heartbeat_timeout_s": timeout},
        "peer": {"is_cluster": peer_cluster},
    }
    cost = estimate_cost(scenario_from_dict(d))
    base = estimate_cost(scenario_from_dict({**d, "membership": {"style": "strongswan"}}))
    assert cost.ike_messages == pytest.approx(2 * flaps)  # about one message per SA and flap
    assert cost.memory_bytes - base.memory_bytes == pytest.approx(2 * flaps * 600)


@pytest.mark.parametrize(
    ("change", "records", "per_packet", "key"),
    [
        ({}, False, 0.4e-6, None),  # the scaled engine
        ({}, True, 5e-6, None),  # event records: the per-SA world
        ({"attacker": {"enabled": True}}, False, 5e-6, "attacker.enabled"),
        ({"links": {"loss_model": "gilbert_elliott"}}, False, 5e-6, "links.loss_model"),
    ],
)
def test_esp_costs_what_the_world_that_runs_it_takes(
    change: dict, records: bool, per_packet: float, key: str | None
) -> None:
    from hasim.sim.scale.world import scaled_supported

    """The per-SA world runs ESP some 12 times slower than the scaled engine (3.3 s against an
    estimated 0.87 for remote_access with Gilbert-Elliott links; 336 s against 43.7 for
    remote_access_10k with --trace): scenario A's 18,000 packets at 5 microseconds each."""
    cfg = scenario_from_dict({**A, **change})
    cost = estimate_cost(cfg, scaled_supported(cfg, records=records))
    assert cost.parts["esp_packets"].cpu_s == pytest.approx(18_000 * per_packet)
    if key is not None:
        with pytest.raises(ConfigError) as exc:
            check_cost(cost, Limits(cpu_s=0.05))
        assert exc.value.key.split(", ")[0] == key  # 12.5 times the scaled cost, beyond 3 peers
