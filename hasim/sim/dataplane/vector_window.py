"""The anti-replay window for a whole batch of packets at once, outcome for outcome equal to the reference.

Why it is exact without a loop per packet. Let ``M[i]`` be the right edge before packet ``i``:
the running maximum of the start edge and every earlier number (a cumulative max). That is the
true edge as long as every packet above the edge is accepted, which holds for every packet above
the edge except, with ESN, one more than ``2**32 - size`` ahead (its inferred high bits are wrong,
RFC 4303 A2.2/A3): such a packet ends the segment, is ``UNVERIFIABLE``, and the rest of the batch
starts again from the edge reached so far. Given ``M``:

- a packet above ``M[i]`` is ACCEPTED (these "records" increase strictly, so they are sorted);
- a packet with ``M[i] - s >= size`` is TOO_OLD (UNVERIFIABLE with ESN: the A2.2 inference places
  it in the next subspace);
- any other packet is a DUPLICATE exactly when the same number was in the starting bitmap or came
  earlier in the batch (an earlier copy was then inside the window or above it, so it was
  accepted, or was itself a duplicate), else ACCEPTED.

Only the rare late packets (reordered, duplicated, replayed) need the last test: a binary search in
the sorted records, a stable sort among themselves, and a gather from the start bitmap. The new
bitmap is the old one with the words entering the window cleared (RFC 6479) and the accepted
numbers near the new edge or-ed in, built with ``packbits``.

With ``wire=True`` the numbers are only the low 32 bits of the packets. Without ESN that is the
whole number. With ESN the high bits are inferred (A2.2) relative to the start edge; that guess is
right for every packet up to the first one whose guess falls below the bottom of the window that
the guesses before it produced, so the batch is cut there and continued from the state reached.
Inferred numbers are taken as the truth; only a packet with no valid 64-bit number (high half -1,
at the very start of an SA) is UNVERIFIABLE.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import LOW_MASK, OFF_INFERENCE_WINDOW, ReplayOutcome, ReplayWindow
from hasim.sim.dataplane.outcomes import tally
from hasim.sim.dataplane.window_state import WindowState

OUTCOME_DTYPE = np.int8
_ACC = np.int8(ReplayOutcome.ACCEPTED)
_DUP = np.int8(ReplayOutcome.DUPLICATE)
_OLD = np.int8(ReplayOutcome.TOO_OLD)
_UNV = np.int8(ReplayOutcome.UNVERIFIABLE)
_SUBSPACE = 2**32
_U6 = np.uint64(6)
_U63 = np.uint64(63)
_LOW = np.uint64(LOW_MASK)


def _as_u64(seqs: ArrayLike) -> NDArray[np.uint64]:
    arr = np.asarray(seqs)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.dtype == np.uint64:
        return arr
    if arr.dtype.kind == "i":
        if arr.size and int(arr.min()) < 0:
            raise ProtocolError("sequence numbers must be >= 0")
        return arr.astype(np.uint64)
    if arr.dtype.kind in "ub" or arr.size == 0:
        return arr.astype(np.uint64)
    if arr.dtype == object:
        ints = [int(x) for x in arr]
        if min(ints) < 0 or max(ints) > 2**64 - 1:
            raise ProtocolError("sequence numbers must lie in 0..2**64 - 1")
        return np.array(ints, dtype=np.uint64)
    raise ProtocolError(f"sequence numbers must be integers, got dtype {arr.dtype}")


def check_batch(
    state: WindowState, seqs: ArrayLike, *, wire: bool = False
) -> tuple[NDArray[np.int8], WindowState]:
    """Outcomes (``ReplayOutcome`` values as int8) for packets in arrival order, and the window after them.

    ``seqs``: the senders' true sequence numbers (64-bit with ESN), or with ``wire=True`` the low 32
    bits seen on the wire. Every packet is taken to be authentic (its ICV verifies whenever its
    number is right), as for ``ReplayWindow.receive``. Batches of any size, including empty.
    """
    s = _as_u64(seqs)
    if s.size == 0:
        return np.zeros(0, dtype=OUTCOME_DTYPE), state
    if wire:
        s = s & _LOW
        if state.esn:
            return _run_wire_esn(state, s)
    elif not state.esn and int(s.max()) > LOW_MASK:
        raise ProtocolError("sequence numbers above 2**32 - 1 need ESN")
    return _run_true(state, s)


SMALL_BATCH = 16
"""Below this many packets ``receive_batch`` goes packet by packet: NumPy's fixed cost per call is larger."""


