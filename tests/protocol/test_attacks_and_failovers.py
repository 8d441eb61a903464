"""Section 11 attacks (R11-1, R11-2) and section 2: multiple (R2-1) and simultaneous (R2-2) failover."""

from __future__ import annotations

import pytest
from protocol_harness import KEYS, MIRROR, Link, forge, make_snapshot, pair, rng_bytes

from hasim.protocol.events import IkeSaDeleted, SyncCompleted, SyncRequestSent
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig, SyncReading
from hasim.wire import MessageIdSync, Notify, NotifyType, decode

STRICT, SYNC_ONLY = SyncReading.STRICT, SyncReading.SYNC_ONLY


def state(sa: IkeSa) -> tuple[int, int, int, tuple[int, ...]]:
    return (
        sa.requests.next_mid,
        sa.responses.base,
        sa.highest_sync_m1,
        tuple(c.out_seq for c in sa.children),
    )


def synchronized(a: IkeSa, b: IkeSa) -> bool:
    return a.requests.next_mid == b.responses.base and b.requests.next_mid == a.responses.base


def sync_bytes(link: Link, src: str, response: bool) -> list[bytes]:
    out = []
    for s in link.sent_by(src):
        if (
            s.msg.response == response
            and s.msg.message_id == 0
            and any(
                isinstance(p, Notify) and p.notify_type == NotifyType.IKEV2_MESSAGE_ID_SYNC
                for p in s.msg.payloads
            )
        ):
            out.append(s.data)
    return out


@pytest.mark.rfc("R11-1")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_replayed_sync_request_is_dropped(reading: SyncReading) -> None:
    cfg = IkeConfig(reading=reading)
    link = pair(cfg, cfg)
    link.a.failover_takeover(1.0)
    link.now = 1.0
    link.flush()
    first = sync_bytes(link, "M", False)[0]
    link.a.failover_takeover(20.0)  # a second failover: a new, higher M1
    link.now = 20.0
    link.flush()
    assert len(sync_bytes(link, "P", True)) == 2
    before = state(link.b)
    link.b.receive(first, 30.0)  # the attacker replays the first request
    assert link.b.messages_to_send(30.0) == []
    assert link.b.counters["sync_requests_dropped_stale"] == 1
    assert state(link.b) == before
    # Replaying the latest request gets the cached response (a retransmission), changes nothing,
    # and the member, no longer waiting, drops that response.
    latest = sync_bytes(link, "M", False)[-1]
    link.b.receive(latest, 31.0)
    (again,) = link.b.messages_to_send(31.0)
    assert state(link.b) == before
    before_a = state(link.a)
    link.a.receive(again, 31.0)
    assert link.a.counters["sync_responses_dropped"] == 1 and state(link.a) == before_a


@pytest.mark.rfc("R11-2", "R5.1-8")
def test_replayed_and_forged_sync_responses_are_dropped() -> None:
    link = pair(member_snap=make_snapshot(next_send=5, next_recv=5))
    link.a.failover_takeover(1.0)
    (req,) = link.a.messages_to_send(1.0)
    nonce = link.a.member.nonce
    # A forged response (authentic keys, wrong nonce) is dropped while the request is pending.
    forged = forge(link.b, 0, (MessageIdSync(nonce ^ 1, 99, 99).to_notify(),), response=True)
    link.a.receive(forged, 1.1)
    assert link.a.member.pending is not None and link.a.counters["drop.sync_nonce"] == 1
    link.b.receive(req, 1.2)
    (resp,) = link.b.messages_to_send(1.2)
    link.a.receive(resp, 1.3)
    done = state(link.a)
    assert [e for e in link.a.events() if isinstance(e, SyncCompleted)]
    # After one valid response no further response is processed: a replay, or a forged one
    # carrying the right nonce and other values.
    link.a.receive(resp, 2.0)
    forged_same_nonce = forge(link.b, 0, (MessageIdSync(nonce, 50, 50).to_notify(),), response=True)
    link.a.receive(forged_same_nonce, 2.0)
    assert state(link.a) == done
    assert link.a.counters["sync_responses_dropped"] == 3
    # Tampered bytes never get as far as the nonce check.
    bad = bytearray(resp)
    bad[-1] ^= 0xFF
    link.a.receive(bytes(bad), 2.0)
    assert link.a.counters["drop.integrity"] == 1 and state(link.a) == done


