"""Many SAs in one pass: the bank gives each SA exactly what check_batch gives it alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import ReplayOutcome
from hasim.sim.dataplane import WindowState, check_batch
from hasim.sim.dataplane.window_bank import WindowBank, check_bank

S = 2**32


def _per_sa(bank: WindowBank, sa: np.ndarray, seqs: np.ndarray) -> tuple[np.ndarray, list[WindowState]]:
    out = np.zeros(seqs.size, dtype=np.int8)
    states = []
    for i in range(bank.n_sa):
        mine = sa == i
        res, state = check_batch(bank.state(i), seqs[mine])
        out[mine] = res
        states.append(state)
    return out, states


def _assert_same(bank: WindowBank, sa: np.ndarray, seqs: np.ndarray) -> WindowBank:
    got, after = check_bank(bank, sa, seqs)
    want, states = _per_sa(bank, sa, seqs)
    assert got.tolist() == want.tolist()
    assert after == WindowBank.from_states(states)
    return after


@st.composite
def traffic(draw: st.DrawFn) -> tuple[WindowBank, list[tuple[np.ndarray, np.ndarray]]]:
    esn = draw(st.booleans())
    size = draw(st.sampled_from([0, 32, 64, 100, 1024]))
    n_sa = draw(st.integers(1, 6))
    limit = 2**64 - 1 if esn else S - 1
    starts = draw(
        st.lists(
            st.one_of(st.integers(0, 500), st.integers(S - 500, S + 500) if esn else st.integers(0, limit)),
            min_size=n_sa,
            max_size=n_sa,
        )
    )
    starts = [min(x, limit) for x in starts]
    warm = []
    for x in starts:
        w = WindowState.initial(size, esn=esn)
        if x:
            _, w = check_batch(w, [x])
        warm.append(w)
    bank = WindowBank.from_states(warm)
    steps = st.one_of(
        st.integers(1, 3),
        st.integers(-2 * max(size, 40), 0),
        st.sampled_from(
            [0, -size, 1 - size, 64, 5000] + ([S - size, S - size + 1, 2**31, -S] if esn else [])
        ),
    )
    batches = []
    cur = list(starts)
    for _ in range(draw(st.integers(1, 3))):
        sa = np.array(draw(st.lists(st.integers(0, n_sa - 1), min_size=1, max_size=120)), dtype=np.intp)
        seqs = []
        for i in sa.tolist():
            cur[i] = min(max(cur[i] + draw(steps), 0), limit)
            seqs.append(cur[i])
        batches.append((sa, np.array(seqs, dtype=np.uint64)))
    return bank, batches


@settings(max_examples=200, deadline=None)
@given(case=traffic())
def test_bank_equals_check_batch_per_sa(case: tuple[WindowBank, list[tuple[np.ndarray, np.ndarray]]]) -> None:
    bank, batches = case
    for sa, seqs in batches:
        bank = _assert_same(bank, sa, seqs)


def test_bank_with_wide_esn_jumps_falls_back_exactly() -> None:
    bank = WindowBank.initial(3, 64, esn=True)
    # SA 1 climbs by 2**32 - 64 (the farthest that verifies) 20 times in one batch: about 2**36.3
    # from its start edge, beyond the 2**34 the shared pass handles; SAs 0 and 2 stay small.
    climb = [1 + k * (S - 64) for k in range(21)]
    sa = np.array([0] + [1] * 21 + [2, 0, 1, 2], dtype=np.intp)
    seqs = np.array([5, *climb, 7, 6, 3, 7], dtype=np.uint64)
    after = _assert_same(bank, sa, seqs)
    assert int(after.tops[1]) == climb[-1]
    assert int(after.tops[0]) == 6 and int(after.tops[2]) == 7


def test_thousands_of_sas_interleaved() -> None:
    rng = np.random.default_rng(5)
    n_sa, per = 2000, 50
    bank = WindowBank.initial(n_sa, 128, esn=True)
    sa = np.repeat(np.arange(n_sa), per)
    seqs = np.tile(np.arange(1, per + 1, dtype=np.uint64), n_sa) + np.repeat(
        rng.integers(0, 2**40, n_sa).astype(np.uint64), per
    )
    shuffle = rng.permutation(sa.size)
    bank = WindowBank.from_states(
        [WindowState(128, True, int(seqs[i * per]) - 1, np.zeros(3, np.uint64)) for i in range(n_sa)]
    )
    sa, seqs = sa[shuffle], seqs[shuffle]  # heavy reordering within each SA
    out, after = check_bank(bank, sa, seqs)
    assert (out == ReplayOutcome.ACCEPTED).sum() == sa.size  # every number is new and within 128
    _assert_same(bank, sa, seqs)
    out, _ = check_bank(after, sa[:100], seqs[:100])
    assert (out == ReplayOutcome.DUPLICATE).all()
    grouped = np.argsort(sa, kind="stable")  # per-SA arrays concatenated: the order between SAs is free
    out_grouped, after_grouped = check_bank(bank, sa[grouped], seqs[grouped])
    assert out_grouped.tolist() == check_bank(bank, sa, seqs)[0][grouped].tolist()
    assert after_grouped == after


def test_bank_validation() -> None:
    bank = WindowBank.initial(2, 32)
    with pytest.raises(ProtocolError):
        check_bank(bank, [2], [1])
    with pytest.raises(ProtocolError):
        check_bank(bank, [0, 1], [1])
    with pytest.raises(ProtocolError):
        check_bank(bank, [0], [S])
    out, same = check_bank(bank, [], [])
    assert out.size == 0 and same == bank
