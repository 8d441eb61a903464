"""The vectorized window gives the reference window's outcomes, packet for packet, and the same state."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import ReplayOutcome, ReplayWindow
from hasim.sim.dataplane import (
    WindowState,
    check_batch,
    check_batch_reference,
    check_each,
    count_outcomes,
    receive_batch,
)

S = 2**32
A, D, OLD, U = (int(o) for o in ReplayOutcome)


def _stream(start: int, steps: list[int], limit: int) -> np.ndarray:
    out, cur = [], start
    for step in steps:
        cur = min(max(cur + step, 0), limit)
        out.append(cur)
    return np.array(out, dtype=np.uint64)


def _compare(state: WindowState, seqs: np.ndarray, cuts: list[int], wire: bool = False) -> WindowState:
    """Feed ``seqs`` cut at ``cuts`` through both paths; outcomes and states must agree after every batch."""
    ref = state
    bounds = sorted({0, seqs.size, *(c % (seqs.size + 1) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        got, state = check_batch(state, seqs[lo:hi], wire=wire)
        want, ref = check_batch_reference(ref, seqs[lo:hi], wire=wire)
        assert got.tolist() == want.tolist(), (lo, hi)
        assert state == ref
    return state


def _steps(size: int, esn: bool) -> st.SearchStrategy[int]:
    w = max(size, 64)
    base = [
        st.integers(1, 3),
        st.integers(-2 * w, 0),
        st.sampled_from([0, -1, -(w - 1), -w, -(w + 1), w, w + 1, 64, 65, 64 * 40]),
    ]
    if esn:
        base.append(st.sampled_from([2**31, S - size, S - size + 1, S, -S, 2 * S]))
    return st.one_of(*base)


@st.composite
def scenarios(draw: st.DrawFn, esn: bool) -> tuple[WindowState, np.ndarray, list[int]]:
    size = draw(st.sampled_from([0, 32, 33, 64, 100, 1024, 4096, 65536]))
    limit = 2**64 - 1 if esn else S - 1
    if esn:
        start = draw(st.one_of(st.integers(0, 3000), st.integers(S - 3000, S + 3000), st.integers(0, limit)))
    else:
        start = draw(st.one_of(st.integers(0, 3000), st.integers(0, limit)))
    warmup = _stream(start, draw(st.lists(_steps(size, esn), max_size=30)), limit)
    steps = draw(st.lists(_steps(size, esn), min_size=1, max_size=150))
    cuts = draw(st.lists(st.integers(0, 200), max_size=4))
    window = ReplayWindow(size, esn=esn)
    for seq in warmup.tolist():
        window.receive(seq)
    state = WindowState.from_window(window)
    last = int(warmup[-1]) if warmup.size else start
    return state, _stream(last, steps, limit), cuts


@settings(max_examples=250, deadline=None)
@given(case=scenarios(esn=False))
def test_equal_to_reference_without_esn(case: tuple[WindowState, np.ndarray, list[int]]) -> None:
    _compare(*case)


@settings(max_examples=250, deadline=None)
@given(case=scenarios(esn=True))
def test_equal_to_reference_with_esn(case: tuple[WindowState, np.ndarray, list[int]]) -> None:
    _compare(*case)


@settings(max_examples=200, deadline=None)
@given(case=scenarios(esn=True))
def test_equal_to_reference_with_esn_wire_values(case: tuple[WindowState, np.ndarray, list[int]]) -> None:
    state, seqs, cuts = case
    _compare(state, seqs & np.uint64(S - 1), cuts, wire=True)


@settings(max_examples=100, deadline=None)
@given(case=scenarios(esn=True))
def test_check_each_equals_reference_check(case: tuple[WindowState, np.ndarray, list[int]]) -> None:
    state, seqs, _ = case
    window = state.to_window()
    assert check_each(state, seqs).tolist() == [int(window.check(int(s))) for s in seqs]


def _lossy_stream(rng: np.random.Generator, start: int, n: int, loss: float, reorder: float) -> np.ndarray:
    seqs = np.arange(start, start + int(n * (1 + 2 * loss)) + 10, dtype=np.uint64)
    seqs = seqs[rng.random(seqs.size) >= loss][:n]
    for i in np.flatnonzero(rng.random(n - 3) < reorder):
        seqs[i], seqs[i + 2] = seqs[i + 2], seqs[i]
    return seqs


@pytest.mark.parametrize("size", [32, 1024, 65536])
def test_long_lossy_reordered_stream_across_the_wrap(size: int) -> None:
    # The benchmark's traffic: in order, 1% loss, 0.1% reordering, plus replays of old packets, ESN on,
    # crossing the low-32-bit wrap, cut into batches of random sizes.
    rng = np.random.default_rng(size)
    seqs = _lossy_stream(rng, S - 30_000, 60_000, 0.01, 0.001)
    replays = rng.choice(seqs, 300)
    mixed = np.insert(seqs, rng.integers(0, seqs.size, 300), replays)
    state = WindowState(size, True, S - 30_001, np.zeros(WindowState.initial(size).words.size, np.uint64))
    cuts = rng.integers(0, mixed.size, 12).tolist()
    end = _compare(state, mixed, cuts)
    assert end.top == int(seqs.max())


def test_batch_matches_hand_worked_outcomes() -> None:
    state = WindowState.initial(32)
    out, state = check_batch(state, [1, 2, 2, 40, 8, 9, 0, 9, 41, 10])
    # 40 moves the window to 9..40: 8 is too old (40 - 8 = 32), 9 is new (31); 0 is too old (and
    # never sent); the second 9 is a duplicate; 41 moves the window to 10..41; 10 is new.
    assert out.tolist() == [A, A, D, A, OLD, A, OLD, D, A, A]
    assert state.top == 41
    assert count_outcomes(out) == {
        ReplayOutcome.ACCEPTED: 6,
        ReplayOutcome.DUPLICATE: 2,
        ReplayOutcome.TOO_OLD: 2,
        ReplayOutcome.UNVERIFIABLE: 0,
    }


def test_esn_jump_too_far_ends_a_segment() -> None:
    # W = 64. A packet more than 2**32 - W ahead of the edge cannot verify (A2.2 infers the wrong
    # high bits) and must not move the edge for the packets after it.
    state = WindowState.initial(64, esn=True)
    _, state = check_batch(state, [1000])
    seqs = [1001, 1001 + S - 63, 1002, 1001 + S - 64, 1003, 1002]
    out, after = check_batch(state, seqs)
    # 1001: edge 1001. 1001 + S - 63 is S - 63 ahead: U. 1002: edge 1002. 1001 + S - 64 is S - 65
    # ahead: A, edge S + 937. 1003 and 1002 are now S - 66 and S - 65 behind: far below, U.
    assert out.tolist() == [A, U, A, A, U, U]
    assert after.top == S + 937
    want, ref = check_batch_reference(state, seqs)
    assert out.tolist() == want.tolist() and after == ref


def test_empty_and_single_batches_and_input_state_untouched() -> None:
    state = WindowState.initial(1024, esn=True)
    before = state.copy()
    out, same = check_batch(state, np.zeros(0, dtype=np.uint64))
    assert out.size == 0 and same == state
    out, after = check_batch(state, [5])
    assert out.tolist() == [A] and after.top == 5
    assert state == before  # the old state is a usable stale snapshot


def test_input_validation() -> None:
    with pytest.raises(ProtocolError):
        check_batch(WindowState.initial(32), [S])  # 33 bits without ESN
    with pytest.raises(ProtocolError):
        check_batch(WindowState.initial(32), np.array([-1]))
    with pytest.raises(ProtocolError):
        check_batch(WindowState.initial(32, esn=True), [2**64, 1])
    with pytest.raises(ProtocolError):
        check_batch(WindowState.initial(32, esn=True), [2**64 - 1, -1])
    out, _ = check_batch(WindowState.initial(32, esn=True), [2**63 + 1, 2**64 - 1])  # beyond int64: fine
    assert out.tolist() == [U, U]  # both far more than 2**32 - 32 ahead of edge 0
    out, _ = check_batch(WindowState.initial(32), np.array([S + 5]), wire=True)  # wire keeps low bits
    assert out.tolist() == [A]


def test_state_conversions_and_received_numbers() -> None:
    window = ReplayWindow(64)
    for s in (3, 5, 70):
        window.receive(s)
    state = WindowState.from_window(window)
    assert state.to_window() == window
    assert state.received_numbers().tolist() == [70]  # window 7..70: only 70 is inside and received
    assert state.seen_mask(np.array([5, 69, 70], dtype=np.uint64)).tolist() == [False, False, True]
    strict = state.mark_received_through(100)
    assert strict.top == 100 and strict.received_numbers().tolist() == list(range(37, 101))


def test_receive_batch_on_a_reference_window() -> None:
    # drop-in form for callers holding a ReplayWindow; includes an ESN jump too far (U) that must
    # not move the edge: 1001 is then still accepted
    window = ReplayWindow(64, esn=True)
    window.receive(1000)
    out, after = receive_batch(window, [1000 + S - 10, 1001, 1001])
    assert out.tolist() == [U, A, D]
    assert after.top == 1001 and window.top == 1000


@pytest.mark.parametrize("n", [1, 15, 16, 17, 400])
def test_receive_batch_small_and_large_batches_agree(n: int) -> None:
    rng = np.random.default_rng(n)
    window = ReplayWindow(64, esn=True, top=S - 10)
    seqs = (S - 10 + rng.integers(-70, 40, n)).astype(np.uint64)
    out, after = receive_batch(window, seqs)
    want, ref = check_batch_reference(WindowState.from_window(window), seqs)
    assert out.tolist() == want.tolist() and WindowState.from_window(after) == ref
    assert window.top == S - 10


def test_low_32_bit_wrap_by_hand_true_and_wire() -> None:
    # RFC 4303 A2.2 across the wrap, W = 64, start edge 2**32 - 2 (received).
    window = ReplayWindow(64, esn=True, top=S - 2)
    window.update(S - 2)
    state = WindowState.from_window(window)
    true = [S, S - 1, S - 1, S + 1, S - 2, S - 62, S - 63]
    # S: Case A (Tl = S - 2 >= 63), Bl = S - 65, low 0 < Bl -> Seqh 1: ahead, edge S.
    # S - 1: Case B (Tl = 0), Bl = S - 63, low S - 1 >= Bl -> Seqh 0: 1 behind, new; then again: dup.
    # S + 1: low 1 < Bl -> Seqh 1: ahead, edge S + 1 (Bl = S - 62).
    # S - 2: Seqh 0, 3 behind, received before: dup. S - 62: 63 behind, new.
    # S - 63: low < Bl -> inferred 2**33 - 63, not the sender's number: U.
    out, after = check_batch(state, np.array(true, dtype=np.uint64))
    assert out.tolist() == [A, A, D, A, D, A, U] and after.top == S + 1
    # The same packets seen only on the wire: the last one is taken as 2**33 - 63, far ahead.
    out, after = check_batch(state, np.array(true, dtype=np.uint64) & np.uint64(S - 1), wire=True)
    assert out.tolist() == [A, A, D, A, D, A, A] and after.top == 2 * S - 63
