"""RFC 6311 peer side: authentication first, the R5.1-5..R5.1-10 rules, sections 5.2 and 9."""

from __future__ import annotations

import pytest
from protocol_harness import KEYS, MIRROR, forge, make_snapshot, pair, rng_bytes

from hasim.protocol.child_sa import ChildSaSnapshot
from hasim.protocol.events import SyncAnswered
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig, SyncReading
from hasim.protocol.rfc6311_peer import decide
from hasim.wire import (
    MessageIdSync,
    Notify,
    NotifyType,
    ReplayCounterSync,
    SkKeys,
    SkSuite,
    decode,
    from_notify,
)

STRICT, SYNC_ONLY, STRONGSWAN = SyncReading.STRICT, SyncReading.SYNC_ONLY, SyncReading.STRONGSWAN


def sync_req(
    sa: IkeSa, m1: int, p1: int, nonce: int = 0xABCD, extra: tuple[Notify, ...] = (), mid: int = 0
) -> bytes:
    return forge(sa, mid, (MessageIdSync(nonce, m1, p1).to_notify(), *extra))


def answered(sa: IkeSa) -> list[SyncAnswered]:
    return [e for e in sa.events() if isinstance(e, SyncAnswered)]


def peer_state(sa: IkeSa) -> tuple[int, int, int, int]:
    return (sa.requests.next_mid, sa.responses.base, sa.highest_sync_m1, sa.children[0].out_seq)


@pytest.mark.rfc("R5.1-6", "R5.1-7", "R5.1-5")
@pytest.mark.parametrize(
    ("reading", "m1", "p1", "hr", "hs", "nr", "ns", "expect"),
    [
        # reading, M1, P1, highest recv, highest sync M1, next recv, next send -> (accept, M2, P2)
        (STRICT, 6, 3, 4, -1, 5, 4, (True, 6, 4)),
        (STRICT, 5, 3, 4, -1, 5, 4, (True, 5, 4)),
        (STRICT, 4, 3, 4, -1, 5, 4, (False, 0, 0)),  # M1 <= highest received
        (STRICT, 9, 3, 4, 9, 5, 4, (False, 0, 0)),  # M1 <= an earlier sync's M1
        (SYNC_ONLY, 2, 3, 4, -1, 5, 4, (True, 5, 4)),  # RA-2's values
        (SYNC_ONLY, 9, 3, 4, 9, 5, 4, (False, 0, 0)),
        (SYNC_ONLY, 10, 8, 4, 9, 5, 4, (True, 10, 8)),
        (STRICT, 0, 5, -1, -1, 0, 5, (True, 0, 5)),  # RA-1's values
        # STRONGSWAN: drop iff M1 < next expected = max(highest recv + 1, highest sync M1)
        (STRONGSWAN, 4, 3, 3, 4, 4, 3, (True, 4, 3)),  # same M1 as the last sync: answered, M2 = M1
        (STRICT, 4, 3, 3, 4, 4, 3, (False, 0, 0)),  # ... which the strict reading drops
        (STRONGSWAN, 3, 3, 3, 4, 4, 3, (False, 0, 0)),  # below the last sync's M1
        (STRONGSWAN, 5, 3, 4, -1, 5, 4, (True, 5, 4)),
        (STRONGSWAN, 4, 3, 4, -1, 5, 4, (False, 0, 0)),  # M1 <= highest received
        (STRONGSWAN, 2, 3, 4, -1, 5, 4, (False, 0, 0)),  # RA-2's values: dropped, as under STRICT
        (STRONGSWAN, 0, 5, -1, -1, 0, 5, (True, 0, 5)),  # RA-1's values
    ],
)
def test_decide_by_hand(
    reading: SyncReading, m1: int, p1: int, hr: int, hs: int, nr: int, ns: int, expect: tuple[bool, int, int]
) -> None:
    d = decide(reading, m1, p1, hr, hs, nr, ns)
    got = (d.accept, d.m2, d.p2) if d.accept else (False, 0, 0)
    assert got == expect


