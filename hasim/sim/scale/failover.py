"""The failover of a large run: the per-SA world's, with the out-of-window watches reading the bank."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from hasim.protocol.ike_sa import IkeSa
from hasim.sim.model.failover import ANOMALY_POLL_S, ANOMALY_WATCH_S, Failover
from hasim.sim.model.sites import Member, Site
from hasim.sim.scale.watch import AnomalyWatches

if TYPE_CHECKING:
    from hasim.sim.scale.world import ScaledWorld


class ScaledFailover(Failover):
    """The failover of the per-SA world; the out-of-window watches read the bank's counters."""

    watches: AnomalyWatches | None = None

    def __init__(self, world: ScaledWorld) -> None:
        super().__init__(world)
        self.scaled = world
        """The world, as the scaled world it is (``self.world`` is typed as any world)."""

    def _take_over_sa(self, site: Site, m: Member, i: int) -> None:
        super()._take_over_sa(site, m, i)
        w = self.scaled
        w.ends_dirty.add(i)  # a new IkeSa with new Child SA objects serves SA i from now on

    def _watch_recovery(self, i: int, now: float) -> None:
        w = self.scaled
        if w.bank.closed:  # a takeover after duration_s: the flows' statistics are final, watch there
            super()._watch_recovery(i, now)
            return
        for f in w.flows_of[i]:
            w.bank.watch_recovery(f, now)

    def _watch_anomalies(self, site: Any, m: Any, i: int, sa: IkeSa) -> Generator[simpy.Event, Any, None]:
        """The per-SA world's poll (every 10 ms for 10 s while the SA is armed) with the same ticks and the
        same outcome, on the clock shared by every watch that starts now (``hasim.sim.scale.watch``)."""
        w = self.scaled
        bank = w.bank
        flows = [f for f in w.flows_of[i] if bank.flows[f].dst == site.name]
        w.sync_sa(i)
        if m.alive and m.sas.get(i) is sa and sa.member.armed and not sa.member.wanted:
            self._watches().add(i, m, sa, flows, bank.replay_drops(flows), bank.next_arrival_bound(flows))
        yield from ()

    def _watches(self) -> AnomalyWatches:
        if self.watches is None:
            w = self.scaled
            bank = w.bank

            def move(due: list[Any], flows: list[int]) -> None:
                pending = w.tx_freed | w.released | w.ends_dirty  # a settle of any other SA does nothing
                if pending:
                    for x in due:
                        if x.i in pending:
                            w.settle(x.i)
                bank.advance(self.env.now, flows)

            def watching(x: Any) -> bool:
                return bool(
                    x.m.alive and x.m.sas.get(x.i) is x.sa and x.sa.member.armed and not x.sa.member.wanted
                )

            self.watches = AnomalyWatches(
                self.env,
                ANOMALY_POLL_S,
                ANOMALY_WATCH_S,
                move=move,
                drops=bank.replay_drops_each,
                bound=bank.next_arrival_bounds,
                watching=watching,
                fire=lambda x: self._if_current(x.m, x.i, x.sa, IkeSa.on_inbound_anomaly),
            )
        return self.watches
