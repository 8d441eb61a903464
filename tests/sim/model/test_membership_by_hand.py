"""Failure detection as simulated heartbeats: numbers worked out by hand (RFC 5798 6.1).

Set-up (``tests/sim/scenarios.py``): two members, advertisements aligned at k x interval, cluster link
= the sync channel's (latency L = 0.5 ms, loss-free unless said), member 0 priority 200 (master),
member 1 priority 100: Master_Down_Interval = 3 I + 156 I / 256 (I = 1 s: 3.609375 s; I = 0.1 s:
0.3609375 s); member 0's own is 3 I + 56 I / 256 = 3.21875 s at I = 1 s.

- Crash at 10.5 s, I = 1 s: the last advertisement left at 10 s and arrived 10.0005; takeover at
  10.0005 + 3.609375 = 13.609875, detection 3.109875 s. At I = 0.1 s, crash at 10.55: the last left at
  105 x 0.1, takeover at that + 0.0005 + 0.3609375.
- Partition [4.5, 9.5) of the cluster link, both alive: the last advertisement through left at 4 s
  (arrived 4.0005); member 1 takes over at 7.609875 (a false failover); the partition ends at 9.5, the
  next advertisement leaves at 10 and arrives 10.0005, when member 1 steps down: split brain
  10.0005 - 7.609875 = 2.390625 s.
- Repair: member 0 crashes at 10.5, member 1 takes over at 13.609875; member 0 restarts at 15.5 and is
  resynced 0.5 ms + 1 SA / 1000 per s later (15.5015). With preemption it discards member 1's
  advertisements (the first reaches it at 15.610375, after the resync), so the timer it armed at its
  restart runs out: takeover at 15.5 + 3.21875 = 18.71875; member 1 hears its first advertisement
  0.5 ms later and steps down (0.0005 s of split brain). Without preemption it stays standby.
"""

from __future__ import annotations

from typing import Any

import pytest

from hasim.analysis.detection import HeartbeatLoss, detection_figures
from hasim.protocol.membership import DetectionConfig, DetectionStyle
from hasim.sim import simulate

from ..scenarios import scenario

L = 0.0005


def _takeovers(records: dict[str, list[dict[str, object]]]) -> list[tuple[float, str]]:
    rows = [r for r in records["timeline"] if r["kind"] == "takeover" and r["sa"] == -1]
    return [(float(r["time"]), str(r["node"])) for r in rows]  # type: ignore[arg-type]


@pytest.mark.parametrize(("interval", "crash", "k"), [(1.0, 10.5, 10), (0.1, 10.55, 105)])
def test_detection_is_last_advertisement_received_plus_master_down(
    interval: float, crash: float, k: int
) -> None:
    cfg = scenario(cluster={"advertisement_interval_s": interval}, faults=[{"at_s": crash}])
    m = simulate(cfg, 11).metrics
    last_received = k * interval + L
    master_down = 3 * interval + 156 * interval / 256
    assert m["detection_time_s"] == pytest.approx(last_received + master_down - crash, abs=1e-9)
    # the closed form behind ``hasim advise`` has the same master-down interval
    advise = detection_figures(DetectionConfig(interval=interval), 100, latency=L)
    assert advise.master_down_s == pytest.approx(master_down, abs=1e-12)
    assert m["false_failovers"] == 0 and m["split_brain_s"] == 0.0


@pytest.mark.parametrize("engine", ["per_flow", "scaled"])
def test_partition_with_both_alive_is_a_split_brain(engine: str) -> None:
    cfg = scenario(faults=[{"kind": "sync_partition", "at_s": 4.5, "duration_s": 5.0}])
    if engine == "per_flow":
        r = simulate(cfg, 11, records=True)
        assert _takeovers(r.records) == [(pytest.approx(7.609875, abs=1e-9), "cluster.m1")]
        down = [row for row in r.records["timeline"] if row["kind"] == "stepped_down"]
        assert [(row["time"], row["node"]) for row in down] == [
            (pytest.approx(10.0005, abs=1e-9), "cluster.m1")
        ]
        m = r.metrics
    else:
        m = simulate(cfg, 11, esp_path="scaled").metrics
    assert m["false_failovers"] == 1 and m["failovers"] == 1
    assert m["split_brain_s"] == pytest.approx(2.390625, abs=1e-9)
    # both lived all along: a backup watched a live master the whole run but during the split brain
    assert m["false_failover_exposure_s"] == pytest.approx(m["decided_at_s"] - 2.390625, abs=1e-9)
    assert m["detection_time_s"] != m["detection_time_s"]  # NaN: no member crashed
    # member 0 serves again with counters the peer's window has passed: the SA is damaged, not lost
    assert m["split_brain_sas_damaged"] == 1 and m["split_brain_sas_lost"] == 0
    assert m["esp_out_replay_drops"] > 0


