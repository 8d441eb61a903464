"""The flow bank's offered times, epoch by epoch: the Poisson flows' draws in array operations.

Fetching each flow's times through its own ``ArrivalProcess.until`` took a dozen NumPy calls per flow
and epoch (buffer, draw, scale, shift, running sum, search, copies; 30,000 flows at 10,000 peers). Here
each Poisson flow still draws its standard exponentials from its own stream, one call per flow, but into
the row of a matrix of flows drawing about as many (:func:`row_length`); the scaling by each flow's mean
gap, the shift by its last time and the running sums are then a few operations over each matrix.

The times are those ``ArrivalProcess`` gives, bit for bit: the same draws from the same stream in the
same order (how many are drawn at a time changes no value, :mod:`hasim.sim.dataplane.traffic`), each
time the one before plus the mean gap times the next standard exponential: ``np.add.accumulate`` along
a matrix's rows makes, element by element, the one addition the running sum of each row alone makes.
A flow's times drawn beyond an epoch's end wait in ``tail`` for the next epoch; a flow whose times
already reach past the next end draws nothing. Flows of other models (constant, on/off) and of rate
zero keep their process's ``until``. The process objects of the Poisson flows are not used once the
bank holds their times (:meth:`OfferedTimes.next_after_epoch` answers for them).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from hasim.sim.dataplane.traffic import ArrivalProcess
from hasim.sim.scale.epoch import ranges, room

SIGMAS = 3.0
MARGIN = 8
"""A flow draws its mean number of times to the epoch's end plus SIGMAS standard deviations plus MARGIN,
rounded up by :func:`row_length` (about an eighth more on average); the rare flow still short (about
one in a thousand) draws on, one call at a time. What is drawn beyond the end waits in ``tail``: about
what ``ArrivalProcess.until`` (four standard deviations and 16) left in each process's buffer."""

RANGE_DRAWS = 1 << 18
"""Times drawn per range of flows (consecutive flows filled one range at a time): the matrices stay
about 2 MiB whatever the number of peers."""


def tail_room(want: NDArray[np.int64], kept: NDArray[np.int64]) -> int:
    """Room for an epoch's new tail: the rows drawn (``want``) and the tails of flows not drawing
    (``kept``); only times drawn on after a row short of the end can need more (then it grows)."""
    return int(want.sum()) + int(kept.sum())


