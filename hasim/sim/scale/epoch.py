"""The flow bank's epoch of offered times: flow-major arrays, and an index over time for the passes.

An epoch holds every flow's offered times up to its end, flow ``f``'s at ``t_seg[f]:t_seg[f + 1]``, in
order. A pass over many flows sends, of each flow, the times not yet sent that lie before the pass's
time. Finding where each flow's run ends without a search per flow: the times are put in at most
:data:`MAX_BUCKETS` buckets by time, and a small table (buckets x flows) says where each flow's times
of each bucket start; a pass reads the table's row for its time's bucket and compares only the times
in that one bucket. The table costs a few bytes per flow and bucket, not per packet (an index per
packet, as before, cost 16 bytes a packet: most of the epoch's memory).

Exactness: a time's bucket is ``floor(max((x - lo) / width, 0))``, the same IEEE operations for the
scalar pass time as for the array of times, and monotone in ``x``: every time in an earlier bucket
than ``t``'s is before ``t``, and no time at or after ``t`` is in an earlier bucket. The selection is
exactly the times before ``t`` of each flow, flow-major, each flow's in order.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

BUCKET_S = 0.25
"""Narrowest bucket: a pass compares at most about this much of each flow's traffic."""

MAX_BUCKETS = 32
"""Most buckets per epoch (a long epoch gets wider buckets): the table stays a few bytes per flow."""

_CHUNK = 1 << 20
"""Times bucketed per array operation while the table is built (bounds the temporaries)."""

_FLOWS = 1 << 15
"""Flows looked up per array operation by ``before`` (bounds the temporaries of a pass over all flows)."""


def ranges(lo: NDArray[np.int64], hi: NDArray[np.int64]) -> NDArray[np.int64]:
    """The indices ``lo[0]..hi[0]-1, lo[1]..hi[1]-1, ...`` in one array (``hi >= lo`` elementwise)."""
    lens = hi - lo
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(lens) - lens  # where each range begins in the output
    return np.arange(total, dtype=np.int64) + np.repeat(lo - starts, lens)


def room(bufs: dict[str, NDArray[np.float64]], key: str, size: int) -> NDArray[np.float64]:
    """The buffer ``bufs[key]`` with room for at least ``size`` elements, its elements kept.

    An epoch's arrays are views of such buffers, each epoch in the last one's memory: its pages stay
    resident instead of being mapped and faulted in again. A new buffer has a quarter more room than
    asked (later epochs also hold what the last one did not send; pages never written cost no
    memory). One too small is grown in place when nothing else refers to it, the dict aside (NumPy's
    reference check), so that it is never held twice; else, and for a first buffer, a new array
    (NumPy's allocation, which asks for huge pages for a large one), the elements copied. (Growing a
    buffer of huge pages in place costs about what faulting it in anew does: the quarter makes it rare.)"""
    a = bufs.pop(key, None)
    if a is not None and a.shape[0] >= size:
        bufs[key] = a
        return a
    cap = size + size // 4
    if a is not None and 2 * a.shape[0] >= size:
        try:
            a.resize(cap, refcheck=True)
        except ValueError:  # a view of it is alive: leave it alone
            pass
        else:
            bufs[key] = a
            return a
    b = np.zeros(cap)
    if a is not None:
        b[: a.shape[0]] = a
    bufs[key] = b
    return b


def flow_of(seg: NDArray[np.int64], idx: NDArray[np.int64]) -> NDArray[np.int64]:
    """The flow of each index into flow-major arrays (flow ``f`` at ``seg[f]:seg[f + 1]``)."""
    return np.searchsorted(seg, idx, side="right").astype(np.int64) - 1


class EpochIndex:
    """Where each flow's times of each bucket start (see the module docstring)."""

    __slots__ = ("at", "lo", "width")

    def __init__(self, times: NDArray[np.float64], seg: NDArray[np.int64], lo: float) -> None:
        n = seg.shape[0] - 1
        self.lo = lo
        span = float(times.max(initial=lo)) - lo
        self.width = max(BUCKET_S, span / (MAX_BUCKETS - 1))
        top = self._bucket(float(times.max(initial=lo)))
        nb = top + 1
        counts = np.zeros(n * nb, dtype=np.int64)
        for a in range(0, times.shape[0], _CHUNK):
            b = min(times.shape[0], a + _CHUNK)
            key = self._buckets(times[a:b])
            # the flow of each time in a..b: flows f0..f1 cut to the chunk (flow-major)
            f0, f1 = int(flow_of(seg, np.array([a]))[0]), int(flow_of(seg, np.array([b - 1]))[0])
            lens = np.minimum(seg[f0 + 1 : f1 + 2], b) - np.maximum(seg[f0 : f1 + 1], a)
            key += np.repeat(np.arange(f0 * nb, (f1 + 1) * nb, nb, dtype=np.int64), lens)
            counts += np.bincount(key, minlength=n * nb)
        at = np.empty((nb + 1, n), dtype=np.int64)
        at[0] = seg[:-1]
        at[1:] = seg[:-1] + counts.reshape(n, nb).cumsum(axis=1).T
        self.at = at
        """``at[b, f]``: the first index of flow ``f``'s times in bucket ``b`` or later (row ``nb``: end)."""

    def _bucket(self, t: float) -> int:
        return max(math.floor((t - self.lo) / self.width), 0)

    def _buckets(self, times: NDArray[np.float64]) -> NDArray[np.int64]:
        scaled = times - self.lo
        scaled /= self.width
        np.floor(scaled, out=scaled)
        np.maximum(scaled, 0.0, out=scaled)
        return scaled.astype(np.int64)

    def before(self, times: NDArray[np.float64], flows: NDArray[np.int64], t: float) -> NDArray[np.int64]:
        """For each of ``flows``: the first index of its times at or after ``t``."""
        if flows.shape[0] > _FLOWS:
            return np.concatenate(
                [self.before(times, flows[i : i + _FLOWS], t) for i in range(0, flows.shape[0], _FLOWS)]
            )
        nb = self.at.shape[0] - 1
        b = min(self._bucket(t), nb)
        a0 = self.at[b, flows]
        if b == nb:
            return a0
        a1 = self.at[b + 1, flows]
        cand = ranges(a0, a1)
        if cand.shape[0] == 0:
            return a0
        below = times[cand] < t
        grp = np.repeat(np.arange(flows.shape[0]), a1 - a0)
        return a0 + np.bincount(grp[below], minlength=flows.shape[0])

    def nbytes(self) -> int:
        return int(self.at.nbytes)
