"""Faults and failover: crashes, detection, the takeover of each IKE SA, and the attacker.

A crash stops the active member of a site (the cluster, or a peer that is a cluster). A standby whose
heartbeat machine times out (``hasim.sim.model.membership``: RFC 5798 master-down from the
advertisements it received) claims the address, becomes active and takes over every IKE SA its standby
view knows at that instant. The same happens when advertisements were lost while the master lived: a
false failover, and both members serve the same SAs (split brain) until the lower-ranked hears the other
and steps down: the peer's packets follow the address (the newest claimer, gratuitous ARP), while every
master sends ESP with its own counters and runs its own IKE timers (``Site.masters_serving``,
``hasim.sim.dataplane.split_senders``; docs/model.md section 7). A crashed member restarts after
``membership.repair_s`` and rejoins as standby, resynced in bulk. A hot standby already holds the state,
so each SA is rebuilt from its last snapshot and ``failover_takeover`` installs it, skips its outgoing
ESP counters forward (R5.2-1, local) and ESP flows again at once. What costs the member is the RFC 6311
sync exchanges (section 7 warns they can overload it): the protocol runs with a sync gate, so when an
SA's trigger fires (at takeover for proactive, R7-3; later for first_send/out_of_window/lazy, R7-2,
R7-1, R7-6) it asks to start its exchange (``SyncWanted``) and the exchange starts when the member's
gate lets it (``hasim.sim.model.sync_gate``), one per 1/sync_capacity_per_s in the order asked
(``IkeSa.start_failover_sync``). An SA whose peer lacks support runs plain IKEv2 (no exchange, nothing
gated).

The simulator supplies what the protocol cannot see itself: the lazy triggers (first packet to
send, R7-2; first ESP packet outside the window, R7-1), the end of the lenient grace period
(R8.2-1, ``ipsec_grace_s`` after the takeover moved the replay window), and the on-path attacker's
replays after each takeover (section 11). Loss bursts and sync partitions are scheduled here too.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from hasim.protocol.anti_replay import ReplayPolicy
from hasim.protocol.events import Event
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.membership import BecameMaster, SteppedDown
from hasim.protocol.policy import SyncTrigger

if TYPE_CHECKING:
    from hasim.sim.model.sites import Member, Site
    from hasim.sim.model.world import World

ANOMALY_POLL_S = 0.01
"""How often the ESP out-of-window trigger (R7-1) looks at the new member's replay drops."""
ANOMALY_WATCH_S = 10.0
"""How long after a takeover that trigger keeps looking."""


def _takeover_bytes(m: Member, i: int, n: int) -> str:
    """The byte stream (nonces, IVs, SPIs) of SA ``i`` as member ``m`` serves it from the site's
    ``n``-th takeover on."""
    return f"m{m.index}.sa{i}.f{n}"


