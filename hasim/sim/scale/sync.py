"""The periodic sync of a large run as arrays: what the standby knows is one copy of the bank per sync.

Every ``sync_interval_s`` the per-SA world builds an ``IkeSaSnapshot`` per SA and sends it to each standby
(``hasim.sim.model.sync_channel``). :class:`ScaledSyncChannel` sends the same messages (same count, bytes
and losses: ``ClusterLink.sync_fates`` for all SAs at once, with the same draws) but copies the counters
and windows of all flows once into a :class:`_Batch`, next to a small per-SA tuple of Message ID state
that is rebuilt only for SAs called into since the last sync, ESP running or not (for every SA when the
member that shares is not the one that shared last). A standby's ``snaps`` is a :class:`LazySnaps`:
explicit snapshots (sent on events, as before) or references into batches, turned into the real
``IkeSaSnapshot`` only when read (at takeover). A full share on an event (a Child SA created, a sync
exchange sent or completed) reads the SA's counters and windows after one pass of its flows up to now
(``snapshot_of``, ``ScaledWorld.live_snapshot``). See :mod:`hasim.sim.scale.world`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Protocol

import numpy as np
import simpy

from hasim.protocol.snapshot import IkeSaSnapshot
from hasim.sim.model.sync_channel import SyncChannel, SyncEngine, snapshot_bytes, sync_bytes
from hasim.sim.scale.bank import FlowBank
from hasim.sim.scale.records import SaRecord

if TYPE_CHECKING:
    from hasim.sim.model.sites import Member, Site


class BatchEngine(SyncEngine, Protocol):
    """What the scaled sync asks of the scaled engine besides what any sync channel asks."""

    bank: FlowBank
    cluster: Site
    ike_dirty: set[int]
    """SAs called into since the last periodic sync (their record is stale)."""
    rebound: set[int]
    """SAs whose flows were bound or released since the last periodic sync."""
    kids_changed: set[int]
    """SAs with a Child SA created or deleted, or deleted themselves, since the last periodic sync."""

    def sa_record(self, i: int) -> SaRecord | None:
        """SA ``i``'s record at the serving cluster member, None if it has none."""

    def live_snapshot(self, m: Member, i: int) -> IkeSaSnapshot | None:
        """SA ``i``'s ``IkeSaSnapshot`` at member ``m`` now, its flows moved up to now in one pass."""

    def sa_outside_bank(self, i: int, limit: float) -> tuple[bool, bool]:
        """Whether SA ``i``'s record would hold a value the bank does not, and one at ``limit`` or past
        it (:func:`hasim.sim.scale.records.outside_bank`), without building it."""


class _Batch:
    """One periodic sync of all SAs: the bank's counters and windows at ``taken_at`` and each SA's record."""

    __slots__ = ("last_seq", "records", "taken_at", "tops", "words")

    def __init__(self, world: BatchEngine, records: list[SaRecord | None]) -> None:
        bank = world.bank
        self.taken_at = world.env.now
        self.last_seq = bank.last_seq.copy()
        self.tops = bank.windows.tops.copy()
        self.words = bank.windows.words.copy()
        self.records = records

    def snapshot(self, i: int) -> IkeSaSnapshot | None:
        """The ``IkeSaSnapshot`` the per-SA world would have sent for SA ``i``."""
        r = self.records[i]
        if r is None:
            return None
        return r.snapshot(self.taken_at, self.last_seq, self.tops, self.words)