def receive_batch(window: ReplayWindow, seqs: ArrayLike) -> tuple[NDArray[np.int8], ReplayWindow]:
    """``check_batch`` for callers that keep a reference ``ReplayWindow``: outcomes and a new window.

    The input window is left as it was. Small batches take the reference path itself.
    """
    s = _as_u64(seqs)
    if s.size < SMALL_BATCH:
        if not window.esn and s.size and int(s.max()) > LOW_MASK:
            raise ProtocolError("sequence numbers above 2**32 - 1 need ESN")
        after = window.copy()
        receive = after.receive
        return np.array([receive(x) for x in s.tolist()], dtype=OUTCOME_DTYPE), after
    out, state = check_batch(WindowState.from_window(window), s)
    return out, state.to_window()


def check_batch_reference(
    state: WindowState, seqs: ArrayLike, *, wire: bool = False
) -> tuple[NDArray[np.int8], WindowState]:
    """The same as ``check_batch`` through the per-packet reference window (for tests and benchmarks)."""
    window = state.to_window()
    receive = window.receive
    seq_list = np.asarray(seqs).reshape(-1).tolist()
    out = np.array([receive(x, wire=wire) for x in seq_list], dtype=OUTCOME_DTYPE)
    return out, WindowState.from_window(window)


def check_each(state: WindowState, seqs: ArrayLike) -> NDArray[np.int8]:
    """Each packet's outcome against ``state`` alone, as if it arrived next (``ReplayWindow.check``).

    No packet affects another: this answers "which of these would be accepted now", for example
    which captured packets an attacker could replay at this moment.
    """
    s = _as_u64(seqs)
    out = np.zeros(s.size, dtype=OUTCOME_DTYPE)
    if s.size == 0:
        return out
    if not state.esn and int(s.max()) > LOW_MASK:
        raise ProtocolError("sequence numbers above 2**32 - 1 need ESN")
    top = np.uint64(state.top)
    w_inf = state.size or OFF_INFERENCE_WINDOW
    ahead = s > top
    back = np.where(ahead, np.uint64(0), top - s)
    old = back >= np.uint64(w_inf)
    if state.esn:
        out[old | (ahead & (s - top > np.uint64(_SUBSPACE - w_inf)))] = _UNV
    else:
        out[old] = _OLD
    if state.size:
        out[~ahead & ~old & state.seen_mask(s)] = _DUP
    return out


def count_outcomes(outcomes: NDArray[np.int8]) -> dict[ReplayOutcome, int]:
    """How many packets got each outcome."""
    counts = tally(outcomes)[0]
    return {o: int(counts[o]) for o in ReplayOutcome}


def _run_true(state: WindowState, s: NDArray[np.uint64]) -> tuple[NDArray[np.int8], WindowState]:
    out = np.empty(s.size, dtype=OUTCOME_DTYPE)
    pos = 0
    while pos < s.size:
        res, state, stop = _segment(state, s[pos:], None)
        if stop is None:
            out[pos:] = res
            break
        out[pos : pos + stop] = res
        out[pos + stop] = _UNV
        pos += stop + 1
    return out, state


def _run_wire_esn(state: WindowState, lows: NDArray[np.uint64]) -> tuple[NDArray[np.int8], WindowState]:
    # Guesses live in a domain shifted up by one subspace, x = n + 2**32, so that the "high half -1"
    # numbers of A2.2 Case B are representable; x < 2**32 means no valid number.
    w_inf = state.size or OFF_INFERENCE_WINDOW
    off = np.uint64(_SUBSPACE)
    out = np.empty(lows.size, dtype=OUTCOME_DTYPE)
    pos = 0
    while pos < lows.size:
        t0 = state.top
        if t0 > 2**64 - 2**34:  # too near the end of the space for the shifted domain: per packet
            out[pos:], state = check_batch_reference(state, lows[pos:], wire=True)
            break
        b0x = t0 - w_inf + 1 + _SUBSPACE
        low = lows[pos:]
        x = np.uint64(b0x) + ((low - np.uint64(b0x & LOW_MASK)) & _LOW)
        valid = x >= off
        n = np.where(valid, x - off, np.uint64(0))
        edge = _edges(n, t0)
        # the guess equals the A2.2 inference while it lies at or above the window bottom it meets
        bad = x + np.uint64(w_inf - 1) < edge + off
        stop = int(bad.argmax()) if bool(bad.any()) else low.size
        res, state, far = _segment(state, n[:stop], ~valid[:stop])
        assert far is None, "inferred numbers never jump beyond the subspace"
        out[pos : pos + stop] = res
        pos += stop
    return out, state


