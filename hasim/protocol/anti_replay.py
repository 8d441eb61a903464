"""The ESP receiver's anti-replay window, packet by packet: the reference every faster path must match.

Theory of operation. A receiver keeps the right edge ``top`` (the highest sequence number it has
accepted, 0 before the first packet) and a bitmap of the numbers it accepted in the last ``size``
positions (RFC 4303 section 3.4.3 and Appendix A). A packet above the edge is new; one inside the
window is new unless its bit is set; one below the window is too old. The bitmap is stored as in
RFC 6479: a ring of 64-bit words, bit ``s & 63`` of word ``(s >> 6) % n_words``, with one word more
than the window needs so that advancing the edge only clears whole words and never shifts. The
sequence number 0 is never sent (RFC 4303 2.2: the first packet carries 1); the initial bitmap has
its bit set, so a packet claiming 0 is a duplicate, as Linux treats it.

With Extended Sequence Numbers (RFC 4303 2.2.1, Appendix A2) counters are 64 bits but only the low
32 bits travel. The receiver infers the high 32 bits from its window (Appendix A2.2, ``infer``): the
result is the one number with those low bits in ``[top - size + 1, top - size + 2**32]``. If the
sender's true number differs (the packet is really older than the window, or more than
``2**32 - size`` ahead, Appendix A3) the high bits are wrong, the ICV (which covers them) fails, and
the outcome is ``UNVERIFIABLE``; so with ESN a too-old packet shows up as unverifiable, never as
``TOO_OLD``. Size 0 turns the check off (every verifiable packet is accepted); with ESN the high bits
are then inferred from a notional window of 2**31 (half the low-bit space on either side of the
edge).

A real receiver updates the window only after the ICV verifies (RFC 4303 3.4.3): ``check`` has no
side effects, ``update`` records a packet, and ``receive`` does both for a packet known to be
authentic. ``mark_received_through`` is the strict policy after failover (RFC 6311 8.2, R8.2-1):
every number up to a safe edge counts as received.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from hasim.errors import ProtocolError

LOW_MASK = 0xFFFFFFFF
"""The low 32 bits: all of a sequence number that ESP carries on the wire (RFC 4303 2.2)."""

MAX_WINDOW = 65536
MIN_WINDOW = 32
OFF_INFERENCE_WINDOW = 2**31
"""Window used only to infer ESN high bits when the replay check is off (size 0)."""


class ReplayOutcome(IntEnum):
    """What a receiver does with an ESP packet's sequence number (RFC 4303 3.4.3, Appendix A)."""

    ACCEPTED = 0
    DUPLICATE = 1
    TOO_OLD = 2
    UNVERIFIABLE = 3
    """ESN only: the inferred high bits differ from the sender's, so the ICV fails (Appendix A2.2)."""


class ReplayPolicy(StrEnum):
    """Inbound handling right after a failover (RFC 6311 section 8.2, R8.2-1).

    STRICT: the newly active member at once treats every number up to a safe edge (its stale edge
    plus the delta it asks the peer to skip) as received: no old packet can be replayed, but
    legitimate packets still in flight below that edge are dropped. LENIENT: it keeps its stale window
    for a grace period (until the counters are synchronized), accepting legitimate late packets and,
    for as long, replays of packets the old active member had already accepted.
    """

    STRICT = "strict"
    LENIENT = "lenient"


