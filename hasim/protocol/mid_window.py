"""Message ID windows of one IKE SA (RFC 7296 section 2.3): which requests may be sent, which accepted.

Each side is both a requester (``RequestWindow``: its next Message ID and its outstanding requests,
limited by the other side's SET_WINDOW_SIZE) and a responder (``ResponseWindow``: the Message IDs
it accepts, and the responses it keeps for retransmitted requests). RFC 6311 never changes these
rules (R7-4): synchronization only moves the counters, through ``RequestWindow.next_mid`` and
``ResponseWindow.reset``.
"""

from __future__ import annotations

from typing import ClassVar

from hasim.protocol.retransmit import PendingRequest


class RequestWindow:
    """This side's requests: the next Message ID and those outstanding (RFC 7296 2.3).

    ``size`` is the other side's announced window: at most ``size`` requests may be outstanding,
    and a new Message ID must stay below the lowest outstanding one plus ``size``.
    """

    def __init__(self, next_mid: int = 0, size: int = 1) -> None:
        self.next_mid = next_mid
        self.size = size
        self.outstanding: dict[int, PendingRequest] = {}

    def can_send(self) -> bool:
        """True if a new request may be put on the wire now."""
        if not self.outstanding:
            return True
        return self.next_mid < min(self.outstanding) + self.size

    def allocate(self) -> int:
        """Take the next Message ID (never reused for a different request)."""
        mid = self.next_mid
        self.next_mid += 1
        return mid

    def add(self, pending: PendingRequest) -> None:
        """Track a request just sent."""
        self.outstanding[pending.message_id] = pending

    def complete(self, mid: int) -> PendingRequest | None:
        """The response for ``mid`` arrived: stop tracking it (None if it was not outstanding)."""
        return self.outstanding.pop(mid, None)

    def abandon_all(self) -> list[PendingRequest]:
        """Stop waiting for every outstanding request (RFC 6311 section 9, R9-2); oldest first."""
        gone = [self.outstanding[m] for m in sorted(self.outstanding)]
        self.outstanding.clear()
        return gone

    def highest_used(self) -> int:
        """The highest Message ID this side has used for a request (-1: none)."""
        return self.next_mid - 1


class ResponseWindow:
    """The other side's requests: which Message IDs are accepted, and the cached responses.

    ``base`` is the lowest Message ID not yet received; requests in ``[base, base + size)`` are
    new, a request below ``base`` whose response is still cached is a retransmission (answered with
    the same bytes), anything else is outside the window and dropped (RFC 7296 2.3, R7-4).
    """

    NEW: ClassVar[str] = "new"
    RETRANSMIT: ClassVar[str] = "retransmit"
    OUT_OF_WINDOW: ClassVar[str] = "out-of-window"

    def __init__(self, base: int = 0, size: int = 1, highest: int = -1) -> None:
        self.base = base
        self.size = size
        self.highest = max(highest, base - 1) if base > 0 else highest
        self.received: set[int] = set()
        self.cache: dict[int, bytes] = {}

    def classify(self, mid: int) -> str:
        """NEW, RETRANSMIT or OUT_OF_WINDOW for an incoming request's Message ID."""
        if mid in self.cache:
            return self.RETRANSMIT
        if self.base <= mid < self.base + self.size and mid not in self.received:
            return self.NEW
        return self.OUT_OF_WINDOW

    def accept(self, mid: int, response: bytes) -> None:
        """Record that ``mid`` was processed and answered with ``response``; slide the window."""
        self.received.add(mid)
        self.cache[mid] = response
        self.highest = max(self.highest, mid)
        while self.base in self.received:
            self.received.discard(self.base)
            self.base += 1
        # Keep the responses a retransmission may still ask for: the last ``size`` Message IDs.
        cache, oldest = self.cache, self.base - self.size
        for old in list(cache):  # a loop, not a comprehension: no call per message
            if old < oldest:
                del cache[old]

    def reset(self, base: int) -> None:
        """Adopt a synchronized expectation (RFC 6311 5.1, R9-3): expect ``base`` next.

        The window only moves forward: requests already processed stay processed (and their cached
        responses stay available for retransmissions); requests between the old and the new base
        that never arrived are no longer expected.
        """
        if base <= self.base:
            return
        self.base = base
        self.received = {m for m in self.received if m >= base}
        while self.base in self.received:
            self.received.discard(self.base)
            self.base += 1
        self.highest = max(self.highest, self.base - 1)
