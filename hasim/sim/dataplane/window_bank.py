"""Anti-replay windows of many SAs decided together: one NumPy pass over packets of all SAs interleaved.

For the scale runs (thousands of Child SAs per member) a call per SA costs more in Python overhead
than in work. A ``WindowBank`` stacks the per-SA state of ``WindowState`` (edges as a ``(n_sa,)``
vector, RFC 6479 rings as an ``(n_sa, n_words)`` matrix; all SAs share window size and ESN), and
``check_bank`` takes packets of any SAs in arrival order as two arrays (SA index, sequence number).

It is ``check_batch``'s argument run on all SAs at once. A stable sort by SA keeps each SA's
arrival order. Numbers are taken relative to their SA's start edge, and the edge before each packet
is a cumulative max of ``SA index * 2**36 + max(relative number, 0)``: the SA index dominates, so
the running max never leaks from one SA into the next. A packet with ESN more than
``2**32 - size`` ahead of its edge cannot verify; such packets are taken out and the edges
recomputed until none is left (taking one out only lowers the edges after it, so every packet
taken out was really too far ahead). SAs whose batch spans more than 2**34 around the start edge
(possible only with ESN and adversarial jumps) go through ``check_batch`` one by one. The tests
compare every outcome and every SA's state with ``check_batch`` per SA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import LOW_MASK, OFF_INFERENCE_WINDOW, ReplayOutcome, check_size, n_words
from hasim.sim.dataplane.vector_window import OUTCOME_DTYPE, check_batch
from hasim.sim.dataplane.window_state import WindowState

_SA_SHIFT = 36
_SPAN = 2**34
_DUP = np.int8(ReplayOutcome.DUPLICATE)
_OLD = np.int8(ReplayOutcome.TOO_OLD)
_UNV = np.int8(ReplayOutcome.UNVERIFIABLE)


@dataclass(frozen=True, eq=False)
class WindowBank:
    """The replay windows of ``n_sa`` inbound SAs of one size and ESN setting (RFC 4303 3.4.3, RFC 6479)."""

    size: int
    esn: bool
    tops: NDArray[np.uint64]
    words: NDArray[np.uint64]

    def __post_init__(self) -> None:
        check_size(self.size)
        n = self.tops.shape[0] if self.tops.ndim == 1 else -1
        if (
            self.tops.dtype != np.uint64
            or self.words.dtype != np.uint64
            or self.words.shape
            != (
                n,
                n_words(self.size),
            )
        ):
            raise ProtocolError(f"a bank needs uint64 tops (n,) and words (n, {n_words(self.size)})")
        if n >= 2**26:
            raise ProtocolError("at most 2**26 SAs per bank")
        if not self.esn and n and int(self.tops.max()) > LOW_MASK:
            raise ProtocolError("right edges above 2**32 - 1 need ESN")

    @classmethod
    def initial(cls, n_sa: int, size: int, *, esn: bool = False) -> WindowBank:
        """``n_sa`` fresh windows (sequence number 0 counted as seen)."""
        check_size(size)
        words = np.zeros((n_sa, n_words(size)), dtype=np.uint64)
        if words.shape[1]:
            words[:, 0] = 1
        return cls(size, esn, np.zeros(n_sa, dtype=np.uint64), words)

    @classmethod
    def from_states(cls, states: list[WindowState]) -> WindowBank:
        """Stack single-SA states (all of one size and ESN setting)."""
        if not states:
            raise ProtocolError("a bank needs at least one state")
        size, esn = states[0].size, states[0].esn
        if any(s.size != size or s.esn != esn for s in states):
            raise ProtocolError("all windows of a bank share size and ESN")
        tops = np.array([s.top for s in states], dtype=np.uint64)
        if n_words(size):
            words = np.stack([s.words for s in states])
        else:
            words = np.zeros((len(states), 0), dtype=np.uint64)
        return cls(size, esn, tops, words)

    @property
    def n_sa(self) -> int:
        """Number of SAs in the bank."""
        return int(self.tops.shape[0])

    def state(self, i: int) -> WindowState:
        """SA ``i``'s window as a single-SA state."""
        return WindowState(self.size, self.esn, int(self.tops[i]), self.words[i].copy())

    def copy(self) -> WindowBank:
        """An independent copy (the standby's snapshot of every window)."""
        return WindowBank(self.size, self.esn, self.tops.copy(), self.words.copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WindowBank):
            return NotImplemented
        return (
            (self.size, self.esn) == (other.size, other.esn)
            and bool(np.array_equal(self.tops, other.tops))
            and bool(np.array_equal(self.words, other.words))
        )

    __hash__ = None  # type: ignore[assignment]


