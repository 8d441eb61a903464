"""Each IKE SA's clocks: its liveness checks at each site and its scheduled rekeys.

A clock is a plain timeout callback that schedules itself again (a process per clock would cost two
more events and a generator resume per tick). It is a small object, not a closure: a closure that
schedules itself refers to itself through its own cell, a reference cycle per clock (three a peer)
that outlives the clock and is left to the cyclic collector; an object refers to itself only through
the timeout it waits on, so reference counting frees it when it stops or when the run's pending
events are dropped (``World.dismantle``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from hasim.protocol.ike_sa import IkeSa

if TYPE_CHECKING:
    from hasim.sim.model.sites import Site
    from hasim.sim.model.world import World


class LivenessClock:
    """SA ``i``'s liveness checks at ``site``: at a random phase, then every interval, until its fate is
    decided, each master with nothing outstanding or queued sends an empty INFORMATIONAL."""

    __slots__ = ("env", "i", "interval", "site", "world")

    def __init__(self, world: World, site: Site, i: int, interval: float) -> None:
        self.world, self.env, self.site, self.i, self.interval = world, world.env, site, i, interval

    def start(self, phase: float) -> None:
        self.env.timeout(phase).callbacks.append(self)

    def __call__(self, _: simpy.Event) -> None:
        i = self.i
        if i in self.world.fates:
            return
        site, env = self.site, self.env
        for m in site.masters_serving(i):  # in a split brain every master checks on its own
            sa = m.sas[i]
            if not sa.requests.outstanding and not sa.queue:
                site.drive(m, i, IkeSa.start_liveness_check, env.now)
        env.timeout(self.interval).callbacks.append(self)


class RekeyClock:
    """SA ``i``'s scheduled rekeys: first at its staggered time, then every interval, until its fate is
    decided, each Child SA of the serving cluster member is rekeyed."""

    __slots__ = ("env", "i", "interval", "world")

    def __init__(self, world: World, i: int, interval: float) -> None:
        self.world, self.env, self.i, self.interval = world, world.env, i, interval

    def start(self, first: float) -> None:
        self.env.timeout(first).callbacks.append(self)

    def __call__(self, _: simpy.Event) -> None:
        i, world = self.i, self.world
        if i in world.fates:
            return
        cluster = world.cluster
        m = cluster.serving()
        sa = cluster.sa(i)
        if m is not None and sa is not None:
            for spi in list(m.slots.get(i, [])):
                if sa.child_by_spi_in(spi) is not None:
                    cluster.drive(m, i, world.rekey_action(spi))
        self.env.timeout(self.interval).callbacks.append(self)
