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

from hasim.sim.scale import bank_state
from hasim.sim.scale.bulk import BulkPass
from hasim.sim.scale.epoch import EpochIndex, ranges, room

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hasim.protocol.child_sa import ChildSa
    from hasim.sim.dataplane.esp_flows import EspFlow
    from hasim.sim.dataplane.split_senders import SplitSender


_NO_TIMES = np.zeros(0)
"""Held in place of an epoch's arrays while the next one is built in their buffers (never written)."""


def bank_supports(flow: EspFlow) -> bool:
    """Whether the bank reproduces this flow exactly (Gilbert-Elliott loss and attacker recording
    keep the per-flow path)."""
    return flow.link.cfg.loss_model == "bernoulli" and not flow._record and flow.on_drop is None


class FlowBank(BulkPass):
    """All ESP flows of a run (see the module docstring): the state with its sending and delivering
    passes, bound to the protocol's Child SAs, moved epoch by epoch."""

    def load_epoch(self, end: float) -> None:
        """Fetch every flow's offered times up to ``end``, after those of the last epoch not yet sent, and
        its link uniforms for as many packets.

        What is left of the last epoch (the times not yet sent, the uniforms not yet used) is copied
        out before the new arrays are built, so that old and new epoch are never held at once; the new
        times are drawn range of flows by range (``offered.OfferedTimes``), so that they are never held
        twice either. The epoch's arrays are views of buffers kept from one epoch
        to the next (``epoch.room``), sized by the flows' rates and grown in place if need be."""
        rest_len = self.t_seg[1:] - self.t_pos
        rest = self.t_off[ranges(self.t_pos, self.t_seg[1:])]
        carry = {k: self.u[k][ranges(self.u_pos[k], self.u_seg[k][1:])] for k in self.feats}
        carry_len = {k: self.u_seg[k][1:] - self.u_pos[k] for k in self.feats}
        self.t_off = _NO_TIMES  # let go of the views of the buffers: they may move while they grow
        self.u = {k: _NO_TIMES for k in self.feats}
        if self._rate_total is None:
            self._rate_total = math.fsum(flow.arrivals.rate for flow in self.flows)
        expect = rest.shape[0] + self._rate_total * max(end - self.epoch_end, 0.0)
        self.t_off, self.t_seg = self.offered.fill(end, rest, rest_len, self._bufs, int(expect * 1.01) + 1024)
        del rest
        counts = np.diff(self.t_seg)
        self.t_pos = self.t_seg[:-1].copy()
        self.t_index = EpochIndex(self.t_off, self.t_seg, self.bulk_t)  # every time before it was sent
        for k in self.feats:
            self._refill_uniforms(k, counts, carry.pop(k), carry_len[k])
        self.epoch_end = end

    def _refill_uniforms(
        self, k: str, need: NDArray[np.int64], carry: NDArray[np.float64], carry_len: NDArray[np.int64]
    ) -> None:
        """Per flow using feature ``k``: the unused uniforms of the last epoch (``carry``, flow-major),
        then fresh ones up to ``need`` (the packets it may send this epoch), drawn in place into the
        buffer of the last epoch's."""
        lens = np.where(self.uses[k], np.maximum(carry_len, need), 0)
        seg = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(lens, out=seg[1:])
        total = int(seg[-1])
        u = room(self._bufs, k, total)[:total]
        u[ranges(seg[:-1], seg[:-1] + carry_len)] = carry
        del carry
        fresh_at = (seg[:-1] + carry_len).tolist()
        ends = seg[1:].tolist()
        rngs = self._rngs.get(k)
        if rngs is None:  # each flow's stream of feature k, looked up once
            uses = self.uses[k].tolist()
            rngs = self._rngs[k] = [fl.link.rng(k) if uses[f] else None for f, fl in enumerate(self.flows)]
        for f in np.flatnonzero(lens > carry_len).tolist():
            rngs[f].random(out=u[fresh_at[f] : ends[f]])  # type: ignore[union-attr]
        self.u[k] = u
        self.u_seg[k] = seg
        self.u_pos[k] = seg[:-1].copy()

    def next_offered(self, f: int, after: float) -> float | None:
        """The first offered time of flow ``f`` at or after ``after`` (the lazy trigger's R7-2 time)
        among the times of the current epoch; None when it lies beyond them."""
        lo, hi = int(self.t_pos[f]), int(self.t_seg[f + 1])
        seg = self.t_off[lo:hi]
        j = int(np.searchsorted(seg, after, side="left"))
        return float(seg[j]) if j < seg.shape[0] else None

    def bind(
        self, f: int, tx: ChildSa | None, rx: ChildSa | None, spi: int, splits: Sequence[SplitSender] = ()
    ) -> None:
        """Take flow ``f``'s sender counter and receiver window from the protocol objects; ``splits``: the
        other masters sending it during a split brain (their counters stay in their objects)."""
        self.tx[f], self.rx[f] = tx, rx
        if splits:
            self.splits[f] = list(splits)
        else:
            self.splits.pop(f, None)
        self.has_tx[f] = tx is not None
        if spi != self.spi[f]:
            self.spi[f] = spi
            lo, hi = int(self.p_seg[f]), int(self.p_seg[f + 1])
            foreign = 0
            if hi > lo:
                alive = np.isfinite(self.p_arr[lo:hi])
                foreign = int(np.count_nonzero((self.p_spi[lo:hi] != spi) & alive))
            for c in [*self.side.get(f, ()), *self.split_copies.get(f, ())]:
                foreign += int(np.count_nonzero(c.spi != spi))
            self.foreign[f] = foreign
        if tx is not None:
            self.last_seq[f] = tx.held.outbound.last  # the object's own (a lease would hand back first)
        self.rx_ok[f] = rx is not None
        w = self.windows
        if rx is not None:
            win = rx.held.inbound
            w.tops[f] = win.top
            if w.words.shape[1]:
                w.words[f] = win.words
        self.bound[f] = True

    def release(self, f: int) -> None:
        """Write flow ``f``'s counter and window back into the protocol objects (they own them again)."""
        if not self.bound[f]:
            return
        tx, rx = self.tx[f], self.rx[f]
        if tx is not None and not self.tx_free[f]:
            tx.held.outbound.last = int(self.last_seq[f])  # past any lease: the bank is handing it back
        self.tx_free[f] = False
        if rx is not None and not self.rx_free[f]:
            rx.held.inbound = self.window(f)
        self.rx_free[f] = False
        self.bound[f] = False
        self.splits.pop(f, None)

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
                self.windows.words[f] = win.words
        self.rx_free[f] = False

    def free_senders(self, t: float, flows: list[int]) -> None:
        """Send the packets of ``flows`` offered before ``t`` and hand their counters back to the sender
        objects (the receivers' windows stay in the bank): the protocol is about to change the counters."""
        self._send_some(*self._offered_by_flow(t, sorted(flows)))
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

    def advance(self, t: float, flows: list[int] | None = None) -> None:
        """Send every packet offered before ``t`` and deliver every copy arriving before ``t``, for all
        flows (``flows`` None) or the given ones; every flow moved must be bound."""
        if self.closed:  # the run's ESP traffic is over (duration_s)
            return
        if t > self.epoch_end + 1e-12:
            raise RuntimeError(f"bank epoch ends at {self.epoch_end}, asked for {t}")
        if flows is None:
            self._pass_all(t)
        elif t <= self.bulk_t:
            return  # the last pass over all flows sent and delivered everything before it
        elif len(flows) >= bank_state.MANY:  # straight into the main pool, regrouped by flow
            few = sorted(set(flows))
            in_set = np.zeros(self.n, dtype=bool)
            in_set[few] = True
            ufl, counts = self._offered_before(t, in_set)
            self._merge_side()
            fresh = self._send(ufl, counts, side=False)
            if fresh is not None:
                self.to_pool(fresh)
            self._regroup(np.flatnonzero(np.isfinite(self.p_arr)))
            self._deliver(t, few)
        else:
            few = sorted(set(flows))
            self._send_some(*self._offered_by_flow(t, few))
            self._deliver(t, few)

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
            for c in [*self.side.get(f, ()), *self.split_copies.get(f, ())]:
                best = min(best, float(c.arr.min()))
        return best

    def next_arrival_bounds(self, flows: NDArray[np.int64]) -> NDArray[np.float64]:
        """:meth:`next_arrival_bound` of each of ``flows`` on its own, in one pass (the watches of many
        SAs at one tick)."""
        p = self.t_pos[flows]
        has = p < self.t_seg[flows + 1]
        nxt = np.full(flows.shape[0], self.epoch_end)
        nxt[has] = self.t_off[p[has]]
        best = nxt + self.lat[flows]
        lo, hi = self.p_seg[flows], self.p_seg[flows + 1]
        some = np.flatnonzero(hi > lo)
        if some.shape[0]:
            lo_s, hi_s = lo[some], hi[some]
            arr = self.p_arr
            tail = hi_s == arr.shape[0]  # reduceat takes no index past the end
            idx = np.empty(2 * some.shape[0], dtype=np.int64)
            idx[0::2] = lo_s
            idx[1::2] = np.where(tail, lo_s, hi_s)
            mins = np.minimum.reduceat(arr, idx)[0::2]
            for k in np.flatnonzero(tail).tolist():
                mins[k] = arr[int(lo_s[k]) :].min()
            best[some] = np.minimum(best[some], mins)
        if self.side or self.split_copies:
            for k, f in enumerate(flows.tolist()):
                for c in [*self.side.get(f, ()), *self.split_copies.get(f, ())]:
                    best[k] = min(float(best[k]), float(c.arr.min()))
        return best

    def replay_drops_each(self, flows: NDArray[np.int64]) -> NDArray[np.int64]:
        """:meth:`replay_drops` of each of ``flows`` on its own."""
        st = self.stats
        return st["duplicate"][flows] + st["too_old"][flows] + st["unverifiable"][flows]

    def replay_drops(self, flows: list[int]) -> int:
        """Replay drops (duplicate, too old, unverifiable) of some flows so far."""
        st = self.stats
        return int(sum(int(st["duplicate"][f] + st["too_old"][f] + st["unverifiable"][f]) for f in flows))

    def memory_bytes(self) -> int:
        """Bytes held in the bank's arrays (the memory test watches this stay flat)."""
        total = self.t_index.nbytes()
        for name, v in vars(self).items():
            if name == "_bufs":  # what the epoch uses of them: t_off and u
                continue
            if isinstance(v, np.ndarray):
                total += v.nbytes
            elif isinstance(v, dict):
                total += sum(x.nbytes for x in v.values() if isinstance(x, np.ndarray))
        side = sum(c.arr.nbytes * 4 for q in self.side.values() for c in q)
        total += self.offered.tail.nbytes
        return total + side + self.windows.tops.nbytes + self.windows.words.nbytes

    def summary(self) -> dict[str, Any]:
        """Sizes for the benchmark (flows, in flight, epoch length)."""
        return {"flows": self.n, "in_flight": int(self.p_arr.shape[0]), "epoch": int(self.t_off.shape[0])}
