"""Delivering in the flow bank: copies due by a time reach their receivers' windows and are counted.

Copies of each flow are delivered in order of arrival, ties in send order (the per-flow path's stable
sort). A copy whose SPI is the flow's bound receiver is checked against the bank's window of that flow;
one sent before a rekey goes to whoever its SPI names, through that object's own window. ``_deliver``
does it in array operations; ``_deliver_few`` packet by packet for up to ``SMALL`` copies, through the
reference window (``ReplayWindow.receive``), with the same order, windows and counts.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hasim.protocol.anti_replay import ReplayOutcome
from hasim.sim.dataplane.outcomes import (
    OUTCOME_COUNTERS,
    accepted_from,
    first_accepted_from,
    tally,
    tally_each,
)
from hasim.sim.dataplane.window_bank import WindowBank, check_bank
from hasim.sim.scale import bank_state
from hasim.sim.scale.bank_state import BankState
from hasim.sim.scale.copies import Copies, arrival_order, runs, split_due


class Deliverer(BankState):
    """The bank's delivering passes (see the module docstring)."""

    def _take_due(self, t: float, few: list[int]) -> list[Copies]:
        """Take the copies of the given flows (sorted) arriving before ``t`` out of the pools. They come in
        parts, in the order the passes deliver them once joined. (The pass over all flows takes its own,
        range by range: :mod:`hasim.sim.scale.bulk`.)"""
        parts: list[Copies] = []
        many = len(few) >= bank_state.MANY
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
            if queued:  # each part in send order: its copies due now, the rest stay queued
                left: list[Copies] = []
                for c in queued:
                    split_due(c, c.arr < t, parts, left)
                if left:
                    self.side[f] = left
                else:
                    del self.side[f]
        if self.split_copies:
            return self._with_splits(parts, t, [f for f in few if f in self.split_copies])
        return parts

    def _with_splits(self, parts: list[Copies], t: float, flows: list[int]) -> list[Copies]:
        """``parts`` and, after all of them, the split senders' copies of ``flows`` arriving before ``t``:
        at the same instant a flow's own copies are checked first (the order's stable sort keeps it)."""
        parts = list(parts)
        for f in flows:
            c = Copies.join(self.split_copies[f])
            due = c.arr < t
            if due.any():
                parts.append(c.where(due))
            if due.all():
                del self.split_copies[f]
            else:
                self.split_copies[f] = [c.where(~due)]
        return parts

    def _deliver(self, t: float, few: list[int]) -> None:
        self._deliver_parts(self._take_due(t, few))

    def _deliver_parts(self, parts: list[Copies]) -> None:
        """Deliver copies taken out of the pools (``parts``, joined in this order: ties in it)."""
        m = sum(c.arr.shape[0] for c in parts)
        if m == 0:
            return
        if m <= bank_state.SMALL:
            self._deliver_few(parts)
            return
        taken = Copies.join(parts) if len(parts) > 1 else parts[0]
        arr, seq, spi, fl = taken.arr, taken.seq, taken.spi, taken.flow
        order = arrival_order(arr, fl, self.n)
        arr, seq, spi, fl = arr.take(order), seq.take(order), spi.take(order), fl.take(order)
        st = self.stats
        ufl, counts = runs(fl)
        st["delivered"][ufl] += counts
        own = spi == np.repeat(self.spi[ufl], counts)  # each copy's flow's SPI (fl is grouped by flow)
        kept = True  # every copy goes on to its flow's window: the runs stay
        if not own.all():
            self.deliver_foreign(arr[~own], seq[~own], spi[~own], fl[~own])
            arr, seq, fl = arr[own], seq[own], fl[own]
            kept = False
        if not (kept and self.rx_ok[ufl].all()):
            ok = self.rx_ok[fl]
            if not ok.all():
                nf, nc = runs(fl[~ok])
                st["no_receiver"][nf] += nc
                arr, seq, fl = arr[ok], seq[ok], fl[ok]
                kept = False
        if fl.shape[0] == 0:
            return
        if not kept:
            ufl, counts = runs(fl)
        if ufl.shape[0] == self.n:
            out, self.windows = check_bank(self.windows, fl, seq)
        elif fl.shape[0] <= bank_state.SMALL:
            out = self._check_small(ufl, counts, seq)
        else:  # only the flows concerned: a small bank, written back
            w = self.windows
            sub = WindowBank(w.size, w.esn, w.tops[ufl], w.words[ufl])
            grp = np.repeat(np.arange(ufl.shape[0]), counts)
            out, sub = check_bank(sub, grp, seq)
            w.tops[ufl] = sub.tops
            w.words[ufl] = sub.words
        self._count(out, arr, fl, ufl, counts)

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
        st = self.stats
        bad = np.flatnonzero(out != ReplayOutcome.ACCEPTED)  # few: count those, the rest were accepted
        if bad.shape[0]:
            grp = np.searchsorted(np.cumsum(counts), bad, side="right")
            c = tally(out[bad], grp, k)
            st["accepted"][ufl] += counts - c.sum(axis=1)
            for code, name in enumerate(OUTCOME_COUNTERS):
                if code != ReplayOutcome.ACCEPTED:
                    st[name][ufl] += c[:, code]
        else:
            st["accepted"][ufl] += counts
        if not (~np.isnan(self.watch_from[ufl]) & np.isnan(self.first_acc[ufl])).any():
            return  # no flow here waits for its first acceptance after a takeover
        cand = accepted_from(out, arr, self.watch_from[fl]) & np.isnan(self.first_acc[fl])
        if cand.any():
            cf, ca = fl[cand], arr[cand]
            starts = np.flatnonzero(np.concatenate(([True], cf[1:] != cf[:-1])))
            self.first_acc[cf[starts]] = ca[starts]  # sorted by arrival within each flow

    def _record(self, f: int, out: list[int], arr: list[float]) -> None:
        """Count flow ``f``'s outcomes ``out`` of a few copies arriving at ``arr`` (in delivery order) and
        its first acceptance at or after its watch time, if it has none yet."""
        c = tally_each(out)
        st = self.stats
        for code, name in enumerate(OUTCOME_COUNTERS):
            if c[code]:
                st[name][f] += c[code]
        watch = float(self.watch_from[f])
        if not math.isnan(watch) and math.isnan(self.first_acc[f]):
            first = first_accepted_from(out, arr, watch)
            if first is not None:
                self.first_acc[f] = first

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
            self._record(f, out, [float(arr[j]) for j in idx])

    def _deliver_few(self, parts: list[Copies]) -> None:
        """``_deliver`` for a few copies (``parts`` joined): the same order, windows and counts."""
        arr: list[float] = []
        seq: list[int] = []
        spi: list[int] = []
        fl: list[int] = []
        for c in parts:
            arr += c.arr.tolist()
            seq += c.seq.tolist()
            spi += c.spi.tolist()
            fl += c.flow.tolist()
        order = sorted(range(len(arr)), key=lambda j: (fl[j], arr[j], j))
        st = self.stats
        bound: dict[int, int] = {}  # flow: its bound SPI
        delivered: dict[int, int] = {}
        own: list[int] = []
        foreign: list[int] = []
        for j in order:
            f = fl[j]
            s_f = bound.get(f)
            if s_f is None:
                s_f = bound[f] = int(self.spi[f])
            delivered[f] = delivered.get(f, 0) + 1
            (own if spi[j] == s_f else foreign).append(j)
        for f, k in delivered.items():
            st["delivered"][f] += k
        if foreign:
            self.deliver_foreign(
                np.array([arr[j] for j in foreign], dtype=np.float64),
                np.array([seq[j] for j in foreign], dtype=np.uint64),
                np.array([spi[j] for j in foreign], dtype=np.int64),
                np.array([fl[j] for j in foreign], dtype=np.int64),
            )
        i = 0
        while i < len(own):
            f = fl[own[i]]
            k = i + 1
            while k < len(own) and fl[own[k]] == f:
                k += 1
            mine, i = own[i:k], k
            if not self.rx_ok[f]:
                st["no_receiver"][f] += len(mine)
                continue
            win = self.window(f)
            out = [int(win.receive(seq[j])) for j in mine]
            self.store_window(f, win)
            self._record(f, out, [arr[j] for j in mine])