@pytest.mark.rfc("R9-1", "R6-7")
def test_sync_request_is_authenticated_before_anything() -> None:
    link = pair()
    good = sync_req(link.a, 7, 0)
    before = peer_state(link.b)
    tampered = bytearray(good)
    tampered[-20] ^= 0x01  # inside the encrypted body
    link.b.receive(bytes(tampered), 1.0)
    other_keys = SkKeys(SkSuite.AES_GCM_16_128, bytes(20), bytes(20))
    wrong_keys = IkeSa.from_snapshot(make_snapshot().with_changes(keys=other_keys), IkeConfig(), rng_bytes(3))
    link.b.receive(sync_req(wrong_keys, 7, 0), 1.0)
    assert link.b.counters["drop.integrity"] == 2
    assert peer_state(link.b) == before and link.b.messages_to_send(1.0) == []
    link.b.receive(good, 1.0)
    assert len(link.b.messages_to_send(1.0)) == 1


@pytest.mark.rfc("R5.1-5", "R11-1")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_stale_m1_silently_dropped(reading: SyncReading) -> None:
    peer = make_snapshot(initiator=True, next_send=3, next_recv=6, children=MIRROR)
    link = pair(cfg_peer=IkeConfig(reading=reading), peer_snap=peer)
    link.b.receive(sync_req(link.a, 10, 3, nonce=1), 1.0)
    assert len(link.b.messages_to_send(1.0)) == 1
    before = peer_state(link.b)
    for m1 in (10, 9, 2):  # equal to or below the earlier sync's M1: dropped in both readings
        link.b.receive(sync_req(link.a, m1, 3, nonce=2), 2.0)
    assert link.b.messages_to_send(2.0) == []
    assert link.b.counters["sync_requests_dropped_stale"] == 3
    assert peer_state(link.b) == before


@pytest.mark.rfc("R5.1-9")
def test_sync_request_with_extra_payload_is_dropped() -> None:
    link = pair()
    before = peer_state(link.b)
    extra = (Notify(NotifyType.INITIAL_CONTACT),)
    link.b.receive(sync_req(link.a, 7, 0, extra=extra), 1.0)
    two = (MessageIdSync(1, 8, 0).to_notify(),)
    link.b.receive(sync_req(link.a, 7, 0, extra=two), 1.0)  # a second sync notify is extra too
    assert link.b.counters["drop.sync_extra_payload"] == 2
    assert peer_state(link.b) == before and link.b.messages_to_send(1.0) == []
    ok = (ReplayCounterSync(5, False).to_notify(),)  # the one allowed companion
    link.b.receive(sync_req(link.a, 7, 0, extra=ok), 1.0)
    (resp,) = link.b.messages_to_send(1.0)
    msg = decode(resp, KEYS)
    assert [p.notify_type for p in msg.payloads] == [NotifyType.IKEV2_MESSAGE_ID_SYNC]  # type: ignore[union-attr]


@pytest.mark.rfc("R5.1-10")
def test_sync_notify_with_nonzero_message_id_is_dropped() -> None:
    link = pair()
    before = peer_state(link.b)
    link.b.receive(sync_req(link.a, 7, 0, mid=1), 1.0)
    assert link.b.counters["drop.sync_nonzero_mid"] == 1 and peer_state(link.b) == before


@pytest.mark.rfc("R5.1-8")
def test_response_returns_the_nonce_unchanged() -> None:
    link = pair()
    link.b.receive(sync_req(link.a, 7, 0, nonce=0xDEADBEEF), 1.0)
    (resp,) = link.b.messages_to_send(1.0)
    ms = from_notify(decode(resp, KEYS).payloads[0])  # type: ignore[arg-type]
    assert isinstance(ms, MessageIdSync) and ms.nonce == 0xDEADBEEF


@pytest.mark.rfc("R9-2")
def test_peer_stops_waiting_for_pending_responses() -> None:
    # Window 5; the peer sent 3..7 and got responses to 4..7 but not 3: it answers EXPECTED_SEND 8.
    cfg = IkeConfig(window_size=5)
    m = make_snapshot(next_send=0, next_recv=3, window=5)
    p = make_snapshot(initiator=True, next_send=3, next_recv=0, window=5, children=MIRROR)
    link = pair(cfg, cfg, member_snap=m, peer_snap=p)
    link.drop = lambda s: s.src == "P" and s.msg.message_id == 3 and not s.msg.response
    for _ in range(5):
        link.b.start_liveness_check(0.0)
    link.flush()
    assert sorted(link.b.requests.outstanding) == [3]
    link.drop = lambda s: False
    link.a.import_snapshot(m)  # the standby knew nothing of 3..7
    link.a.failover_takeover(1.0, m1=5, p1=3)
    link.now = 1.0
    link.flush()
    (ev,) = answered(link.b)
    assert ev.p2 == 8 and ev.abandoned_requests == 1
    assert 3 not in link.b.requests.outstanding
    # The abandoned request goes out again as a new one, with Message ID 8, and is answered.
    resent = [s.msg.message_id for s in link.sent_by("P") if not s.msg.response and s.time == 1.0]
    assert resent == [8]
    assert not link.b.requests.outstanding


