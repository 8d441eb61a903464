"""The scenario sections as frozen dataclasses: every field with its unit, default and its source.

Each field carries metadata read by :mod:`hasim.sim.scenario.config` to validate a TOML table: ``doc``
(what it means), ``unit``, ``source`` (where the default comes from), and the allowed values (``choices``,
or a ``lo``/``hi`` range, ``lo_open`` for a strict lower bound). The metadata is the single description of the
scenario format: validation errors and ``hasim run --help``-style docs are generated from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hasim.protocol.anti_replay import ReplayPolicy
from hasim.protocol.policy import AfterFailover, SkipKind, SyncReading, SyncTrigger


def values_of(kind: type[StrEnum]) -> tuple[str, ...]:
    """A protocol enum's values, in order: the words a scenario uses for that choice (one vocabulary)."""
    return tuple(member.value for member in kind)


def knob(
    default: Any,
    doc: str,
    *,
    unit: str = "",
    source: str = "assumption",
    choices: tuple[str, ...] | None = None,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
) -> Any:
    """A documented scenario field: default, meaning, unit, provenance of the default and allowed values."""
    meta: dict[str, Any] = {"doc": doc, "unit": unit, "source": source, "choices": choices}
    meta.update({"lo": lo, "hi": hi, "lo_open": lo_open})
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class ScenarioSection:
    """[scenario]: what the run is called, how long it lasts and its default seed."""

    name: str = knob("scenario", "name printed in reports and traces")
    duration_s: float = knob(
        60.0, "simulated time of the run (its ESP traffic)", unit="s", lo=0.0, lo_open=True
    )
    decide_within_s: float = knob(
        600.0,
        "after duration_s the IKE side runs on until every IKE SA's fate is decided, at most this long "
        "(an SA still open then is undecided; hasim.sim.model.fates)",
        unit="s",
        lo=0.0,
    )
    seed: int = knob(
        0, "root seed of the run's SeedSequence (overridden by simulate(seed=...))", lo=0, hi=2**63 - 1
    )


@dataclass(frozen=True)
class ClusterSection:
    """[cluster]: the hot-standby cluster (RFC 6311 section 2): N members behind one virtual address."""

    members: int = knob(
        2, "members: one active, members-1 standby (inbound SPIs carry 4 member bits)", lo=1, hi=16
    )
    sync_interval_s: float = knob(
        1.0,
        "period of the counter sync (Message IDs, ESP counters, replay windows) to the standbys",
        unit="s",
        lo=0.0,
        lo_open=True,
        hi=86400.0,
    )
    sync_latency_s: float = knob(0.0005, "one-way latency of the sync channel", unit="s", lo=0.0)
    sync_loss: float = knob(0.0, "Bernoulli loss probability of each sync message", lo=0.0, hi=1.0)
    advertisement_interval_s: float = knob(
        1.0,
        "heartbeat advertisement interval",
        unit="s",
        source="RFC 5798 5.2.7 (VRRP Advertisement_Interval 100 cs, a 12-bit field: at most 40.95 s); "
        "strongSwan HA heartbeat 1 s",
        lo=0.0,
        lo_open=True,
        hi=40.95,
    )
    master_down_multiplier: int = knob(
        3,
        "missed advertisements before a standby declares the active member down",
        source="RFC 5798 6.1 (Master_Down_Interval = 3 x Advertisement_Interval + Skew_Time)",
        lo=1,
    )
    phases: str = knob(
        "random",
        "the clocks' phases: random draws per run the phase of each site's heartbeats in "
        "[0, advertisement_interval_s) and of its periodic sync in [0, sync_interval_s), so a crash "
        "meets a uniformly random staleness and detection delay; fixed starts the cluster's clocks "
        "at 0 and a peer cluster's sync half an interval later (the hand-worked examples)",
        choices=("random", "fixed"),
    )
    sync_capacity_per_s: float = knob(
        1000.0,
        "RFC 6311 sync exchanges a member can start per second, in the order their triggers fire "
        "(RFC 6311 section 7 overload); the takeover itself and ESP never wait for it",
        unit="1/s",
        lo=0.0,
        lo_open=True,
    )


DETECTION_STYLES = ("vrrp", "strongswan")


