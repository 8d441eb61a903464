"""Counter-mode IV uniqueness across failover (RFC 6311 section 3.4, R3.4-1).

Theory of operation. AES-GCM and AES-CTR ESP SAs need an IV that never repeats under one key
(RFC 4106 3.1, RFC 3686 3.1); the common practice, which RFC 4106 suggests, is to use the packet's
(extended) sequence number as the 8-octet IV. A counter that never goes back therefore never repeats
an IV; but a newly active cluster member that resumes from a stale synchronized counter and skips
forward too little sends numbers its predecessor already used, with the same key. That is an IV
reuse (a catastrophic one for GCM), and it must be recorded here even when the receiver's
anti-replay window happens to drop those packets.

An observer that sees every sender of an SA (both members) calls ``use(sa, first, last)`` for each
run of numbers sent. Used numbers are kept per SA as sorted, disjoint, merged intervals, so a sender
that counts upwards costs one interval no matter how many packets it sends; every overlap of a new
run with what was used before is one ``IvReuse`` event naming the SA and the repeated range.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable
from dataclasses import dataclass


def iv_from_seq(seq: int) -> bytes:
    """The 8-octet explicit IV a counter-mode SA derives from its 64-bit sequence number (RFC 4106 3.1)."""
    return seq.to_bytes(8, "big")


@dataclass(frozen=True)
class IvReuse:
    """Sequence numbers ``first..last`` (inclusive) of SA ``sa`` used again: each one a repeated IV."""

    sa: Hashable
    first: int
    last: int

    @property
    def count(self) -> int:
        """How many IVs this event repeats."""
        return self.last - self.first + 1


class _UsedRanges:
    """Disjoint, non-adjacent, sorted inclusive intervals of used numbers for one SA."""

    __slots__ = ("ends", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, first: int, last: int) -> list[tuple[int, int]]:
        """Insert ``first..last``; return the parts that were already present."""
        starts, ends = self.starts, self.ends
        lo = bisect_left(ends, first)  # first interval that ends at or after ``first``
        hi = bisect_right(starts, last)  # intervals before this index start at or before ``last``
        overlaps = [(max(first, starts[j]), min(last, ends[j])) for j in range(lo, hi)]
        # merge everything overlapping or touching the new interval
        m_lo = bisect_left(ends, first - 1)
        m_hi = bisect_right(starts, last + 1)
        if m_lo < m_hi:
            first = min(first, starts[m_lo])
            last = max(last, ends[m_hi - 1])
        starts[m_lo:m_hi] = [first]
        ends[m_lo:m_hi] = [last]
        return overlaps


class IvUsageTracker:
    """Every (SA, IV) used more than once, tracked as intervals so that it scales (R3.4-1)."""

    def __init__(self) -> None:
        self._used: dict[Hashable, _UsedRanges] = {}
        self.reuses: list[IvReuse] = []
        """Every repeated range, in the order observed."""

    def use(self, sa: Hashable, first: int, last: int | None = None) -> list[IvReuse]:
        """Record that SA ``sa`` sent sequence numbers ``first..last`` (default: just ``first``).

        Returns the reuse events this run caused (empty when every IV was fresh).
        """
        if last is None:
            last = first
        if last < first:
            return []
        ranges = self._used.get(sa)
        if ranges is None:
            ranges = self._used[sa] = _UsedRanges()
        events = [IvReuse(sa, a, b) for a, b in ranges.add(first, last)]
        self.reuses.extend(events)
        return events

    @property
    def reused_ivs(self) -> int:
        """Total IVs repeated (an IV used three times counts twice)."""
        return sum(e.count for e in self.reuses)

    def used_ranges(self, sa: Hashable) -> list[tuple[int, int]]:
        """The merged inclusive ranges of sequence numbers SA ``sa`` has used so far."""
        ranges = self._used.get(sa)
        return [] if ranges is None else list(zip(ranges.starts, ranges.ends, strict=True))

    def forget(self, sa: Hashable) -> None:
        """Drop an SA's history (after a rekey the key changes, so old IVs no longer collide)."""
        self._used.pop(sa, None)