def check_bank(bank: WindowBank, sa: ArrayLike, seqs: ArrayLike) -> tuple[NDArray[np.int8], WindowBank]:
    """Outcomes for packets of many SAs in arrival order (``sa[i]`` names packet i's SA), and the new bank.

    Same outcomes and states as ``check_batch`` on each SA's packets separately. Only the order
    within each SA matters: callers that hold per-SA arrays can concatenate them (SA indexes
    ascending), which skips the sort.
    """
    sa_arr = np.asarray(sa, dtype=np.intp).reshape(-1)
    s = np.asarray(seqs).reshape(-1)
    if s.dtype != np.uint64:
        s = s.astype(np.uint64)
    if sa_arr.shape != s.shape:
        raise ProtocolError("one SA index per sequence number")
    if s.size == 0:
        return np.zeros(0, dtype=OUTCOME_DTYPE), bank
    if int(sa_arr.min()) < 0 or int(sa_arr.max()) >= bank.n_sa:
        raise ProtocolError("SA index outside the bank")
    if not bank.esn and int(s.max()) > LOW_MASK:
        raise ProtocolError("sequence numbers above 2**32 - 1 need ESN")
    grouped = bool((sa_arr[1:] >= sa_arr[:-1]).all())
    order = np.arange(s.size) if grouped else _stable_order(sa_arr, bank.n_sa)
    g = sa_arr if grouped else sa_arr[order]
    v = s if grouped else s[order]
    t0 = bank.tops[g]
    rel = (v - t0).view(np.int64)  # exact while |v - t0| < 2**63, checked below
    tops, words = bank.tops.copy(), bank.words.copy()
    out = np.zeros(s.size, dtype=OUTCOME_DTYPE)
    whole = True  # every packet is decided by _decide, in the order given
    if bank.esn:  # without ESN numbers and edges are below 2**32: never wide
        wide = (rel > _SPAN) | (rel < -_SPAN) | ((v > t0) != (rel > 0))
        if wide.any():
            whole = False
            for i in np.unique(g[wide]).tolist():
                mine = sa_arr == i
                res, st = check_batch(bank.state(i), s[mine])
                out[mine] = res
                tops[i], words[i] = st.top, st.words
            keep = ~np.isin(g, np.unique(g[wide]))
            order, g, v, t0, rel = order[keep], g[keep], v[keep], t0[keep], rel[keep]
    if g.size:
        sub = _decide(bank, g, v, t0, rel, tops, words)
        if whole and grouped:
            out = sub
        else:
            out[order] = sub
    return out, WindowBank(bank.size, bank.esn, tops, words)