@dataclass(frozen=True)
class MembershipSection:
    """[membership]: how members detect a failure and come back (RFC 5798 6.1; strongSwan HA plugin).

    The active member advertises every ``cluster.advertisement_interval_s`` over the cluster link; each
    standby takes over when nothing arrived for its master-down interval (``hasim.protocol.membership``).
    """

    style: str = knob(
        "vrrp",
        "vrrp: master-down = cluster.master_down_multiplier x interval + (256 - priority) x interval / 256; "
        "strongswan: a fixed heartbeat_timeout_s",
        source="RFC 5798 6.1; strongSwan ha_segments.c",
        choices=DETECTION_STYLES,
    )
    priority: int = knob(
        100,
        "VRRP priority of the first standby (member k >= 1 has priority + 1 - k); sets its skew",
        source="RFC 5798 6.1 (priority default 100)",
        lo=1,
        hi=254,
    )
    primary_priority: int = knob(
        200,
        "priority of member 0, the first active member: above the standbys, so it keeps mastership "
        "in a split brain and, with preempt, takes it back after a repair",
        lo=1,
        hi=255,
    )
    preempt: bool = knob(
        True,
        "vrrp: a standby of higher priority takes mastership from a lower one (after its bulk resync); "
        "the strongswan style never preempts, whatever this says",
        source="RFC 5798 6.1 (Preempt_Mode default true); strongSwan HA has no preemption (ha_segments.c)",
    )
    strongswan_node1: str = knob(
        "m1",
        "strongswan style: the member that is HA node 1 (its charon.plugins.ha.local address sorts after "
        "its remote one); with one segment it keeps the SAs when both members serve them and the TAKE "
        "of the takeover was lost (else the member that took over keeps), whatever the priorities; "
        "the style pairs exactly two members",
        source="strongSwan ha_plugin.c (node = strcmp(local, remote) > 0), ha_segments.c handle_status "
        "(a segment handled twice is kept by node segment % 2), segment_count default 1",
        choices=("m0", "m1"),
    )
    heartbeat_timeout_s: float = knob(
        2.1,
        "master-down interval of the strongswan style",
        unit="s",
        source="strongSwan charon.plugins.ha.heartbeat_timeout (2100 ms) beside heartbeat_delay 1000 ms",
        lo=0.0,
        lo_open=True,
    )
    link: str = knob(
        "sync",
        "what the advertisements cross: sync = the one cluster link the state sync crosses (latency "
        "cluster.sync_latency_s, loss cluster.sync_loss, [cluster_link], sync_partition faults), its "
        "Gilbert-Elliott state stepped by both kinds of message in send order; own = a link of their "
        "own, the [heartbeat_link] section (no partitions, a chain of its own)",
        source="strongSwan HA sends its heartbeats (HA_STATUS) and the state sync over one socket",
        choices=("sync", "own"),
    )
    repair_s: float = knob(
        0.0,
        "a crashed member restarts this long after its crash and rejoins as standby; 0 = never",
        unit="s",
        lo=0.0,
    )
    resync_sas_per_s: float = knob(
        1000.0,
        "bulk resync to a member that rejoins: IKE SAs' full state sent per second; until it is "
        "complete the member does not preempt, and a takeover by it is a takeover without state",
        unit="1/s",
        source="strongSwan HA resyncs all state to a node that comes back (rate: assumption)",
        lo=0.0,
        lo_open=True,
    )


@dataclass(frozen=True)
class PeerSection:
    """[peer]: the remote end: its RFC 6311 support (section 5) and whether it is itself a cluster (R2-2)."""

    message_id_sync: bool = knob(True, "peer announces IKEV2_MESSAGE_ID_SYNC_SUPPORTED", source="RFC 6311 5")
    replay_counter_sync: bool = knob(
        True, "peer announces IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED", source="RFC 6311 5"
    )
    is_cluster: bool = knob(
        False, "the peer is itself a hot-standby cluster (R2-2), with the [cluster] heartbeat/sync settings"
    )
    members: int = knob(2, "members of the peer cluster when is_cluster", lo=1, hi=16)
    ike_window_size: int = knob(
        1,
        "IKE window size of both ends (SET_WINDOW_SIZE); with policy.m1_margin at most half the 32-bit "
        "Message ID space",
        source="RFC 7296 2.3 (default window 1)",
        lo=1,
        hi=2**31,
    )