class LazySnaps(MutableMapping[int, IkeSaSnapshot | None]):
    """A standby member's snapshots: explicit ones (sent on events) or references into periodic batches,
    turned into an ``IkeSaSnapshot`` only when read."""

    def __init__(self, n: int) -> None:
        self.explicit: dict[int, IkeSaSnapshot | None] = {}
        self.ref = np.full(n, -1, dtype=np.int64)
        self.taken = np.full(n, -math.inf)
        self.is_none = np.zeros(n, dtype=bool)
        self.present = np.zeros(n, dtype=bool)
        self.batches: dict[int, _Batch] = {}

    def __getitem__(self, i: int) -> IkeSaSnapshot | None:
        if i in self.explicit:
            return self.explicit[i]
        b = int(self.ref[i]) if 0 <= i < self.ref.shape[0] else -1
        if b < 0:
            raise KeyError(i)
        return self.batches[b].snapshot(i)

    def __setitem__(self, i: int, snap: IkeSaSnapshot | None) -> None:
        self.explicit[i] = snap
        self.ref[i] = -1
        self.present[i] = True
        self.is_none[i] = snap is None
        self.taken[i] = snap.taken_at if snap is not None else -math.inf

    def __delitem__(self, i: int) -> None:
        if not self.present[i]:
            raise KeyError(i)
        self.explicit.pop(i, None)
        self.ref[i] = -1
        self.present[i] = False

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self.present).tolist())

    def __len__(self) -> int:
        return int(self.present.sum())

    def __contains__(self, i: object) -> bool:
        return isinstance(i, int) and 0 <= i < self.present.shape[0] and bool(self.present[i])

    def taken_at(self, i: int) -> float | None:
        """The ``taken_at`` of SA ``i``'s snapshot, None when absent or None (no materialising)."""
        if not self.present[i] or self.is_none[i]:
            return None
        return float(self.taken[i])

    def apply(self, b: int, batch: _Batch, sas: np.ndarray, none: np.ndarray) -> None:
        """A periodic batch arrived for ``sas`` (``none``: the SA was deleted): keep each where newer."""
        cond = ~self.present[sas] | self.is_none[sas] | none | (self.taken[sas] <= batch.taken_at)
        upd = sas[cond]
        if upd.shape[0] == 0:
            return
        first = b not in self.batches
        self.batches[b] = batch
        if self.explicit:
            for i in upd.tolist():
                self.explicit.pop(i, None)
        gone = none[cond]
        self.present[upd] = True
        self.ref[upd] = np.where(gone, -1, b)
        self.is_none[upd] = gone
        self.taken[upd] = np.where(gone, -math.inf, batch.taken_at)
        for i in upd[gone].tolist():
            self.explicit[i] = None
        if first:  # batches no SA refers to any more are let go once per batch, not per arrival time
            live = set(np.flatnonzero(np.bincount(self.ref[self.ref >= 0])).tolist())
            for k in [k for k in self.batches if k not in live]:
                del self.batches[k]


