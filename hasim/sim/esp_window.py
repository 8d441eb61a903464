"""A whole batch of ESP arrivals through one anti-replay window at once, identical to packet by packet.

Why it works: a packet above the right edge is always accepted, so the edge before packet i is
``max(top0, s_0..s_{i-1})`` - a running maximum. Below that edge, a packet is too old when it falls
out of the window, else a duplicate when its bit was set before the batch or an earlier packet of
the batch carried the same number (that earlier one was accepted, or was itself a duplicate of an
accepted one). The outcomes and the window afterwards equal those of
:meth:`hasim.protocol.anti_replay.ReplayWindow.receive` applied in order, which the tests check.
Sequence numbers are the sender's true numbers (64-bit with ESN, below 2**63 here).
"""

from __future__ import annotations

import numpy as np

from hasim.protocol.anti_replay import LOW_MASK, ReplayOutcome, ReplayWindow, n_words

ACCEPTED = int(ReplayOutcome.ACCEPTED)
DUPLICATE = int(ReplayOutcome.DUPLICATE)
TOO_OLD = int(ReplayOutcome.TOO_OLD)
UNVERIFIABLE = int(ReplayOutcome.UNVERIFIABLE)


def _initial_seen(win: ReplayWindow, seqs: np.ndarray) -> np.ndarray:
    """Whether each number's bit is set in the window's bitmap (numbers assumed inside the window)."""
    n = n_words(win.size)
    words = np.array(win.words, dtype=np.uint64)
    s = seqs.astype(np.uint64)
    w = words[((s >> np.uint64(6)) % np.uint64(n)).astype(np.int64)]
    return ((w >> (s & np.uint64(63))) & np.uint64(1)).astype(bool)


def _infer_esn(top: np.ndarray, size: int, low: np.ndarray) -> np.ndarray:
    """Vectorized RFC 4303 A2.2 inference (see anti_replay.infer_esn); -1 where no number exists."""
    w = size if size else 2**31
    th, tl = top >> 32, top & LOW_MASK
    case_a = tl >= w - 1
    seqh_a = np.where(low >= tl - w + 1, th, th + 1)
    seqh_b = np.where(low >= ((tl - w + 1) & LOW_MASK), th - 1, th)
    seqh = np.where(case_a, seqh_a, seqh_b)
    ok = (seqh >= 0) & (seqh <= LOW_MASK)
    return np.where(ok, (seqh << 32) | low, -1)


def receive_batch(win: ReplayWindow, seqs: np.ndarray) -> tuple[np.ndarray, ReplayWindow]:
    """Outcomes (ReplayOutcome values) of ``seqs`` arriving in order, and the window afterwards."""
    n = seqs.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int8), win
    s = seqs.astype(np.int64)
    top0 = win.top
    prev_top = np.maximum.accumulate(np.concatenate(([top0], s[:-1])))
    prev_top = np.maximum(prev_top, top0)
    out = np.full(n, ACCEPTED, dtype=np.int8)
    above = s > prev_top
    if win.esn:
        inferred = _infer_esn(prev_top, win.size, s & LOW_MASK)
        unverifiable = inferred != s
        out[unverifiable] = UNVERIFIABLE
    else:
        unverifiable = np.zeros(n, dtype=bool)
    if win.size:
        inside = ~above & ~unverifiable
        too_old = inside & (prev_top - s >= win.size)
        out[too_old] = TOO_OLD
        cand = inside & ~too_old
        if cand.any():
            _, first = np.unique(s, return_index=True)
            first_of = np.zeros(n, dtype=bool)
            first_of[first] = True
            dup = cand & ~first_of
            idx = np.flatnonzero(cand & first_of & (s <= top0) & (top0 - s < win.size))
            if idx.size:
                dup[idx] = _initial_seen(win, s[idx])
            out[dup] = DUPLICATE
    accepted = s[out == ACCEPTED]
    if accepted.size == 0:
        return out, win
    new = win.copy()
    if not win.size:
        new.top = max(top0, int(accepted.max()))
        return out, new
    top = max(top0, int(accepted.max()))
    bottom = top - win.size + 1
    keep = accepted[accepted >= bottom]
    # the new ring: old bits still inside the window, plus every accepted number inside it
    old_lo = max(bottom, top0 - win.size + 1, 0)
    olds = np.arange(old_lo, top0 + 1, dtype=np.int64) if old_lo <= top0 else np.zeros(0, dtype=np.int64)
    if olds.size:
        olds = olds[_initial_seen(win, olds)]
    bits = np.concatenate((olds, keep)).astype(np.uint64)
    nw = n_words(win.size)
    words = np.zeros(nw, dtype=np.uint64)
    np.bitwise_or.at(words, ((bits >> np.uint64(6)) % np.uint64(nw)).astype(np.int64),
                     np.left_shift(np.uint64(1), bits & np.uint64(63)))
    return out, ReplayWindow(win.size, esn=win.esn, top=top, words=tuple(int(x) for x in words))
