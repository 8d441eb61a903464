"""ESP of a split brain: a second member sending the same flow with its own counter.

During a split brain (a standby took over while the active member lived, ``hasim.sim.model.failover``)
every member that is master and holds the SA encrypts the traffic it is offered with its own Child SA:
the member holding the address sends as always (the flow's sender, ``FlowEnds.sender``), and each other
master sends the same offered packets with its own counter (the old active continues its own; the new
one started from its synced counter plus the RFC 6311 increment). Its packets cross the same link
(latency, loss, bursts) with draws from streams of its own, one per member, so they never shift the
flow's own draws, and they reach the same receiver window, interleaved by arrival.

Order at the receiver: copies are checked in order of arrival; at the same instant the address
holder's copies come first, then the split senders' (each in send order). Both data paths of a flow
and the flow bank of the scaled engine send through :func:`send_split` and keep these copies in a pool
of their own, merged after the flow's own copies, so the order depends only on these keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from hasim.protocol.child_sa import ChildSa
from hasim.sim.dataplane.link import LinkChannel


class SplitSender(NamedTuple):
    """A master other than the address holder that sends a flow during a split brain."""

    member: int
    """Its member index (names its link streams)."""
    child: ChildSa
    """Its Child SA for the flow's slot: its own outbound counter."""


@dataclass(frozen=True)
class SplitCopies:
    """What one split sender did with a run of offered packets: the copies on their way, and counts."""

    arrival: NDArray[np.float64]
    """Arrival time of each copy that survived the link, in send order."""
    seq: NDArray[np.int64]
    """Its sequence number."""
    spi: int
    """The SPI the copies carry (the sender's outbound SPI)."""
    sent: int
    exhausted: int
    lost: int
    first: int
    """First sequence number used (``first > last``: none)."""
    last: int
    space_used: float
    """The sender's counter space used after the run."""


def send_split(child: ChildSa, link: LinkChannel, times: NDArray[np.float64]) -> SplitCopies:
    """Send the offered ``times`` from ``child``'s counter over ``link`` (all packets, or as many as its
    counter has numbers for; the rest count as exhausted)."""
    n = times.shape[0]
    counter = child.outbound
    m = min(n, counter.remaining)
    if m <= 0:
        empty = np.zeros(0)
        return SplitCopies(
            empty, np.zeros(0, dtype=np.int64), child.spi_out, 0, n, 0, 1, 0, counter.counter_space_used
        )
    first, last = counter.take(m)
    idx, arr = link.transmit(times[:m])
    distinct = int(np.unique(idx).shape[0]) if idx.shape[0] else 0
    seqs = np.arange(first, first + m, dtype=np.int64)[idx]
    return SplitCopies(
        arr, seqs, child.spi_out, m, n - m, m - distinct, first, last, counter.counter_space_used
    )


_NO_TIMES = np.zeros(0)
_NO_INTS = np.zeros(0, dtype=np.int64)


class SplitPool:
    """Copies of split senders in flight for one flow (arrival order is fixed at delivery)."""

    __slots__ = ("arr", "seq", "spi")

    def __init__(self) -> None:
        self.arr = _NO_TIMES  # shared while empty: every flow has a pool, few ever use it
        self.seq = _NO_INTS
        self.spi = _NO_INTS

    def __len__(self) -> int:
        return int(self.arr.shape[0])

    def add(self, c: SplitCopies) -> None:
        """Put a run's copies in flight (after those already in flight: send order)."""
        if c.arrival.shape[0]:
            self.arr = np.concatenate((self.arr, c.arrival))
            self.seq = np.concatenate((self.seq, c.seq))
            self.spi = np.concatenate((self.spi, np.full(c.arrival.shape[0], c.spi, dtype=np.int64)))

    def take_before(self, t: float) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
        """The copies arriving before ``t``, by arrival (ties in send order), taken out of the pool."""
        order = np.argsort(self.arr, kind="stable")
        arr, seq, spi = self.arr[order], self.seq[order], self.spi[order]
        k = int(np.searchsorted(arr, t, side="left"))
        self.arr, self.seq, self.spi = arr[k:], seq[k:], spi[k:]
        return arr[:k], seq[:k], spi[:k]

    def earliest(self) -> float:
        """The first arrival in flight (inf when none)."""
        return float(self.arr.min()) if self.arr.shape[0] else float("inf")