@dataclass(frozen=True)
class TrafficSection:
    """[traffic]: IKE SAs, Child SAs and the ESP and IKE traffic they carry."""

    peers: int = knob(
        1,
        "IKE SAs between the cluster and its peers (one per peer; pcap addresses 10.x.y.z)",
        lo=1,
        hi=2**24 - 2,
    )
    child_sas: int = knob(1, "Child SAs per IKE SA", lo=1)
    esp_out_pps: float = knob(
        1000.0,
        "ESP rate cluster -> peer per Child SA (at most 1e7: 100 Gbit/s of 1250-byte packets)",
        unit="packets/s",
        lo=0.0,
        hi=1e7,
    )
    esp_in_pps: float = knob(
        1000.0, "ESP rate peer -> cluster per Child SA (at most 1e7)", unit="packets/s", lo=0.0, hi=1e7
    )
    model: str = knob("constant", "ESP arrival process", choices=("constant", "poisson", "onoff"))
    on_s: float = knob(1.0, "mean burst of the onoff model (exponential)", unit="s", lo=0.0, lo_open=True)
    off_s: float = knob(1.0, "mean silence of the onoff model (exponential)", unit="s", lo=0.0, lo_open=True)
    liveness_interval_s: float = knob(
        30.0,
        "interval of IKE liveness checks (empty INFORMATIONAL) by each end; 0 disables",
        unit="s",
        source="strongSwan dpd_delay as commonly configured (30 s)",
        lo=0.0,
    )
    rekey_interval_s: float = knob(
        3600.0,
        "Child SA rekey interval (CREATE_CHILD_SA by the cluster); 0 disables",
        unit="s",
        source="strongSwan rekey_time default 1 h",
        lo=0.0,
    )
    child_sas_max: int = knob(
        0,
        "when above child_sas: each IKE SA gets a uniform number of Child SAs in child_sas..child_sas_max "
        "(drawn once per SA from the traffic/sa_mix stream); 0 = exactly child_sas",
        lo=0,
    )
    rate_spread: float = knob(
        1.0,
        "per-IKE-SA rate factor, log-uniform in [1/rate_spread, rate_spread], applied to esp_out_pps "
        "and esp_in_pps (drawn once per SA; 1 = every SA at the nominal rates)",
        lo=1.0,
        hi=1e6,
    )
    rekey_jitter_s: float = knob(
        0.0,
        "staggered rekeys: each IKE SA's first rekey comes at rekey_interval_s - U[0, rekey_jitter_s), "
        "then every rekey_interval_s (drawn once per SA)",
        unit="s",
        source="strongSwan rand_time (rekey_time minus a random share)",
        lo=0.0,
    )
    rekey_counter_fraction: float = knob(
        0.9,
        "rekey a Child SA once its outgoing counter used this fraction of the sequence space",
        source="RFC 4303 3.3.3 (rekey before the counter cycles)",
        lo=0.0,
        hi=1.0,
        lo_open=True,
    )


@dataclass(frozen=True)
class LinkSection:
    """One direction of the peer link: latency, jitter, Bernoulli/Gilbert-Elliott loss, reorder, copies."""

    latency_s: float = knob(0.01, "one-way base latency", unit="s", lo=0.0)
    jitter_s: float = knob(0.0, "uniform extra delay in [0, jitter_s)", unit="s", lo=0.0)
    loss_model: str = knob("bernoulli", "loss process", choices=("bernoulli", "gilbert_elliott"))
    loss: float = knob(0.0, "Bernoulli loss probability", lo=0.0, hi=1.0)
    ge_good_to_bad: float = knob(0.01, "Gilbert-Elliott P(good -> bad) per packet", lo=0.0, hi=1.0)
    ge_bad_to_good: float = knob(0.3, "Gilbert-Elliott P(bad -> good) per packet", lo=0.0, hi=1.0)
    ge_loss_good: float = knob(0.0, "Gilbert-Elliott loss probability in the good state", lo=0.0, hi=1.0)
    ge_loss_bad: float = knob(1.0, "Gilbert-Elliott loss probability in the bad state", lo=0.0, hi=1.0)
    reorder: float = knob(0.0, "probability a packet is held back by reorder_delay_s", lo=0.0, hi=1.0)
    reorder_delay_s: float = knob(0.005, "extra delay of a reordered packet", unit="s", lo=0.0)
    duplicate: float = knob(0.0, "probability a packet is delivered twice", lo=0.0, hi=1.0)


@dataclass(frozen=True)
class LinksSection:
    """[links]: the two directions of the cluster-peer link, independent. Plain keys set both directions."""

    cluster_to_peer: LinkSection = field(default_factory=LinkSection)
    peer_to_cluster: LinkSection = field(default_factory=LinkSection)