def row_length(n: NDArray[np.int64]) -> NDArray[np.int64]:
    """``n`` rounded up to a multiple of a quarter of its power of two (at least 1): a few dozen lengths
    cover every flow's, each at most a quarter more than asked."""
    n = np.maximum(n, 1)
    q = np.left_shift(1, np.maximum(np.floor(np.log2(n)).astype(np.int64) - 2, 0))
    return -(-n // q) * q


class OfferedTimes:
    """Every flow's offered times, an epoch at a time (see the module docstring)."""

    def __init__(self, procs: Sequence[ArrivalProcess]) -> None:
        n = len(procs)
        self.procs = list(procs)
        pois = [p.model == "poisson" and p.rate > 0 for p in procs]
        self.poisson = np.array(pois, dtype=bool)
        self.others = [f for f in range(n) if not pois[f]]
        """Flows whose own process gives their times (not Poisson, or rate zero)."""
        draws = [p.poisson_draws() for p in procs]
        self.rngs = [d.rng for d in draws]
        self.rate = np.array([p.rate for p in procs], dtype=np.float64)
        self.gap = np.array([d.gap for d in draws], dtype=np.float64)
        held = [d.held if pois[f] else np.zeros(0) for f, d in enumerate(draws)]
        self.tail = np.concatenate(held) if held else np.zeros(0)
        """Each Poisson flow's times drawn and not yet in an epoch (flow ``f``'s at ``tail_seg[f]`` to
        ``tail_seg[f + 1]``)."""
        self.tail_seg = np.zeros(n + 1, dtype=np.int64)
        np.cumsum([h.shape[0] for h in held], out=self.tail_seg[1:])
        self.last = np.array([d.last if pois[f] else math.inf for f, d in enumerate(draws)])
        """Each Poisson flow's last time drawn."""

    def next_after_epoch(self, f: int) -> float:
        """Flow ``f``'s first offered time not yet in an epoch (a Poisson flow's first in ``tail``)."""
        if not self.poisson[f]:
            return self.procs[f].next_time()
        lo, hi = int(self.tail_seg[f]), int(self.tail_seg[f + 1])
        if hi == lo:  # nothing drawn ahead (no epoch loaded yet): draw the next time on
            last = float(self.last[f])
            extra = _draw_until(
                self.rngs[f], float(self.gap[f]), float(self.rate[f]), last, math.nextafter(last, math.inf)
            )
            self.last[f] = float(extra[-1])
            self.tail = np.concatenate((self.tail[:hi], extra, self.tail[hi:]))
            self.tail_seg[f + 1 :] += extra.shape[0]
        return float(self.tail[lo])

    def fill(
        self,
        end: float,
        rest: NDArray[np.float64],
        rest_len: NDArray[np.int64],
        bufs: dict[str, NDArray[np.float64]],
        expect: int,
    ) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """The epoch up to ``end``: per flow its ``rest`` (``rest_len[f]`` times of the last epoch not yet
        sent, flow-major), then its offered times before ``end`` not yet in an epoch. Built in the buffer
        ``bufs["times"]`` (``epoch.room``, sized for ``expect`` times, grown if need be); returns the
        epoch (a view of it) and where each flow's times start (``seg``, flow ``f`` at
        ``seg[f]:seg[f + 1]``)."""
        n = self.rate.shape[0]
        lo_t, hi_t = self.tail_seg[:-1], self.tail_seg[1:]
        draws = self.poisson & (self.last < end)
        mean = np.where(draws, (end - np.where(draws, self.last, end)) * self.rate, 0.0)
        want = np.where(
            draws, row_length(np.ceil(mean + SIGMAS * np.sqrt(mean)).astype(np.int64) + MARGIN), 0
        )
        others = {f: self.procs[f].until(end) for f in self.others}
        # flows a range at a time: its draws, then per flow its rest, what the tail holds before end
        # (all of it for a flow drawing) and the new times before end, straight into the epoch
        weight = want + (hi_t - lo_t) + rest_len
        cum = np.cumsum(weight)
        t_off = room(bufs, "times", expect)
        seg = np.zeros(n + 1, dtype=np.int64)
        # the new tail, written range by range: at most a row for a flow drawing, its tail for another
        # (untouched room costs no memory; the old tail, the new one and no third copy are held)
        tail = np.empty(tail_room(want, (hi_t - lo_t)[~draws]))
        tail_lens = np.zeros(n, dtype=np.int64)
        t_at = 0
        rest_at = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(rest_len, out=rest_at[1:])
        pos = a = 0
        while a < n:
            done = int(cum[a - 1]) if a else 0
            b = min(n, max(a + 1, int(np.searchsorted(cum, done + RANGE_DRAWS, side="right"))))
            r = self._draw_range(end, a, b, draws[a:b], want[a:b])
            mine = self.others[bisect_left(self.others, a) : bisect_left(self.others, b)]
            for f in mine:
                r.c2[f - a] = others[f].shape[0]
            rl = rest_len[a:b]
            out_len = rl + r.c0 + r.c1 + r.c2
            top = pos + int(out_len.sum())
            if top > t_off.shape[0]:
                del t_off
                t_off = room(bufs, "times", top)
            at = np.cumsum(out_len) - out_len  # where each flow's times start in the range's part
            out = t_off[pos:top]
            out[ranges(at, at + rl)] = rest[int(rest_at[a]) : int(rest_at[b])]
            t_top = t_at + int(r.tail_len.sum())
            if t_top > tail.shape[0]:  # times drawn on after short rows
                tail = np.concatenate((tail[:t_at], np.empty(t_top - t_at + tail.shape[0] // 8)))
            r.place(out, at + rl, tail[t_at:t_top])
            t_at = t_top
            for f in mine:
                s = int(at[f - a] + rl[f - a])
                out[s : s + int(r.c2[f - a])] = others[f]
            del out
            seg[a + 1 : b + 1] = pos + at + out_len
            tail_lens[a:b] = r.tail_len
            pos = top
            a = b
        self.tail = tail[:t_at]
        self.tail_seg = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(tail_lens, out=self.tail_seg[1:])
        return t_off[:pos], seg

    def _draw_range(
        self, end: float, a: int, b: int, draws: NDArray[np.bool_], want: NDArray[np.int64]
    ) -> _Range:
        """Flows ``a..b-1``: draw those in ``draws`` (``want`` times each, in rows grouped by length, and
        on for a row still short of ``end``); what each has before ``end`` and keeps beyond it."""
        k = b - a
        lo, hi = self.tail_seg[a:b], self.tail_seg[a + 1 : b + 1]
        r = _Range(k, self.tail[int(self.tail_seg[a]) : int(self.tail_seg[b])], end)
        # of the tail: before end (a prefix: each flow's times are sorted), the rest stays
        owner = np.repeat(np.arange(k), hi - lo)
        r.c0 = np.bincount(owner[r.below], minlength=k)
        r.t0 = hi - lo - r.c0
        d_idx = np.flatnonzero(draws)
        short: list[int] = []
        if d_idx.shape[0]:
            w = want[d_idx]
            order = np.argsort(w, kind="stable")
            for grp in np.split(order, np.flatnonzero(np.diff(w[order])) + 1):
                rows = d_idx[grp]  # ascending within the group (stable sort)
                mat = self._draw_rows(a + rows, int(want[rows[0]]))
                sel = mat < end
                r.c1[rows] = sel.sum(axis=1)
                r.t1[rows] = mat.shape[1] - r.c1[rows]
                short += (a + rows[mat[:, -1] < end]).tolist()
                r.mats.append((rows, mat, sel))
        for f in short:  # rare: a row still short of end: draw on, one call at a time
            x = _draw_until(self.rngs[f], float(self.gap[f]), float(self.rate[f]), float(self.last[f]), end)
            self.last[f] = float(x[-1])
            r.extras[f - a] = x
            r.c2[f - a] = int(np.count_nonzero(x < end))
            r.t2[f - a] = x.shape[0] - r.c2[f - a]
        return r

    def _draw_rows(self, flows: NDArray[np.int64], m: int) -> NDArray[np.float64]:
        """``m`` new times of each of ``flows`` (Poisson, drawing), a row each; their last times move on."""
        mat = np.empty((flows.shape[0], m))
        rngs = self.rngs
        for row, f in zip(mat, flows.tolist(), strict=True):
            rngs[f].standard_exponential(out=row)
        mat *= self.gap[flows, None]
        mat[:, 0] += self.last[flows]
        np.add.accumulate(mat, axis=1, out=mat)
        self.last[flows] = mat[:, -1]
        return mat


class _Range:
    """The new times of a range of flows (``OfferedTimes._draw_range``): per flow, of its tail ``c0``
    before the end and ``t0`` after; of its row ``c1`` and ``t1``; of times drawn on (or, for a flow of
    another model, its process's) ``c2`` and ``t2``."""

    def __init__(self, k: int, held: NDArray[np.float64], end: float) -> None:
        self.held = held
        self.below = held < end
        zero = lambda: np.zeros(k, dtype=np.int64)  # noqa: E731
        self.c0, self.t0, self.c1, self.t1, self.c2, self.t2 = zero(), zero(), zero(), zero(), zero(), zero()
        self.mats: list[tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.bool_]]] = []
        """Rows drawn: the flows (range-relative, ascending), their times, which are before the end."""
        self.extras: dict[int, NDArray[np.float64]] = {}
        """Times drawn on after a short row, by range-relative flow."""

    @property
    def tail_len(self) -> NDArray[np.int64]:
        return self.t0 + self.t1 + self.t2

    def place(self, out: NDArray[np.float64], at: NDArray[np.int64], tail: NDArray[np.float64]) -> None:
        """Write each flow's times before the end into ``out`` from ``at[i]`` on (tail, row, drawn on),
        and those kept beyond the end into ``tail``, flow-major (``tail_len`` of them)."""
        c0, c1, c2, t0, t1 = self.c0, self.c1, self.c2, self.t0, self.t1
        tl = self.tail_len
        tat = np.cumsum(tl) - tl
        out[ranges(at, at + c0)] = self.held[self.below]
        tail[ranges(tat, tat + t0)] = self.held[~self.below]
        for rows, mat, sel in self.mats:  # row i's times before the end go to at + c0 on, the rest to tat
            step = np.arange(mat.shape[1])
            dest = (at[rows] + c0[rows])[:, None] + step
            out[dest[sel]] = mat[sel]
            np.logical_not(sel, out=sel)
            dest = (tat[rows] - c1[rows])[:, None] + step
            tail[dest[sel]] = mat[sel]
        for i, x in self.extras.items():
            s, c = int(at[i] + c0[i] + c1[i]), int(c2[i])
            out[s : s + c] = x[:c]
            tail[int(tat[i] + t1[i]) : int(tat[i] + tl[i])] = x[c:]


def _draw_until(
    rng: np.random.Generator, gap: float, rate: float, last: float, end: float
) -> NDArray[np.float64]:
    """A Poisson flow's next times from ``last`` until one reaches ``end``, in chunks (as ``_refill``)."""
    parts: list[NDArray[np.float64]] = []
    while last < end:
        mean = (end - last) * rate
        new = rng.standard_exponential(max(int(mean + SIGMAS * math.sqrt(mean)) + MARGIN, 1))
        new *= gap
        new[0] += last
        np.add.accumulate(new, out=new)
        last = float(new[-1])
        parts.append(new)
    return np.concatenate(parts) if parts else np.zeros(0)
