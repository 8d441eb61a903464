"""Sending in the flow bank: offered packets take sequence numbers, meet the link and go in flight.

One pass sends every packet offered before a time, for all flows or some: the sender's counter gives
the sequence numbers (a flow without a sender counts an outage, an exhausted counter the rest), each
packet draws the link's uniforms in the per-flow path's order, and the copies that survive go into the
pool in flight. ``_send`` does it in array operations; ``_send_few`` packet by packet for small passes,
with the same draws, arithmetic and order (below ``SMALL_SEND`` packets the arrays' fixed cost is more
than the work).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hasim.sim.dataplane.link import arrival_time, hit
from hasim.sim.dataplane.split_senders import send_split
from hasim.sim.scale import bank_state
from hasim.sim.scale.bank_state import BankState
from hasim.sim.scale.copies import Copies, runs
from hasim.sim.scale.epoch import flow_of, ranges


class Sender(BankState):
    """The bank's sending passes (see the module docstring)."""

    def _offered_before(self, t: float, in_set: NDArray[np.bool_] | None = None) -> NDArray[np.int64]:
        """The packets not yet sent that were offered before ``t`` (of the flows in ``in_set``), flow-major,
        each flow's in order (the epoch's index finds where each flow's run ends)."""
        flows = np.arange(self.n, dtype=np.int64) if in_set is None else np.flatnonzero(in_set)
        start = self.t_pos[flows]
        stop = self.t_index.before(self.t_off, flows, t)
        return ranges(start, np.maximum(stop, start))

    def _offered_by_flow(self, t: float, flows: list[int]) -> NDArray[np.int64]:
        """``_offered_before`` for a few flows (sorted), one search in each flow's offered times."""
        chunks = []
        for f in flows:
            lo, hi = int(self.t_pos[f]), int(self.t_seg[f + 1])
            k = lo + int(np.searchsorted(self.t_off[lo:hi], t, side="left"))
            if k > lo:
                chunks.append(np.arange(lo, k, dtype=np.int64))
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)

    def _send(self, sel: NDArray[np.int64], *, side: bool) -> None:
        """Send the offered packets ``sel`` (flow-major, each flow's from its next unsent one on)."""
        if self.splits:
            self._send_splits(sel)
        if sel.shape[0] <= bank_state.SMALL_SEND:
            self._send_few(sel, side=side)
            return
        fl_all = flow_of(self.t_seg, sel)  # non-decreasing: the selection is flow-major
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
        lost = hit(u["loss"], self.loss[fl]) if "loss" in u else np.zeros(fl.shape[0], dtype=bool)
        dirn = self.dirn[fl]
        for d, b in enumerate(self.bursts):
            if b.intervals:
                lost |= (dirn == d) & b.mask(times)
        u_jit, u_reo = u.get("jitter"), u.get("reorder")
        arrival = arrival_time(
            times,
            self.lat[fl],
            self.jit[fl] if u_jit is not None else 0.0,
            u_jit,
            self.reo[fl] if u_reo is not None else 0.0,
            self.reo_delay[fl] if u_reo is not None else 0.0,
            u_reo,
        )
        keep = ~lost
        copies = keep.astype(np.int64)
        if "dup" in u:
            copies += hit(u["dup"], self.dup[fl]) & keep
        st["lost"][ufl] += m - np.bincount(grp[keep], minlength=ufl.shape[0])
        idx = np.repeat(np.arange(fl.shape[0]), copies)
        self.in_flight(arrival[idx], seqs[idx], self.spi[fl[idx]], fl[idx], side=side)

    def _send_splits(self, sel: NDArray[np.int64]) -> None:
        """During a split brain the other masters bound to a flow send its offered packets ``sel`` too,
        each with its own counter and link draws (``split_senders.send_split``, as the per-flow path)."""
        fl = flow_of(self.t_seg, sel)
        st = self.stats
        for f in sorted(self.splits):
            times = self.t_off[sel[fl == f]]
            if times.shape[0] == 0:
                continue
            flow = self.flows[f]
            for s in self.splits[f]:
                c = send_split(s.child, flow.split_link(s.member), times)
                st["sent"][f] += c.sent
                st["exhausted"][f] += c.exhausted
                st["lost"][f] += c.lost
                if not c.sent:
                    continue
                self.max_space[f] = max(float(self.max_space[f]), c.space_used)
                self.iv_closed(c.spi, c.first, c.last)
                k = c.arrival.shape[0]
                if k:
                    copies = Copies(
                        c.arrival,
                        c.seq.astype(np.uint64),
                        np.full(k, c.spi, dtype=np.int64),
                        np.full(k, f, dtype=np.int64),
                    )
                    self.split_copies.setdefault(f, []).append(copies)
                    if c.spi != int(self.spi[f]):
                        self.foreign[f] += k  # delivered to whoever that SPI names

    def _send_few(self, sel: NDArray[np.int64], *, side: bool) -> None:
        """``_send`` packet by packet: the same counters, uniforms, arithmetic and copies in flight."""
        fls = flow_of(self.t_seg, sel).tolist()
        times = self.t_off[sel].tolist()
        st = self.stats
        feats = self.feats
        arr: list[float] = []
        seq: list[int] = []
        spi: list[int] = []
        fl: list[int] = []
        i, n = 0, len(fls)
        while i < n:
            f = fls[i]
            j = i + 1
            while j < n and fls[j] == f:
                j += 1
            c = j - i
            self.t_pos[f] += c
            st["offered"][f] += c
            if not self.has_tx[f]:
                st["outage"][f] += c
                i = j
                continue
            last = int(self.last_seq[f])
            m = min(c, self.limit - last)
            st["exhausted"][f] += c - m
            if m <= 0:
                i = j
                continue
            self.last_seq[f] = last + m
            st["sent"][f] += m
            self.max_space[f] = max(float(self.max_space[f]), (last + m) / self.limit)
            self.iv_range(f, last + 1, last + m)
            u: dict[str, list[float]] = {}
            for k in feats:
                if self.uses[k][f]:
                    p = int(self.u_pos[k][f])
                    u[k] = self.u[k][p : p + m].tolist()
                    self.u_pos[k][f] = p + m
                else:
                    u[k] = [0.0] * m
            loss, lat, jit = float(self.loss[f]), float(self.lat[f]), float(self.jit[f])
            reo, reo_delay, dup = float(self.reo[f]), float(self.reo_delay[f]), float(self.dup[f])
            burst = self.bursts[int(self.dirn[f])]
            s_f = int(self.spi[f])
            u_loss, u_jit, u_reo, u_dup = u.get("loss"), u.get("jitter"), u.get("reorder"), u.get("dup")
            lost = 0
            for r in range(m):
                t = times[i + r]
                gone = u_loss is not None and hit(u_loss[r], loss)
                if burst.intervals and burst.contains(t):
                    gone = True
                a = arrival_time(
                    t,
                    lat,
                    jit,
                    u_jit[r] if u_jit is not None else None,
                    reo,
                    reo_delay,
                    u_reo[r] if u_reo is not None else None,
                )
                if gone:
                    lost += 1
                    continue
                copies = 2 if u_dup is not None and hit(u_dup[r], dup) else 1
                for _ in range(copies):
                    arr.append(a)
                    seq.append(last + 1 + r)
                    spi.append(s_f)
                    fl.append(f)
            st["lost"][f] += lost
            i = j
        if fl:
            self.in_flight(
                np.array(arr, dtype=np.float64),
                np.array(seq, dtype=np.uint64),
                np.array(spi, dtype=np.int64),
                np.array(fl, dtype=np.int64),
                side=side,
            )