def test_crash_of_the_newer_master_ends_the_split_brain() -> None:
    cfg = scenario(
        scenario={"duration_s": 30.0},
        faults=[{"at_s": 8.5}, {"kind": "sync_partition", "at_s": 4.5, "duration_s": 5.0}],
    )
    r = simulate(cfg, 11, records=True)
    m = r.metrics
    # the crash at 8.5 hits member 1 (it holds the address); member 0 never stopped being master
    assert m["split_brain_s"] == pytest.approx(8.5 - 7.609875, abs=1e-9)
    assert [row["node"] for row in r.records["timeline"] if row["kind"] == "serves_again"] == ["cluster.m0"]


@pytest.mark.parametrize("preempt", [True, False])
def test_repaired_member_rejoins_and_preempts_after_its_resync(preempt: bool) -> None:
    cfg = scenario(
        scenario={"duration_s": 25.0},
        membership={"repair_s": 5.0, "preempt": preempt},
        faults=[{"at_s": 10.5}],
    )
    r = simulate(cfg, 11, records=True)
    m = r.metrics
    assert m["rejoins"] == 1 and m["takeovers_without_state"] == 0
    if preempt:
        assert _takeovers(r.records) == [
            (pytest.approx(13.609875, abs=1e-9), "cluster.m1"),
            (pytest.approx(18.71875, abs=1e-9), "cluster.m0"),
        ]
        assert m["preemptions"] == 1 and m["failovers"] == 2
        assert m["split_brain_s"] == pytest.approx(L, abs=1e-9)
    else:
        assert _takeovers(r.records) == [(pytest.approx(13.609875, abs=1e-9), "cluster.m1")]
        assert m["preemptions"] == 0 and m["split_brain_s"] == 0.0
    assert m["detection_time_s"] == pytest.approx(3.109875, abs=1e-9)
    assert m["ike_sas_survived"] == 1


def test_takeover_before_the_resync_is_without_state() -> None:
    # member 0 rejoins at 15.5 and its resync of the one SA takes 10 s (0.1 SA/s); member 1 crashes
    # at 20: member 0 takes over 3.21875 s after member 1's advertisement of 19.609875 arrived
    cfg = scenario(
        scenario={"duration_s": 30.0},
        membership={"repair_s": 5.0, "resync_sas_per_s": 0.1},
        faults=[{"at_s": 10.5}, {"at_s": 20.0}],
    )
    r = simulate(cfg, 11, records=True)
    m = r.metrics
    assert _takeovers(r.records)[-1] == (pytest.approx(19.609875 + L + 3.21875, abs=1e-9), "cluster.m0")
    assert m["takeovers_without_state"] == 1
    assert m["ike_sas_survived"] == 0  # it never learned the SA


@pytest.mark.parametrize(
    ("style", "loss", "timeout"),
    [("vrrp", 0.3, 2.1), ("strongswan", 0.3, 0.21), ("strongswan", 0.5, 0.35)],
)
def test_false_failover_rate_agrees_with_the_closed_form(style: str, loss: float, timeout: float) -> None:
    # 0.1 s advertisements over a Bernoulli-lossy link of their own: the count of false failovers is
    # close to Poisson with the closed-form mean (exposure / 0.1 s) x (1 - p) p^n, the exposure being
    # the time a backup watched a live master over the whole simulated run (600 s of traffic, then the
    # fate-deciding tail: without liveness checks the SA stays undecided for 600 s more, and the
    # heartbeats go on); it must fall inside mean +- 4 sqrt(mean) (a miss by chance has probability
    # below 1e-4)
    cfg = scenario(
        scenario={"duration_s": 600.0},
        cluster={"advertisement_interval_s": 0.1},
        traffic={"esp_out_pps": 1.0, "esp_in_pps": 1.0},
        membership={"style": style, "link": "own", "heartbeat_timeout_s": timeout, "preempt": False},
        heartbeat_link={"loss": loss, "latency_s": 0.0005},
    )
    m = simulate(cfg, 7).metrics
    dcfg = DetectionConfig(style=DetectionStyle(style), interval=0.1, timeout=timeout)
    fig = detection_figures(dcfg, 100, latency=L, loss=HeartbeatLoss(loss))
    exposure = m["false_failover_exposure_s"]
    if style == "vrrp":
        # both lived throughout: the exposure is the whole run but its split brain
        assert exposure == pytest.approx(m["decided_at_s"] - m["split_brain_s"], abs=1e-6)
        assert m["decided_at_s"] == pytest.approx(1200.0)
    else:
        # strongSwan: the member that took over keeps the SA (its fate is known near duration_s),
        # and a TAKE that crosses a heartbeat on which its sender drops leaves both passive until a
        # timeout (rare: under 1% of the run)
        assert m["decided_at_s"] < 1200.0
        assert 0.99 * (m["decided_at_s"] - m["split_brain_s"]) <= exposure
        assert exposure <= m["decided_at_s"] - m["split_brain_s"] + 1e-6
    expected = fig.false_failovers_per_hour * exposure / 3600.0
    assert expected > 20
    assert abs(m["false_failovers"] - expected) <= 4 * expected**0.5
    # and each split brain lasts (n + 1) I - MDI + I p / (1 - p) on average (VRRP), or as
    # hasim.analysis.strongswan_split derives (strongSwan: a TAKE, or node 1's heartbeat, ends it)
    assert m["split_brain_s"] / m["false_failovers"] == pytest.approx(fig.split_brain_mean_s, rel=0.25)


