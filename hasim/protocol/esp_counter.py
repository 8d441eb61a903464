"""The ESP sender's outbound sequence counter for one Child SA (RFC 4303 3.3.3, RFC 6311 5.2).

Theory of operation. A counter starts at 0 when the SA is created; the first packet carries 1
(RFC 4303 3.3.3). It must never cycle: without ESN the last usable number is 2**32 - 1, with ESN
2**64 - 1, after which the SA must be replaced. A configurable soft limit below that turns
``rekey_due`` on, so the control plane can rekey in time (and RFC 6311 5.2's SHOULD after a very
large skip, R5.2-3, comes for free: the skip crosses the soft limit). ``skip_forward`` is the jump
of RFC 6311 5.2: the newly active member's own counters (R5.2-1) and, on the peer, every Child SA
of the IKE SA by the requested delta (R5.2-6). A skip that would pass the last number stops there
and leaves the counter exhausted: nothing more can be sent, which is safe (no reuse), and loud.
``take`` hands out a run of numbers at once for the vectorized data plane.
"""

from __future__ import annotations

from hasim.errors import ProtocolError

DEFAULT_SOFT_FRACTION = 0.9
"""Soft limit as a fraction of the counter space when none is given."""


def counter_limit(esn: bool) -> int:
    """The last sequence number an SA may send: 2**32 - 1, or 2**64 - 1 with ESN (RFC 4303 3.3.3)."""
    return 2**64 - 1 if esn else 2**32 - 1


class CounterExhausted(ProtocolError):
    """Sending would cycle the sequence counter (RFC 4303 3.3.3): the SA must be rekeyed first."""


class OutboundCounter:
    """Outgoing ESP sequence numbers of one SA, with the counter space accounted.

    ``last`` is the number most recently used (0: none yet). ``soft_limit`` (default 90% of the
    space) is the last number after which ``rekey_due`` is true.
    """

    __slots__ = ("esn", "last", "limit", "skipped", "soft_limit")

    def __init__(self, *, esn: bool = False, last: int = 0, soft_limit: int | None = None) -> None:
        self.esn = esn
        self.limit = counter_limit(esn)
        if not 0 <= last <= self.limit:
            raise ProtocolError(f"counter value {last} outside 0..{self.limit}")
        if soft_limit is None:
            soft_limit = int(self.limit * DEFAULT_SOFT_FRACTION)
        if not 1 <= soft_limit <= self.limit:
            raise ProtocolError(f"soft limit {soft_limit} outside 1..{self.limit}")
        self.last = last
        self.soft_limit = soft_limit
        self.skipped = 0
        """Numbers jumped over by ``skip_forward`` (never sent, but used up)."""

    def __repr__(self) -> str:
        return f"OutboundCounter(esn={self.esn}, last={self.last}, soft_limit={self.soft_limit})"

    @property
    def remaining(self) -> int:
        """How many more packets may be sent before the SA must be rekeyed."""
        return self.limit - self.last

    @property
    def exhausted(self) -> bool:
        """True when no number is left (RFC 4303 3.3.3: the counter must not cycle)."""
        return self.last >= self.limit

    @property
    def rekey_due(self) -> bool:
        """True once the counter passed the soft limit: the control plane should rekey (R5.2-3)."""
        return self.last > self.soft_limit

    @property
    def counter_space_used(self) -> float:
        """Fraction of the sequence space consumed (sent or skipped), 0.0 .. 1.0."""
        return self.last / self.limit

    def next(self) -> int:
        """The sequence number for the next packet; CounterExhausted instead of cycling."""
        if self.last >= self.limit:
            raise CounterExhausted(f"sequence counter at {self.last}: rekey before sending (RFC 4303 3.3.3)")
        self.last += 1
        return self.last

    def take(self, count: int) -> tuple[int, int]:
        """Numbers for ``count`` packets as the inclusive range ``(first, last)``; all or nothing.

        ``count`` 0 gives ``(last + 1, last)``, an empty range.
        """
        if count < 0:
            raise ProtocolError(f"cannot take {count} sequence numbers")
        if count > self.remaining:
            raise CounterExhausted(
                f"{count} packets need numbers up to {self.last + count}, "
                f"beyond {self.limit} (RFC 4303 3.3.3)"
            )
        first = self.last + 1
        self.last += count
        return first, self.last

    def skip_forward(self, delta: int) -> int:
        """Jump the counter by ``delta`` unused numbers (RFC 6311 5.2: R5.2-1 own, R5.2-6 on the peer).

        IPsec allows any skip. A skip past the limit stops at the limit, which leaves the counter
        exhausted (nothing more can be sent) rather than cycling. Returns the new ``last``.
        """
        if delta < 0:
            raise ProtocolError(f"a sequence counter only skips forward, got delta {delta}")
        new = min(self.last + delta, self.limit)
        self.skipped += new - self.last
        self.last = new
        return self.last
