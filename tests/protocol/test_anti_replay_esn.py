"""Extended Sequence Numbers: hand-worked cases of RFC 4303 Appendix A2 (A2.2 high-bit inference)."""

from __future__ import annotations

import pytest

from hasim.protocol.anti_replay import ReplayOutcome, ReplayWindow, infer_esn

A, D, OLD, U = (
    ReplayOutcome.ACCEPTED,
    ReplayOutcome.DUPLICATE,
    ReplayOutcome.TOO_OLD,
    ReplayOutcome.UNVERIFIABLE,
)
S = 2**32  # one sequence-number subspace


def test_case_a_window_within_one_subspace() -> None:
    # T = 1:0x1000 (Th = 1, Tl = 4096), W = 64. Tl >= W - 1 -> Case A. Bl = Tl - W + 1 = 4033.
    assert infer_esn(S + 4096, 64, 4033) == S + 4033  # Seql >= Bl -> Seqh = Th = 1
    assert infer_esn(S + 4096, 64, 4032) == 2 * S + 4032  # Seql < Bl -> Seqh = Th + 1 = 2
    assert infer_esn(S + 4096, 64, 5000) == S + 5000
    w = ReplayWindow(64, esn=True, top=S + 4096)
    assert w.check(S + 4033) is A  # inside: T - n = 63 < 64
    # the true number S + 4032 is just outside (T - n = 64); the receiver infers 2:4032 instead,
    # so the ICV, computed over the true high bits, fails
    assert w.check(S + 4032) is U
    # wire-only: the receiver cannot tell, and takes 2:4032 as a packet far ahead
    assert w.check(4032, wire=True) is A


def test_case_b_window_spans_two_subspaces() -> None:
    # T = 2:16 (Th = 2, Tl = 16), W = 64. Tl < W - 1 -> Case B. Bl = 16 - 63 mod 2**32 = 2**32 - 47.
    top = 2 * S + 16
    assert infer_esn(top, 64, S - 47) == S + S - 47  # Seql >= Bl -> Seqh = Th - 1 = 1
    assert infer_esn(top, 64, S - 48) == 2 * S + S - 48  # Seql < Bl -> Seqh = Th = 2
    assert infer_esn(top, 64, 5) == 2 * S + 5
    w = ReplayWindow(64, esn=True, top=top)
    assert w.check(2 * S - 47) is A  # T - n = (2S + 16) - (2S - 47) = 63: just inside
    assert w.check(2 * S - 48) is U  # T - n = 64: just outside -> inferred 2:(S - 48), wrong
    assert w.check(2 * S + 5) is A
    assert w.check(2 * S + 17) is A  # ahead


def test_wrap_of_the_low_32_bits() -> None:
    w = ReplayWindow(64, esn=True, top=S - 2)
    # T = 0:(2**32 - 2): Case A, Bl = 2**32 - 65. Low 0 < Bl -> Seqh = 1 -> 2**32, ahead.
    assert w.receive(S) is A
    assert w.top == S
    # Now T = 1:0, Case B, Bl = 0 - 63 mod 2**32 = 2**32 - 63. The late packet 2**32 - 1 (low
    # 0xFFFFFFFF >= Bl -> Seqh = 0) is found just below the wrap, inside the window.
    assert w.receive(S - 1) is A
    assert w.receive(S - 1) is D
    assert w.receive(S + 1) is A
    assert w.receive(S - 2) is A  # T - n = 3
    assert w.receive(S - 62) is A  # (S + 1) - (S - 62) = 63 < 64: the window's bottom, across the wrap
    assert w.receive(S - 63) is U  # (S + 1) - (S - 63) = 64: outside
    assert w.top == S + 1


def test_wrap_boundary_exactly() -> None:
    # T = 2**32 + 1, W = 64: the window is S - 62 .. S + 1.
    w = ReplayWindow(64, esn=True, top=S + 1)
    assert w.check(S - 62) is A  # T - n = 63
    assert w.check(S - 63) is U  # T - n = 64: outside; inferred as 1:(S - 63), the ICV fails
    assert w.check(S - 63, wire=True) is A  # wire-only: taken as 2**33 - 63, far ahead


def test_first_packet_with_esn() -> None:
    w = ReplayWindow(64, esn=True)
    # T = 0: Case B with Th = 0. Bl = 0 - 63 mod 2**32 = 2**32 - 63.
    assert w.check(0) is D  # 0:0 is never sent
    assert w.check(S - 10, wire=True) is U  # low >= Bl -> Seqh = -1: no such number
    assert w.check(S - 10) is U
    # The farthest a packet may be ahead and still verify: T + 2**32 - W = 2**32 - 64 (low < Bl).
    assert w.check(S - 64) is A
    assert w.receive(1) is A
    assert w.top == 1


def test_end_of_the_esn_space() -> None:
    top = 2**64 - 10  # Th = 2**32 - 1, Tl = 2**32 - 10: Case A, Bl = 2**32 - 73
    w = ReplayWindow(64, esn=True, top=top)
    assert w.check(2**64 - 1) is A
    assert w.check(5, wire=True) is U  # Seql < Bl -> Seqh = 2**32: beyond the 64-bit space
    assert w.receive(2**64 - 1) is A


def test_esn_too_old_is_unverifiable_not_too_old() -> None:
    w = ReplayWindow(32, esn=True)
    w.receive(1000)
    assert w.check(969) is A  # 1000 - 969 = 31
    assert w.check(968) is U  # 32 behind: A2.2 puts low 968 in subspace 1
    assert w.check(S + 968) is A  # ...the number the receiver infers: T + 2**32 - W, the farthest ahead
    assert w.check(S + 969) is U  # one more: inferred as 0:969, the ICV fails


@pytest.mark.parametrize("size", [0, 32, 1024, 65536])
def test_inference_is_the_one_number_in_the_window_range(size: int) -> None:
    # A2.2 in one line: n is the number with these low bits in [T - W + 1, T - W + 2**32].
    w = size or 2**31
    for top in (0, 5, w - 2, w - 1, w, S - 1, S, S + w - 2, 7 * S + 123_456):
        for low in (0, 1, (top - w + 1) % S, (top - w) % S, top % S, (top + 1) % S, S - 1):
            n = infer_esn(top, size, low)
            lo = top - w + 1
            expected = lo + ((low - lo) % S)
            assert n == (expected if expected >= 0 else None), (top, low)
