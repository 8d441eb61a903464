"""The world of a large run: the same model as :class:`hasim.sim.model.world.World`, with ESP in one bank.

:class:`ScaledWorld` keeps every IKE SA, timer, message and fault of the per-SA world, and replaces
the three things whose cost grows with SAs x events:

1. **ESP flows** move in :class:`hasim.sim.scale.bank.FlowBank` passes over all flows instead of one
   NumPy batch per flow per control event.
2. **Checkpoints instead of per-SA batches.** The per-SA world brings SA ``i``'s flows up to now before
   every call into it (``advance_sa``). Here ``advance_sa(i)`` only checks whether the previous call
   changed who sends or receives each flow (a rekey, a takeover, a deletion): if so, the flows run up
   to that call's time with the old ends, then bind the new ones. Calls that read or change ESP state
   are caught where they touch it: a bound ``ChildSa`` carries a
   :class:`~hasim.sim.scale.lease.BankLease`, so that its ``outbound``/``inbound`` first bring the
   flows concerned up to now and hand the state back to the objects until the next checkpoint. The
   protocol code is unchanged and sees exactly the state it saw before.
3. **Periodic sync as arrays.** Every ``sync_interval_s`` the per-SA world builds an ``IkeSaSnapshot``
   per SA for the standby. Here the counters and windows of all flows are copied once into a
   :class:`_Batch`, and each SA's Message ID state is kept as a record (:mod:`hasim.sim.scale.records`)
   refreshed only when the SA
   was touched. A standby's ``snaps`` (a :class:`LazySnaps`) builds the real snapshot of an SA only when
   it is read, i.e. at takeover (:mod:`hasim.sim.scale.sync`). Messages, bytes and losses of the channel
   are counted as before.

Same (config, seed) -> the same metrics as the per-SA world (tests/sim/scale/test_scale_equivalence.py);
:func:`scaled_supported` names what keeps the per-SA path (records, attacker, Gilbert-Elliott loss).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar

import simpy

from hasim.protocol.child_sa import ChildSa
from hasim.protocol.events import ChildSaCreated, ChildSaDeleted, Event, IkeSaDeleted
from hasim.protocol.snapshot import IkeSaSnapshot
from hasim.sim.dataplane.esp_flows import EspFlow
from hasim.sim.dataplane.traffic import ArrivalProcess
from hasim.sim.model.sites import Member, Site
from hasim.sim.model.world import SlotEnds, World
from hasim.sim.scale.bank import FlowBank, bank_supports
from hasim.sim.scale.ends import (
    Holders,
    MembershipSignature,
    SaEnds,
    SiteNow,
    holders,
    holders_moved,
    membership_signature,
    sa_ends,
    same_end,
    same_ends,
    site_now,
)
from hasim.sim.scale.failover import ScaledFailover
from hasim.sim.scale.lease import BankArrivals, BankLease, set_free
from hasim.sim.scale.records import SaRecord, live_snapshot, outside_bank, sa_record
from hasim.sim.scale.sync import LazySnaps, ScaledSyncChannel
from hasim.sim.scenario.sections import ScenarioConfig

_EPOCH_PACKETS_PER_FLOW = 192
"""Offered packets fetched per epoch at most, per flow on average (memory: about 24 bytes a packet),
unless that is under two sync intervals. Per flow, not per run: an epoch lasts as long at 100,000
peers as at 1,000 (each epoch costs some microseconds per flow), and its memory grows with the flows."""


def scaled_supported(cfg: ScenarioConfig, *, records: bool) -> bool:
    """Whether :class:`ScaledWorld` reproduces this scenario exactly (else use the per-SA world)."""
    links = (cfg.links.cluster_to_peer, cfg.links.peer_to_cluster)
    return not records and not cfg.attacker.enabled and all(lk.loss_model == "bernoulli" for lk in links)


class ScaledWorld(World):
    """:class:`World` with ESP in a :class:`FlowBank` (see the module docstring)."""

    def __init__(self, cfg: ScenarioConfig, seed: int, *, records: bool = False) -> None:
        super().__init__(cfg, seed, records=records, esp_path="vectorized")
        self.sync = {s.name: ScaledSyncChannel(self, s) for s in (self.cluster, self.peer)}
        self.failover = ScaledFailover(self)
        self.bank: FlowBank = None  # type: ignore[assignment]
        self.flows_of: list[list[int]] = []
        self.slot_ends: list[SlotEnds] = []
        """Each flow's sending site and slot and receiving site."""
        self.ends_now: list[SaEnds] = []
        self.cp_time: list[float] = []
        """Each SA's last checkpoint (a call into it): its flows ran with their ends up to here."""
        self.global_cp = 0.0
        self.released: set[int] = set()
        self.tx_freed: set[int] = set()
        """SAs with a sender counter handed back to its object (``free_sender``)."""
        self.ike_dirty: set[int] = set()
        """SAs called into since the last periodic sync (their record is stale)."""
        self.rebound: set[int] = set()
        """SAs whose flows were bound or released since the last periodic sync (a record that names a
        flow, or the value of a Child SA the bank does not hold, may be stale)."""
        self.kids_changed: set[int] = set()
        """SAs with a Child SA created or deleted, or deleted themselves, since the last periodic sync:
        with ``rebound``, all that can change whether the bank holds every counter and window of an
        SA (``records.outside_bank``)."""
        self.ends_dirty: set[int] = set()
        """SAs whose senders or receivers may have changed: a Child SA created or deleted, the IKE SA
        deleted or taken over (every other change is a crash or takeover of a member: all SAs)."""
        self._sig: MembershipSignature | None = None
        self._holders_then: Holders = ()
        """``holders`` when the signature last changed (what every SA's ends were last looked up in)."""
        self._sites_sig: MembershipSignature | None = None
        self._sites: dict[Site, SiteNow] = {}
        self._members = [*self.cluster.members, *self.peer.members]

    # ------------------------------------------------------------------------------ set-up
    def build(self) -> None:
        """The per-SA world's build, then the bank over all flows, bound to the initial Child SAs."""
        for site in (self.cluster, self.peer):
            for m in site.members:  # any member can be a standby (after a split brain or a restart)
                m.snaps = self.fresh_snaps()
        super().build()
        flows: list[EspFlow] = []
        sa_of: list[int] = []
        for i in range(self.cfg.traffic.peers):
            ids = []
            for fl in self.flows.get(i, ()):
                if not bank_supports(fl):
                    raise ValueError(f"flow {fl.name} needs the per-SA world")
                assert isinstance(fl.ends, SlotEnds)
                ids.append(len(flows))
                flows.append(fl)
                self.slot_ends.append(fl.ends)
                sa_of.append(i)
            self.flows_of.append(ids)
        rate = sum(fl.arrivals.rate for fl in flows)
        interval = self.cfg.cluster.sync_interval_s
        budget = _EPOCH_PACKETS_PER_FLOW * len(flows)
        epoch = max(2.0 * interval, min(30.0, budget / rate if rate > 0 else 30.0))
        self.bank = FlowBank(
            flows,
            sa_of,
            self.bursts,
            self.ivs,
            replay_window=self.cfg.policy.replay_window,
            esn=self.cfg.policy.esn,
            epoch_s=epoch,
        )
        for f, fl in enumerate(flows):
            real = fl.arrivals
            assert isinstance(real, ArrivalProcess)
            fl.arrivals = BankArrivals(self, f, real)
        n = self.cfg.traffic.peers
        self.cp_time = [0.0] * n
        self.ends_now = [() for _ in range(n)]
        for i in range(n):
            self._bind_sa(i, self._ends(i))
        self._sig = membership_signature(self.cluster, self.peer, self._members)
        self._holders_then = holders((self.cluster, self.peer))
        self.bank.load_epoch(min(epoch, self.cfg.scenario.duration_s + 1.0))
        if all(len(s.members) == 1 for s in (self.cluster, self.peer)):
            self.env.process(self._epochs())  # else the periodic sync passes over all flows each interval

    def _share_set_up(self) -> None:
        """As the per-SA world shares them, for all SAs of a site in one batch."""
        for site in (self.cluster, self.peer):
            if len(site.members) > 1:
                channel = self.sync[site.name]
                assert isinstance(channel, ScaledSyncChannel)
                channel.share_full(site.members[0], list(range(self.cfg.traffic.peers)))

    def fresh_snaps(self) -> LazySnaps:
        """A standby view whose periodic snapshots are references into batches."""
        return LazySnaps(self.cfg.traffic.peers)

    def replay_drops_of(self, i: int) -> int:
        """Replay drops of SA ``i``'s flows so far (both directions)."""
        self.sync_sa(i)
        return self.bank.replay_drops(self.flows_of[i])

    def _epochs(self) -> Generator[simpy.Event, Any, None]:
        """Moves every flow and fetches the next epoch before the current one runs out."""
        step = self.cfg.cluster.sync_interval_s
        while True:
            yield self.env.timeout(step)
            self.advance_all()

    # ---------------------------------------------------------------------------- binding
    def _ends(self, i: int, sites: dict[Site, SiteNow] | None = None) -> SaEnds:
        """Who sends and who receives each flow of SA ``i`` now (:func:`hasim.sim.scale.ends.sa_ends`);
        ``sites``: :meth:`_sites_now`, if already looked up."""
        return sa_ends(self.slot_ends, self.bank.spi, self.flows_of[i], i, sites or self._sites_now())

    def _sites_now(self) -> dict[Site, SiteNow]:
        """Each site's :func:`hasim.sim.scale.ends.site_now`, looked up again only when the membership
        signature (:func:`hasim.sim.scale.ends.membership_signature`, all that it reads) changed."""
        sig = membership_signature(self.cluster, self.peer, self._members)
        if sig != self._sites_sig:
            self._sites_sig = sig
            self._sites = {s: site_now(s) for s in (self.cluster, self.peer)}
        return self._sites

    def _bind_sa(self, i: int, ends: SaEnds) -> None:
        bank = self.bank
        for f, end in zip(self.flows_of[i], ends, strict=True):
            bank.bind(f, end.tx, end.rx, end.spi, end.splits)
        for end in ends:  # after reading every state: the cluster's Child SA both sends and receives
            for obj in (end.tx, end.rx):
                if obj is not None and obj.lease is None:
                    obj.lease = BankLease(self, i)
        self.ends_now[i] = ends
        self.released.discard(i)
        self.rebound.add(i)

    def _unbind_sa(self, i: int) -> None:
        for end in self.ends_now[i]:
            for obj in (end.tx, end.rx):
                if obj is not None and obj.lease is not None:
                    obj.lease = None
        for f in self.flows_of[i]:
            self.bank.release(f)
        self.rebound.add(i)

    def _rebind_sa(self, i: int, ends: SaEnds) -> None:
        """``_unbind_sa`` then ``_bind_sa`` with ``ends``, for only the flows whose ends changed: releasing
        and binding again a flow with the same ends gives the bank and the objects the values they hold.
        An object that stays an end of some flow keeps its lease, as if new (``bind``/``release`` bypass
        leases)."""
        bank = self.bank
        old = self.ends_now[i]
        kept = {id(obj) for end in ends for obj in (end.tx, end.rx)}
        for end in old:
            for obj in (end.tx, end.rx):
                if obj is not None and obj.lease is not None and id(obj) not in kept:
                    obj.lease = None
        moved = [(f, b) for f, a, b in zip(self.flows_of[i], old, ends, strict=True) if not same_end(a, b)]
        for f, _ in moved:
            bank.release(f)
        for f, end in moved:
            bank.bind(f, end.tx, end.rx, end.spi, end.splits)
        for end in ends:  # as fresh leases: the bank holds every counter and window bound
            for obj in (end.tx, end.rx):
                if obj is not None:
                    lease = obj.lease
                    if lease is None:
                        obj.lease = BankLease(self, i)
                    else:
                        assert isinstance(lease, BankLease)
                        lease.tx_free = lease.rx_free = False
        self.ends_now[i] = ends
        self.released.discard(i)
        self.rebound.add(i)

    def free_sender(self, i: int, child: ChildSa) -> None:
        """The protocol reads or changes a bound sender's counter: only the flow it sends moves up to now,
        and the counter goes back to the object until SA ``i`` is next settled."""
        bank = self.bank
        side = {int(bank.dirn[f]) for f in self.flows_of[i] if bank.tx[f] is child}
        flows = [f for f in self.flows_of[i] if int(bank.dirn[f]) in side and not bank.tx_free[f]]
        bank.free_senders(self.env.now, flows)  # every sender of that end at once: the protocol loops
        for f in flows:
            set_free(bank.tx[f], tx=True)
        set_free(child, tx=True)
        self.tx_freed.add(i)
        self.ike_dirty.add(i)

    def free_receiver(self, i: int, child: ChildSa) -> None:
        """The protocol reads or changes a bound receiver's window: only the flow it receives moves up to
        now, and the window goes back to the object until SA ``i`` is next settled."""
        self._take_senders(i)
        bank = self.bank
        side = {int(bank.dirn[f]) for f in self.flows_of[i] if bank.rx[f] is child}
        flows = [f for f in self.flows_of[i] if int(bank.dirn[f]) in side and not bank.rx_free[f]]
        bank.free_receivers(self.env.now, flows)  # every receiver of that end at once
        for f in flows:
            set_free(bank.rx[f], rx=True)
        set_free(child, rx=True)
        self.tx_freed.add(i)
        self.ike_dirty.add(i)

    def _take_senders(self, i: int) -> None:
        """Counters and windows handed back by ``free_sender``/``free_receiver`` return to the bank."""
        if i in self.tx_freed:
            self.tx_freed.discard(i)
            bank = self.bank
            for f in self.flows_of[i]:
                if bank.tx_free[f]:
                    bank.take_sender(f)
                    set_free(bank.tx[f], tx=False)
                if bank.rx_free[f]:
                    bank.take_receiver(f)
                    set_free(bank.rx[f], rx=False)

    def release_sa(self, i: int) -> None:
        """The protocol touches SA ``i``'s ESP state: its flows run up to now, the objects own it again."""
        self._take_senders(i)
        self.bank.advance(self.env.now, self.flows_of[i])
        self._unbind_sa(i)
        self.released.add(i)
        self.ike_dirty.add(i)

    def settle(self, i: int, *, upto: float | None = None) -> None:
        """Re-bind SA ``i`` if it was released or its ends changed since its flows were bound; with
        ``upto``, then move its flows up to that time."""
        self._settle_many([i])
        if upto is not None:
            self.bank.advance(upto, self.flows_of[i])

    def _settle_many(self, sas: list[int]) -> None:
        """Re-bind each of ``sas`` that was released or whose ends changed since its flows were bound: the
        flows whose ends changed run up to the last checkpoint with the old ends first, those of the SAs
        whose ends changed at the same time in one pass (after a crash or a takeover, every SA). A flow
        whose ends stay moves on with them later: flows move independently of each other."""
        changed: dict[float, list[tuple[int, SaEnds]]] = {}
        sites: dict[Site, SiteNow] | None = None  # the same for every SA settled here
        for i in sas:
            self._take_senders(i)
            if i in self.released:
                self.ends_dirty.discard(i)
                sites = sites or self._sites_now()
                self._bind_sa(i, self._ends(i, sites))
            elif i in self.ends_dirty:
                self.ends_dirty.discard(i)
                sites = sites or self._sites_now()
                ends = self._ends(i, sites)
                old = self.ends_now[i]
                if not same_ends(old, ends):
                    at = max(self.cp_time[i], self.global_cp)
                    changed.setdefault(at, []).append((i, ends))
        for at, group in changed.items():
            moved = [
                f
                for i, ends in group
                for f, a, b in zip(self.flows_of[i], self.ends_now[i], ends, strict=True)
                if not same_end(a, b)
            ]
            self.bank.advance(at, moved)
            for i, ends in group:
                self._rebind_sa(i, ends)

    # ---------------------------------------------------------------------------- ESP batches
    def advance_sa(self, i: int) -> None:
        """A checkpoint before a call into SA ``i`` (see the module docstring). The call may change the
        IKE state a periodic sync carries, with ESP over too (the fate-deciding tail after ``duration_s``,
        where the sync goes on): SA ``i``'s record is stale either way."""
        self.ike_dirty.add(i)
        if self.bank is None or self.esp_closed:
            return
        now = self.env.now
        sig = membership_signature(self.cluster, self.peer, self._members)
        if sig != self._sig:  # a member crashed or took over since the last global pass (which it followed)
            self._sig = sig
            self._membership_moved()
        if i in self.ends_dirty or i in self.released or i in self.tx_freed:
            self._settle_many([i])
        foreign = self.bank.foreign
        flows = self.flows_of[i]
        for f in flows:
            if foreign[f]:  # copies sent before a rekey still in flight: their receiver may go away
                self.bank.advance(now, [g for g in flows if foreign[g]])
                break
        self.cp_time[i] = now

    def sync_sa(self, i: int) -> None:
        """Bring SA ``i``'s flows fully up to now (their statistics are read)."""
        self.settle(i, upto=self.env.now)

    def _membership_moved(self) -> None:
        """The signature changed: every SA is settled again, unless no site's holders changed but for
        members that hold no SA (:func:`hasim.sim.scale.ends.holders_moved`). A member's SAs change
        otherwise only through events that mark the SA (``react``, a takeover)."""
        new = holders((self.cluster, self.peer))
        old, self._holders_then = self._holders_then, new
        if holders_moved(old, new):
            self.ends_dirty.update(range(self.cfg.traffic.peers))

    def advance_all(self) -> None:
        """A global checkpoint: settle touched SAs, re-bind all after a crash or takeover, move all flows."""
        if self.bank is None or self.esp_closed:
            return
        now = self.env.now
        bank = self.bank
        sig = membership_signature(self.cluster, self.peer, self._members)
        if sig != self._sig:
            self._sig = sig
            self._membership_moved()
        self._settle_many(sorted(self.ends_dirty | self.released | self.tx_freed))  # all a settle acts on
        if now > bank.epoch_end:
            raise RuntimeError(f"epoch ended at {bank.epoch_end} before {now}")
        bank.advance(now)
        self.global_cp = now
        horizon = now + 2 * self.cfg.cluster.sync_interval_s  # the keeper comes back within one interval
        if bank.epoch_end < horizon and bank.epoch_end <= self.cfg.scenario.duration_s:
            bank.load_epoch(bank.epoch_end + bank.epoch_s)

    reacted_to: ClassVar[frozenset[type[Event]]] = World.reacted_to | {
        ChildSaCreated,
        ChildSaDeleted,
        IkeSaDeleted,
    }

    def react(self, site: Site, m: Member, i: int, ev: Event) -> None:
        """As before; Child SAs created or deleted and a deleted IKE SA may change a flow's ends. A Child
        SA deleted after a rekey is no flow's end any more (its slot went to the new one): that
        changes nothing of what :func:`hasim.sim.scale.ends.sa_ends` finds."""
        super().react(site, m, i, ev)
        if isinstance(ev, (ChildSaCreated, ChildSaDeleted, IkeSaDeleted)):
            self.kids_changed.add(i)
            if isinstance(ev, ChildSaDeleted) and not self._may_end(i, site, ev.spi_in):
                return
            self.ends_dirty.add(i)

    def _may_end(self, i: int, site: Site, spi_in: int) -> bool:
        """Whether a Child SA of ``site`` with inbound SPI ``spi_in`` may be an end of SA ``i``'s flows:
        it is one of their bound ends (any member's of that site with that SPI), or the bound ends are
        out of date anyway."""
        if i in self.ends_dirty or i in self.released or self.bank is None:
            return True
        for f, end in zip(self.flows_of[i], self.ends_now[i], strict=True):
            ends = self.slot_ends[f]
            if ends.tx is site:
                if end.tx is not None and end.tx.spi_in == spi_in:
                    return True
                if any(x.child.spi_in == spi_in for x in end.splits):
                    return True
            if ends.rx is site and end.rx is not None and end.rx.spi_in == spi_in:
                return True
        return False

    def close_esp(self) -> None:
        """At ``duration_s``: hand the bank's counters to the flows' statistics (what the fates and
        the metrics read); no flow moves from now on."""
        self.bank.write_stats()
        self.bank.closed = True
        super().close_esp()

    # ---------------------------------------------------------------------------- snapshots
    def sa_record(self, i: int) -> SaRecord | None:
        """SA ``i``'s state at the serving cluster member minus the bank's counters: what a periodic
        sync message carries, each Child SA's counters as the bank's flow or as values."""
        m = self.cluster.serving()
        sa = m.sas.get(i) if m is not None else None
        if sa is None or sa.deleted:
            return None
        if i in self.released:
            return sa_record(sa, (), ())
        return sa_record(sa, self.flows_of[i], self.ends_now[i])

    def live_snapshot(self, m: Member, i: int) -> IkeSaSnapshot | None:
        """``IkeSa.snapshot`` of SA ``i`` at member ``m`` now (an event's full share, in a call into the
        SA): its flows move up to now in one pass, the state they have in the per-SA world during the
        call, instead of a pass for each counter and window the snapshot would have handed back."""
        sa = m.sas.get(i)
        if sa is None or sa.deleted:
            return None
        now = self.env.now
        if self.bank is None or self.esp_closed or i in self.released:
            return sa.snapshot(now)
        self.bank.advance(now, self.flows_of[i])
        return live_snapshot(sa, self.flows_of[i], self.ends_now[i], self.bank, now)

    def sa_outside_bank(self, i: int, limit: float) -> tuple[bool, bool]:
        """:func:`hasim.sim.scale.records.outside_bank` of SA ``i`` at the serving cluster member (False,
        False when it has none): what the sync needs of an SA's record while no standby would read it."""
        m = self.cluster.serving()
        sa = m.sas.get(i) if m is not None else None
        if sa is None or sa.deleted:
            return False, False
        return outside_bank(sa, self.flows_of[i], () if i in self.released else self.ends_now[i], limit)
