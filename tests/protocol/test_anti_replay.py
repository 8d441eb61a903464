"""The reference anti-replay window without ESN: hand-worked cases of RFC 4303 3.4.3 and Appendix A."""

from __future__ import annotations

import pytest

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import ReplayOutcome, ReplayWindow, n_words

A, D, OLD, U = (
    ReplayOutcome.ACCEPTED,
    ReplayOutcome.DUPLICATE,
    ReplayOutcome.TOO_OLD,
    ReplayOutcome.UNVERIFIABLE,
)


def test_first_packet_and_sequence_number_zero() -> None:
    w = ReplayWindow(32)
    # A fresh SA: right edge 0, nothing received. The first packet carries 1 (RFC 4303 3.3.3):
    # 1 > 0, so it is to the right of the window -> accepted, edge becomes 1.
    assert w.receive(1) is A
    assert w.top == 1
    # 0 is never sent; inside the window (1 - 0 = 1 < 32) and counted as seen -> duplicate.
    assert w.receive(0) is D


def test_window_edges_size_32() -> None:
    w = ReplayWindow(32)
    assert w.receive(100) is A  # right edge 100; window = 100 - 32 + 1 .. 100 = 69..100
    assert w.check(69) is A  # 100 - 69 = 31 < 32: just inside, not seen
    assert w.check(68) is OLD  # 100 - 68 = 32 >= 32: just outside -> too old
    assert w.receive(69) is A
    assert w.receive(69) is D  # its bit is now set
    assert w.receive(100) is D  # the right edge itself was received
    assert w.receive(101) is A  # new edge 101: window 70..101
    assert w.check(69) is OLD  # 101 - 69 = 32: has just dropped out
    assert w.check(70) is A  # 101 - 70 = 31, never received


def test_reordering_inside_window_then_duplicates() -> None:
    w = ReplayWindow(64)
    got = [w.receive(s) for s in (1, 3, 2, 5, 4, 3, 70, 6, 7, 6)]
    # 70 moves the window to 7..70: 6 is too old (70 - 6 = 64), 7 is inside and new (63 < 64).
    assert got == [A, A, A, A, A, D, A, OLD, A, OLD]


def test_check_does_not_update_until_icv_verified() -> None:
    # RFC 4303 3.4.3: the window is updated only after the ICV verifies. A forged packet with number
    # 50 passes the check but fails the ICV: the real packet 50 must still be accepted afterwards.
    w = ReplayWindow(32, top=40, words=None)
    assert w.check(50) is A
    assert w.top == 40
    assert w.check(50) is A
    w.update(50)
    assert w.check(50) is D


def test_update_rejects_a_number_below_the_window() -> None:
    w = ReplayWindow(32)
    w.receive(200)
    with pytest.raises(ProtocolError):
        w.update(100)


def test_largest_sequence_number_without_esn() -> None:
    w = ReplayWindow(32)
    top = 2**32 - 1
    assert w.receive(top) is A
    assert w.check(top - 31) is A  # inside: (2**32 - 1) - (2**32 - 32) = 31
    assert w.check(top - 32) is OLD
    with pytest.raises(ProtocolError):
        w.check(2**32)  # 33 bits need ESN


def test_ring_layout_rfc6479() -> None:
    # Window 64 -> ceil(64 / 64) + 1 = 2 words; window 65 -> 2 + 1 = 3; 1024 -> 17; 65536 -> 1025.
    assert [n_words(s) for s in (0, 32, 64, 65, 1024, 65536)] == [0, 2, 2, 3, 17, 1025]
    w = ReplayWindow(64)
    w.receive(70)  # block 70 >> 6 = 1, slot 1 % 2 = 1, bit 70 & 63 = 6
    assert w.words == (1, 1 << 6)  # slot 0 still holds block 0 with sequence number 0 marked
    w.receive(130)  # block 2 -> slot 0, cleared on entering, then bit 130 & 63 = 2
    assert w.words == (1 << 2, 1 << 6)
    w.receive(1000)  # 15 blocks ahead >= 2 words: whole ring cleared; bit 1000 & 63 = 40 in slot 15 % 2
    assert w.words == (0, 1 << 40)


def test_window_sizes() -> None:
    for bad in (1, 31, 65537, -1):
        with pytest.raises(ProtocolError):
            ReplayWindow(bad)
    big = ReplayWindow(65536)
    big.receive(100_000)
    assert big.check(100_000 - 65535) is A  # 65535 < 65536
    assert big.check(100_000 - 65536) is OLD


def test_size_zero_turns_the_check_off() -> None:
    w = ReplayWindow(0)
    assert [w.receive(s) for s in (5, 5, 1, 0, 4000)] == [A, A, A, A, A]
    assert w.top == 4000
    assert not w.seen(4000)


@pytest.mark.rfc("R8.2-1")
def test_mark_received_through_is_the_strict_safe_window() -> None:
    # Stale window at 100 with 90..100 received; the new member treats everything up to 100 + 50 as
    # received (RFC 6311 8.2 "safe" window): old packets 101..150 can no longer be replayed.
    w = ReplayWindow(64)
    for s in range(90, 101):
        w.receive(s)
    w.mark_received_through(150)
    assert w.top == 150
    # window after marking: 150 - 64 + 1 = 87 .. 150, all received
    assert [w.check(s) for s in (86, 87, 120, 150, 151)] == [OLD, D, D, D, A]
    # an edge below the top marks what lies inside the window up to the edge
    v = ReplayWindow(64)
    v.receive(200)
    v.mark_received_through(180)
    assert [v.check(s) for s in (136, 137, 180, 181, 199)] == [OLD, D, D, A, A]


def test_copy_is_independent_and_equal() -> None:
    w = ReplayWindow(32)
    w.receive(10)
    snap = w.copy()
    assert snap == w
    w.receive(11)
    assert snap != w
    assert snap.check(11) is A
