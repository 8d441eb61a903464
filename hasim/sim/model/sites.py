"""The two ends of the tunnel as SimPy adapters: a site is N members behind one address.

The cluster is a :class:`Site` with N members (one active, N-1 standby). The peer is a site too:
one member normally, or a cluster of its own for simultaneous failover (R2-2), so both ends share
this code. A member's live state is one :class:`hasim.protocol.ike_sa.IkeSa` per IKE SA it serves;
a standby holds only the :class:`~hasim.protocol.snapshot.IkeSaSnapshot` the sync channel delivered.

Each IKE SA is driven the sans-IO way: before any call into it the ESP flows of that SA are brought
up to ``env.now`` (the protocol may read or change counters), then the call, then :meth:`Site.flush`
puts its datagrams on the link, hands its events to the world and sleeps until ``next_timer()``.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from functools import partial
from typing import TYPE_CHECKING, TypeVarTuple

import simpy

from hasim.protocol.child_sa import ChildSa, SpiAllocator
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig
from hasim.protocol.snapshot import IkeSaSnapshot
from hasim.sim.dataplane.split_senders import SplitSender
from hasim.sim.model.sync_gate import SyncGate

if TYPE_CHECKING:
    from hasim.sim.model.membership import SiteMembership
    from hasim.sim.model.world import World

_TIMER_SLACK = 1e-9
Ts = TypeVarTuple("Ts")
"""The arguments :meth:`Site.drive` passes to its action after the SA."""


class Member:
    """One member of a site: alive or crashed, its live IKE SAs, its standby snapshots, its capacity."""

    def __init__(self, site: Site, index: int, env: simpy.Environment, spis: SpiAllocator) -> None:
        self.site = site
        self.index = index
        self.name = f"{site.name}.m{index}" if len(site.members_cfg) > 1 else site.name
        self.alive = True
        self.sas: dict[int, IkeSa] = {}
        self.snaps: MutableMapping[int, IkeSaSnapshot | None] = {}
        self.ready: set[int] = set()
        self.slots: dict[int, list[int]] = {}
        self.rekeying: set[int] = set()
        self.spis = spis
        self.needs_full = False
        """Restarted and not yet resynced: counter-only sync updates of SAs it does not hold are useless."""
        self.sync_gate = SyncGate(env, site.world.cfg.cluster.sync_capacity_per_s)
        """Sync exchanges this member starts, one per 1/sync_capacity_per_s (RFC 6311 section 7)."""

    def install(self, i: int, sa: IkeSa, slots: int | None = None) -> None:
        """Serve IKE SA ``i`` from now on; Child SA slots follow the SA's order of Child SAs.

        With ``slots`` (the SA's number of traffic slots), only the newest that many Child SAs carry
        traffic: a standby's view can still hold Child SAs the failed member had replaced by a rekey
        and deleted after its last full state share; traffic goes on the newest (RFC 7296 2.8).
        """
        self.sas[i] = sa
        spis = [c.spi_in for c in sa.children]
        self.slots[i] = spis[-slots:] if slots is not None and 0 < slots < len(spis) else spis
        self.ready.add(i)


class Site:
    """N members behind one virtual address; who serves it is decided by their heartbeats
    (``membership``, RFC 5798): the member that became master last (it claimed the address)."""

    def __init__(
        self,
        world: World,
        name: str,
        members: int,
        ike_config: IkeConfig,
        random_bytes: Callable[[str], Callable[[int], bytes]],
    ) -> None:
        self.world = world
        self.env = world.env
        self.name = name
        self.members_cfg = list(range(members))
        self.ike_config = ike_config
        self._random_bytes = random_bytes
        self.members = [
            Member(self, k, world.env, SpiAllocator(k, random_bytes(f"spi.m{k}"))) for k in range(members)
        ]
        self.active: int | None = 0
        self.membership: SiteMembership
        """The members' heartbeats (set by the world once the sync channels exist)."""
        self.takeover_times: list[float] = []
        self._timers: dict[int, float] = {}

    # ------------------------------------------------------------------------------ lookups
    def serving(self) -> Member | None:
        """The member answering on the virtual address now (None while the active one is down)."""
        if self.active is None:
            return None
        m = self.members[self.active]
        return m if m.alive else None

    def sa(self, i: int) -> IkeSa | None:
        """IKE SA ``i`` as served now, or None (site down, SA not yet taken over, or deleted)."""
        m = self.serving()
        if m is None or i not in m.ready:
            return None
        sa = m.sas.get(i)
        return None if sa is None or sa.deleted else sa

    def child_for_slot(self, i: int, j: int) -> ChildSa | None:
        """The sending Child SA of slot ``j`` of IKE SA ``i`` (the flow's sender), if served."""
        sa = self.sa(i)
        if sa is None:
            return None
        m = self.members[self.active] if self.active is not None else None
        slots = m.slots.get(i) if m is not None else None
        if not slots or j >= len(slots):
            return None
        return sa.child_by_spi_in(slots[j])

    def masters_serving(self, i: int) -> list[Member]:
        """The members serving IKE SA ``i`` now: the address holder (if it holds it) first, then, during a
        split brain, every other live master that holds it (each runs its own timers and sends ESP)."""
        out = []
        m = self.serving()
        if m is not None and self._holds(m, i):
            out.append(m)
        if len(self.members) > 1:
            for x in self.membership.masters_now:
                k = self.members[x]
                if k is not m and self._holds(k, i):
                    out.append(k)
        return out

    def split_senders(self, i: int, j: int) -> list[SplitSender]:
        """The masters other than the address holder that send slot ``j`` of IKE SA ``i`` during a split
        brain, with their own Child SA of that slot (:mod:`hasim.sim.dataplane.split_senders`)."""
        out: list[SplitSender] = []
        if len(self.members) < 2:
            return out
        for k in self.masters_serving(i):
            if k.index == self.active:
                continue
            slots = k.slots.get(i)
            sa = k.sas[i]
            child = sa.child_by_spi_in(slots[j]) if slots and j < len(slots) else None
            if child is not None:
                out.append(SplitSender(k.index, child))
        return out

    @staticmethod
    def _holds(m: Member, i: int) -> bool:
        sa = m.sas.get(i)
        return m.alive and i in m.ready and sa is not None and not sa.deleted

    def child_by_spi_in(self, i: int, spi: int) -> ChildSa | None:
        """The receiving Child SA of IKE SA ``i`` whose inbound SPI is ``spi``, if served."""
        sa = self.sa(i)
        return None if sa is None else sa.child_by_spi_in(spi)

    def random_bytes(self, what: str) -> Callable[[int], bytes]:
        """A byte source from this site's own stream ``what`` (IVs, nonces, SPIs)."""
        return self._random_bytes(what)

    # ------------------------------------------------------------------------------ driving
    def drive(self, m: Member, i: int, action: Callable[[IkeSa, *Ts], None], *args: *Ts) -> None:
        """Bring SA ``i``'s ESP up to now, run ``action(sa, *args)`` on member ``m``'s SA, then flush."""
        sa = m.sas.get(i)
        if sa is None or not m.alive:
            return
        self.world.advance_sa(i)
        action(sa, *args)
        self._flush(m, i, sa, self.env.now)

    def flush(self, m: Member, i: int) -> None:
        """Send what the SA wants to send, hand over its events, and arm its next timer."""
        sa = m.sas.get(i)
        if sa is not None:
            self._flush(m, i, sa, self.env.now)

    def _flush(self, m: Member, i: int, sa: IkeSa, now: float) -> None:
        world = self.world
        for _ in range(64):
            out = sa.messages_to_send(now)
            events = sa.events()
            for data in out:
                world.send_ike(self, m, i, data, sa.keys, now)
            if not events or not world.on_events(self, m, i, events):
                break  # sending and counting change nothing in the SA: only the world's reactions can
        due = sa.next_timer()
        if due is None:
            return
        key = id(sa)
        timers = self._timers
        if timers.get(key) == due:
            return
        timers[key] = due
        # The callback is a partial (made in C) rather than a closure per timer (its cells and a call).
        fired = partial(Site._timer_fired, self, m, i, sa, due)
        self.env.timeout(max(due - now, 0.0)).callbacks.append(fired)

    def _timer_fired(self, m: Member, i: int, sa: IkeSa, due: float, _: simpy.Event) -> None:
        """The timer armed for ``due`` fired: run the SA's timer if it is still due (a later request or an
        answer may have moved or cleared it since)."""
        timers = self._timers
        if timers.get(id(sa)) == due:
            del timers[id(sa)]
        if not m.alive or m.sas.get(i) is not sa or sa.deleted:
            return
        nxt = sa.next_timer()
        if nxt is None:
            return
        now = self.env.now
        if nxt > now + _TIMER_SLACK:
            self._flush(m, i, sa, now)
            return
        self.drive(m, i, IkeSa.handle_timer, max(now, nxt))

    def deliver_ike(self, i: int, data: bytes) -> bool:
        """An IKE datagram reached the virtual address; False when nobody could take it."""
        m = self.serving()  # alive when not None
        if m is None or i not in m.ready or i not in m.sas:
            return False
        self.drive(m, i, IkeSa.receive, data, self.env.now)
        return True