@pytest.mark.rfc("R11-2", "R5.1-9")
def test_sync_response_with_extra_payload_is_dropped() -> None:
    link = pair()
    link.a.failover_takeover(1.0)
    link.a.messages_to_send(1.0)
    nonce = link.a.member.nonce
    extra = forge(
        link.b, 0, (MessageIdSync(nonce, 1, 1).to_notify(), Notify(NotifyType.INITIAL_CONTACT)), response=True
    )
    link.a.receive(extra, 1.1)
    assert link.a.counters["drop.sync_extra_payload"] == 1 and link.a.member.pending is not None


@pytest.mark.rfc("R2-1", "R5.1-4")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_multiple_failover_m1_m2_m3(reading: SyncReading) -> None:
    cfg = IkeConfig(reading=reading)
    base = make_snapshot(next_send=4, next_recv=3)
    peer = IkeSa.from_snapshot(base.mirrored(), cfg, rng_bytes(40), name="P")
    # M2 takes over from the last snapshot of M1; its sync reaches the peer, but M2 dies before the
    # response arrives. Only the values it shared (SyncRequestSent -> new snapshot) reach M3.
    m2 = IkeSa.from_snapshot(base, cfg, rng_bytes(41), name="M2")
    m2.failover_takeover(1.0)
    (req2,) = m2.messages_to_send(1.0)
    assert any(isinstance(e, SyncRequestSent) for e in m2.events())
    shared = m2.snapshot(1.0)
    peer.receive(req2, 1.05)
    (late_resp,) = peer.messages_to_send(1.05)  # in flight when M2 dies
    m3 = IkeSa.from_snapshot(shared, cfg, rng_bytes(42), name="M3")
    m3.failover_takeover(1.5)
    m3.receive(late_resp, 1.5)  # M2's response reaches M3 (same address): wrong nonce
    assert m3.counters["drop.sync_nonce"] == 1
    link = Link(m3, peer, now=1.5)
    link.flush()
    assert synchronized(m3, peer) and not m3.deleted
    assert m3.last_sync_request is None and m3.member.m1 > m2.member.m1
    m3.start_liveness_check(2.0)
    peer.start_liveness_check(2.0)
    link.run_until(3.0)
    assert m3.counters["drops"] == 1 and peer.counters["drops"] == 0


@pytest.mark.rfc("R2-1", "R5.1-4")
def test_without_sharing_the_sent_values_a_second_failover_replays_and_the_sa_dies() -> None:
    cfg = IkeConfig()
    base = make_snapshot(next_send=4, next_recv=3)
    peer = IkeSa.from_snapshot(base.mirrored(), cfg, rng_bytes(50), name="P")
    m2 = IkeSa.from_snapshot(base, cfg, rng_bytes(51), name="M2")
    m2.failover_takeover(1.0)
    for d in m2.messages_to_send(1.0):
        peer.receive(d, 1.0)
    peer.messages_to_send(1.0)
    m3 = IkeSa.from_snapshot(base, cfg, rng_bytes(52), name="M3")  # M2's values never arrived
    link = Link(m3, peer, now=1.5)
    m3.failover_takeover(1.5)
    link.run_until(400.0)
    assert peer.counters["sync_requests_dropped_stale"] == 6  # same M1 as M2's: a replay
    assert [e.reason for e in m3.events() if isinstance(e, IkeSaDeleted)] == ["timeout"]


