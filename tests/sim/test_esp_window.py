"""The batch anti-replay window equals the packet-by-packet ReplayWindow (outcomes and later behaviour)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.protocol.anti_replay import ReplayWindow
from hasim.sim.esp_window import receive_batch


def _reference(win: ReplayWindow, seqs: list[int]) -> list[int]:
    return [int(win.receive(s)) for s in seqs]


@settings(max_examples=200, deadline=None)
@given(
    size=st.sampled_from([32, 64, 100]),
    esn=st.booleans(),
    start=st.integers(0, 300),
    batches=st.lists(st.lists(st.integers(-40, 200), max_size=40), min_size=1, max_size=4),
)
def test_batches_equal_packet_by_packet(size: int, esn: bool, start: int, batches: list[list[int]]) -> None:
    ref = ReplayWindow(size, esn=esn)
    vec = ReplayWindow(size, esn=esn)
    if start:
        ref.receive(start)
        vec.receive(start)
    for offsets in batches:
        seqs = [max(1, start + o) for o in offsets]
        start += 37
        expected = _reference(ref, seqs)
        got, vec = receive_batch(vec, np.array(seqs, dtype=np.int64))
        assert got.tolist() == expected
        assert vec.top == ref.top
        for s in range(max(0, ref.top - size - 3), ref.top + 3):
            assert vec.seen(s) == ref.seen(s)


def test_esn_far_old_packet_is_unverifiable() -> None:
    win = ReplayWindow(32, esn=True, top=2**32 + 100, words=(0, 0))
    got, after = receive_batch(win, np.array([5, 2**32 + 101, 2**32 + 101], dtype=np.int64))
    assert got.tolist() == [3, 0, 1]  # unverifiable (A2.2), accepted, duplicate
    assert after.top == 2**32 + 101