@dataclass(frozen=True)
class ClusterLinkSection:
    """[cluster_link]: the cluster link between members beyond its latency (``cluster.sync_latency_s``) and
    Bernoulli loss (``cluster.sync_loss``): one chain per ordered pair of members, stepped by every sync
    message and, with ``membership.link = "sync"``, every advertisement (``hasim.sim.model.cluster_link``)."""

    jitter_s: float = knob(0.0, "uniform extra delay of each message in [0, jitter_s)", unit="s", lo=0.0)
    loss_model: str = knob(
        "bernoulli",
        "loss process: bernoulli (cluster.sync_loss) or gilbert_elliott (the ge_* keys; "
        "cluster.sync_loss must then be 0)",
        choices=("bernoulli", "gilbert_elliott"),
    )
    ge_good_to_bad: float = knob(0.01, "Gilbert-Elliott P(good -> bad) per message", lo=0.0, hi=1.0)
    ge_bad_to_good: float = knob(0.3, "Gilbert-Elliott P(bad -> good) per message", lo=0.0, hi=1.0)
    ge_loss_good: float = knob(0.0, "Gilbert-Elliott loss probability in the good state", lo=0.0, hi=1.0)
    ge_loss_bad: float = knob(1.0, "Gilbert-Elliott loss probability in the bad state", lo=0.0, hi=1.0)


FAULT_KINDS = ("crash", "sync_partition", "loss_burst")


@dataclass(frozen=True)
class FaultSection:
    """[[faults]]: one scheduled (or jittered) fault.

    ``crash`` stops a member of ``target`` (the cluster, or the peer when it is a cluster): ``member``
    names which: ``active`` (the member active at that instant; if it has crashed and no standby has
    taken over yet, the crash finds no live active member and does nothing), ``standby`` (the live
    member next in line to take over) or a member by name (``m0``, ``m1``, ...). Two crashes of the
    active member in quick succession give M1 -> M2 -> M3 (R2-1), crashes of both ends at the same
    time give simultaneous failover (R2-2). ``sync_partition`` cuts the cluster link for ``duration_s``;
    ``loss_burst`` drops every packet on the peer link in ``direction`` for ``duration_s``.
    """

    kind: str = knob("crash", "fault kind", choices=FAULT_KINDS)
    at_s: float = knob(10.0, "time of the fault", unit="s", lo=0.0)
    jitter_s: float = knob(
        0.0, "the fault happens at at_s + U[0, jitter_s) drawn from the faults stream", unit="s", lo=0.0
    )
    target: str = knob("cluster", "which end crashes (crash only)", choices=("cluster", "peer"))
    member: str = knob(
        "active", "which member crashes (crash only): active, standby (next in line) or m0, m1, ..."
    )
    duration_s: float = knob(1.0, "length of a sync_partition or loss_burst", unit="s", lo=0.0)
    direction: str = knob(
        "both", "direction of a loss_burst", choices=("both", "cluster_to_peer", "peer_to_cluster")
    )


