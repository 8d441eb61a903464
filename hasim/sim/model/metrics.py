"""The run's result row: every metric of a run, from its flows, probes, sites and failovers.

Definitions (all counts over the whole run):
- Every IKE SA ends with a fate decided by simulation (``hasim.sim.model.fates``: the IKE side runs
  on past ``duration_s`` until each is decided). ``fate_<f>`` counts the SAs of each fate (survived,
  lost_timeout, unknown_to_standby, torn_down, black_holed, undecided); ``ike_sas_survived`` =
  ``fate_survived`` and ``sa_survival`` = survived / ike_sas; ``decided_at_s``: when the last fate
  was decided. ``ike_sas_deleted_timeout``: SAs that some end gave up after its retransmissions
  (RFC 7296 2.1); ``ike_sas_deleted_other``: SAs lost otherwise (teardown on inconsistency R8.3-1,
  Delete, or a standby that never received the SA). IKE counts cover the whole run, ESP counts
  the traffic up to ``duration_s``.
- ``esp_out_*``: cluster -> peer; ``esp_out_lost`` = lost on the link or arriving where no SA takes it;
  ``esp_out_replay_drops``: duplicate + too old (+ unverifiable with ESN) at the peer;
  ``esp_in_replay_drops``: the same at the cluster. ``*_outage``: offered while no member served.
- ``iv_reuse_events``: sequence numbers (counter-mode IVs) sent twice under one SA (R3.4-1).
- ``counter_space_used``: the largest fraction of a sequence space used or skipped by any Child SA.
- ``detection_time_s``: first crash -> its detection. ``recovery_time_s``: last takeover -> the
  moment both directions of every Child SA have delivered again, i.e. the latest first accepted
  packet arrival after the takeover over all flows (NaN when there was no takeover, or some flow
  never delivered again). The new active member takes every SA over at the takeover instant and
  ESP flows at once, so this is the data-plane outage after takeover: one packet interval plus
  the link latency for steady traffic, plus any silence of on/off traffic, plus whatever the
  failover handling dropped (replay drops of packets in flight when a delta applies, a lost IKE
  SA). Outbound ESP never waits for a sync exchange; under the strict inbound policy (R8.2-1) the
  peer's packets below the safe edge are dropped from the takeover until the peer applies the delta,
  so inbound ESP waits for the SA's exchange to start (a lazy trigger, a busy member).
  ``flows_not_recovered``: how many of those flows (one per
  Child SA and direction) never delivered again, e.g. after an IKE SA was lost, or when a rekey
  straddled the crash and the peer sends on a Child SA the new member never learned of.
- ``sync_wait_max_s``: the longest any SA waited between its trigger asking for the sync exchange
  and the member's capacity letting it start (RFC 6311 section 7 load; 0 when capacity always
  sufficed, NaN when no exchange was asked for). ``sync_done_s``: last takeover -> the last sync
  exchange completed after it (NaN when none completed after it): how long until every synced SA
  had its counters synchronized (the proactive backlog, or the lazy triggers' spread).
- Membership is counted over the whole simulated run, the fate-deciding tail after ``duration_s``
  included (the heartbeats go on there, and a takeover there can decide a fate):
  ``false_failovers``: takeovers while the master lived (its advertisements lost on the cluster link);
  ``false_failover_exposure_s``: seconds during which a live member was backup to a live master, the
  only time a false failover can begin (false failovers per hour = 3600 x false_failovers /
  false_failover_exposure_s, summed over runs); ``split_brain_s``: seconds during which two or more
  live members were master (until the lower-ranked heard the other and stepped down; a preemption's
  instant of overlap counts too); ``split_brain_sas_lost``: SAs whose fate is a loss that came at or
  after the first split brain began; ``split_brain_sas_damaged``: surviving SAs with replay drops
  between the first split brain and ``duration_s`` (the end of the ESP traffic).
  ``detection_time_s`` counts true failures only. ``takeovers_without_state``: takeovers by a member
  that had not completed its bulk resync after a restart; ``preemptions``, ``rejoins``.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, NamedTuple

from hasim.sim.model.fates import FATES

if TYPE_CHECKING:
    from hasim.sim.dataplane.esp_flows import EspFlow
    from hasim.sim.model.world import World


def collect(world: World, wall_time_s: float) -> dict[str, float | int]:
    """Every metric of one finished run."""
    cfg = world.cfg
    fo = world.failover
    c = world.probes.counts
    n = cfg.traffic.peers
    fates = Counter(world.fates.values())
    survived = fates["survived"]
    timeout = other = 0
    for i in range(n):
        reasons = [r for _, _, r in world.probes.deletions.get(i, [])]
        if "timeout" in reasons:
            timeout += 1
        elif (
            reasons
            or i in world.probes.lost_unknown
            or (world.cluster.sa(i) is None and world.cluster.serving() is not None)
        ):
            other += 1
    out_flows = [f for fl in world.flows.values() for f in fl if f.name.startswith("cluster_to_peer")]
    in_flows = [f for fl in world.flows.values() for f in fl if f.name.startswith("peer_to_cluster")]

    def total(flows: list[EspFlow], attr: str) -> int:
        return int(sum(getattr(f.stats, attr) for f in flows))

    all_flows = out_flows + in_flows
    detection = math.nan
    if fo.detections:
        _, crash_t, det_t = fo.detections[0]
        detection = det_t - crash_t
    recovery = math.nan
    not_recovered = 0
    takeovers = [t for s in (world.cluster, world.peer) for t in s.takeover_times]
    if takeovers:
        last = max(takeovers)
        firsts = [f.stats.first_accept_after for f in all_flows if f.stats.watch_from is not None]
        not_recovered = sum(1 for x in firsts if x is None)
        if firsts and not not_recovered:
            recovery = max(x for x in firsts if x is not None) - last
    p = world.probes
    wait = p.sync_wait_max_s if p.sync_wait_max_s >= 0 else math.nan
    done = math.nan
    if takeovers and p.last_sync_completed >= max(takeovers):
        done = p.last_sync_completed - max(takeovers)
    sync_ch = list(world.sync.values())
    split = _split_brain(world)
    return {
        "ike_sas": n,
        "ike_sas_survived": survived,
        "sa_survival": survived / n if n else math.nan,
        "ike_sas_deleted_timeout": timeout,
        "ike_sas_deleted_other": other,
        **{f"fate_{f}": fates[f] for f in FATES},
        "decided_at_s": world.decided_at,
        "ike_retransmissions": c["ike_retransmissions"],
        "ike_out_of_window_drops": c["ike_out_of_window_drops"],
        "ike_messages": c["ike_messages"],
        "sync_exchanges_started": c["sync_exchanges_started"],
        "sync_exchanges_completed": c["sync_exchanges_completed"],
        "sync_requests_dropped_stale": c["sync_requests_dropped_stale"],
        "sync_responses_dropped": c["sync_responses_dropped"],
        "esp_out_sent": total(out_flows, "sent"),
        "esp_out_lost": total(out_flows, "lost") + total(out_flows, "no_receiver"),
        "esp_out_outage": total(out_flows, "outage") + total(out_flows, "exhausted"),
        "esp_out_accepted": total(out_flows, "accepted"),
        "esp_out_replay_drops": total(out_flows, "duplicate")
        + total(out_flows, "too_old")
        + total(out_flows, "unverifiable"),
        "esp_in_sent": total(in_flows, "sent"),
        "esp_in_lost": total(in_flows, "lost") + total(in_flows, "no_receiver"),
        "esp_in_outage": total(in_flows, "outage") + total(in_flows, "exhausted"),
        "esp_in_accepted": total(in_flows, "accepted"),
        "esp_in_replay_drops": total(in_flows, "duplicate")
        + total(in_flows, "too_old")
        + total(in_flows, "unverifiable"),
        "replayed_packets": total(all_flows, "replayed") + fo.ike_replayed,
        "replayed_packets_accepted": total(all_flows, "replayed_accepted") + fo.ike_replayed_accepted,
        "replayed_esp_accepted": total(all_flows, "replayed_accepted"),
        "replayed_ike_accepted": fo.ike_replayed_accepted,
        "iv_reuse_events": int(world.ivs.reused_ivs),
        "counter_space_used": max((f.stats.max_space_used for f in all_flows), default=0.0),
        "rekeys": c["rekeys"],
        "failovers": len(takeovers),
        "detection_time_s": detection,
        "recovery_time_s": recovery,
        "flows_not_recovered": not_recovered,
        "sync_wait_max_s": wait,
        "sync_done_s": done,
        "sync_channel_bytes": sum(s.bytes for s in sync_ch),
        "sync_channel_messages": sum(s.messages for s in sync_ch),
        "sync_channel_lost": sum(s.lost for s in sync_ch),
        "false_failovers": fo.false_failovers,
        "false_failover_exposure_s": float(
            sum(s.membership.exposure.total for s in (world.cluster, world.peer))
        ),
        "split_brain_s": split.seconds,
        "split_brain_sas_lost": split.lost,
        "split_brain_sas_damaged": split.damaged,
        "takeovers_without_state": fo.takeovers_without_state,
        "preemptions": fo.preemptions,
        "rejoins": fo.rejoins,
        "wall_time_s": wall_time_s,
    }


class SplitBrain(NamedTuple):
    """Split-brain seconds, and the SAs (counts) lost or damaged after the first split brain began."""

    seconds: float
    lost: int
    damaged: int


def _split_brain(world: World) -> SplitBrain:
    """The run's ``SplitBrain`` figures."""
    sites = (world.cluster, world.peer)
    seconds = float(sum(s.membership.split_brain_s for s in sites))
    starts = [t for s in sites for t in s.membership.split_starts]
    if not starts:
        return SplitBrain(seconds, 0, 0)
    first = min(starts)
    lost = 0
    for i, fate in world.fates.items():
        if fate in ("survived", "undecided"):
            continue
        times = [t for t, _, _ in world.probes.deletions.get(i, [])]
        if not times or min(times) >= first:
            lost += 1
    damaged = sum(1 for i in world.failover.split_damaged if world.fates.get(i) == "survived")
    return SplitBrain(seconds, lost, damaged)