# ---------------------------------------------------------------------------------- split-brain ESP
SPLIT_LAT = 1 / 128
SPLIT_END = 10.0 + SPLIT_LAT  # the last copy sent in the split brain arrives before this


def _split_brain_esp(skip: int, sync_interval: float) -> Any:
    """The split brain of the partition above, with a loss-free cluster link of zero latency (the sync
    and the advertisements of k s arrive at k s), 128 ESP packets/s each way over links of 1/128 s and
    a fixed skip: see ``test_split_brain_both_members_send_esp``."""
    return scenario(
        cluster={"sync_latency_s": 0.0, "sync_interval_s": sync_interval},
        traffic={"esp_out_pps": 128.0, "esp_in_pps": 128.0},
        links={"latency_s": SPLIT_LAT},
        policy={"skip_policy": "fixed", "skip_packets": skip},
        faults=[{"kind": "sync_partition", "at_s": 4.5, "duration_s": 5.0}],
    )


@pytest.mark.parametrize("engine", ["vectorized", "reference", "scaled"])
@pytest.mark.parametrize(
    ("skip", "sync_interval", "in_split", "after"),
    [(1000, 1.0, 306, 538), (0, 1.0, 306, 0), (1000, 0.375, 306, 554)],
)
def test_split_brain_both_members_send_esp(
    engine: str, skip: int, sync_interval: float, in_split: int, after: int
) -> None:
    """Both members send ESP with their own counters while both are master; worked by hand.

    Packet k of a flow leaves at phi + k/128 (phi in (0, 1/128), drawn per flow), so an interval of
    whole 1/128 s holds that many packets whatever phi. The last sync through the partition leaves at
    4 s: member 1 holds outbound counter 512 (packets 0..511). It takes over at 4 + 3.609375 =
    7.609375 s = 974/128 s, when member 0 has sent 1..974, skips to 512 + s and claims the address; it
    steps down at 10 s (member 0's first advertisement after the partition). In between 2.390625 s x 128
    = 306 packets are offered, and each is sent twice: by member 0 as 975..1280, by member 1 as
    513 + s..818 + s; both copies arrive at the same instant, member 1's first (it holds the address).
    The peer's window (32) has its right edge at 974 when the split brain starts.

    - s = 1000: member 1's 1513.. lead; each of member 0's copies is 538 behind the edge: too old, 306
      drops in the split brain. From 10 s member 0 alone sends 1281.. below the edge 1818: 1281..1786
      too old (506) and 1787..1818 duplicates of member 1's (32), 538 more. Member 0 sends 1513..1818
      again later: 306 repeated IVs (R3.4-1).
    - s = 0: member 1's 513.. are 461 behind member 0's: all 306 too old; member 0 goes on undisturbed.
      Member 1 repeated member 0's 513..818: 306 repeated IVs.

    20 s x 128 = 2560 packets offered, all sent by the address holder, 306 more by the other master:
    2866 sent; accepted = sent - drops - 1 (the packet of the last 1/128 s is in flight at 20 s).

    With a sync every 0.375 s the last one through leaves at 4.125 s (counter 528) and none comes at
    10 s, so the step-down is not at a moment the flows were brought up to (the packets of [9.75, 10)
    are sent when member 1 steps down, member 0 among their senders): member 1's numbers start at
    1529, 554 ahead of member 0's, and 1281..1802 too old (522) plus 1803..1834 duplicates (32) follow.
    """
    cfg = _split_brain_esp(skip, sync_interval)
    records = engine == "reference"
    r = simulate(cfg, 11, esp_path=engine, records=records)
    m = r.metrics
    assert m["false_failovers"] == 1 and m["split_brain_s"] == pytest.approx(2.390625, abs=1e-12)
    assert m["esp_out_sent"] == 2560 + 306
    assert m["esp_out_lost"] == 0 and m["esp_out_outage"] == 0
    assert m["esp_out_replay_drops"] == in_split + after
    assert m["esp_out_accepted"] == 2866 - in_split - after - 1
    assert m["iv_reuse_events"] == 306
    if records:  # packet by packet: each drop at its arrival
        drops = [row for row in r.records["drops"] if row["node"] == "peer" and row["reason"] == "replay"]
        assert sum(row["count"] for row in drops if row["time"] < SPLIT_END) == in_split
        assert sum(row["count"] for row in drops if row["time"] >= SPLIT_END) == after
