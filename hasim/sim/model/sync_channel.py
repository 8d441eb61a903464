"""The cluster's sync channel: what a standby knows at failover is exactly what arrived here.

The active member sends the full state of an IKE SA (an ``IkeSaSnapshot``) when the SA is set up or a
Child SA is created or rekeyed, whenever it sends or completes an RFC 6311 sync (so that a later member
never replays its values, R5.1-4), and the counters of every SA each ``sync_interval_s``. Each copy
crosses the site's cluster link (:mod:`hasim.sim.model.cluster_link`: latency, loss or bursts, jitter;
nothing passes during a partition fault) to each live standby, which keeps the newest snapshot per SA (a
member that rejoined takes counters only for SAs it already holds, until its bulk resync, ``resync``). A
deleted SA is announced as ``None``. Message sizes are an estimate of an encoding (documented in
``snapshot_bytes``) for the ``sync_channel_bytes`` metric.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

import simpy

from hasim.protocol.anti_replay import n_words
from hasim.protocol.snapshot import IkeSaSnapshot
from hasim.sim.model.cluster_link import ClusterLink

if TYPE_CHECKING:
    from hasim.sim.model.probes import Probes
    from hasim.sim.model.sites import Member, Site
    from hasim.sim.scenario.sections import ScenarioConfig
    from hasim.sim.streams import RandomStreams


class SyncEngine(Protocol):
    """What the sync channel asks of the engine that runs it (the per-SA world or the scaled one)."""

    cfg: ScenarioConfig
    env: simpy.Environment
    streams: RandomStreams
    probes: Probes

    def advance_all(self) -> None:
        """Bring every ESP flow up to now."""

    def check_counter_rekeys(self, site: Site, m: Member, i: int) -> None:
        """Rekey SA ``i``'s Child SAs whose outgoing counter is near its end."""


def sync_phase(world: SyncEngine, site: Site) -> float:
    """When the first periodic sync of ``site`` comes, minus one interval: random phases draw it in
    [0, sync_interval_s) per site; fixed ones give the cluster 0 and a peer cluster half an interval
    (an independent clock). Both engines' periodic syncs start with this wait."""
    interval = world.cfg.cluster.sync_interval_s
    if world.cfg.cluster.phases == "random":
        return float(world.streams.get("phases", "sync", site.name).random()) * interval
    return 0.0 if site.name == "cluster" else interval / 2


def heartbeat_phase(world: SyncEngine, site: Site) -> float:
    """When the first active member of ``site`` sends its first advertisement (the detector's epoch)."""
    if world.cfg.cluster.phases == "random":
        draw = float(world.streams.get("phases", "heartbeat", site.name).random())
        return draw * world.cfg.cluster.advertisement_interval_s
    return 0.0


def snapshot_bytes(snap: IkeSaSnapshot | None, replay_window: int, *, full: bool) -> int:
    """Octets of one sync message: 24 for a deleted SA, else ``sync_bytes`` of its Child SAs."""
    if snap is None:
        return 24
    return sync_bytes(len(snap.children), replay_window, full=full)


def sync_bytes(children: int, replay_window: int, *, full: bool) -> int:
    """Octets of one sync message of an IKE SA with ``children`` Child SAs: 8 header + 64 IKE SA
    counters and sync values (+ 96 keys when full), + per Child SA 40 (SPIs, counters, rates) + the
    replay bitmap."""
    per_child = 40 + 8 * n_words(replay_window)
    return 8 + 64 + (96 if full else 0) + per_child * children


class PeriodicShare(Protocol):
    """The engine's part of a periodic sync: bring the ESP state up to now and send what the serving
    member of the channel's site knows of all its SAs (the loop and its clock are the channel's)."""

    def __call__(self, channel: SyncChannel) -> None: ...


