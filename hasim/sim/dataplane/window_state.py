"""The anti-replay window as a small NumPy value: right edge plus the RFC 6479 ring of uint64 words.

``WindowState`` is what the vectorized path (``vector_window.check_batch``) reads and returns. It
has exactly the layout of the reference ``hasim.protocol.anti_replay.ReplayWindow`` (bit ``s & 63``
of word ``(s >> 6) % n_words``), so the two convert losslessly and tests compare states word for
word. It is immutable in use: ``check_batch`` returns a new state and never writes into the old
one, so a standby's stale snapshot is simply a reference kept from an earlier time (``copy`` exists
for callers who want to mutate ``words`` themselves).

For many SAs at once (the scale runs) the same layout stacks: a ``(n_sa,)`` vector of edges and an
``(n_sa, n_words)`` matrix of words; ``words`` here is one row of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import ReplayWindow, check_size, n_words


@dataclass(frozen=True, eq=False)
class WindowState:
    """One inbound SA's replay window (RFC 4303 3.4.3 / RFC 6479): ``top`` and the word ring.

    ``size`` 0 = replay check off (no words). ``top`` is a Python int (up to 2**64 - 1 with ESN).
    """

    size: int
    esn: bool
    top: int
    words: NDArray[np.uint64]

    def __post_init__(self) -> None:
        check_size(self.size)
        if self.words.dtype != np.uint64 or self.words.shape != (n_words(self.size),):
            raise ProtocolError(f"window of size {self.size} needs {n_words(self.size)} uint64 words")
        limit = 2**64 - 1 if self.esn else 2**32 - 1
        if not 0 <= self.top <= limit:
            raise ProtocolError(f"right edge {self.top} outside 0..{limit}")

    @classmethod
    def initial(cls, size: int, *, esn: bool = False) -> WindowState:
        """A fresh SA's window: nothing received, sequence number 0 counted as seen (RFC 4303 2.2)."""
        check_size(size)
        words = np.zeros(n_words(size), dtype=np.uint64)
        if words.size:
            words[0] = 1
        return cls(size, esn, 0, words)

    @classmethod
    def from_window(cls, window: ReplayWindow) -> WindowState:
        """The same state as a reference window."""
        return cls(window.size, window.esn, window.top, np.array(window.words, dtype=np.uint64))

    def to_window(self) -> ReplayWindow:
        """The reference window holding this state."""
        return ReplayWindow(self.size, esn=self.esn, top=self.top, words=tuple(int(w) for w in self.words))

    def copy(self) -> WindowState:
        """An independent copy (its own words array)."""
        return WindowState(self.size, self.esn, self.top, self.words.copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WindowState):
            return NotImplemented
        return (self.size, self.esn, self.top) == (other.size, other.esn, other.top) and bool(
            np.array_equal(self.words, other.words)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"WindowState(size={self.size}, esn={self.esn}, top={self.top})"

    @property
    def bottom(self) -> int:
        """Lowest number inside the window (may be < 1 early in the SA's life)."""
        return self.top - self.size + 1

    def seen_mask(self, seqs: NDArray[np.uint64]) -> NDArray[np.bool_]:
        """For each full sequence number: inside the window and received."""
        seqs = np.asarray(seqs, dtype=np.uint64)
        if self.size == 0:
            return np.zeros(seqs.shape, dtype=bool)
        inside = (seqs <= np.uint64(self.top)) & (np.uint64(self.top) - seqs < np.uint64(self.size))
        n = np.uint64(self.words.size)
        word = self.words[((seqs >> np.uint64(6)) % n).astype(np.intp)]
        return inside & ((word >> (seqs & np.uint64(63))) & np.uint64(1)).astype(bool)

    def received_numbers(self) -> NDArray[np.uint64]:
        """The sequence numbers (>= 1) marked received inside the window, ascending."""
        if self.size == 0 or self.top == 0:
            return np.zeros(0, dtype=np.uint64)
        lo = max(self.bottom, 1)
        candidates = np.arange(lo, self.top + 1, dtype=np.uint64)
        return candidates[self.seen_mask(candidates)]

    def mark_received_through(self, edge: int) -> WindowState:
        """Strict failover handling (RFC 6311 8.2, R8.2-1): every number up to ``edge`` counts as received.

        Same result as ``ReplayWindow.mark_received_through``.
        """
        window = self.to_window()
        window.mark_received_through(edge)
        return WindowState.from_window(window)
