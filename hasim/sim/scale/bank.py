"""The ESP flows of a whole run as one bank of arrays: batches vectorized across flows and time.

At 10,000 IKE SAs a run has some 30,000 ESP flows; stepping each one through its own NumPy calls at
every control event costs far more in call overhead than in work. :class:`FlowBank` holds what the
per-flow path (:class:`hasim.sim.dataplane.esp_flows.EspFlow`) keeps per flow in arrays over all flows, and
moves any set of flows up to a time in one pass: offered times, sender counters, link draws,
packets in flight, the receivers' replay windows (``hasim.sim.dataplane.window_bank``) and the
statistics. The results are those of the per-flow path, packet for packet:

- *Same draws.* Each flow keeps its own ``ArrivalProcess`` and ``LinkChannel`` streams. An epoch of
  offered times (a few seconds) is fetched per flow and laid out flow-major; link uniforms are drawn
  per flow as many as packets offered, and those not used (outage, exhausted counter) are carried
  over, so every packet meets the same uniform as on the per-flow path.
- *Same state.* The sender's counter and the receiver's window of each flow are loaded from the
  protocol's ``ChildSa`` objects when the flow is *bound* and written back when it is *released*
  (see :mod:`hasim.sim.scale.world` for when that happens); in between the bank owns them.
- *Same order.* Packets of one flow are sent in offered order and received in (arrival time,
  send order), the order of the per-flow path's stable sort. Packets in flight carry their SPI; one
  whose SPI is not the flow's bound receiver (sent before a rekey) goes to the receiver that SPI
  names through the scalar-state path, as before.

The bank stores no packet beyond the current epoch and the packets in flight: memory follows flows,
window sizes and rates, not the length of the run.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hasim.protocol.anti_replay import ReplayWindow
from hasim.protocol.esp_counter import counter_limit
from hasim.sim.dataplane.esp_flows import EspFlow
from hasim.sim.dataplane.link import LossBursts
from hasim.sim.dataplane.window_bank import WindowBank, check_bank
from hasim.sim.scale.copies import Copies, arrival_order, runs
from hasim.sim.scale.few import deliver_few, send_few

if TYPE_CHECKING:
    from hasim.protocol.child_sa import ChildSa
    from hasim.protocol.iv_reuse import IvUsageTracker

_SMALL = 48
"""Packets up to which a pass over a few flows checks windows one packet at a time (less overhead)."""

_SMALL_SEND = 64
"""Packets up to which a send is done one packet at a time in Python (the NumPy path's fixed cost of
some seventy array calls is more than the work below this)."""

_MANY = 256
"""Flows from which a pass over some flows finds their packets through the time buckets and the pool's
flow index in array operations rather than flow by flow."""

_BUCKET_S = 0.25
"""Width of the time buckets indexing an epoch's offered times."""

FEATURES = ("loss", "jitter", "reorder", "dup")
"""Link features drawing one uniform per packet sent, in the per-flow path's order of streams."""

STAT_FIELDS = (
    "offered",
    "sent",
    "outage",
    "exhausted",
    "lost",
    "delivered",
    "accepted",
    "duplicate",
    "too_old",
    "unverifiable",
    "no_receiver",
)


def bank_supports(flow: EspFlow) -> bool:
    """Whether the bank reproduces this flow exactly (Gilbert-Elliott loss and attacker recording
    keep the per-flow path)."""
    return flow.link.cfg.loss_model == "bernoulli" and not flow._record and flow.on_drop is None