def n_words(size: int) -> int:
    """64-bit words in the RFC 6479 ring for a window of ``size``: one more than the window spans."""
    return 0 if size == 0 else -(-size // 64) + 1


def check_size(size: int) -> None:
    """ProtocolError unless ``size`` is 0 (off) or within 32..65536."""
    if size != 0 and not MIN_WINDOW <= size <= MAX_WINDOW:
        raise ProtocolError(f"replay window size must be 0 or {MIN_WINDOW}..{MAX_WINDOW}, got {size}")


def infer_esn(top: int, size: int, low: int) -> int | None:
    """The 64-bit number a receiver with right edge ``top`` assigns to wire value ``low`` (A2.2).

    Returns None when the inferred high half would be -1 or 2**32 (no 64-bit number exists: the
    ICV cannot verify). ``size`` 0 infers from the notional window of 2**31.
    """
    w = size if size else OFF_INFERENCE_WINDOW
    th, tl = top >> 32, top & LOW_MASK
    if tl >= w - 1:
        # Case A: the window lies within one subspace; a low value below its bottom is in the next.
        seqh = th if low >= tl - w + 1 else th + 1
    else:
        # Case B: the window spans two subspaces; a low value at or above the bottom (mod 2**32) is
        # in the previous one.
        seqh = th - 1 if low >= (tl - w + 1) & LOW_MASK else th
    if not 0 <= seqh <= LOW_MASK:
        return None
    return (seqh << 32) | low


class ReplayWindow:
    """One inbound SA's anti-replay state: right edge and RFC 6479 bitmap (RFC 4303 3.4.3, A, A2).

    ``size`` is the window (0 = replay check off, else 32..65536); ``esn`` selects 64-bit counters.
    Sequence numbers given to ``check``/``receive`` are the sender's true numbers (64-bit with ESN);
    ``wire=True`` says they are only the low 32 bits from the packet, and the inferred number is
    then taken as the truth.
    """

    __slots__ = ("_n", "_words", "esn", "size", "top")

    def __init__(
        self, size: int, *, esn: bool = False, top: int = 0, words: tuple[int, ...] | None = None
    ) -> None:
        check_size(size)
        self.size = size
        self.esn = esn
        self._n = n_words(size)
        limit = 2**64 - 1 if esn else LOW_MASK
        if not 0 <= top <= limit:
            raise ProtocolError(f"right edge {top} outside 0..{limit}")
        self.top = top
        if words is None:
            self._words = [0] * self._n
            if self._n and top == 0:
                self._words[0] = 1  # sequence number 0 is never sent: treat it as seen
        else:
            if len(words) != self._n:
                raise ProtocolError(f"bitmap needs {self._n} words for size {size}, got {len(words)}")
            self._words = [int(w) & 0xFFFFFFFFFFFFFFFF for w in words]

    # -- state -------------------------------------------------------------------------------------
    @property
    def words(self) -> tuple[int, ...]:
        """The RFC 6479 ring: bit ``s & 63`` of word ``(s >> 6) % len(words)`` set = ``s`` received."""
        return tuple(self._words)

    @property
    def bottom(self) -> int:
        """Lowest number inside the window (may be < 1 early in the SA's life)."""
        return self.top - self.size + 1

    def copy(self) -> ReplayWindow:
        """An independent copy (a standby's snapshot of this window)."""
        return ReplayWindow(self.size, esn=self.esn, top=self.top, words=tuple(self._words))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReplayWindow):
            return NotImplemented
        mine = (self.size, self.esn, self.top, self._words)
        return mine == (other.size, other.esn, other.top, other._words)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ReplayWindow(size={self.size}, esn={self.esn}, top={self.top})"

    def seen(self, seq: int) -> bool:
        """True if ``seq`` lies inside the window and was received (or is 0 at the start)."""
        if self._n == 0 or seq > self.top or self.top - seq >= self.size or seq < 0:
            return False
        return bool((self._words[(seq >> 6) % self._n] >> (seq & 63)) & 1)

    # -- the check ---------------------------------------------------------------------------------
    def infer(self, low: int) -> int | None:
        """The full number this window assigns to the low 32 bits ``low`` (RFC 4303 A2.2)."""
        if not self.esn:
            return low & LOW_MASK
        return infer_esn(self.top, self.size, low & LOW_MASK)

    def _full(self, seq: int, wire: bool) -> int | None:
        """The full number the receiver works with, or None when the ICV cannot verify (A2.2)."""
        if self.esn:
            if wire:
                return infer_esn(self.top, self.size, seq & LOW_MASK)
            # A2.2 infers the one number with these low bits in [top - w + 1, top - w + 2**32]
            # (see infer_esn); the sender's number verifies exactly when it lies in that range.
            bottom = self.top - (self.size or OFF_INFERENCE_WINDOW) + 1
            return seq if bottom <= seq < bottom + 2**32 and seq >= 0 else None
        if wire:
            return seq & LOW_MASK
        if not 0 <= seq <= LOW_MASK:
            raise ProtocolError(f"sequence number {seq} needs ESN")
        return seq

    def _outcome(self, seq: int) -> ReplayOutcome:
        top = self.top
        if seq > top or self.size == 0:
            return ReplayOutcome.ACCEPTED
        if top - seq >= self.size:
            return ReplayOutcome.TOO_OLD
        if (self._words[(seq >> 6) % self._n] >> (seq & 63)) & 1:
            return ReplayOutcome.DUPLICATE
        return ReplayOutcome.ACCEPTED

    def check(self, seq: int, *, wire: bool = False) -> ReplayOutcome:
        """Outcome for ``seq`` against the current window, without changing it (RFC 4303 3.4.3)."""
        n = self._full(seq, wire)
        return ReplayOutcome.UNVERIFIABLE if n is None else self._outcome(n)

    def update(self, seq: int) -> None:
        """Record the full number ``seq`` as received, after its ICV verified (RFC 4303 3.4.3).

        Advancing the edge clears the ring words that enter the window (RFC 6479).
        """
        n = self._n
        if seq > self.top:
            if seq > (2**64 - 1 if self.esn else LOW_MASK):
                raise ProtocolError(f"sequence number {seq} out of range")
            if n:
                old_block, new_block = self.top >> 6, seq >> 6
                if new_block - old_block >= n:
                    self._words = [0] * n
                else:
                    for block in range(old_block + 1, new_block + 1):
                        self._words[block % n] = 0
            self.top = seq
        elif self.size and self.top - seq >= self.size:
            raise ProtocolError(f"sequence number {seq} is below the window (top {self.top})")
        if n:
            self._words[(seq >> 6) % n] |= 1 << (seq & 63)

    def receive(self, seq: int, *, wire: bool = False) -> ReplayOutcome:
        """Check an authentic packet and record it if accepted; the per-packet reference path."""
        full = self._full(seq, wire)
        if full is None:
            return ReplayOutcome.UNVERIFIABLE
        outcome = self._outcome(full)
        if outcome is ReplayOutcome.ACCEPTED:
            self.update(full)
        return outcome

    def mark_received_through(self, edge: int) -> None:
        """Strict failover handling (RFC 6311 8.2, R8.2-1): every number up to ``edge`` counts as received.

        The edge moves to ``max(top, edge)``; afterwards only numbers above ``edge`` are accepted.
        """
        if edge > (2**64 - 1 if self.esn else LOW_MASK):
            raise ProtocolError(f"safe edge {edge} beyond the sequence space")
        if edge > self.top:
            # every slot holds a block wholly at or below the edge, except the edge's own block,
            # whose bits above the edge must stay clear for the numbers still to come
            self.top = edge
            self._words = [0xFFFFFFFFFFFFFFFF] * self._n
            if self._n:
                self._words[(edge >> 6) % self._n] = (1 << ((edge & 63) + 1)) - 1
            return
        if self._n == 0:
            return
        lo = max(self.bottom, 0)
        if edge < lo:
            return  # everything up to the edge is already too old
        for seq_block in range(lo >> 6, (edge >> 6) + 1):
            first, last = max(seq_block << 6, lo), min((seq_block << 6) | 63, edge)
            mask = ((1 << (last - first + 1)) - 1) << (first & 63)
            self._words[seq_block % self._n] |= mask
