"""Child SAs (ESP) as the control plane sees them: SPIs, ESN, counters, and inbound SPI allocation.

The per-packet data plane lives in its own modules (``esp_counter.OutboundCounter``,
``anti_replay.ReplayWindow``); a ``ChildSa`` holds one of each and exposes the two numbers the
control plane must agree on with the other side and share with the standby: the last outgoing
sequence number and the right edge of the inbound replay window. Both may jump forward on
failover (RFC 6311 section 5.2) and restart at 0 after a rekey (a new SA, RFC 7296 2.8).

The counter and the window are stored in an :class:`EspState`. A simulator that moves many SAs'
packets in arrays may hold them elsewhere for a while: it sets ``lease`` (an :class:`EspLease`),
which is told before the protocol reads or replaces them so that it can hand them back first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import ReplayWindow, n_words
from hasim.protocol.esp_counter import OutboundCounter, counter_limit


def max_seq(esn: bool) -> int:
    """Largest usable ESP sequence number: 2**32-1, or 2**64-1 with ESN (RFC 4303 3.3.3)."""
    return counter_limit(esn)


@dataclass(frozen=True)
class ChildSaSnapshot:
    """What the sync channel carries for one Child SA (R5-4: SA state is shared between members).

    ``in_words`` is the anti-replay bitmap (RFC 6479 ring) at the time of the snapshot; None means
    an empty window below ``in_highest``.
    """

    spi_in: int
    spi_out: int
    esn: bool
    out_seq: int = 0
    in_highest: int = 0
    out_rate_pps: float = 0.0
    in_rate_pps: float = 0.0
    in_words: tuple[int, ...] | None = None


class EspState:
    """A Child SA's outbound counter and inbound window as stored (a lease holder reads them here
    without a hand-back)."""

    __slots__ = ("inbound", "outbound")

    def __init__(self, outbound: OutboundCounter, inbound: ReplayWindow) -> None:
        self.outbound = outbound
        self.inbound = inbound


class EspLease(Protocol):
    """Whoever holds a Child SA's counter and window for a while: called before the protocol reads
    (``before_outbound``, ``before_inbound``) or replaces (``before_replace``) one of them."""

    def before_outbound(self, child: ChildSa) -> None: ...

    def before_inbound(self, child: ChildSa) -> None: ...

    def before_replace(self, child: ChildSa) -> None: ...


class ChildSa:
    """One ESP SA pair: outbound counter (``esp_counter``) and inbound replay window (``anti_replay``).

    ``out_seq`` = last sequence number sent (0: none yet; the first packet is 1), ``in_highest`` =
    the replay window's right edge. Rates are the packet rates the active member measured, shared so
    that a standby can estimate the counter jump (R5.2-2). ``safe_edge`` is set on failover: the
    stale edge plus the delta requested from the peer; with the STRICT inbound policy (R8.2-1)
    everything up to it already counts as received.
    """

    def __init__(
        self,
        spi_in: int,
        spi_out: int,
        esn: bool = False,
        out_seq: int = 0,
        in_highest: int = 0,
        out_rate_pps: float = 0.0,
        in_rate_pps: float = 0.0,
        *,
        replay_window: int = 32,
        in_words: tuple[int, ...] | None = None,
    ) -> None:
        self.spi_in = spi_in
        self.spi_out = spi_out
        self.esn = esn
        self.held = EspState(
            OutboundCounter(esn=esn, last=out_seq),
            ReplayWindow(replay_window, esn=esn, top=in_highest, words=in_words),
        )
        self.lease: EspLease | None = None
        self.out_rate_pps = out_rate_pps
        self.in_rate_pps = in_rate_pps
        self.safe_edge: int | None = None

    @property
    def outbound(self) -> OutboundCounter:
        """The outgoing sequence counter (handed back first by a lease holder)."""
        if self.lease is not None:
            self.lease.before_outbound(self)
        return self.held.outbound

    @outbound.setter
    def outbound(self, value: OutboundCounter) -> None:
        if self.lease is not None:
            self.lease.before_replace(self)
        self.held.outbound = value

    @property
    def inbound(self) -> ReplayWindow:
        """The inbound anti-replay window (handed back first by a lease holder)."""
        if self.lease is not None:
            self.lease.before_inbound(self)
        return self.held.inbound

    @inbound.setter
    def inbound(self, value: ReplayWindow) -> None:
        if self.lease is not None:
            self.lease.before_replace(self)
        self.held.inbound = value

    @property
    def out_seq(self) -> int:
        """The last outgoing sequence number used or skipped."""
        return self.outbound.last

    @property
    def in_highest(self) -> int:
        """Right edge of the inbound anti-replay window."""
        return self.inbound.top

    @property
    def max_seq(self) -> int:
        """The last sequence number this SA may use before it must be rekeyed (fixed at creation: read
        without a hand-back)."""
        return self.held.outbound.limit

    @property
    def exhausted(self) -> bool:
        """True once no outgoing sequence number is left."""
        return self.outbound.exhausted

    def next_out_seq(self) -> int:
        """Take the next outgoing sequence number; CounterExhausted once the space is used up."""
        return self.outbound.next()

    def skip_outbound(self, amount: int) -> int:
        """Jump the outgoing counter forward (IPsec allows any skip, RFC 6311 5.2); capped at the limit."""
        return self.outbound.skip_forward(amount)

    def advance_inbound(self, amount: int, strict: bool = True) -> int:
        """The member asked the peer to skip ``amount`` (R5.2-4): set the safe edge above the stale one.

        With ``strict`` (R8.2-1 STRICT) every number up to the edge counts as received at once, so a
        packet the failed member already accepted cannot be replayed to this one.
        """
        if amount < 0:
            raise ProtocolError("the inbound window only moves forward")
        self.safe_edge = min(self.inbound.top + amount, self.max_seq)
        if strict:
            self.inbound.mark_received_through(self.safe_edge)
        return self.safe_edge

    def snapshot(self) -> ChildSaSnapshot:
        """Frozen copy for the cluster sync channel."""
        return ChildSaSnapshot(
            self.spi_in,
            self.spi_out,
            self.esn,
            self.out_seq,
            self.in_highest,
            self.out_rate_pps,
            self.in_rate_pps,
            self.inbound.words,
        )

    @classmethod
    def from_snapshot(cls, snap: ChildSaSnapshot, replay_window: int = 32) -> ChildSa:
        """Rebuild a Child SA from what the sync channel delivered (possibly stale)."""
        words = snap.in_words
        if words is not None and len(words) != n_words(replay_window):
            words = None
        return cls(
            snap.spi_in,
            snap.spi_out,
            snap.esn,
            snap.out_seq,
            snap.in_highest,
            snap.out_rate_pps,
            snap.in_rate_pps,
            replay_window=replay_window,
            in_words=words,
        )

    def __repr__(self) -> str:
        spis = f"in={self.spi_in:#010x}, out={self.spi_out:#010x}"
        return f"ChildSa({spis}, esn={self.esn}, out_seq={self.out_seq})"


class SpiAllocator:
    """Inbound SPIs that never collide across cluster members (RFC 6311 section 3.3, R3.3-1).

    The SPI space is split by member: the top ``member_bits`` bits hold the member index, the rest
    come from the caller's random draws; values already handed out are skipped, and SPIs 0..255
    (reserved by IANA, RFC 4303 2.1) are never produced. Two members with distinct indexes can
    therefore allocate independently, before and after a failover, without ever sharing an SPI.
    """

    def __init__(self, member_index: int, random_bytes: Callable[[int], bytes], member_bits: int = 4) -> None:
        if not 0 <= member_index < 2**member_bits:
            raise ProtocolError(f"member index {member_index} does not fit in {member_bits} bits")
        self.member_index = member_index
        self.member_bits = member_bits
        self._random_bytes = random_bytes
        self._used: set[int] = set()

    def allocate(self) -> int:
        """A fresh inbound SPI owned by this member."""
        low_bits = 32 - self.member_bits
        while True:
            low = int.from_bytes(self._random_bytes(4), "big") & ((1 << low_bits) - 1)
            spi = (self.member_index << low_bits) | low
            if spi > 255 and spi not in self._used:
                self._used.add(spi)
                return spi

    def reserve(self, spi: int) -> None:
        """Mark an SPI as in use (for example one imported from a snapshot)."""
        self._used.add(spi)

    def owner(self, spi: int) -> int:
        """The member index an SPI was allocated by."""
        return spi >> (32 - self.member_bits)