@pytest.mark.rfc("R9-3")
def test_peer_stops_expecting_missing_incoming_requests() -> None:
    # Window 5; the peer received 4..7 but not 3: it answers EXPECTED_RECV 8 and drops a late 3.
    cfg = IkeConfig(window_size=5, reading=SYNC_ONLY)
    m = make_snapshot(next_send=3, next_recv=0, window=5)
    link = pair(cfg, cfg, member_snap=m)
    link.drop = lambda s: s.src == "M" and s.msg.message_id == 3 and not s.msg.response
    for _ in range(5):
        link.a.start_liveness_check(0.0)
    link.flush()
    late3 = next(s.data for s in link.sent_by("M") if s.msg.message_id == 3)
    assert link.b.responses.base == 3 and link.b.responses.highest == 7
    link.drop = lambda s: False
    link.a.import_snapshot(m.with_changes(next_send_mid=3))
    link.a.failover_takeover(1.0, m1=4, p1=0)
    link.now = 1.0
    link.flush()
    (ev,) = answered(link.b)
    assert ev.m2 == 8
    link.b.receive(late3, 2.0)
    assert link.b.counters["drop.out_of_window"] == 1


@pytest.mark.rfc("R5.2-5", "R5.2-6")
def test_delta_applied_after_message_id_part_to_every_child() -> None:
    kids = tuple(ChildSaSnapshot(0x2000 + i, 0x1000 + i, False, out_seq=10 * i) for i in range(3))
    link = pair(peer_snap=make_snapshot(initiator=True, next_send=0, next_recv=5, children=kids))
    rcs = (ReplayCounterSync(1000, False).to_notify(),)
    link.b.receive(sync_req(link.a, 3, 0, extra=rcs), 1.0)  # strict: M1 3 <= 4 received -> dropped
    assert [c.out_seq for c in link.b.children] == [0, 10, 20]  # whole message dropped, no delta
    link.b.receive(sync_req(link.a, 9, 0, nonce=7, extra=rcs), 1.0)
    assert [c.out_seq for c in link.b.children] == [1000, 1010, 1020]
    kinds = [e.kind for e in link.b.events() if e.kind in ("sync_answered", "replay_delta_applied")]
    assert kinds == ["replay_delta_applied", "sync_answered"]


@pytest.mark.rfc("R6-5")
def test_delta_size_disagreeing_with_esn_is_dropped() -> None:
    link = pair()
    before = peer_state(link.b)
    esn_delta = (ReplayCounterSync(1000, True).to_notify(),)  # 8 octets, Child SAs are not ESN
    link.b.receive(sync_req(link.a, 9, 0, extra=esn_delta), 1.0)
    assert link.b.counters["replay_size_mismatch"] == 1
    assert peer_state(link.b) == before and link.b.messages_to_send(1.0) == []


@pytest.mark.rfc("R6-6", "R5-5")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_peer_never_sends_replay_counter_sync(reading: SyncReading) -> None:
    link = pair(IkeConfig(reading=reading), IkeConfig(reading=reading))
    for t in (1.0, 50.0):
        link.now = t
        link.a.failover_takeover(t)
        link.b.start_liveness_check(t)
        link.flush()
    assert len(answered(link.b)) == 2  # the peer answered both members' syncs
    for s in link.sent_by("P"):
        assert NotifyType.IPSEC_REPLAY_COUNTER_SYNC not in [
            p.notify_type for p in s.msg.payloads if isinstance(p, Notify)
        ]


def test_retransmitted_sync_request_gets_the_cached_response() -> None:
    link = pair()
    req = sync_req(link.a, 7, 0)
    link.b.receive(req, 1.0)
    (first,) = link.b.messages_to_send(1.0)
    before = peer_state(link.b)
    link.b.receive(req, 5.0)  # identical bytes: RFC 7296 2.1 retransmission
    assert link.b.messages_to_send(5.0) == [first]
    assert peer_state(link.b) == before


