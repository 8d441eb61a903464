"""Shared state and window bookkeeping: snapshots round-trip, windows only move forward."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from protocol_harness import forge, make_snapshot, pair, rng_bytes

from hasim.protocol.child_sa import ChildSa, ChildSaSnapshot
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.mid_window import RequestWindow, ResponseWindow
from hasim.protocol.policy import IkeConfig
from hasim.protocol.snapshot import Capabilities, SyncValues
from hasim.wire import MessageIdSync, ReplayCounterSync


@given(
    ns=st.integers(0, 2**31),
    nr=st.integers(0, 2**31),
    window=st.integers(1, 8),
    caps=st.tuples(st.booleans(), st.booleans()),
    seqs=st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 2**31), st.booleans()), max_size=3),
    last=st.none() | st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**31), st.integers(0, 2**31)),
    hs=st.integers(-1, 2**31),
)
def test_snapshot_round_trips_through_an_ike_sa(
    ns: int,
    nr: int,
    window: int,
    caps: tuple[bool, bool],
    seqs: list[tuple[int, int, bool]],
    last: tuple[int, int, int] | None,
    hs: int,
) -> None:
    kids = tuple(ChildSaSnapshot(0x1000 + k, 0x2000 + k, esn, o, i) for k, (o, i, esn) in enumerate(seqs))
    snap = make_snapshot(next_send=ns, next_recv=nr, window=window, caps=Capabilities(*caps), children=kids)
    snap = snap.with_changes(
        last_sync=SyncValues(*last, None) if last else None, highest_sync_m1=hs, taken_at=3.0
    )
    sa = IkeSa.from_snapshot(snap, IkeConfig(window_size=window), rng_bytes(0))
    again = sa.snapshot(3.0)
    assert again.with_changes(children=()) == snap.with_changes(children=())
    for a, b in zip(again.children, snap.children, strict=True):
        assert (a.spi_in, a.spi_out, a.esn, a.out_seq, a.in_highest) == (
            b.spi_in,
            b.spi_out,
            b.esn,
            b.out_seq,
            b.in_highest,
        )
    assert IkeSa.from_snapshot(again, IkeConfig(window_size=window), rng_bytes(0)).snapshot(3.0) == again


def test_replay_bitmap_travels_in_the_snapshot() -> None:
    c = ChildSa(0x1000, 0x2000, replay_window=64)
    for seq in (1, 2, 5, 9):
        c.inbound.receive(seq)
    copy = ChildSa.from_snapshot(c.snapshot(), replay_window=64)
    assert copy.inbound == c.inbound and copy.inbound.seen(5) and not copy.inbound.seen(4)


def test_mirrored_snapshot_is_the_other_sides_view() -> None:
    snap = make_snapshot(next_send=7, next_recv=3)
    other = snap.mirrored()
    assert (other.next_send_mid, other.next_recv_mid, other.original_initiator) == (3, 7, True)
    assert other.children[0].spi_in == snap.children[0].spi_out
    assert other.mirrored().with_changes(highest_recv_mid=2) == snap.with_changes(highest_recv_mid=2)


def test_request_window_limits_outstanding_requests() -> None:
    from hasim.protocol.retransmit import PendingRequest

    w = RequestWindow(next_mid=10, size=2)
    for _ in range(2):
        mid = w.allocate()
        w.add(PendingRequest(mid, 37, "x", b"", 0.0, 0.0))
    assert not w.can_send()
    w.complete(11)
    assert not w.can_send()  # 12 would be 2 above the lowest outstanding (10)
    w.complete(10)
    assert w.can_send() and w.highest_used() == 11


def test_response_window_only_moves_forward() -> None:
    w = ResponseWindow(base=5, size=3)
    assert w.classify(4) == w.OUT_OF_WINDOW and w.classify(7) == w.NEW and w.classify(8) == w.OUT_OF_WINDOW
    w.accept(6, b"r6")
    assert w.base == 5 and w.highest == 6
    w.accept(5, b"r5")
    assert w.base == 7 and w.classify(6) == w.RETRANSMIT
    w.reset(4)  # never backwards
    assert w.base == 7 and w.classify(5) == w.RETRANSMIT
    w.reset(10)  # R9-3: 7..9 no longer expected
    assert w.base == 10 and w.highest == 9 and w.classify(8) == w.OUT_OF_WINDOW


def test_esn_child_sas_take_an_eight_octet_delta() -> None:
    kids = (ChildSaSnapshot(0x1000, 0x2000, True, 2**33),)
    mirror = (ChildSaSnapshot(0x2000, 0x1000, True, 0, 2**33),)
    link = pair(
        member_snap=make_snapshot(children=kids), peer_snap=make_snapshot(initiator=True, children=mirror)
    )
    req = forge(
        link.a, 0, (MessageIdSync(1, 5, 0).to_notify(), ReplayCounterSync(2**32 + 5, True).to_notify())
    )
    link.b.receive(req, 1.0)
    assert link.b.children[0].out_seq == 2**32 + 5