class FlowBank:
    """All ESP flows of a run (see the module docstring). Flow ``f`` is ``flows[f]``."""

    def __init__(
        self,
        flows: list[EspFlow],
        sa_of: list[int],
        bursts: dict[str, LossBursts],
        ivs: IvUsageTracker,
        *,
        replay_window: int,
        esn: bool,
        epoch_s: float,
    ) -> None:
        n = len(flows)
        self.flows = flows
        self.n = n
        self.sa_of = np.asarray(sa_of, dtype=np.int64)
        self.ivs = ivs
        self.size, self.esn = replay_window, esn
        self.limit = counter_limit(esn)
        self.epoch_s = epoch_s
        cfgs = [f.link.cfg for f in flows]
        self.lat = np.array([c.latency_s for c in cfgs])
        self.jit = np.array([c.jitter_s for c in cfgs])
        self.loss = np.array([c.loss for c in cfgs])
        self.reo = np.array([c.reorder for c in cfgs])
        self.reo_delay = np.array([c.reorder_delay_s for c in cfgs])
        self.dup = np.array([c.duplicate for c in cfgs])
        self.uses = {
            "loss": self.loss > 0.0,
            "jitter": self.jit > 0.0,
            "reorder": self.reo > 0.0,
            "dup": self.dup > 0.0,
        }
        self.feats = tuple(k for k in FEATURES if bool(self.uses[k].any()))
        dirs = sorted({f.name.split("/", 1)[0] for f in flows})
        self.dir_names = dirs
        self.dirn = np.array([dirs.index(f.name.split("/", 1)[0]) for f in flows], dtype=np.int64)
        self.bursts = [bursts.get(d, LossBursts()) for d in dirs]
        # epoch of offered times, flow-major
        self.epoch_end = 0.0
        self.t_off = np.zeros(0)
        self.t_flow = np.zeros(0, dtype=np.int64)
        self.t_seg = np.zeros(n + 1, dtype=np.int64)
        self.t_pos = np.zeros(n, dtype=np.int64)
        # link uniforms per feature, flow-major, with carry-over of unused ones
        self.u: dict[str, NDArray[np.float64]] = {k: np.zeros(0) for k in self.feats}
        self.u_seg = {k: np.zeros(n + 1, dtype=np.int64) for k in self.feats}
        self.u_pos = {k: np.zeros(n, dtype=np.int64) for k in self.feats}
        # sender and receiver bound to each flow
        self.bound = np.zeros(n, dtype=bool)
        self.tx_free = np.zeros(n, dtype=bool)
        self.rx_free = np.zeros(n, dtype=bool)
        """The receiver's window handed back to its object while the rest stays bound."""
        """The sender's counter handed back to its object while the receiver stays bound."""
        self.tx: list[ChildSa | None] = [None] * n
        self.rx: list[ChildSa | None] = [None] * n
        self.has_tx = np.zeros(n, dtype=bool)
        self.last_seq = np.zeros(n, dtype=np.uint64)
        self.spi = np.full(n, -1, dtype=np.int64)
        self.rx_ok = np.zeros(n, dtype=bool)
        self.windows = WindowBank.initial(n, replay_window, esn=esn)
        self.foreign = np.zeros(n, dtype=np.int64)
        """Packets in flight whose SPI is not the bound one (sent before a rekey)."""
        # statistics
        self.stats = {k: np.zeros(n, dtype=np.int64) for k in STAT_FIELDS}
        self.max_space = np.zeros(n)
        self.watch_from = np.full(n, math.nan)
        self.first_acc = np.full(n, math.nan)
        # IVs used: one open range per flow, handed to the tracker when it stops being contiguous
        self.iv_open = np.zeros(n, dtype=bool)
        self.iv_spi = np.zeros(n, dtype=np.int64)
        self.iv_lo = np.zeros(n, dtype=np.uint64)
        self.iv_hi = np.zeros(n, dtype=np.uint64)
        self._iv_top: dict[int, int] = {}
        self._iv_wait: dict[int, list[tuple[int, int]]] = {}
        # packets in flight, each flow's in send order (the order across flows never matters): the main
        # pool, left by the last pass over all flows grouped by flow (flow f at p_seg[f]:p_seg[f + 1];
        # copies taken out by a pass over a few flows are marked with an infinite arrival), and a side
        # pool per flow (sent in passes over a few flows, merged into the main one before the next pass
        # over all flows)
        self.p_arr = np.zeros(0)
        self.p_seq = np.zeros(0, dtype=np.uint64)
        self.p_spi = np.zeros(0, dtype=np.int64)
        self.p_flow = np.zeros(0, dtype=np.int64)
        self.p_seg = np.zeros(n + 1, dtype=np.int64)
        self.side: dict[int, list[Copies]] = {}
        self.bulk_t = 0.0
        """Time of the last pass over all flows (every flow has sent all it offered before it)."""
        self.t_lo = 0.0
        self.t_by_bucket = np.zeros(0, dtype=np.int64)
        self.t_bucket_at = np.zeros(1, dtype=np.int64)

    # ------------------------------------------------------------------------------ epochs
    def load_epoch(self, end: float) -> None:
        """Fetch every flow's offered times up to ``end``, after those of the last epoch not yet sent."""
        n = self.n
        old, pos, seg = self.t_off, self.t_pos.tolist(), self.t_seg.tolist()
        parts = []
        for f, flow in enumerate(self.flows):
            new = flow.arrivals.until(end)
            rest = old[pos[f] : seg[f + 1]]
            parts.append(np.concatenate((rest, new)) if rest.shape[0] else new)
        counts = np.fromiter((p.shape[0] for p in parts), dtype=np.int64, count=n)
        self.t_off = np.concatenate(parts) if n else np.zeros(0)
        self.t_seg = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=self.t_seg[1:])
        self.t_flow = np.repeat(np.arange(n, dtype=np.int64), counts)
        self.t_pos = self.t_seg[:-1].copy()
        # a bucket index over time, so that a pass over all flows reads only the times it may send
        lo = self.bulk_t  # every time before it was sent
        scaled = self.t_off - lo
        scaled /= _BUCKET_S
        np.floor(scaled, out=scaled)
        np.maximum(scaled, 0.0, out=scaled)
        self.t_lo = lo
        top = int(scaled.max(initial=0.0))
        # a stable sort's order depends only on the keys: as uint16 (radix sort) it is 4x faster
        bucket = scaled.astype(np.uint16 if top < 1 << 16 else np.int64)
        del scaled
        self.t_by_bucket = np.argsort(bucket, kind="stable")
        self.t_bucket_at = np.zeros(top + 2, dtype=np.int64)  # first index of each bucket in that order
        np.cumsum(np.bincount(bucket, minlength=top + 1), out=self.t_bucket_at[1:])
        for k in self.feats:
            self._refill_uniforms(k, counts)
        self.epoch_end = end

    def _refill_uniforms(self, k: str, need: NDArray[np.int64]) -> None:
        """Per flow using feature ``k``: the unused uniforms of the last epoch, then fresh ones up to
        ``need`` (the packets it may send this epoch)."""
        old, seg, pos = self.u[k], self.u_seg[k], self.u_pos[k]
        uses = self.uses[k]
        parts: list[NDArray[np.float64]] = []
        lens = np.zeros(self.n, dtype=np.int64)
        for f in np.flatnonzero(uses).tolist():
            carry = old[pos[f] : seg[f + 1]]
            extra = int(need[f]) - carry.shape[0]
            if extra > 0:
                fresh = self.flows[f].link.rng(k).random(extra)
                carry = np.concatenate((carry, fresh)) if carry.shape[0] else fresh
            parts.append(carry)
            lens[f] = carry.shape[0]
        self.u[k] = np.concatenate(parts) if parts else np.zeros(0)
        self.u_seg[k] = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(lens, out=self.u_seg[k][1:])
        self.u_pos[k] = self.u_seg[k][:-1].copy()

    def next_offered(self, f: int, after: float) -> float:
        """The first offered time of flow ``f`` at or after ``after`` (the lazy trigger's R7-2 time)."""
        lo, hi = int(self.t_pos[f]), int(self.t_seg[f + 1])
        seg = self.t_off[lo:hi]
        j = int(np.searchsorted(seg, after, side="left"))
        if j < seg.shape[0]:
            return float(seg[j])
        nxt = self.flows[f].arrivals.next_time()
        return nxt

    # ------------------------------------------------------------------------------ binding
    def bind(self, f: int, tx: ChildSa | None, rx: ChildSa | None, spi: int) -> None:
        """Take flow ``f``'s sender counter and receiver window from the protocol objects."""
        self.tx[f], self.rx[f] = tx, rx
        self.has_tx[f] = tx is not None
        if spi != self.spi[f]:
            self.spi[f] = spi
            lo, hi = int(self.p_seg[f]), int(self.p_seg[f + 1])
            alive = np.isfinite(self.p_arr[lo:hi])
            self.foreign[f] = int(np.count_nonzero((self.p_spi[lo:hi] != spi) & alive)) + sum(
                int(np.count_nonzero(c.spi != spi)) for c in self.side.get(f, ())
            )
        if tx is not None:
            self.last_seq[f] = tx.outbound.last
        self.rx_ok[f] = rx is not None
        w = self.windows
        if rx is not None:
            win = rx.inbound
            w.tops[f] = win.top
            if w.words.shape[1]:
                w.words[f] = np.array(win.words, dtype=np.uint64)
        self.bound[f] = True

    def release(self, f: int) -> None:
        """Write flow ``f``'s counter and window back into the protocol objects (they own them again)."""
        if not self.bound[f]:
            return
        tx, rx = self.tx[f], self.rx[f]
        if tx is not None and not self.tx_free[f]:
            tx.outbound.last = int(self.last_seq[f])
        self.tx_free[f] = False
        if rx is not None and not self.rx_free[f]:
            rx.inbound = self.window(f)
        self.rx_free[f] = False
        self.bound[f] = False

    def window(self, f: int) -> ReplayWindow:
        w = self.windows
        words = tuple(int(x) for x in w.words[f]) if w.words.shape[1] else None
        return ReplayWindow(self.size, esn=self.esn, top=int(w.tops[f]), words=words)

    def free_receivers(self, t: float, flows: list[int]) -> None:
        """Move ``flows`` up to ``t`` and hand their receivers' windows back to the objects (the protocol
        is about to change them); everything else stays bound."""
        self.advance(t, flows)
        for f in flows:
            rx = self.rx[f]
            if rx is not None:
                rx.held.inbound = self.window(f)
            self.rx_free[f] = True

    def take_receiver(self, f: int) -> None:
        """Take flow ``f``'s window back from its receiver object (after ``free_receiver``)."""
        rx = self.rx[f]
        if rx is not None:
            win = rx.held.inbound
            self.windows.tops[f] = win.top
            if self.windows.words.shape[1]:
                self.windows.words[f] = np.array(win.words, dtype=np.uint64)
        self.rx_free[f] = False

    # ------------------------------------------------------------------------------ moving
    def advance(self, t: float, flows: list[int] | None = None) -> None:
        """Send every packet offered before ``t`` and deliver every copy arriving before ``t``, for all
        flows (``flows`` None) or the given ones; every flow moved must be bound."""
        if t > self.epoch_end + 1e-12:
            raise RuntimeError(f"bank epoch ends at {self.epoch_end}, asked for {t}")
        if flows is None:
            self._merge_side()
            sel = self._offered_before(t)
            self.bulk_t = t
            few = None
        elif t <= self.bulk_t:
            return  # the last pass over all flows sent and delivered everything before it
        elif len(flows) >= _MANY:  # straight into the main pool, regrouped by flow
            few = sorted(set(flows))
            in_set = np.zeros(self.n, dtype=bool)
            in_set[few] = True
            sel = self._offered_before(t, in_set)
            self._merge_side()
            if sel.shape[0]:
                self._send(sel, side=False)
            self._regroup(np.flatnonzero(np.isfinite(self.p_arr)))
            self._deliver(t, few)
            return
        else:
            few = sorted(set(flows))
            sel = self._offered_by_flow(t, few)
        if sel.shape[0]:
            self._send(sel, side=few is not None)
        self._deliver(t, few)

    def _offered_before(self, t: float, in_set: NDArray[np.bool_] | None = None) -> NDArray[np.int64]:
        """The packets not yet sent that were offered before ``t`` (of the flows in ``in_set``), flow-major:
        every time before the last pass over all flows was sent, so the time buckets from its own on."""
        at = self.t_bucket_at
        b0 = min(max(math.floor((self.bulk_t - self.t_lo) / _BUCKET_S), 0), at.shape[0] - 1)
        b1 = min(max(math.floor((t - self.t_lo) / _BUCKET_S) + 1, 1), at.shape[0] - 1)  # 0: all before
        sel = self.t_by_bucket[at[b0] : at[b1]]
        sel = sel[self.t_off[sel] < t]
        fl = self.t_flow[sel]
        keep = sel >= self.t_pos[fl]
        if in_set is not None:
            keep &= in_set[fl]
        return np.sort(sel[keep], kind="stable")  # merges sorted runs

    def _offered_by_flow(self, t: float, flows: list[int]) -> NDArray[np.int64]:
        """``_offered_before`` for a few flows (sorted), one search in each flow's offered times."""
        chunks = []
        for f in flows:
            lo, hi = int(self.t_pos[f]), int(self.t_seg[f + 1])
            k = lo + int(np.searchsorted(self.t_off[lo:hi], t, side="left"))
            if k > lo:
                chunks.append(np.arange(lo, k, dtype=np.int64))
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)

    def free_senders(self, t: float, flows: list[int]) -> None:
        """Send the packets of ``flows`` offered before ``t`` and hand their counters back to the sender
        objects (the receivers' windows stay in the bank): the protocol is about to change the counters."""
        sel = self._offered_by_flow(t, sorted(flows))
        if sel.shape[0]:
            self._send(sel, side=True)
        for f in flows:
            tx = self.tx[f]
            if tx is not None:
                tx.held.outbound.last = int(self.last_seq[f])
            self.tx_free[f] = True

    def take_sender(self, f: int) -> None:
        """Take flow ``f``'s counter back from its sender object (after ``free_sender``)."""
        tx = self.tx[f]
        if tx is not None:
            self.last_seq[f] = tx.held.outbound.last
        self.tx_free[f] = False

    def _merge_side(self) -> None:
        if self.side:
            parts = [c for f in sorted(self.side) for c in self.side[f]]
            self.side = {}
            self.p_arr = np.concatenate([self.p_arr] + [c.arr for c in parts])
            self.p_seq = np.concatenate([self.p_seq] + [c.seq for c in parts])
            self.p_spi = np.concatenate([self.p_spi] + [c.spi for c in parts])
            self.p_flow = np.concatenate([self.p_flow] + [c.flow for c in parts])

    def _send(self, sel: NDArray[np.int64], *, side: bool) -> None:
        """Send the offered packets ``sel`` (flow-major, each flow's from its next unsent one on)."""
        if sel.shape[0] <= _SMALL_SEND:
            send_few(self, sel, side=side)
            return
        fl_all = self.t_flow[sel]  # non-decreasing: the selection is flow-major
        ufl, counts = runs(fl_all)
        first_of = self.t_pos[ufl]
        self.t_pos[ufl] += counts
        st = self.stats
        st["offered"][ufl] += counts
        grp = np.repeat(np.arange(ufl.shape[0]), counts)
        rank = sel - first_of[grp]
        has_tx = self.has_tx[ufl]
        st["outage"][ufl] += np.where(has_tx, 0, counts)
        last = self.last_seq[ufl]
        remaining = np.where(has_tx, np.uint64(self.limit) - last, np.uint64(0))
        m = np.minimum(counts.astype(np.uint64), remaining).astype(np.int64)
        st["exhausted"][ufl] += np.where(has_tx, counts - m, 0)
        sent = rank < m[grp]
        times = self.t_off[sel]
        if not sent.all():
            grp, times, rank = grp[sent], times[sent], rank[sent]
        if grp.shape[0] == 0:
            return
        fl = ufl[grp]
        seqs = last[grp] + np.uint64(1) + rank.astype(np.uint64)
        went = np.flatnonzero(m > 0)
        new_last = last + m.astype(np.uint64)
        self.last_seq[ufl] = new_last
        st["sent"][ufl] += m
        self._space_used(ufl[went])
        self._ivs(ufl[went], last[went] + np.uint64(1), new_last[went])
        # the link: one uniform per packet sent from each stream the flow's link uses
        u = {}
        for k in self.feats:
            uses = self.uses[k][ufl]
            idx = self.u_pos[k][ufl][grp] + rank
            if uses.all():
                u[k] = self.u[k][idx]
                self.u_pos[k][ufl] += m
                continue
            use = uses[grp]
            val = np.zeros(grp.shape[0])
            val[use] = self.u[k][idx[use]]
            u[k] = val
            self.u_pos[k][ufl] += np.where(uses, m, 0)
        lost = u["loss"] < self.loss[fl] if "loss" in u else np.zeros(fl.shape[0], dtype=bool)
        dirn = self.dirn[fl]
        for d, b in enumerate(self.bursts):
            if b.intervals:
                lost |= (dirn == d) & b.mask(times)
        arrival = times + self.lat[fl]
        if "jitter" in u:
            jit = self.jit[fl]
            arrival = np.where(jit > 0.0, arrival + jit * u["jitter"], arrival)
        if "reorder" in u:
            arrival = arrival + np.where(u["reorder"] < self.reo[fl], self.reo_delay[fl], 0.0)
        keep = ~lost
        copies = keep.astype(np.int64)
        if "dup" in u:
            copies += (u["dup"] < self.dup[fl]) & keep
        st["lost"][ufl] += m - np.bincount(grp[keep], minlength=ufl.shape[0])
        idx = np.repeat(np.arange(fl.shape[0]), copies)
        self.in_flight(arrival[idx], seqs[idx], self.spi[fl[idx]], fl[idx], side=side)

    def iv_range(self, f: int, first: int, last: int) -> None:
        """``_ivs`` for one flow that sent ``first..last``."""
        s_f = int(self.spi[f])
        open_ = bool(self.iv_open[f])
        if not (open_ and int(self.iv_spi[f]) == s_f and int(self.iv_hi[f]) + 1 == first):
            if open_:
                self.flush_iv(f)
            self.iv_open[f] = True
            self.iv_spi[f] = s_f
            self.iv_lo[f] = first
        self.iv_hi[f] = last

    def _space_used(self, went: NDArray[np.int64]) -> None:
        if went.shape[0] == 0:
            return
        if self.esn:  # Python's exact int / int, as OutboundCounter.counter_space_used
            for f in went.tolist():
                self.max_space[f] = max(self.max_space[f], int(self.last_seq[f]) / self.limit)
        else:
            used = self.last_seq[went].astype(np.float64) / float(self.limit)
            self.max_space[went] = np.maximum(self.max_space[went], used)

    def _ivs(self, went: NDArray[np.int64], firsts: NDArray[np.uint64], lasts: NDArray[np.uint64]) -> None:
        spis = self.spi[went]
        contig = (
            self.iv_open[went] & (self.iv_spi[went] == spis) & (self.iv_hi[went] + np.uint64(1) == firsts)
        )
        new = np.flatnonzero(~contig)
        for j in new[self.iv_open[went[new]]].tolist():
            self.flush_iv(int(went[j]))
        fn = went[new]
        self.iv_open[fn] = True
        self.iv_spi[fn] = spis[new]
        self.iv_lo[fn] = firsts[new]
        self.iv_hi[went] = lasts

    def flush_iv(self, f: int) -> None:
        """Close flow ``f``'s open range of used sequence numbers (R3.4-1). A range above every range of
        its SA so far cannot repeat an IV: it waits in a list, and goes to the IV tracker (in order,
        before the new one) only when a later range of that SA reaches below that SA's top."""
        if not self.iv_open[f]:
            return
        self.iv_open[f] = False
        key, lo, hi = int(self.iv_spi[f]), int(self.iv_lo[f]), int(self.iv_hi[f])
        top = self._iv_top.get(key)
        if top is None or lo > top:
            self._iv_wait.setdefault(key, []).append((lo, hi))
            self._iv_top[key] = hi
            return
        for a, b in self._iv_wait.pop(key, ()):
            self.ivs.use(key, a, b)
        self.ivs.use(key, lo, hi)
        self._iv_top[key] = max(top, hi)

    def in_flight(
        self,
        arr: NDArray[np.float64],
        seq: NDArray[np.uint64],
        spi: NDArray[np.int64],
        fl: NDArray[np.int64],
        *,
        side: bool,
    ) -> None:
        if side:
            ufl, counts = runs(fl)  # flow-major
            at = 0
            for f, c in zip(ufl.tolist(), counts.tolist(), strict=True):
                part = Copies(arr[at : at + c], seq[at : at + c], spi[at : at + c], fl[at : at + c])
                self.side.setdefault(f, []).append(part)
                at += c
        else:
            self.p_arr = np.concatenate((self.p_arr, arr))
            self.p_seq = np.concatenate((self.p_seq, seq))
            self.p_spi = np.concatenate((self.p_spi, spi))
            self.p_flow = np.concatenate((self.p_flow, fl))

    def _regroup(self, keep: NDArray[np.intp]) -> None:
        """Keep the main pool's copies ``keep`` (in pool order), grouped by flow, each flow's copies staying
        in send order (a radix sort in 16 bits), and index them by flow."""
        flow = self.p_flow[keep]
        by = np.argsort(flow.astype(np.uint16) if self.n < 1 << 16 else flow, kind="stable")
        keep = keep[by]
        self.p_arr, self.p_seq = self.p_arr[keep], self.p_seq[keep]
        self.p_spi, self.p_flow = self.p_spi[keep], self.p_flow[keep]
        self.p_seg = np.searchsorted(self.p_flow, np.arange(self.n + 1), side="left")

    def _take_due(self, t: float, few: list[int] | None) -> Copies:
        """Take the copies arriving before ``t`` out of the pools: of every flow (``few`` None; what stays
        is then grouped by flow) or of the given flows (sorted)."""
        if few is None:
            due = self.p_arr < t
            pick = np.flatnonzero(due)
            keep = np.flatnonzero(~due & np.isfinite(self.p_arr))
            taken = Copies(self.p_arr[pick], self.p_seq[pick], self.p_spi[pick], self.p_flow[pick])
            self._regroup(keep)
            return taken
        parts: list[Copies] = []
        many = len(few) >= _MANY
        if many:  # the flows' segments of the main pool in one gather
            fa = np.asarray(few, dtype=np.int64)
            lo_a, n_a = self.p_seg[fa], self.p_seg[fa + 1] - self.p_seg[fa]
            total = int(n_a.sum())
            if total:
                idx = np.repeat(lo_a - np.cumsum(n_a) + n_a, n_a) + np.arange(total)
                pick = idx[self.p_arr[idx] < t]
                if pick.shape[0]:
                    parts.append(
                        Copies(self.p_arr[pick], self.p_seq[pick], self.p_spi[pick], self.p_flow[pick])
                    )
                    self.p_arr[pick] = np.inf  # taken out
            few = [f for f in few if f in self.side] if len(self.side) < len(few) else few
        for f in few:
            lo, hi = int(self.p_seg[f]), int(self.p_seg[f + 1])
            if hi > lo and not many:
                pick = lo + np.flatnonzero(self.p_arr[lo:hi] < t)
                if pick.shape[0]:
                    parts.append(
                        Copies(self.p_arr[pick], self.p_seq[pick], self.p_spi[pick], self.p_flow[pick])
                    )
                    self.p_arr[pick] = np.inf  # taken out
            queued = self.side.get(f)
            if queued:
                c = Copies.join(queued) if len(queued) > 1 else queued[0]
                due = c.arr < t
                if due.all():
                    parts.append(c)
                    del self.side[f]
                elif due.any():
                    parts.append(c.where(due))
                    self.side[f] = [c.where(~due)]
                else:
                    self.side[f] = [c]
        if not parts:
            return Copies.empty()
        return Copies.join(parts) if len(parts) > 1 else parts[0]

    def _deliver(self, t: float, few: list[int] | None) -> None:
        taken = self._take_due(t, few)
        arr, seq, spi, fl = taken.arr, taken.seq, taken.spi, taken.flow
        if arr.shape[0] == 0:
            return
        if arr.shape[0] <= _SMALL:
            deliver_few(self, taken)
            return
        order = arrival_order(arr, fl, self.n)
        arr, seq, spi, fl = arr[order], seq[order], spi[order], fl[order]
        st = self.stats
        ufl, counts = runs(fl)
        st["delivered"][ufl] += counts
        own = spi == self.spi[fl]
        if not own.all():
            self.deliver_foreign(arr[~own], seq[~own], spi[~own], fl[~own])
            arr, seq, fl = arr[own], seq[own], fl[own]
        ok = self.rx_ok[fl]
        if not ok.all():
            nf, nc = runs(fl[~ok])
            st["no_receiver"][nf] += nc
            arr, seq, fl = arr[ok], seq[ok], fl[ok]
        if fl.shape[0] == 0:
            return
        ufl, counts = runs(fl)
        if ufl.shape[0] == self.n:
            out, self.windows = check_bank(self.windows, fl, seq)
        elif fl.shape[0] <= _SMALL:
            out = self._check_small(ufl, counts, seq)
        else:  # only the flows concerned: a small bank, written back
            w = self.windows
            sub = WindowBank(w.size, w.esn, w.tops[ufl], w.words[ufl])
            grp = np.repeat(np.arange(ufl.shape[0]), counts)
            out, sub = check_bank(sub, grp, seq)
            w.tops[ufl] = sub.tops
            w.words[ufl] = sub.words
        self._count(out, arr, fl, ufl, counts)

    def store_window(self, f: int, win: ReplayWindow) -> None:
        w = self.windows
        w.tops[f] = win.top
        if w.words.shape[1]:
            w.words[f] = np.array(win.words, dtype=np.uint64)

    def _check_small(
        self, ufl: NDArray[np.int64], counts: NDArray[np.int64], seq: NDArray[np.uint64]
    ) -> NDArray[np.int8]:
        """A few packets: the reference window (``ReplayWindow.receive``) packet by packet, per flow."""
        out: list[int] = []
        pos = 0
        seqs = seq.tolist()
        for f, c in zip(ufl.tolist(), counts.tolist(), strict=True):
            win = self.window(f)
            out.extend(int(win.receive(x)) for x in seqs[pos : pos + c])
            pos += c
            self.store_window(f, win)
        return np.array(out, dtype=np.int8)

    def _count(
        self,
        out: NDArray[np.int8],
        arr: NDArray[np.float64],
        fl: NDArray[np.int64],
        ufl: NDArray[np.int64],
        counts: NDArray[np.int64],
    ) -> None:
        k = ufl.shape[0]
        grp = np.repeat(np.arange(k), counts)
        c = np.bincount(grp * 4 + out.astype(np.int64), minlength=4 * k).reshape(k, 4)
        st = self.stats
        st["accepted"][ufl] += c[:, 0]
        st["duplicate"][ufl] += c[:, 1]
        st["too_old"][ufl] += c[:, 2]
        st["unverifiable"][ufl] += c[:, 3]
        watch = self.watch_from[fl]
        cand = (out == 0) & (arr >= watch) & np.isnan(self.first_acc[fl])
        if cand.any():
            cf, ca = fl[cand], arr[cand]
            starts = np.flatnonzero(np.concatenate(([True], cf[1:] != cf[:-1])))
            self.first_acc[cf[starts]] = ca[starts]  # sorted by arrival within each flow

    def deliver_foreign(
        self, arr: NDArray[np.float64], seq: NDArray[np.uint64], spi: NDArray[np.int64], fl: NDArray[np.int64]
    ) -> None:
        """Copies whose SPI is not the flow's bound receiver: to whoever that SPI names, one SA at a time."""
        st = self.stats
        groups: dict[tuple[int, int], list[int]] = {}
        for j, key in enumerate(zip(fl.tolist(), spi.tolist(), strict=True)):
            groups.setdefault(key, []).append(j)
        for (f, s), idx in sorted(groups.items()):
            self.foreign[f] -= len(idx)
            rx = self.flows[f].ends.receiver(s)
            if rx is None:
                st["no_receiver"][f] += len(idx)
                continue
            # the window of an SPI other than the bound one is the object's own: bypass any lease;
            # a few packets: the reference window, packet by packet, on a copy that then replaces it
            state = rx.held
            win = state.inbound.copy()
            out = [int(win.receive(int(seq[j]))) for j in idx]
            state.inbound = win
            for code, name in enumerate(("accepted", "duplicate", "too_old", "unverifiable")):
                st[name][f] += out.count(code)
            w = self.watch_from[f]
            if not math.isnan(w) and math.isnan(self.first_acc[f]):
                good = [float(arr[j]) for j, o in zip(idx, out, strict=True) if o == 0 and arr[j] >= w]
                if good:
                    self.first_acc[f] = good[0]

    # ------------------------------------------------------------------------------ results
    def watch_recovery(self, f: int, t: float) -> None:
        """Record flow ``f``'s first packet accepted at or after ``t`` (recovery after a takeover)."""
        self.watch_from[f] = t
        self.first_acc[f] = math.nan

    def write_stats(self) -> None:
        """Copy the counters into each flow's ``FlowStats`` (what the metrics read); flush IV ranges."""
        cols = {k: v.tolist() for k, v in self.stats.items()}
        space = self.max_space.tolist()
        watch = self.watch_from.tolist()
        first = self.first_acc.tolist()
        for f, flow in enumerate(self.flows):
            st = flow.stats
            for k, col in cols.items():
                setattr(st, k, col[f])
            st.max_space_used = space[f]
            st.watch_from = None if math.isnan(watch[f]) else watch[f]
            st.first_accept_after = None if math.isnan(first[f]) else first[f]
        for f in np.flatnonzero(self.iv_open).tolist():
            self.flush_iv(f)

    def next_arrival_bound(self, flows: list[int]) -> float:
        """No copy of these flows arrives before this time unless it is sent first: the earliest copy
        in flight, or the next offered time plus the link latency."""
        best = math.inf
        for f in flows:
            p = int(self.t_pos[f])
            nxt = float(self.t_off[p]) if p < int(self.t_seg[f + 1]) else self.epoch_end
            best = min(best, nxt + float(self.lat[f]))
            lo, hi = int(self.p_seg[f]), int(self.p_seg[f + 1])
            if hi > lo:
                best = min(best, float(self.p_arr[lo:hi].min()))
            for c in self.side.get(f, ()):
                best = min(best, float(c.arr.min()))
        return best

    def replay_drops(self, flows: list[int]) -> int:
        """Replay drops (duplicate, too old, unverifiable) of some flows so far."""
        st = self.stats
        return int(sum(int(st["duplicate"][f] + st["too_old"][f] + st["unverifiable"][f]) for f in flows))

    def memory_bytes(self) -> int:
        """Bytes held in the bank's arrays (the memory test watches this stay flat)."""
        total = 0
        for v in vars(self).values():
            if isinstance(v, np.ndarray):
                total += v.nbytes
            elif isinstance(v, dict):
                total += sum(x.nbytes for x in v.values() if isinstance(x, np.ndarray))
        side = sum(c.arr.nbytes * 4 for q in self.side.values() for c in q)
        return total + side + self.windows.tops.nbytes + self.windows.words.nbytes

    def summary(self) -> dict[str, Any]:
        """Sizes for the benchmark (flows, in flight, epoch length)."""
        return {"flows": self.n, "in_flight": int(self.p_arr.shape[0]), "epoch": int(self.t_off.shape[0])}