def test_sync_without_negotiated_capability_is_dropped() -> None:
    from hasim.protocol.snapshot import Capabilities

    link = pair(member_snap=make_snapshot(caps=Capabilities(False, True)))
    link.b.receive(sync_req(link.a, 7, 0), 1.0)
    assert link.b.counters["drop.sync_not_negotiated"] == 1


def sync_values(resp: bytes) -> tuple[int, int, int]:
    """(nonce, EXPECTED_SEND, EXPECTED_RECV) of a sync response."""
    ms = from_notify(decode(resp, KEYS).payloads[0])  # type: ignore[arg-type]
    assert isinstance(ms, MessageIdSync)
    return (ms.nonce, ms.expected_send, ms.expected_recv)


@pytest.mark.rfc("R11-1", "R5.1-5")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY, STRONGSWAN])
def test_sync_copy_after_a_newer_request_is_a_replay(reading: SyncReading) -> None:
    # The peer received requests 0..2 from the cluster and used 0..2 itself.
    peer = make_snapshot(initiator=True, next_send=3, next_recv=3, children=MIRROR)
    link = pair(cfg_peer=IkeConfig(reading=reading), peer_snap=peer)
    req = sync_req(link.a, 4, 3, nonce=0xA1)
    link.b.receive(req, 1.0)  # M1 4 > 2: answered, P2 = max(3, 3) = 3, M2 = max(4, 2 + 1, 3) = 4
    (resp,) = link.b.messages_to_send(1.0)
    assert sync_values(resp) == (0xA1, 3, 4)
    assert peer_state(link.b) == (3, 4, 4, 0)
    link.b.receive(req, 2.0)  # retransmitted at once: the same response bytes, nothing changes
    assert link.b.messages_to_send(2.0) == [resp]
    assert link.b.counters["sync_retransmissions_answered"] == 1
    link.b.receive(forge(link.a, 4), 3.0)  # the cluster's next request, Message ID M2 = 4
    (normal,) = link.b.messages_to_send(3.0)
    assert decode(normal, KEYS).message_id == 4 and decode(normal, KEYS).response
    before = peer_state(link.b)
    assert before == (3, 5, 4, 0)
    # The same sync bytes again: no longer the most recent request, a replay (M1 4 <= 4 received
    # under every reading): silently dropped and counted, state unchanged.
    link.b.receive(req, 4.0)
    assert link.b.messages_to_send(4.0) == []
    assert link.b.counters["sync_requests_dropped_stale"] == 1
    assert link.b.counters["drop.stale_sync"] == 1
    assert link.b.counters["sync_retransmissions_answered"] == 1
    assert peer_state(link.b) == before


@pytest.mark.rfc("R5.1-5", "R11-1", "AMB-1")
@pytest.mark.parametrize(
    ("reading", "answered_again"), [(STRICT, False), (SYNC_ONLY, False), (STRONGSWAN, True)]
)
def test_second_sync_with_the_same_m1(reading: SyncReading, answered_again: bool) -> None:
    # strongSwan 5.9.8 answers a second request with the last sync's M1 (another nonce); the RFC's
    # "lower than or equal to" drops it.
    peer = make_snapshot(initiator=True, next_send=3, next_recv=3, children=MIRROR)
    link = pair(cfg_peer=IkeConfig(reading=reading), peer_snap=peer)
    link.b.receive(sync_req(link.a, 4, 3, nonce=0xA1), 1.0)
    (first,) = link.b.messages_to_send(1.0)
    assert sync_values(first) == (0xA1, 3, 4)
    link.b.receive(sync_req(link.a, 4, 3, nonce=0xB2), 2.0)
    out = link.b.messages_to_send(2.0)
    if answered_again:  # M1 4 >= next expected 4: P2 = max(3, 3) = 3, M2 = max(4, 4) = 4
        assert [sync_values(r) for r in out] == [(0xB2, 3, 4)]
    else:
        assert out == [] and link.b.counters["sync_requests_dropped_stale"] == 1
    assert peer_state(link.b) == (3, 4, 4, 0)
    link.b.receive(sync_req(link.a, 3, 3, nonce=0xC3), 3.0)  # below the last M1: dropped by all
    assert link.b.messages_to_send(3.0) == []
    assert peer_state(link.b) == (3, 4, 4, 0)
