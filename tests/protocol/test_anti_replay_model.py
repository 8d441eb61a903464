"""The reference window against a plain model: a set of every number received and the maximum.

The model keeps no bitmap and no ring, only ``seen`` (all numbers ever received, 0 included) and
``top``; its ESN high-bit inference is RFC 4303 A2.2's text transcribed case by case. Any
difference in outcome or right edge is a bug in one of them.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.protocol.anti_replay import ReplayOutcome, ReplayWindow

S = 2**32


class SetModel:
    """Receiver as RFC 4303 3.4.3 describes it, with unbounded memory."""

    def __init__(self, size: int, esn: bool) -> None:
        self.size, self.esn = size, esn
        self.seen = {0}
        self.top = 0

    def _seqh(self, seql: int) -> int:
        w = self.size or 2**31
        th, tl = divmod(self.top, S)
        if tl >= w - 1:  # Case A
            return th if seql >= tl - w + 1 else th + 1
        return th - 1 if seql >= (tl - w + 1) % S else th  # Case B

    def receive(self, seq: int, wire: bool = False) -> ReplayOutcome:
        if self.esn:
            seqh = self._seqh(seq % S)
            inferred = seqh * S + seq % S
            if seqh < 0 or seqh >= S or (not wire and inferred != seq):
                return ReplayOutcome.UNVERIFIABLE
            seq = inferred
        if self.size and seq <= self.top:
            if self.top - seq >= self.size:
                return ReplayOutcome.TOO_OLD
            if seq in self.seen:
                return ReplayOutcome.DUPLICATE
        self.seen.add(seq)
        self.top = max(self.top, seq)
        return ReplayOutcome.ACCEPTED


def _stream(start: int, steps: list[int], limit: int) -> list[int]:
    out, cur = [], start
    for step in steps:
        cur = min(max(cur + step, 0), limit)
        out.append(cur)
    return out


small_steps = st.one_of(
    st.integers(1, 3),  # in order, with small gaps
    st.integers(-80, 0),  # reordering and duplicates
    st.sampled_from([0, -1, -31, -32, -33, -63, -64, -65, 1000, 70_000]),  # window edges, jumps
)
esn_steps = st.one_of(small_steps, st.sampled_from([2**31, 2**32 - 64, 2**32 - 63, 2**32, -(2**32), 2**33]))


@settings(max_examples=300, deadline=None)
@given(
    size=st.sampled_from([0, 32, 33, 64, 100, 1024]),
    start=st.integers(0, 2**32 - 1),
    steps=st.lists(small_steps, max_size=120),
)
def test_reference_equals_set_model_without_esn(size: int, start: int, steps: list[int]) -> None:
    ref, model = ReplayWindow(size), SetModel(size, False)
    for seq in _stream(start, steps, S - 1):
        assert ref.receive(seq) is model.receive(seq), seq
        assert ref.top == model.top


@settings(max_examples=300, deadline=None)
@given(
    size=st.sampled_from([0, 32, 64, 100, 1024]),
    start=st.one_of(st.integers(0, 2000), st.integers(S - 2000, S + 2000), st.integers(0, 2**64 - 1)),
    steps=st.lists(esn_steps, max_size=120),
    wire=st.booleans(),
)
def test_reference_equals_set_model_with_esn(size: int, start: int, steps: list[int], wire: bool) -> None:
    ref, model = ReplayWindow(size, esn=True), SetModel(size, True)
    for seq in _stream(start, steps, 2**64 - 1):
        sent = seq % S if wire else seq
        assert ref.receive(sent, wire=wire) is model.receive(sent, wire=wire), seq
        assert ref.top == model.top


@settings(max_examples=100, deadline=None)
@given(
    size=st.sampled_from([32, 64, 1024]),
    steps=st.lists(small_steps, min_size=1, max_size=80),
    edge_step=st.integers(-200, 3000),
)
def test_strict_mark_equals_model_marking_everything(size: int, steps: list[int], edge_step: int) -> None:
    ref, model = ReplayWindow(size), SetModel(size, False)
    for seq in _stream(100, steps, S - 1):
        ref.receive(seq)
        model.receive(seq)
    edge = max(model.top + edge_step, 0)
    ref.mark_received_through(edge)
    model.seen |= set(range(max(edge - size - 5, 0), edge + 1))
    model.top = max(model.top, edge)
    # the numbers just above the edge first, out of order, then everything around the window
    probe = [model.top + 5, model.top + 2, *range(max(model.top - size - 3, 0), model.top + 8)]
    for seq in probe:
        assert ref.receive(seq) is model.receive(seq), seq
