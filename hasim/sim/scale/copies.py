"""Copies of ESP packets in flight in the flow bank, and the order in which they are delivered.

A copy is (arrival time, sequence number, SPI, flow). The bank delivers the copies of each flow in
order of arrival, ties in the order they were sent: the per-flow path's stable sort.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class Copies:
    """Copies in flight: arrival time, sequence number, SPI and flow of each (same length)."""

    __slots__ = ("arr", "flow", "seq", "spi")

    def __init__(
        self,
        arr: NDArray[np.float64],
        seq: NDArray[np.uint64],
        spi: NDArray[np.int64],
        flow: NDArray[np.int64],
    ) -> None:
        self.arr, self.seq, self.spi, self.flow = arr, seq, spi, flow

    @classmethod
    def empty(cls) -> Copies:
        return cls(
            np.zeros(0),
            np.zeros(0, dtype=np.uint64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
        )

    @classmethod
    def join(cls, parts: list[Copies]) -> Copies:
        return cls(
            np.concatenate([c.arr for c in parts]),
            np.concatenate([c.seq for c in parts]),
            np.concatenate([c.spi for c in parts]),
            np.concatenate([c.flow for c in parts]),
        )

    def where(self, mask: NDArray[np.bool_]) -> Copies:
        return Copies(self.arr[mask], self.seq[mask], self.spi[mask], self.flow[mask])


def split_due(c: Copies, due: NDArray[np.bool_], taken: list[Copies], rest: list[Copies]) -> None:
    """Copies ``c``: those ``due`` to ``taken``, the others to ``rest`` (each in order; all of an empty
    ``c`` count as due). One count says which: ``ndarray.all`` and ``any`` cost several times more on
    the few copies of a flow (a side pool, a small pass)."""
    k = int(np.count_nonzero(due))
    if k == due.shape[0]:
        taken.append(c)
    elif k == 0:
        rest.append(c)
    else:
        taken.append(c.where(due))
        rest.append(c.where(~due))


def arrival_order(arr: NDArray[np.float64], fl: NDArray[np.int64], n_flows: int) -> NDArray[np.intp]:
    """Packets (in send order) grouped by flow, each flow's by arrival time, ties in send order: the
    per-flow path's stable sort.

    The copies come flow-major and nearly in arrival order within each flow (a few runs: copies left
    from the last pass, then new ones), so one stable sort (timsort) on a single integer key is nearly
    linear: the flow in the high bits, below it the arrival time's IEEE bit pattern (ordered like the
    times for non-negative doubles) minus the smallest, shifted right if it does not fit. A shift can
    merge distinct times into one key; the order is then checked and, if two such times came out of
    order, computed exactly by two stable passes (times, then flows). The key holds any number of flows
    a run can have (at 100,000 peers some 300,000: 19 bits, leaving 44 for the time); only negative
    times (never in a run) take the general sort."""
    m = arr.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.intp)
    if n_flows > 1 << 31 or bool(np.signbit(arr).any()):
        return np.lexsort((np.arange(m), arr, fl))
    bits = (n_flows - 1).bit_length() or 1
    room = 63 - bits
    v = arr.view(np.int64)
    d = v - v.min()
    shift = max(0, int(d.max()).bit_length() - room)
    key = fl.astype(np.int64, copy=False) << room
    key |= d >> shift if shift else d
    order = np.argsort(key, kind="stable")
    if shift:
        ks = key[order]
        tie = np.flatnonzero(ks[1:] == ks[:-1])  # only equal keys can hide two times out of order
        if tie.shape[0] and bool((d[order[tie + 1]] < d[order[tie]]).any()):
            by_time = np.argsort(v, kind="stable")
            by_flow = fl[by_time].astype(np.uint16) if n_flows <= 1 << 16 else fl[by_time]
            return by_time[np.argsort(by_flow, kind="stable")]
    return order


def runs(fl: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The distinct values of a non-decreasing array and how many times each occurs."""
    if fl.shape[0] == 0:
        return fl, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], fl[1:] != fl[:-1])))
    counts = np.diff(np.append(starts, fl.shape[0]))
    return fl[starts], counts