@dataclass(frozen=True)
class PolicySection:
    """[policy]: the choices RFC 6311 leaves open (sections 5.1, 5.2, 7, 8) and IKE/ESP parameters."""

    trigger: str = knob(
        SyncTrigger.PROACTIVE.value,
        "when the new active member starts RFC 6311 sync: proactive right after takeover (R7-3), "
        "first_send at its first packet to send (R7-2), out_of_window at an out-of-window packet (R7-1), "
        "lazy at whichever of those two comes first (R7-6)",
        choices=values_of(SyncTrigger),
    )
    skip_policy: str = knob(
        SkipKind.ESTIMATE.value,
        "outgoing ESP counter skip at takeover (R5.2-1/2): fixed skip_packets, estimate from "
        "rate x time since the last sync x increment_margin, or large 2**30 followed by a rekey (R5.2-3)",
        choices=values_of(SkipKind),
    )
    skip_packets: int = knob(
        10000,
        "skip of the fixed policy; at most 2**32 - 1 (the 32-bit sequence number) unless policy.esn",
        unit="packets",
        lo=0,
        hi=2**64 - 1,
    )
    increment_margin: float = knob(2.0, "safety factor of the estimate policy (R5.2-2)", lo=1.0, hi=1e6)
    m1_margin: int = knob(
        0,
        "Message IDs added to M1 beyond the known value + window (R5.1-1, R5.1-2); at most half the "
        "32-bit Message ID space",
        unit="messages",
        lo=0,
        hi=2**31,
    )
    p1_margin: int = knob(
        0,
        "Message IDs added to P1 beyond last received + 1 (R5.1-3); at most half the 32-bit Message ID space",
        unit="messages",
        lo=0,
        hi=2**31,
    )
    mid_reading: str = knob(
        SyncReading.STRICT.value,
        "peer's reading of R5.1-5 (AMB-1): strict = highest Message ID seen from the cluster, "
        "sync requests included; sync_only = highest M1 of earlier sync requests (Appendix A); "
        "strongswan = drop only M1 < the peer's next expected Message ID (a repeat of the last "
        "sync's M1 is answered again)",
        source="strict: RFC 6311 5.1 text; strongswan: strongSwan 5.9.8 (hasim interop strongswan)",
        choices=values_of(SyncReading),
    )
    ike_after_failover: str = knob(
        AfterFailover.WINDOWED.value,
        "IKE before Message ID sync completes: windowed (R8.1-1) or strict reject (R8.1-2)",
        choices=values_of(AfterFailover),
    )
    ipsec_after_failover: str = knob(
        ReplayPolicy.STRICT.value,
        "ESP outside the synced replay window before counter sync: strict drop, or lenient accept "
        "for ipsec_grace_s (R8.2-1)",
        choices=values_of(ReplayPolicy),
    )
    ipsec_grace_s: float = knob(
        2.0, "lenient grace period from the SA's takeover (replay window moved)", unit="s", lo=0.0
    )
    replay_window: int = knob(
        32,
        "ESP anti-replay window size (0 = off, else 32..65536)",
        unit="packets",
        source="strongSwan replay_window 32 (iked 64, libreswan 128)",
        lo=0,
        hi=65536,
    )
    esn: bool = knob(False, "64-bit Extended Sequence Numbers (RFC 4303 2.2.1)")
    retransmit_timeout_s: float = knob(
        4.0,
        "first IKE retransmission timeout",
        unit="s",
        source="strongSwan retransmit_timeout",
        lo=0.0,
        lo_open=True,
    )
    retransmit_base: float = knob(
        1.8, "IKE retransmission backoff base", source="strongSwan retransmit_base", lo=1.0, hi=100.0
    )
    retransmit_tries: int = knob(
        5, "IKE retransmissions before the SA is given up", source="strongSwan retransmit_tries", lo=0, hi=100
    )


@dataclass(frozen=True)
class AttackerSection:
    """[attacker]: an on-path attacker on the peer link that records ESP packets (both ways) and the
    cluster's IKE requests, and replays them after each takeover (RFC 6311 section 11): ESP to the
    current receivers, IKE requests to the peer. What they accept is ``replayed_packets_accepted``."""

    enabled: bool = knob(False, "record and replay")
    record_packets: int = knob(
        64,
        "last ESP packets delivered before the first crash, kept per flow",
        unit="packets",
        lo=1,
        hi=2**20,
    )
    record_ike: int = knob(
        8, "last IKE requests of the cluster kept per IKE SA", unit="messages", lo=0, hi=2**20
    )
    replay_after_s: float = knob(0.5, "delay of the replay after each takeover", unit="s", lo=0.0)


@dataclass(frozen=True)
class ScenarioConfig:
    """A whole scenario, validated: what :func:`hasim.sim.simulate` runs."""

    scenario: ScenarioSection = field(default_factory=ScenarioSection)
    cluster: ClusterSection = field(default_factory=ClusterSection)
    peer: PeerSection = field(default_factory=PeerSection)
    traffic: TrafficSection = field(default_factory=TrafficSection)
    links: LinksSection = field(default_factory=LinksSection)
    faults: tuple[FaultSection, ...] = ()
    policy: PolicySection = field(default_factory=PolicySection)
    attacker: AttackerSection = field(default_factory=AttackerSection)
    membership: MembershipSection = field(default_factory=MembershipSection)
    heartbeat_link: LinkSection = field(default_factory=LinkSection)
    cluster_link: ClusterLinkSection = field(default_factory=ClusterLinkSection)

    def to_dict(self) -> dict[str, Any]:
        """The full resolved config, nested and JSON-able; ``scenario_from_dict(c.to_dict()) == c``."""
        out = dataclasses.asdict(self)
        out["faults"] = [dict(f) for f in out["faults"]]
        return out
