"""The flow bank's pass over all flows (every sync interval), done range by range of flows.

A pass over all flows sends every packet offered before its time and delivers every copy arriving
before it. Done in one go, its arrays held every packet of the interval: at 100,000 peers some five
million, 43 MB an array, above glibc's largest mmap threshold, so every pass had them mapped and
faulted in again, page by page (docs/performance.md, "100,000 peers"). Flows do not meet in a pass
(each has its own counter, link draws, copies in flight and window), so the pass goes through ranges
of consecutive flows of about :data:`~hasim.sim.scale.bank_state.RANGE_COPIES` packets and copies
each: a range sends, then delivers, and keeps what is still in flight. Its arrays are a few MiB
whatever the number of peers: the heap the last range freed serves the next one.

Same results in the same order. Within a flow the copies are delivered in the order of the one pass's
stable sort: arrival time, ties in the order main pool, side pools, copies just sent, split senders'
copies; what stays in flight is the main pool grouped by flow, each flow's copies in that order. The
split senders of all flows send first, as in the one pass, so the IV tracker sees the same ranges in
the same order (the flows' own ranges follow range by range, in flow order as before; delivering
touches no IV).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hasim.sim.scale import bank_state
from hasim.sim.scale.copies import Copies, split_due
from hasim.sim.scale.deliver import Deliverer
from hasim.sim.scale.send import Sender


def range_bounds(weight: NDArray[np.int64], size: int) -> list[int]:
    """Cut flows ``0..n`` into ranges of consecutive flows: ``[b[0], b[1]), [b[1], b[2]), ...`` with
    ``b[0] = 0`` and ``b[-1] = n``, each range closed by the first flow with which its ``weight`` reaches
    ``size`` (so each but the last weighs at least ``size``, at most ``size`` plus one flow's weight)."""
    n = weight.shape[0]
    size = max(size, 1)
    cuts = [0]
    if n == 0:
        return [0, 0]
    cum = np.cumsum(weight)
    done = 0
    while True:
        j = int(np.searchsorted(cum, done + size, side="left"))  # cum[j] >= done + size first
        if j >= n - 1:
            break
        cuts.append(j + 1)
        done = int(cum[j])
    cuts.append(n)
    return cuts


class BulkPass(Sender, Deliverer):
    """The pass over all flows, range by range (see the module docstring)."""

    def _pass_all(self, t: float) -> None:
        """Send every packet offered before ``t`` and deliver every copy arriving before ``t``, of all
        flows; every flow must be bound."""
        ufl, counts = self._offered_before(t)
        self.bulk_t = t
        if self.splits and ufl.shape[0]:
            self._send_splits(ufl, counts)
        weight = np.diff(self.p_seg)
        weight[ufl] += counts
        bounds = range_bounds(weight, bank_state.RANGE_COPIES)
        at = np.searchsorted(ufl, bounds).tolist()
        side = sorted(self.side)
        s_at = np.searchsorted(np.array(side, dtype=np.int64), bounds).tolist()
        split = sorted(self.split_copies)
        p_at = np.searchsorted(np.array(split, dtype=np.int64), bounds).tolist()
        left: list[Copies] = []
        for r in range(len(bounds) - 1):
            a, b = bounds[r], bounds[r + 1]
            fresh = self._send_own(ufl[at[r] : at[r + 1]], counts[at[r] : at[r + 1]], side=False)
            parts, rest = self._due_in(t, a, b, side[s_at[r] : s_at[r + 1]], fresh)
            if split:
                parts = self._with_splits(parts, t, split[p_at[r] : p_at[r + 1]])
            self._deliver_parts(parts)
            if rest is not None:
                left.append(rest)
        self.side = {}
        pool = Copies.join(left) if len(left) > 1 else left[0] if left else Copies.empty()
        self.p_arr, self.p_seq, self.p_spi, self.p_flow = pool.arr, pool.seq, pool.spi, pool.flow
        self.p_seg = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.p_flow, minlength=self.n), out=self.p_seg[1:])

    def _due_in(
        self, t: float, a: int, b: int, side: list[int], fresh: Copies | None
    ) -> tuple[list[Copies], Copies | None]:
        """Of flows ``a..b-1`` (``side``: those of them with side pools), the copies arriving before ``t``
        (in parts, in delivery order once joined) and those staying in flight, grouped by flow."""
        taken: list[Copies] = []
        rest: list[Copies] = []
        lo, hi = int(self.p_seg[a]), int(self.p_seg[b])
        if hi > lo:
            arr = self.p_arr[lo:hi]
            pool = Copies(arr, self.p_seq[lo:hi], self.p_spi[lo:hi], self.p_flow[lo:hi])
            due = arr < t
            taken.append(pool.where(due))
            rest.append(pool.where(~due & np.isfinite(arr)))  # an infinite arrival: taken out before
        for f in side:
            for c in self.side[f]:
                split_due(c, c.arr < t, taken, rest)
        if fresh is not None:
            split_due(fresh, fresh.arr < t, taken, rest)
        taken = [c for c in taken if c.arr.shape[0]]
        rest = [c for c in rest if c.arr.shape[0]]
        if not rest:
            return taken, None
        if len(rest) == 1:  # a single part is grouped by flow already
            return taken, rest[0]
        stay = Copies.join(rest)
        key = stay.flow - a
        by = np.argsort(key.astype(np.uint16) if b - a <= 1 << 16 else key, kind="stable")
        return taken, Copies(stay.arr[by], stay.seq[by], stay.spi[by], stay.flow[by])