def arrival_groups(arrival: np.ndarray, arrived: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The messages of one share grouped by arrival time, earliest first: per time, the rows (SAs) and
    columns (standbys) of the messages that arrive then, in row-major order (SA by SA, each standby in
    turn). One stable sort for all, so a jittered link, where every message has a time of its own,
    costs no pass over every message per time."""
    flat = np.flatnonzero(arrived.ravel())
    if flat.shape[0] == 0:
        return []
    times = arrival.ravel()[flat]
    order = np.argsort(times, kind="stable")
    flat, times = flat[order], times[order]
    starts = np.flatnonzero(np.r_[True, times[1:] != times[:-1]])
    cols = arrived.shape[1]
    return [
        (float(times[a]), part // cols, part % cols)
        for a, part in zip(starts.tolist(), np.split(flat, starts[1:]), strict=True)
    ]


def share_batch(channel: SyncChannel) -> None:
    """The scaled engine's periodic share: every flow moves up to now (also while no member serves: that
    keeps the bank's epochs loaded), then the serving member shares all its SAs at once."""
    assert isinstance(channel, ScaledSyncChannel)
    channel.world.advance_all()
    m = channel.site.serving()
    if m is not None:
        channel.share_all(m)


class ScaledSyncChannel(SyncChannel):
    """The sync channel with the periodic share done for all SAs at once (same messages, bytes, losses)."""

    def __init__(self, world: BatchEngine, site: Site) -> None:
        super().__init__(world, site, share_batch)
        self.sworld = world
        self.records: list[SaRecord | None] = []
        self._valued: set[int] = set()
        """SAs whose record holds a Child SA's counter or window as a value (the bank does not hold it)."""
        self._near: set[int] = set()
        """SAs of ``_valued`` with such a counter past the rekey fraction (``_counter_rekeys``)."""
        self._batches = 0
        self._kids = np.zeros(0, dtype=np.int64)
        """Each SA's Child SAs in its record, -1 for no record (the message sizes)."""
        self._stale: set[int] = set()
        """SAs whose record is out of date: read while no standby was alive (nobody would read it), each
        read again before the next share that sends."""
        self._sharer = -1
        """The member whose SAs the records were read from. When another one shares, the address moved
        without a call into every SA (the newest claimer crashed during a split brain and the other master
        serves again): every record is read again, as the per-SA sync reads every SA of whoever serves."""
        window = world.cfg.policy.replay_window
        self._per_child = sync_bytes(1, window, full=False) - sync_bytes(0, window, full=False)
        self._per_sa = sync_bytes(0, window, full=False)
        self._gone = snapshot_bytes(None, window, full=False)

    def share(self, m: Member, i: int, *, full: bool = False) -> None:
        """As before; no snapshot is built when no standby is alive (nothing would be sent)."""
        if not any(k is not m and k.alive for k in self.site.members):
            return
        super().share(m, i, full=full)

    def snapshot_of(self, m: Member, i: int) -> IkeSaSnapshot | None:
        """As before, with the SA's counters and windows read after one pass of its flows instead of
        each handed back by its own (``ScaledWorld.live_snapshot``)."""
        return self.sworld.live_snapshot(m, i)

    def _arrive(
        self, k: Member, i: int, snap: IkeSaSnapshot | None, full: bool
    ) -> Callable[[simpy.Event], None]:
        def cb(_: simpy.Event) -> None:
            self._take(k, i, snap, full)

        return cb

    def _take(self, k: Member, i: int, snap: IkeSaSnapshot | None, full: bool) -> None:
        """A snapshot of SA ``i`` reached member ``k``: keep it if admitted and not older."""
        if not self._admits(k, i, full):
            return
        snaps = k.snaps
        if isinstance(snaps, LazySnaps):
            old_t = snaps.taken_at(i)
            if snap is None or old_t is None or old_t <= snap.taken_at:
                snaps[i] = snap
            return
        old = snaps.get(i)
        if snap is None or old is None or old.taken_at <= snap.taken_at:
            snaps[i] = snap

    def share_full(self, m: Member, sas: list[int]) -> None:
        """``share(m, i, full=True)`` for each of ``sas`` in turn, as one batch: the same snapshots,
        messages, bytes and fates (``ClusterLink.sync_fates`` draws for all at once as for one at a
        time), and each arrival time's snapshots kept in the order the single shares would keep them."""
        standbys = [k for k in self.site.members if k is not m and k.alive]
        if not standbys or not sas:
            return
        now = self.env.now
        window = self.world.cfg.policy.replay_window
        snaps: list[IkeSaSnapshot | None] = []
        for i in sas:
            sa = m.sas.get(i)
            snap = None if sa is None or sa.deleted else sa.snapshot(now)
            snaps.append(snap)
            self.messages += len(standbys)
            self.bytes += len(standbys) * snapshot_bytes(snap, window, full=True)
        fates = self.link.sync_fates(m.index, [k.index for k in standbys], now, len(sas))
        arrived = fates.delivered
        self.lost += int((~arrived).sum())
        for t, rows, cols in arrival_groups(fates.arrival, arrived):
            ev = self.env.timeout(t - now)
            ev.callbacks.append(self._arrive_full(standbys, sas, snaps, rows, cols))

    def _arrive_full(
        self,
        standbys: list[Member],
        sas: list[int],
        snaps: list[IkeSaSnapshot | None],
        rows: np.ndarray,
        cols: np.ndarray,
    ) -> Callable[[simpy.Event], None]:
        def cb(_: simpy.Event) -> None:
            for row, col in zip(rows.tolist(), cols.tolist(), strict=True):  # SA by SA, each standby in turn
                self._take(standbys[col], sas[row], snaps[row], True)

        return cb

    def share_all(self, m: Member) -> None:
        w = self.sworld
        now = self.env.now
        if self.site is not w.cluster:  # a peer cluster: per SA, as before
            for i in sorted(m.ready):
                self.share(m, i)
                w.check_counter_rekeys(self.site, m, i)
            return
        n = w.cfg.traffic.peers
        dirty: Iterable[int]
        full = not self.records or m.index != self._sharer
        if full:
            self.records = [None] * n
            self._kids = np.full(n, -1, dtype=np.int64)
            self._sharer = m.index
            dirty = range(n)
        elif w.bank.closed:  # no ESP moves: a value only changes through a call or a re-binding
            dirty = w.ike_dirty | (self._valued & w.rebound)
        else:  # packets sent before a rekey reach the windows the bank does not hold
            dirty = w.ike_dirty | self._valued
        kids_of = self._kids
        valued, near = self._valued, self._near
        limit = w.cfg.traffic.rekey_counter_fraction * float(w.bank.limit) * (1 - 1e-12)
        standbys = [k for k in self.site.members if k is not m and k.alive]
        if not (standbys and m.ready):  # nothing is sent: the counter rekeys need only valued and near
            stale = self._stale
            moved = w.kids_changed | w.rebound
            for i in dirty:
                stale.add(i)
                if not (full or i in valued or i in moved):
                    continue  # the bank held all its values at the last look, and held them since
                out, hot = w.sa_outside_bank(i, limit)
                if out:
                    valued.add(i)  # Child SAs the bank does not hold: read again at every sync
                else:
                    valued.discard(i)
                if hot:
                    near.add(i)
                else:
                    near.discard(i)
            dirty = ()
        elif self._stale:
            dirty = self._stale.union(dirty)
            self._stale = set()
        for i in dirty:
            r = self.records[i] = w.sa_record(i)
            kids_of[i] = -1 if r is None else len(r.children)
            if r is not None and not r.bank_holds_all:
                valued.add(i)  # Child SAs the bank does not hold: read again at every sync
                if any(k.out_flow is None and k.out_seq >= limit for k in r.children):
                    near.add(i)
                else:
                    near.discard(i)
            else:
                valued.discard(i)
                near.discard(i)
        w.ike_dirty.clear()
        w.rebound.clear()
        w.kids_changed.clear()
        if standbys and m.ready:  # else nothing is sent (the counter rekeys read valued and near)
            served = np.zeros(n, dtype=bool)  # sorted without a sort
            served[np.fromiter(m.ready, dtype=np.int64, count=len(m.ready))] = True
            ready = np.flatnonzero(served)
            records = list(self.records)
            kids = kids_of[ready]
            none = kids < 0
            sizes = np.where(none, self._gone, self._per_sa + self._per_child * kids)
            self.messages += len(standbys) * ready.shape[0]
            self.bytes += len(standbys) * int(sizes.sum())
            fates = self.link.sync_fates(m.index, [k.index for k in standbys], now, ready.shape[0])
            arrived = fates.delivered
            self.lost += int((~arrived).sum())
            batch = _Batch(w, records)
            self._batches += 1
            b = self._batches
            for t, rows, cols in arrival_groups(fates.arrival, arrived):  # one time unless jittered
                ev = self.env.timeout(t - now)
                ev.callbacks.append(self._arrive_batch(standbys, b, batch, ready, none, rows, cols))
        self._counter_rekeys(m)

    def _arrive_batch(
        self,
        standbys: list[Member],
        b: int,
        batch: _Batch,
        ready: np.ndarray,
        none: np.ndarray,
        rows: np.ndarray,
        cols: np.ndarray,
    ) -> Callable[[simpy.Event], None]:
        def cb(_: simpy.Event) -> None:
            for j, k in enumerate(standbys):
                if not k.alive:
                    continue
                take = rows[cols == j]  # the rows of ``ready`` whose message to k arrives now, in order
                if self.site.active == k.index:
                    held = [int(x) in k.ready for x in ready[take]]
                    take = take[~np.array(held, dtype=bool)]
                snaps = k.snaps
                assert isinstance(snaps, LazySnaps)
                if k.needs_full:  # a member that rejoined: counters only for SAs it holds
                    sel = ready[take]
                    take = take[snaps.present[sel] & ~snaps.is_none[sel]]
                snaps.apply(b, batch, ready[take], none[take])

        return cb

    def _counter_rekeys(self, m: Member) -> None:
        """``check_counter_rekeys`` for the SAs of ``m`` that may need it (a counter past the fraction)."""
        w = self.sworld
        frac = w.cfg.traffic.rekey_counter_fraction
        bank = w.bank
        hot = bank.last_seq.astype(np.float64) >= frac * float(bank.limit) * (1 - 1e-12)
        cand = set(bank.sa_of[hot & bank.has_tx].tolist())
        cand |= self._near  # a Child SA the bank does not hold (during a rekey) near its limit
        for i in sorted(cand.intersection(m.ready)):
            w.check_counter_rekeys(self.site, m, i)
