"""A Child SA whose counter and window are leased: the holder hears of every read and replacement first."""

from __future__ import annotations

from hasim.protocol.anti_replay import ReplayWindow
from hasim.protocol.child_sa import ChildSa
from hasim.protocol.esp_counter import OutboundCounter


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def before_outbound(self, child: ChildSa) -> None:
        self.calls.append("outbound")

    def before_inbound(self, child: ChildSa) -> None:
        self.calls.append("inbound")

    def before_replace(self, child: ChildSa) -> None:
        self.calls.append("replace")


def test_no_lease_no_calls_and_the_state_is_the_held_one() -> None:
    c = ChildSa(1, 2, out_seq=7, in_highest=9)
    assert c.lease is None
    assert c.outbound is c.held.outbound and c.inbound is c.held.inbound
    assert (c.out_seq, c.in_highest) == (7, 9)


def test_reads_and_replacements_reach_the_lease_first() -> None:
    c = ChildSa(1, 2, out_seq=7, in_highest=9)
    rec = Recorder()
    c.lease = rec
    assert c.next_out_seq() == 8
    assert c.in_highest == 9
    c.inbound = ReplayWindow(32, top=20)
    c.outbound = OutboundCounter(esn=False, last=100)
    assert rec.calls == ["outbound", "inbound", "replace", "replace"]
    assert (c.held.inbound.top, c.held.outbound.last) == (20, 100)


def test_max_seq_is_read_without_a_hand_back() -> None:
    c = ChildSa(1, 2, esn=True)
    rec = Recorder()
    c.lease = rec
    assert c.max_seq == 2**64 - 1
    assert rec.calls == []
