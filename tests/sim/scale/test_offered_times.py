"""The bank's offered times (hasim.sim.scale.offered) are, bit for bit, each flow's ``ArrivalProcess.until``:
Poisson flows of rates from one to a thousand packets per second, a constant and an on/off flow and one of
rate zero among them, epoch after epoch, with the last epoch's unsent times put first, cut into many
ranges of flows or one, and with flows drawing too few in their row (the fall-back, one call at a time)."""

from __future__ import annotations

import numpy as np
import pytest

import hasim.sim.scale.offered as offered
from hasim.sim.dataplane.traffic import ArrivalProcess
from hasim.sim.scale.offered import OfferedTimes, row_length

ENDS = [0.004, 0.7, 0.7, 3.0, 3.05, 9.5, 30.0, 31.0]


def _procs(seed: int) -> list[ArrivalProcess]:
    rates = np.geomspace(1.0, 1000.0, 23).tolist()
    procs = [ArrivalProcess("poisson", r, np.random.default_rng([seed, i])) for i, r in enumerate(rates)]
    procs.insert(5, ArrivalProcess("constant", 40.0, np.random.default_rng([seed, 100])))
    procs.insert(9, ArrivalProcess("onoff", 90.0, np.random.default_rng([seed, 101]), on_s=0.5, off_s=0.3))
    procs.insert(14, ArrivalProcess("poisson", 0.0, np.random.default_rng([seed, 102])))
    return procs


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype=np.float64).tobytes()


def _check(seed: int) -> None:
    ref, mine = _procs(seed), _procs(seed)
    # one process has drawn ahead before the bank takes it (its held times go first)
    ref[3].next_time()
    mine[3].next_time()
    bank = OfferedTimes(mine)
    n = len(ref)
    bufs: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(seed)
    rest_ref = [np.zeros(0) for _ in range(n)]
    for end in ENDS:
        want = [np.concatenate((rest_ref[f], ref[f].until(end))) for f in range(n)]
        rest_len = np.array([r.shape[0] for r in rest_ref], dtype=np.int64)
        rest = np.concatenate(rest_ref)
        times, seg = bank.fill(end, rest, rest_len, bufs, 16)
        assert seg.shape[0] == n + 1 and int(seg[-1]) == times.shape[0]
        for f in range(n):
            got = times[int(seg[f]) : int(seg[f + 1])]
            assert _bits(got) == _bits(want[f]), (end, f)
            if ref[f].rate > 0:
                assert bank.next_after_epoch(f) == ref[f].next_time(), (end, f)
        # some of each flow's times are not sent before the next epoch (invented, any values do)
        rest_ref = [w[w.shape[0] - int(rng.integers(0, w.shape[0] + 1)) :] for w in want]
        times = np.zeros(0)


@pytest.mark.parametrize("seed", [1, 2])
def test_epochs_are_each_flows_own_times(seed: int) -> None:
    _check(seed)


def test_in_many_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(offered, "RANGE_DRAWS", 50)
    _check(3)


def test_rows_short_of_the_end_draw_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """With rows of the mean length about half the flows draw too few; the fall-back draws the rest."""
    monkeypatch.setattr(offered, "SIGMAS", -1.0)
    monkeypatch.setattr(offered, "MARGIN", 0)
    _check(4)


def test_tail_room_grown(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new tail's room, too small from the start, grows range by range."""
    monkeypatch.setattr(offered, "tail_room", lambda want, kept: 0)
    monkeypatch.setattr(offered, "RANGE_DRAWS", 200)
    _check(6)


def test_next_time_before_any_epoch() -> None:
    ref, mine = _procs(5), _procs(5)
    bank = OfferedTimes(mine)
    for f in (0, 7, 22):
        assert bank.next_after_epoch(f) == ref[f].next_time()
    times, seg = bank.fill(2.0, np.zeros(0), np.zeros(len(ref), dtype=np.int64), {}, 16)
    for f in (0, 7, 22):
        assert _bits(times[int(seg[f]) : int(seg[f + 1])]) == _bits(ref[f].until(2.0))


def test_row_lengths() -> None:
    n = np.array([0, 1, 3, 4, 5, 7, 8, 9, 16, 17, 200, 1000], dtype=np.int64)
    # a quarter of the power of two at or below n, at least 1: 0 -> 1; 9 -> 10 (steps of 2); 17 -> 20
    # (steps of 4); 200 -> 224 (steps of 32); 1000 -> 1024 (steps of 128)
    assert row_length(n).tolist() == [1, 1, 3, 4, 5, 7, 8, 10, 16, 20, 224, 1024]
