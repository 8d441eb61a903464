"""Every IKE SA ends with a fate decided by simulation, whatever ``duration_s`` is."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

from hasim.sim import scenario_from_dict, simulate, with_overrides
from hasim.sim.model.world import World

from ..scenarios import scenario

SITE = Path(__file__).parents[3] / "experiments" / "scenarios" / "site_to_site.toml"
FATES = ("survived", "lost_timeout", "unknown_to_standby", "torn_down", "black_holed", "undecided")


def _site(**overrides: object) -> dict[str, float | int]:
    cfg = scenario_from_dict(with_overrides(tomllib.loads(SITE.read_text()), overrides))
    return simulate(cfg, 1).metrics


def test_a_stale_sync_is_lost_on_timeout_however_long_the_run() -> None:
    # Sync every 8 s, liveness every 1 s: the peer saw newer Message IDs than the standby knows, drops
    # the new member's sync request as stale (strict reading of R5.1-5), and the member gives the SA
    # up after its retransmissions (165 s); a 60 s run used to report it as surviving.
    short = _site(**{"cluster.sync_interval_s": 8, "traffic.liveness_interval_s": 1})
    long = _site(
        **{"cluster.sync_interval_s": 8, "traffic.liveness_interval_s": 1, "scenario.duration_s": 200}
    )
    for m in (short, long):
        assert m["sa_survival"] == 0.0 and m["fate_lost_timeout"] == 1
        assert m["sync_requests_dropped_stale"] >= 1
    assert {f: short[f"fate_{f}"] for f in FATES} == {f: long[f"fate_{f}"] for f in FATES}


def test_a_good_failover_survives_at_any_duration() -> None:
    for duration in (40.0, 60.0, 300.0):
        m = _site(**{"scenario.duration_s": duration})
        assert (m["sa_survival"], m["fate_survived"]) == (1.0, 1)
        assert m["decided_at_s"] == duration  # decided at the first look: nothing open at the end


def test_without_any_exchange_the_fate_stays_undecided_until_the_bound() -> None:
    # No liveness checks, no rekeys and a peer without RFC 6311: after the takeover no IKE exchange
    # ever shows whether the SA still works, so after 20 s of ESP and 30 s more it is undecided.
    cfg = scenario(
        scenario={"decide_within_s": 30.0},
        peer={"message_id_sync": False, "replay_counter_sync": False},
        faults=[{"at_s": 10.5}],
    )
    m = simulate(cfg, 3).metrics
    assert (m["fate_undecided"], m["sa_survival"], m["decided_at_s"]) == (1, 0.0, 50.0)


def test_without_a_failover_an_exchange_and_traffic_decide_survival() -> None:
    m = simulate(scenario(traffic={"liveness_interval_s": 5.0}), 3).metrics
    assert (m["failovers"], m["fate_survived"], m["decided_at_s"]) == (0, 1, 20.0)


def test_a_decided_sa_starts_no_liveness_check_or_rekey() -> None:
    # Two SAs with liveness every 5 s at each end and a rekey every 10 s; at 25 s SA 0's fate is
    # decided (as a look of the tail would). Over the next 50 s SA 0 sends no request at all, while
    # SA 1 goes on: its peer end checks liveness 50 / 5 = 10 times, its cluster rekeys at 30..70 s.
    cfg = scenario(traffic={"peers": 2, "liveness_interval_s": 5.0, "rekey_interval_s": 10.0})
    world = World(cfg, 1, records=True)
    world.build()
    world.env.run(until=25.0)
    world.fates[0] = "survived"
    world.env.run(until=75.0)
    requests = Counter(
        (r["sa"], r["src"], r["exchange"])
        for r in world.probes.records["ike_messages"]
        if r["time"] > 25.0 and not r["response"]
    )
    assert not [k for k in requests if k[0] == 0]
    assert requests[(1, "peer", "INFORMATIONAL")] == 10
    assert requests[(1, "cluster.m0", "CREATE_CHILD_SA")] == 5
