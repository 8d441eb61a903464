"""Failure detection as simulated processes: each member's heartbeat state machine over the cluster link.

Each site of several members runs one :class:`hasim.protocol.membership.Membership` per live member: the
master advertises every ``cluster.advertisement_interval_s``; each standby runs its master-down timer from
the advertisements it actually received, with its own priority (RFC 5798 6.1; or strongSwan HA's heartbeat
timeout). This adapter carries the advertisements: every (sender, receiver) pair has its own
:class:`~hasim.sim.dataplane.link.LinkChannel`, a flow of the site's cluster link (``membership.link =
"sync"``: :mod:`hasim.sim.model.cluster_link`, the link the state sync crosses, whose Gilbert-Elliott
state and partitions the two kinds of message share; ``"own"``: the ``[heartbeat_link]`` section, a link
of their own), feeds each advertisement in at its arrival, wakes each machine at ``next_timer()`` and
hands what happened to the failover (:mod:`hasim.sim.model.failover`): a takeover (of a crashed master, or
a false failover or a preemption while it lives) or a step-down. It also keeps two clocks over the whole
simulated run (the fate-deciding tail after ``duration_s`` included, where the heartbeats go on): split
brain, the time two or more live members are master, and exposure, the time a live backup watches a live
master (when a false failover can begin: the denominator of false failovers per hour). Written once; the
scaled engine runs it unchanged.

A crashed member's machine is dropped at the crash, after sending an advertisement due at that very
instant (so that, with fixed phases, a crash at k x interval is detected as before); a member that restarts
gets a fresh machine as a backup that has not yet completed its bulk resync.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hasim.protocol.events import Event
from hasim.protocol.membership import Advertisement, DetectionConfig, DetectionStyle, Membership, Role
from hasim.sim.dataplane.link import LinkChannel
from hasim.sim.model.sync_channel import heartbeat_phase

if TYPE_CHECKING:
    from hasim.sim.model.sites import Site
    from hasim.sim.model.world import World

_TIMER_SLACK = 1e-9


def detection_config(world: World) -> DetectionConfig:
    """The detection parameters of a scenario (both sites use the [cluster]/[membership] settings)."""
    cl, mb = world.cfg.cluster, world.cfg.membership
    return DetectionConfig(
        DetectionStyle(mb.style),
        cl.advertisement_interval_s,
        cl.master_down_multiplier,
        mb.heartbeat_timeout_s,
        mb.preempt,
        int(mb.strongswan_node1.removeprefix("m")),
    )


class SiteMembership:
    """The heartbeats of one site's members and its split-brain clock."""

    def __init__(self, world: World, site: Site, on_event: Callable[[Site, Event], None]) -> None:
        self.world = world
        self.site = site
        self.env = world.env
        self.cfg = detection_config(world)
        self._on_event = on_event
        mb = world.cfg.membership
        self.machines: dict[int, Membership] = {}
        self.masters_now: tuple[int, ...] = ()
        """Live members that are master, in member order: refreshed whenever a role can have changed (a
        machine's events, before anyone acts on them; a crash), so reading it costs nothing."""
        self._armed: dict[int, float] = {}
        self._gen: dict[int, int] = {}
        self._links: dict[tuple[int, int], LinkChannel] = {}
        self._shared = mb.link == "sync"
        self.split = Stopwatch()
        """Two or more live members are master (split brain)."""
        self.exposure = Stopwatch()
        """A live member is backup to a live master (a false failover can begin)."""

    def priority(self, k: int) -> int:
        """Member 0 has ``primary_priority``; member k >= 1 has ``priority + 1 - k`` (at least 1)."""
        mb = self.world.cfg.membership
        return mb.primary_priority if k == 0 else max(1, mb.priority + 1 - k)

    # ------------------------------------------------------------------------------ life
    def start(self) -> None:
        """Member 0 master (first advertisement at the site's heartbeat phase, ``cluster.phases``), the
        others backups."""
        if len(self.site.members) < 2:
            return
        phase = heartbeat_phase(self.world, self.site)
        now = self.env.now
        for m in self.site.members:
            mach = self._machine(m.index)
            if m.index == 0:
                mach.start_master(now, first_advertisement=now + phase)
            else:
                mach.start_backup(now)
        for m in self.site.members:
            self._flush(m.index)

    def crash(self, k: int) -> None:
        """Member ``k`` stops: an advertisement due now still leaves, then its machine is gone."""
        mach = self.machines.get(k)
        if mach is None:
            return
        mach.handle_timer(self.env.now)
        self._flush(k)
        del self.machines[k]
        self._refresh_masters()
        self._gen[k] = self._gen.get(k, 0) + 1
        self._armed.pop(k, None)
        self._recount()

    def rejoin(self, k: int) -> None:
        """Member ``k`` restarted: a backup that has not completed its bulk resync."""
        self._machine(k).start_backup(self.env.now, synced=False)
        self._flush(k)
        self._recount()

    def resync_complete(self, k: int) -> None:
        """Member ``k`` holds the full state now: it may preempt."""
        mach = self.machines.get(k)
        if mach is not None:
            mach.resync_complete(self.env.now)
            self._flush(k)

    def masters(self) -> list[int]:
        """Live members that are master now."""
        return list(self.masters_now)

    def _refresh_masters(self) -> None:
        self.masters_now = tuple(k for k, mach in sorted(self.machines.items()) if mach.role is Role.MASTER)

    @property
    def split_brain_s(self) -> float:
        """Seconds of split brain so far (closed stretches; ``finish`` closes the open one)."""
        return self.split.total

    @property
    def split_starts(self) -> list[float]:
        """When each split brain began."""
        return self.split.starts

    def finish(self) -> None:
        """The simulated run is over (its fates decided): close both clocks now."""
        now = self.env.now
        self.split.set(False, now)
        self.exposure.set(False, now)

    # ---------------------------------------------------------------------------- driving
    def _machine(self, k: int) -> Membership:
        mach = Membership(k, self.priority(k), self.cfg)
        self.machines[k] = mach
        self._gen[k] = self._gen.get(k, 0) + 1
        self._armed.pop(k, None)
        return mach

    def _link(self, src: int, dst: int) -> LinkChannel:
        key = (src, dst)
        link = self._links.get(key)
        if link is None:
            if self._shared:
                link = self.world.sync[self.site.name].link.advertisement_channel(src, dst)
            else:
                path = ("heartbeat", self.site.name, f"{src}>{dst}")
                link = LinkChannel(self.world.cfg.heartbeat_link, self.world.streams, path)
            self._links[key] = link
        return link

    def _flush(self, k: int) -> None:
        mach = self.machines.get(k)
        if mach is None:
            return
        for adv in mach.advertisements_to_send(self.env.now):
            for dst in self.site.members:
                if dst.index != k:
                    for t in self._link(k, dst.index).transmit_one(adv.sent_at):
                        self._at(t, self._arrival(dst.index, adv, t))
        events = mach.events()
        if events:  # a role may have changed: the others see it before they act on the events
            self._refresh_masters()
        for ev in events:
            self._on_event(self.site, ev)
        if events:
            self._recount()
        due = mach.next_timer()
        if due is not None and self._armed.get(k) != due:
            self._armed[k] = due
            self._at(due, self._timer(k, self._gen[k], due))

    def _arrival(self, dst: int, adv: Advertisement, t: float) -> Callable[[], None]:
        def arrive() -> None:
            mach = self.machines.get(dst)
            if mach is not None:
                mach.receive(adv, max(t, self.env.now))
                self._flush(dst)

        return arrive

    def _timer(self, k: int, gen: int, due: float) -> Callable[[], None]:
        def fire() -> None:
            if self._gen.get(k) != gen or self._armed.get(k) != due:
                return
            del self._armed[k]
            mach = self.machines[k]
            nxt = mach.next_timer()
            if nxt is not None and nxt <= self.env.now + _TIMER_SLACK:
                mach.handle_timer(max(self.env.now, nxt))
            self._flush(k)

        return fire

    def _at(self, t: float, fn: Callable[[], None]) -> None:
        ev = self.env.timeout(max(t - self.env.now, 0.0))
        ev.callbacks.append(lambda _: fn())

    def _recount(self) -> None:
        now = self.env.now
        masters = len(self.masters())
        self.split.set(masters > 1, now)
        self.exposure.set(0 < masters < len(self.machines), now)


class Stopwatch:
    """The seconds a condition held, summed over its stretches, and when each stretch began."""

    def __init__(self) -> None:
        self.total = 0.0
        self.starts: list[float] = []
        self._since: float | None = None

    def set(self, on: bool, now: float) -> None:
        """The condition holds (``on``) from ``now`` on, or no longer."""
        if on and self._since is None:
            self._since = now
            self.starts.append(now)
        elif not on and self._since is not None:
            self.total += now - self._since
            self._since = None