def _decide(
    bank: WindowBank,
    g: NDArray[np.intp],
    v: NDArray[np.uint64],
    t0: NDArray[np.uint64],
    rel: NDArray[np.int64],
    tops: NDArray[np.uint64],
    words: NDArray[np.uint64],
) -> NDArray[np.int8]:
    """Outcomes of packets grouped by SA (arrival order within each); writes new ``tops``/``words``."""
    size, esn = bank.size, bank.esn
    w_inf = size or OFF_INFERENCE_WINDOW
    base = g.astype(np.int64, copy=False) << _SA_SHIFT
    out = np.zeros(g.size, dtype=OUTCOME_DTYPE)
    removed = np.zeros(g.size, dtype=bool) if esn else None  # without ESN nothing is too far ahead
    while True:
        key = np.maximum(rel, 0)
        if removed is not None:
            key[removed] = 0
        key += base
        run = np.maximum.accumulate(key)
        edge = np.empty_like(rel)
        edge[0] = 0
        np.maximum(run[:-1] - base[1:], 0, out=edge[1:])  # relative edge before each packet
        ahead = rel > edge
        if removed is None:
            break
        ahead &= ~removed
        far = ahead & (rel - edge > 2**32 - w_inf)
        if not far.any():
            break
        removed |= far
    if removed is None:
        late = np.flatnonzero(~ahead)
    else:
        out[removed] = _UNV
        late = np.flatnonzero(~ahead & ~removed)
    accepted = ahead
    if late.size:
        # base + rel of each packet that moved its edge (its key: rel > edge >= 0), sorted by SA, then
        # increasing within the SA; the SAs' ranges of base + rel (|rel| <= 2**34) never meet
        rec_key = key[ahead]
        accepted = ahead.copy()
        back = edge[late] - rel[late]
        old = back >= w_inf
        out[late[old]] = _UNV if esn else _OLD
        late = late[~old]
        if size == 0:
            accepted[late] = True
        elif late.size:
            dup = np.zeros(late.size, dtype=bool)
            initial = rel[late] <= 0
            if initial.any():
                li = late[initial]
                vi = v[li]
                slot = ((vi >> np.uint64(6)) % np.uint64(words.shape[1])).astype(np.intp)
                word = bank.words[g[li], slot]
                dup[initial] = ((word >> (vi & np.uint64(63))) & np.uint64(1)).astype(bool)
            lk = base[late] + rel[late]
            if rec_key.size:
                at = np.minimum(np.searchsorted(rec_key, lk), rec_key.size - 1)
                dup |= rec_key[at] == lk
            if late.size > 1:
                o = np.argsort(lk, kind="stable")
                again = np.zeros(late.size, dtype=bool)
                again[o[1:]] = lk[o][1:] == lk[o][:-1]
                dup |= again
            out[late[dup]] = _DUP
            accepted[late[~dup]] = True
    # new edges: the running max at each SA's last packet
    last = np.flatnonzero(np.append(g[1:] != g[:-1], True))
    sas = g[last]
    old_tops = bank.tops[sas]
    new_rel = run[last] - base[last]
    new_tops = old_tops + new_rel.astype(np.uint64)
    tops[sas] = new_tops
    if size:
        _update_words(bank, words, g, v, accepted, sas, old_tops, new_tops)
    return out


def _update_words(
    bank: WindowBank,
    words: NDArray[np.uint64],
    g: NDArray[np.intp],
    v: NDArray[np.uint64],
    accepted: NDArray[np.bool_],
    sas: NDArray[np.intp],
    old_tops: NDArray[np.uint64],
    new_tops: NDArray[np.uint64],
) -> None:
    n = words.shape[1]
    old_block = (old_tops >> np.uint64(6)).astype(np.int64)
    new_block = (new_tops >> np.uint64(6)).astype(np.int64)
    advance = new_block - old_block
    # RFC 6479: clear the slots of the blocks entering each window (all of them from n blocks on)
    moved = np.flatnonzero(advance > 0)
    if moved.size:
        ms, first, adv = sas[moved], old_block[moved] + 1, advance[moved]
        full = adv >= n
        if full.any():
            words[ms[full]] = 0
            part = ~full
            ms, first, adv = ms[part], first[part], adv[part]
        for d in range(int(adv.max()) if adv.size else 0):
            some = adv > d
            words[ms[some], (first[some] + d) % n] = 0
    # or in the accepted numbers still inside each SA's ring: those from the first number of its
    # lowest block (new top block - n + 1) on
    low_of = np.zeros(bank.n_sa, dtype=np.uint64)
    low_of[sas] = (np.maximum(new_block - (n - 1), 0) << 6).astype(np.uint64)
    pick = np.flatnonzero(accepted & (v >= low_of[g]))
    if pick.size == 0:
        return
    av = v[pick]
    cell = (av >> np.uint64(6)).view(np.int64)  # below 2**58: the same value as int64
    cell %= n
    cell += g[pick].astype(np.int64, copy=False) * n
    bits = np.left_shift(np.uint64(1), av & np.uint64(63))
    if cell.size > 1:  # or together the bits of each run of one cell first (a few runs per SA)
        starts = np.flatnonzero(np.concatenate(([True], cell[1:] != cell[:-1])))
        if starts.size < cell.size:
            bits = np.bitwise_or.reduceat(bits, starts)
            cell = cell[starts]
    np.bitwise_or.at(words.reshape(-1), cell, bits)


def _stable_order(sa: NDArray[np.intp], n_sa: int) -> NDArray[np.intp]:
    """``argsort(sa, kind="stable")`` by 16-bit radix passes (NumPy radix-sorts 16-bit keys)."""
    order = np.argsort((sa & 0xFFFF).astype(np.uint16), kind="stable")
    for shift in range(16, max(n_sa - 1, 1).bit_length(), 16):
        order = order[np.argsort((sa[order] >> shift).astype(np.uint16), kind="stable")]
    return order