@pytest.mark.rfc("R2-2")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_simultaneous_failover_of_two_clusters(reading: SyncReading) -> None:
    # Two clusters: each side's standby lags its active member by one request in each direction.
    cfg = IkeConfig(reading=reading)
    x_true = make_snapshot(initiator=True, next_send=6, next_recv=9, children=MIRROR)
    y_true = x_true.mirrored()
    x = IkeSa.from_snapshot(
        x_true.with_changes(next_send_mid=5, next_recv_mid=8, highest_recv_mid=7),
        cfg,
        rng_bytes(60),
        name="X",
    )
    y = IkeSa.from_snapshot(
        y_true.with_changes(next_send_mid=8, next_recv_mid=5, highest_recv_mid=4),
        cfg,
        rng_bytes(61),
        name="Y",
    )
    link = Link(x, y, now=1.0)
    x.failover_takeover(1.0)
    y.failover_takeover(1.0)
    link.run_until(400.0)
    assert not x.deleted and not y.deleted
    assert synchronized(x, y)
    x.start_liveness_check(400.0)
    y.start_liveness_check(400.0)
    link.run_until(401.0)
    assert not x.requests.outstanding and not y.requests.outstanding
    assert synchronized(x, y)


def test_wire_view_of_a_sync_exchange() -> None:
    link = pair(member_snap=make_snapshot(next_send=4, next_recv=3))
    link.a.failover_takeover(1.0)
    link.now = 1.0
    link.flush()
    req, resp = sync_bytes(link, "M", False)[0], sync_bytes(link, "P", True)[0]
    for data, response in ((req, False), (resp, True)):
        m = decode(data, KEYS)
        assert m.message_id == 0 and m.response is response and m.protected
        assert int.from_bytes(data[20:24], "big") == 0  # Message ID field of the header


@pytest.mark.rfc("R5.1-2")
def test_failed_members_requests_in_flight_land_in_the_synced_window() -> None:
    # The old member (window 2) used 4 and 5 (answered) and then sent 6 and 7, still in flight when
    # it died; the standby's snapshot says next = 4, so M1 = 4 + 2 = 6 clears only what the peer has
    # seen (5). The late 6 and 7 are then new to the peer, and the successor's own 6 and 7 get the
    # cached responses to them; from 8 on both sides agree again. Pushing M1 past the staleness
    # (m1_margin) avoids it.
    cfg = IkeConfig(window_size=2)
    snap = make_snapshot(next_send=4, next_recv=3, window=2)
    old = IkeSa.from_snapshot(snap, cfg, rng_bytes(70), name="old")
    peer = IkeSa.from_snapshot(snap.mirrored(), cfg, rng_bytes(71), name="P")
    for _ in range(2):
        old.start_liveness_check(0.0)
    for d in old.messages_to_send(0.0):
        peer.receive(d, 0.0)
    for d in peer.messages_to_send(0.0):
        old.receive(d, 0.0)
    for _ in range(2):
        old.start_liveness_check(0.5)
    in_flight = old.messages_to_send(0.5)  # Message IDs 6 and 7
    new = IkeSa.from_snapshot(snap, cfg, rng_bytes(72), name="M")
    link = Link(new, peer, now=1.0)
    new.failover_takeover(1.0)
    link.flush()
    assert new.requests.next_mid == 6 == peer.responses.base
    for d in in_flight:
        peer.receive(d, 1.1)
    stale_answers = peer.messages_to_send(1.1)
    assert peer.responses.base == 8 and len(stale_answers) == 2
    link.now = 1.2
    for _ in range(3):
        new.start_liveness_check(1.2)
    link.flush()
    got = [s.data for s in link.sent_by("P") if s.msg.response and s.msg.message_id in (6, 7)]
    assert got == stale_answers  # answered from the cache: responses to the old member's requests
    assert new.requests.next_mid == peer.responses.base == 9
    assert not new.requests.outstanding and not new.deleted