class Failover:
    """The fault schedule and the failover machinery of one run."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.env = world.env
        self.cfg = world.cfg
        self.probes = world.probes
        self.crash_times: list[tuple[str, float]] = []
        self.detections: list[tuple[str, float, float]] = []
        """(site, crash time, detection time) per detected crash."""
        self.crashed_at: dict[tuple[str, int], float] = {}
        self.vacated: dict[str, int] = {}
        """Per site, the crashed active member that restarted before anyone took over."""
        self.false_failovers = 0
        """Takeovers while the master lived (its advertisements lost): a split brain starts."""
        self.preemptions = 0
        self.takeovers_without_state = 0
        """Takeovers by a member that had not completed its bulk resync."""
        self.rejoins = 0
        self.split_baseline: dict[int, int] = {}
        """Replay drops of each SA when the first split brain began (for the damaged-SA metric)."""
        self.split_damaged: set[int] = set()
        """SAs with more replay drops at ``duration_s`` than when the first split brain began."""
        self.ike_recorded: dict[int, list[bytes]] = {}
        self.ike_replayed = 0
        self.ike_replayed_accepted = 0

    def schedule_faults(self) -> None:
        """Register loss bursts and sync partitions, start one process per crash (times drawn now)."""
        rng = self.world.streams.get("faults", "times")
        for k, f in enumerate(self.cfg.faults):
            at = f.at_s + (f.jitter_s * float(rng.random()) if f.jitter_s > 0 else 0.0)
            if f.kind == "loss_burst":
                dirs = ["cluster_to_peer", "peer_to_cluster"] if f.direction == "both" else [f.direction]
                for d in dirs:
                    self.world.bursts[d].add(at, at + f.duration_s)
                self.probes.timeline(at, "link", "loss_burst", f.duration_s)
            elif f.kind == "sync_partition":
                for ch in self.world.sync.values():
                    ch.partitions.append((at, at + f.duration_s))
                self.probes.timeline(at, "sync", "partition", f.duration_s)
            else:
                site = self.world.cluster if f.target == "cluster" else self.world.peer
                self.env.process(self._crash_at(site, at, k, f.member))

    def _victim(self, site: Site, member: str) -> Member | None:
        """The member a crash fault names, if it is alive: the active one, the next in line, or m<k>."""
        if member == "active":
            victim = site.members[site.active] if site.active is not None else None
        elif member == "standby":
            victim = self._next_in_line(site)
        else:
            victim = site.members[int(member.removeprefix("m"))]
        return victim if victim is not None and victim.alive else None

    def _crash_at(self, site: Any, at: float, k: int, member: str) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(at)
        self.world.advance_all()
        victim = self._victim(site, member)
        if victim is None:
            self.probes.timeline(self.env.now, site.name, "crash_no_target", f"(fault {k}: {member})")
            return
        for i in sorted(victim.ready)[:8]:
            self.probes.counters(self.env.now, victim.name, i, "live", victim.sas.get(i))
        site.membership.crash(victim.index)  # an advertisement due at this instant still leaves
        victim.alive = False
        for flows in self.world.flows.values():
            for f in flows:
                f.frozen = True
        self.crash_times.append((site.name, self.env.now))
        self.crashed_at[(site.name, victim.index)] = self.env.now
        self.probes.timeline(self.env.now, victim.name, "crash", f"(fault {k})")
        if site.active == victim.index:
            others = site.membership.masters()
            if others:  # a split brain ends with the crash: the address is the other master's again
                site.active = others[0]
                self.probes.timeline(self.env.now, site.members[others[0]].name, "serves_again", victim.name)
        repair = self.cfg.membership.repair_s
        if repair > 0:
            self.env.process(self._restart_after(site, victim, repair))

    def _next_in_line(self, site: Site) -> Member | None:
        for m in site.members:
            if m.alive and m.index != site.active:
                return m
        return None

    # ------------------------------------------------------------------- membership events
    def on_membership(self, site: Site, ev: Event) -> None:
        """A member's heartbeat machine took over or stepped down (``hasim.sim.model.membership``)."""
        if isinstance(ev, BecameMaster) and ev.reason != "start":
            self._take_over(site, site.members[ev.member], ev)
        elif isinstance(ev, SteppedDown):
            self._step_down(site, site.members[ev.member], site.members[ev.to])

    def _take_over(self, site: Site, m: Member, ev: BecameMaster) -> None:
        """``m`` claims the address: it serves every SA its standby view knows (a hot standby), whether
        the master it replaces crashed (a detection) or lives (a false failover or a preemption)."""
        self.world.advance_all()
        old = site.members[site.active] if site.active is not None else None
        now = self.env.now
        if old is not None and old.alive and old is not m:
            kind = "preemption" if ev.reason == "preempt" else "false failover"
            if ev.reason == "preempt":
                self.preemptions += 1
            else:
                self.false_failovers += 1
            if not self.split_baseline:
                peers = range(self.cfg.traffic.peers)
                self.split_baseline = {i: self.world.replay_drops_of(i) for i in peers}
            what = f"{kind}: {old.name} still serves"
        else:
            who = site.active if site.active is not None else self.vacated.get(site.name)
            crash_t = self.crashed_at.get((site.name, who), now) if who is not None else now
            self.detections.append((site.name, crash_t, now))
            what = f"after {now - crash_t:.6f} s"
        if not ev.synced:
            self.takeovers_without_state += 1
            what += ", before its bulk resync completed"
        site.active = m.index
        site.takeover_times.append(now)
        self.probes.timeline(now, m.name, "takeover", f"{what}, {len(m.snaps)} IKE SA(s) known")
        known = sorted(m.snaps)
        n = len(site.takeover_times)
        self.world.prepare_bytes(site, [_takeover_bytes(m, i, n) for i in known])
        for i in known:  # all at once: the standby holds every SA's state already
            self._take_over_sa(site, m, i)

    def note_split_damage(self) -> None:
        """At ``duration_s``: which SAs had replay drops since the first split brain began."""
        base = self.split_baseline
        if base:
            self.split_damaged = {i for i in sorted(base) if self.world.replay_drops_of(i) > base[i]}

    def _step_down(self, site: Site, x: Member, to: Member) -> None:
        """``x`` heard a higher-ranked master (RFC 5798 6.4.3): it stops serving and is a standby again;
        the address goes back to ``to`` if ``x`` held it."""
        self.world.advance_all()
        if site.active == x.index and to.alive:
            site.active = to.index
        for i in list(x.sas):
            self.world.advance_sa(i)
        x.sas.clear()
        x.ready.clear()
        x.slots.clear()
        x.rekeying.clear()
        self.probes.timeline(self.env.now, x.name, "stepped_down", f"to {to.name}")

    def _restart_after(self, site: Site, m: Member, repair: float) -> Generator[simpy.Event, Any, None]:
        """A repaired member rejoins as standby; the serving member resyncs it in bulk (strongSwan HA)."""
        yield self.env.timeout(repair)
        self.world.advance_all()
        m.alive = True
        if site.active == m.index:  # it restarts without state: it does not serve the address
            site.active = None
            self.vacated[site.name] = m.index
        m.sas.clear()
        m.ready.clear()
        m.slots.clear()
        m.rekeying.clear()
        m.snaps = self.world.fresh_snaps()
        m.needs_full = True
        self.rejoins += 1
        self.probes.timeline(self.env.now, m.name, "rejoin", "")
        site.membership.rejoin(m.index)
        while m.alive and site.serving() in (None, m):  # the resync waits for a member that serves
            yield self.env.timeout(self.cfg.cluster.advertisement_interval_s)
        serving = site.serving()
        count = len(serving.ready) if serving is not None else 0
        yield self.env.timeout(self.cfg.cluster.sync_latency_s + count / self.cfg.membership.resync_sas_per_s)
        serving = site.serving()
        if not m.alive or serving is None or serving is m:
            return
        self.world.sync[site.name].resync(serving, m)
        m.needs_full = False
        site.membership.resync_complete(m.index)
        self.probes.timeline(self.env.now, m.name, "resynced", len(serving.ready))

    def sync_wanted(self, site: Site, m: Member, i: int) -> None:
        """SA ``i`` of member ``m`` asks to start its sync exchange (a gated trigger fired): it starts
        when the member's gate is free (``hasim.sim.model.sync_gate``, one per 1/sync_capacity_per_s)."""
        sa = m.sas[i]

        def start() -> bool:
            if not m.alive or site.active != m.index or m.sas.get(i) is not sa:
                return False
            started: list[bool] = []
            site.drive(m, i, lambda s: started.append(s.start_failover_sync(self.env.now)))
            return bool(started and started[0])  # else deleted or already synced: no exchange, no load

        m.sync_gate.ask(start)

    def _take_over_sa(self, site: Site, m: Member, i: int) -> None:
        snap = m.snaps.get(i)
        if snap is None:
            self.probes.timeline(self.env.now, m.name, "sa_unknown", i)
            return
        self.world.advance_sa(i)
        sa = IkeSa.from_snapshot(
            snap,
            site.ike_config,
            site.random_bytes(_takeover_bytes(m, i, len(site.takeover_times))),
            spi_allocator=m.spis,
            name=f"{m.name}/{i}",
        )
        m.install(i, sa, slots=int(self.world.mix.children[i]))
        self.probes.counters(self.env.now, m.name, i, "imported", sa)
        sa.failover_takeover(self.env.now)
        site.flush(m, i)
        self.probes.counters(self.env.now, m.name, i, "live", sa)
        now = self.env.now
        if site.ike_config.inbound_after_failover is ReplayPolicy.LENIENT and sa.member.delta is not None:
            # the takeover moved the replay window (R5.2-4): the grace starts now, whatever the trigger
            self._at(now + self.cfg.policy.ipsec_grace_s, lambda: self._end_grace(m, i, sa))
        self._watch_recovery(i, now)
        if self.probes.enabled:
            for f in self.world.flows.get(i, ()):
                f.sample.budget += 8
        trig = self.cfg.policy.trigger
        if trig in (SyncTrigger.FIRST_SEND, SyncTrigger.LAZY):
            out = [f for f in self.world.flows.get(i, ()) if f.src == site.name]
            first = min((f.arrivals.next_time() for f in out), default=float("inf"))
            if first < self.cfg.scenario.duration_s:
                self._at(max(first, now), lambda: self._if_current(m, i, sa, IkeSa.on_outbound_traffic))
        if trig in (SyncTrigger.OUT_OF_WINDOW, SyncTrigger.LAZY):
            self.env.process(self._watch_anomalies(site, m, i, sa))
        if self.cfg.attacker.enabled:
            self._at(now + self.cfg.attacker.replay_after_s, lambda: self._attack(i))

    def _watch_recovery(self, i: int, now: float) -> None:
        """SA ``i``'s flows note their first packet accepted from ``now`` on (recovery after a takeover)."""
        for f in self.world.flows.get(i, ()):
            f.watch_recovery(now)

    def _at(self, t: float, fn: Callable[[], None]) -> None:
        ev = self.env.timeout(max(t - self.env.now, 0.0))
        ev.callbacks.append(lambda _: fn())

    def _if_current(self, m: Member, i: int, sa: IkeSa, trigger: Callable[[IkeSa, float], None]) -> None:
        """Fire a lazy trigger (``IkeSa.on_outbound_traffic``, R7-2; ``IkeSa.on_inbound_anomaly``, R7-1)
        if ``sa`` still serves SA ``i`` at ``m`` and waits for one."""
        if m.alive and m.sas.get(i) is sa and not sa.deleted and sa.member.armed:
            m.site.drive(m, i, lambda s: trigger(s, self.env.now))

    def _end_grace(self, m: Member, i: int, sa: IkeSa) -> None:
        if not m.alive or m.sas.get(i) is not sa:
            return
        self.world.advance_sa(i)
        for child in sa.children:
            if child.safe_edge is not None:
                child.inbound.mark_received_through(child.safe_edge)  # R8.2-1 lenient: grace over
        self.probes.timeline(self.env.now, m.name, "grace_end", i)

    def _watch_anomalies(self, site: Any, m: Any, i: int, sa: IkeSa) -> Generator[simpy.Event, Any, None]:
        flows = [f for f in self.world.flows.get(i, ()) if f.dst == site.name]
        base = sum(f.stats.replay_drops for f in flows)
        end = self.env.now + ANOMALY_WATCH_S
        while self.env.now < end and m.alive and m.sas.get(i) is sa and sa.member.armed:
            yield self.env.timeout(ANOMALY_POLL_S)
            self.world.advance_sa(i)
            if sum(f.stats.replay_drops for f in flows) > base:
                self._if_current(m, i, sa, IkeSa.on_inbound_anomaly)
                return

    def _attack(self, i: int) -> None:
        self.world.advance_sa(i)
        for f in self.world.flows.get(i, ()):
            n = f.replay(f.recorded_packets())
            if n:
                self.probes.timeline(self.env.now, "attacker", "replay_accepted", n, i)
        # recorded IKE requests of the cluster, replayed to the peer: a new answer means the peer took
        # a replay for a fresh request (R11-1 says a replayed sync request is silently dropped)
        for data in list(self.ike_recorded.get(i, [])):
            sa = self.world.peer.sa(i)
            if sa is None:
                break
            before = sa.counters["sync_answered"] + sa.counters["requests_answered"]
            self.world.peer.deliver_ike(i, data)
            self.ike_replayed += 1
            if sa.counters["sync_answered"] + sa.counters["requests_answered"] > before:
                self.ike_replayed_accepted += 1
                self.probes.timeline(self.env.now, "attacker", "ike_replay_accepted", len(data), i)