def share_each(channel: SyncChannel) -> None:
    """The per-SA engine's periodic share: one snapshot per SA, then the counter rekey check."""
    m = channel.site.serving()
    if m is None:
        return
    channel.world.advance_all()
    for i in sorted(m.ready):
        channel.share(m, i)
        channel.world.check_counter_rekeys(channel.site, m, i)


class SyncChannel:
    """Active member -> standbys of one site."""

    def __init__(self, world: SyncEngine, site: Site, periodic_share: PeriodicShare = share_each) -> None:
        self.world = world
        self.site = site
        self.periodic_share = periodic_share
        self.env = world.env
        self.link = ClusterLink(world.cfg, world.streams, site.name)
        """The site's cluster link (the advertisements cross it too unless ``membership.link = "own"``)."""
        self.messages = 0
        self.bytes = 0
        self.lost = 0

    @property
    def partitions(self) -> list[tuple[float, float]]:
        """The partition faults of the cluster link, [start, end) (the fault schedule appends to it)."""
        return self.link.partitions.intervals

    def snapshot_of(self, m: Member, i: int) -> IkeSaSnapshot | None:
        """SA ``i``'s state at member ``m`` now (None: it has none, or it was deleted)."""
        sa = m.sas.get(i)
        return None if sa is None or sa.deleted else sa.snapshot(self.env.now)

    def share(self, m: Member, i: int, *, full: bool = False) -> None:
        """Send SA ``i``'s current state from member ``m`` to every live standby."""
        now = self.env.now
        snap = self.snapshot_of(m, i)
        size = snapshot_bytes(snap, self.world.cfg.policy.replay_window, full=full)
        standbys = [k for k in self.site.members if k is not m and k.alive]
        if not standbys:
            return
        fates = self.link.sync_fates(m.index, [k.index for k in standbys], now, 1)
        for j, k in enumerate(standbys):
            self.messages += 1
            self.bytes += size
            if not fates.delivered[0, j]:
                self.lost += 1
                continue
            ev = self.env.timeout(float(fates.arrival[0, j]) - now)
            ev.callbacks.append(self._arrive(k, i, snap, full))

    def resync(self, src: Member, dst: Member) -> None:
        """Bulk resync of a member that rejoined (strongSwan HA): the full state of every SA ``src``
        serves, delivered whole (the pacing, ``membership.resync_sas_per_s``, is the caller's)."""
        self.world.advance_all()
        now = self.env.now
        window = self.world.cfg.policy.replay_window
        for i in sorted(src.ready):
            sa = src.sas.get(i)
            snap = None if sa is None or sa.deleted else sa.snapshot(now)
            self.messages += 1
            self.bytes += snapshot_bytes(snap, window, full=True)
            dst.snaps[i] = snap

    def _admits(self, k: Member, i: int, full: bool) -> bool:
        """Whether member ``k`` takes counters of SA ``i`` that reach it: not when it is down or
        already serves the SA, nor partial counters of an SA that a member which rejoined holds no
        state of (it waits for the bulk resync)."""
        if not k.alive or (self.site.active == k.index and i in k.ready):
            return False
        return not (k.needs_full and not full and k.snaps.get(i) is None)

    def _arrive(
        self, k: Member, i: int, snap: IkeSaSnapshot | None, full: bool
    ) -> Callable[[simpy.Event], None]:
        def cb(_: simpy.Event) -> None:
            if not self._admits(k, i, full):
                return
            old = k.snaps.get(i)
            if snap is None or old is None or old.taken_at <= snap.taken_at:
                k.snaps[i] = snap
                self.world.probes.counters(self.env.now, k.name, i, "standby", snap)

        return cb

    def periodic(self) -> Generator[simpy.Event, Any, None]:
        """Every ``sync_interval_s`` from the site's phase (``sync_phase``): the serving member shares
        the counters of all its SAs."""
        interval = self.world.cfg.cluster.sync_interval_s
        phase = sync_phase(self.world, self.site)
        if phase > 0:
            yield self.env.timeout(phase)
        while True:
            yield self.env.timeout(interval)
            self.periodic_share(self)