def _edges(s: NDArray[np.uint64], top: int) -> NDArray[np.uint64]:
    """Right edge before each packet: max(top, s[0..i-1])."""
    edge = np.empty_like(s)
    edge[0] = top
    if s.size > 1:
        np.maximum(np.maximum.accumulate(s[:-1]), np.uint64(top), out=edge[1:])
    return edge


def _segment(
    state: WindowState, s: NDArray[np.uint64], invalid: NDArray[np.bool_] | None
) -> tuple[NDArray[np.int8], WindowState, int | None]:
    """Outcomes up to the first packet jumping too far ahead (index returned, or None), and the state."""
    size, esn, t0 = state.size, state.esn, state.top
    w_inf = size or OFF_INFERENCE_WINDOW
    if s.size == 0:
        return np.zeros(0, dtype=OUTCOME_DTYPE), state, None
    edge = _edges(s, t0)
    ahead = s > edge
    stop: int | None = None
    if esn and invalid is None:
        far = ahead & ((s - edge) > np.uint64(_SUBSPACE - w_inf))
        if far.any():
            stop = int(far.argmax())
            s, edge, ahead = s[:stop], edge[:stop], ahead[:stop]
            if stop == 0:
                return np.zeros(0, dtype=OUTCOME_DTYPE), state, stop
    out = np.zeros(s.size, dtype=OUTCOME_DTYPE)
    records = s[ahead]
    late = np.flatnonzero(~ahead)
    if invalid is not None:
        out[invalid] = _UNV
        late = late[~invalid[late]]
    accepted_late = np.zeros(0, dtype=np.uint64)
    if late.size:
        sl = s[late]
        old = (edge[late] - sl) >= np.uint64(w_inf)
        if old.any():
            out[late[old]] = _UNV if esn else _OLD
            late, sl = late[~old], sl[~old]
        if size == 0:
            accepted_late = sl
        elif sl.size:
            dup = _seen_before(state, sl, records)
            out[late[dup]] = _DUP
            accepted_late = sl[~dup]
    top = max(int(edge[-1]), int(s[-1]))
    if size == 0:
        return out, WindowState(size, esn, top, state.words), stop
    return out, WindowState(size, esn, top, _new_words(state, top, records, accepted_late)), stop


def _seen_before(
    state: WindowState, sl: NDArray[np.uint64], records: NDArray[np.uint64]
) -> NDArray[np.bool_]:
    """For late packets inside the window: was the number in the start bitmap or earlier in the batch?"""
    dup = np.zeros(sl.size, dtype=bool)
    initial = sl <= np.uint64(state.top)
    if initial.any():
        dup[initial] = state.seen_mask(sl[initial])
    if records.size:
        at = np.minimum(np.searchsorted(records, sl), records.size - 1)
        dup |= records[at] == sl
    if sl.size > 1:
        order = np.argsort(sl, kind="stable")
        ordered = sl[order]
        again = np.zeros(sl.size, dtype=bool)
        again[order[1:]] = ordered[1:] == ordered[:-1]
        dup |= again
    return dup


def _new_words(
    state: WindowState, top: int, records: NDArray[np.uint64], accepted_late: NDArray[np.uint64]
) -> NDArray[np.uint64]:
    n = state.words.size
    old_block, new_block = state.top >> 6, top >> 6
    advance = new_block - old_block
    if advance >= n:
        words = np.zeros(n, dtype=np.uint64)
    else:
        words = state.words.copy()
        if advance:
            words[(np.arange(advance) + (old_block + 1) % n) % n] = 0
    lowest = max(new_block - n + 1, 0) << 6  # numbers below this have left the ring
    near_records = records[np.searchsorted(records, np.uint64(lowest)) :] if lowest else records
    if accepted_late.size:
        near = np.concatenate((near_records, accepted_late[accepted_late >= np.uint64(lowest)]))
    else:
        near = near_records
    if near.size:
        bits = np.zeros(n * 64, dtype=bool)
        bits[((near >> _U6) % np.uint64(n)).astype(np.intp) * 64 + (near & _U63).astype(np.intp)] = True
        words |= np.packbits(bits, bitorder="little").view("<u8").astype(np.uint64, copy=False)
    return words
