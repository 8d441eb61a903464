"""RFC 6311 member side: cases 1-4, choice of M1/P1, skip-forward, triggers and local policy."""

from __future__ import annotations

import pytest
from protocol_harness import MIRROR, Link, make_snapshot, pair

from hasim.protocol.child_sa import ChildSaSnapshot
from hasim.protocol.events import CountersSkipped, IkeSaDeleted, SyncCompleted, SyncRequestSent
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import (
    LARGE_SKIP,
    AfterFailover,
    IkeConfig,
    MemberPolicy,
    SkipForward,
    SkipKind,
    SyncTrigger,
)
from hasim.protocol.snapshot import Capabilities, SyncValues
from hasim.wire import (
    ExchangeType,
    Message,
    MessageIdSync,
    Notify,
    NotifyType,
    ReplayCounterSync,
    from_notify,
)

NONE, MID, REPLAY = Capabilities(False, False), Capabilities(True, False), Capabilities(False, True)


def cfg(**member: object) -> IkeConfig:
    return IkeConfig(member=MemberPolicy(**member))  # type: ignore[arg-type]


def notify_types(m: Message) -> list[int]:
    return [p.notify_type for p in m.payloads if isinstance(p, Notify)]


def sync_requests(link: Link, src: str = "M") -> list[Message]:
    return [
        s.msg
        for s in link.sent_by(src)
        if not s.msg.response and s.msg.exchange == ExchangeType.INFORMATIONAL and s.msg.message_id == 0
    ]


def failover(link: Link, t: float = 1.0, **kw: int) -> None:
    link.now = t
    link.a.failover_takeover(t, **kw)  # type: ignore[arg-type]
    link.flush()


def synchronized(link: Link) -> bool:
    a, b = link.a, link.b
    return a.requests.next_mid == b.responses.base and b.requests.next_mid == a.responses.base


@pytest.mark.rfc("R5-6", "R5.1-10")
def test_case1_message_id_sync_only() -> None:
    snap = make_snapshot(caps=MID, next_send=3, next_recv=2)
    link = pair(member_snap=snap)
    failover(link)
    (req,) = sync_requests(link)
    assert notify_types(req) == [NotifyType.IKEV2_MESSAGE_ID_SYNC] and len(req.payloads) == 1
    resp = [s.msg for s in link.sent_by("P") if s.msg.response]
    assert [r.message_id for r in resp] == [0]
    assert notify_types(resp[0]) == [NotifyType.IKEV2_MESSAGE_ID_SYNC]
    assert synchronized(link)


@pytest.mark.rfc("R5-7")
def test_case2_replay_counter_sync_only_uses_current_message_id() -> None:
    snap = make_snapshot(caps=REPLAY, next_send=3, next_recv=2)
    link = pair(member_snap=snap)
    before = link.b.children[0].out_seq
    failover(link)
    assert sync_requests(link) == []
    (req,) = [s.msg for s in link.sent_by("M") if not s.msg.response]
    assert req.message_id == 3  # a normal INFORMATIONAL with the current Message ID
    assert notify_types(req) == [NotifyType.IPSEC_REPLAY_COUNTER_SYNC]
    (resp,) = [s.msg for s in link.sent_by("P") if s.msg.response]
    assert resp.payloads == ()  # empty INFORMATIONAL response
    assert link.b.children[0].out_seq == before + 1024
    assert any(isinstance(e, SyncCompleted) for e in link.a.events())


@pytest.mark.rfc("R5-8", "R5.2-4")
def test_case3_both_notifies_in_one_message_id_0_request() -> None:
    link = pair()
    failover(link)
    (req,) = sync_requests(link)
    assert notify_types(req) == [NotifyType.IKEV2_MESSAGE_ID_SYNC, NotifyType.IPSEC_REPLAY_COUNTER_SYNC]
    rcs = from_notify(req.payloads[1])  # type: ignore[arg-type]
    assert rcs == ReplayCounterSync(1024, False)
    (resp,) = [s.msg for s in link.sent_by("P") if s.msg.response]
    assert notify_types(resp) == [NotifyType.IKEV2_MESSAGE_ID_SYNC]
    # The member's inbound window moved up by the delta it requested (strict policy, R8.2-1).
    assert link.a.children[0].safe_edge == 1024


@pytest.mark.rfc("R5-9")
def test_case4_no_support_is_plain_ikev2() -> None:
    # Fresh standby: the SA survives on plain IKEv2.
    link = pair(member_snap=make_snapshot(caps=NONE, next_send=2, next_recv=2))
    failover(link)
    assert link.sent_by("M") == []  # nothing to negotiate
    link.a.start_liveness_check(2.0)
    link.run_until(2.0)
    assert not link.a.deleted and synchronized(link)
    # Stale standby (the failed member had used Message IDs 2 and 3): the peer drops its requests
    # as retransmissions it no longer has cached, and the SA dies after the retransmissions.
    stale = make_snapshot(caps=NONE, next_send=2, next_recv=2)
    peer = make_snapshot(initiator=True, caps=NONE, next_send=2, next_recv=4, children=MIRROR)
    link = pair(member_snap=stale, peer_snap=peer)
    failover(link)
    link.a.start_liveness_check(1.0)
    link.run_until(300.0)
    assert link.a.deleted and link.b.counters["out_of_window_drops"] == 6


@pytest.mark.rfc("R5.1-1", "R5.1-2", "R5.1-3")
def test_m1_above_known_by_window_and_p1_is_last_received_plus_one() -> None:
    snap = make_snapshot(next_send=7, next_recv=4, window=3)
    link = pair(IkeConfig(window_size=3), IkeConfig(window_size=3), member_snap=snap)
    failover(link)
    (req,) = sync_requests(link)
    ms = from_notify(req.payloads[0])  # type: ignore[arg-type]
    assert isinstance(ms, MessageIdSync)
    assert ms.expected_send == 7 + 3  # known next 7 (6 used) + sender window 3 > 6
    assert ms.expected_recv == 4  # last received 3, + 1


def test_m1_margin_adds_to_the_increment() -> None:
    link = pair(cfg(m1_margin=10, p1_margin=2), member_snap=make_snapshot(next_send=7, next_recv=4))
    failover(link)
    ms = from_notify(sync_requests(link)[0].payloads[0])  # type: ignore[arg-type]
    assert isinstance(ms, MessageIdSync)
    assert (ms.expected_send, ms.expected_recv) == (7 + 1 + 10, 4 + 2)


@pytest.mark.rfc("R5.1-4", "R5.1-1")
def test_values_sent_are_shared_and_a_later_member_starts_above_them() -> None:
    link = pair(member_snap=make_snapshot(next_send=5, next_recv=5))
    link.drop = lambda s: True  # the sync is lost: only the sync channel learns of it
    failover(link)
    sent = [e for e in link.a.events() if isinstance(e, SyncRequestSent)]
    assert len(sent) == 1 and sent[0].m1 == 6
    snap = link.a.snapshot(1.5)
    assert snap.last_sync == SyncValues(sent[0].nonce, 6, 5, 1024)
    third = IkeSa.from_snapshot(snap, IkeConfig(), lambda n: bytes(n), name="M3")
    third.failover_takeover(2.0)
    ms = from_notify(_first_sync(third))
    assert isinstance(ms, MessageIdSync) and ms.expected_send > 6


def _first_sync(sa: IkeSa) -> Notify:
    from protocol_harness import KEYS

    from hasim.wire import decode

    (data,) = sa.messages_to_send(2.0)
    n = decode(data, KEYS).payloads[0]
    assert isinstance(n, Notify)
    return n


@pytest.mark.rfc("R5.1-11")
def test_both_sides_adopt_the_synchronized_values() -> None:
    # Stale member: the peer has received up to 8 from the cluster and sent up to 6.
    link = pair(
        member_snap=make_snapshot(next_send=4, next_recv=5),
        peer_snap=make_snapshot(initiator=True, next_send=7, next_recv=9, children=MIRROR),
    )
    link.b.config = IkeConfig()  # strict reading: M1 must clear 8
    failover(link, m1=12)
    assert synchronized(link)
    assert link.a.requests.next_mid == 12 and link.a.responses.base == 7
    for _ in range(3):
        link.a.start_liveness_check(2.0)
        link.b.start_liveness_check(2.0)
    link.run_until(2.0)
    assert link.a.counters["drops"] == 0 and link.b.counters["drops"] == 0
    assert synchronized(link)


@pytest.mark.rfc("R5.2-1", "R5.2-2")
def test_skip_forward_estimate_from_rate_and_time_since_sync() -> None:
    kids = (ChildSaSnapshot(0x1000, 0x2000, False, out_seq=500, out_rate_pps=100.0),)
    snap = make_snapshot(children=kids).with_changes(taken_at=10.0)
    link = pair(cfg(skip_out=SkipForward(SkipKind.ESTIMATE, amount=64, factor=2.0)), member_snap=snap)
    failover(link, t=13.0)  # 3 s since the last state sync: 100 pps * 3 s * 2 = 600
    (ev,) = [e for e in link.a.events() if isinstance(e, CountersSkipped)]
    assert ev.amount == 600 and ev.new_seq == 1100
    assert link.a.children[0].out_seq == 1100
    assert SkipForward(SkipKind.ESTIMATE, amount=64).estimate(0.0, 3.0) == 64  # floor when no rate
    assert SkipForward(SkipKind.FIXED, amount=77).estimate(1e6, 1e6) == 77
    assert SkipForward(SkipKind.LARGE).estimate(0.0, 0.0) == 2**30


@pytest.mark.rfc("R5.2-3")
def test_large_skip_is_followed_by_a_rekey() -> None:
    kids = (ChildSaSnapshot(0x1000, 0x2000, False, out_seq=2**31),)
    link = pair(cfg(skip_out=SkipForward(SkipKind.LARGE)), member_snap=make_snapshot(children=kids))
    failover(link)
    assert link.a.children[-1].out_seq == 0
    assert len(link.a.children) == 1 and link.a.children[0].spi_in != 0x1000
    kinds = [s.msg.exchange for s in link.sent_by("M") if not s.msg.response]
    assert kinds[:2] == [ExchangeType.INFORMATIONAL, ExchangeType.CREATE_CHILD_SA]  # sync first, then rekey
    skipped = [e for e in link.a.events() if isinstance(e, CountersSkipped)]
    assert skipped[0].amount == LARGE_SKIP and skipped[0].new_seq == 2**31 + 2**30


@pytest.mark.rfc("R7-3")
def test_proactive_trigger_syncs_at_takeover() -> None:
    link = pair(cfg(trigger=SyncTrigger.PROACTIVE))
    failover(link)
    assert len(sync_requests(link)) == 1 and sync_requests(link)[0] is not None


@pytest.mark.rfc("R7-2", "R7-6")
def test_first_send_trigger_waits_for_traffic() -> None:
    link = pair(cfg(trigger=SyncTrigger.FIRST_SEND))
    failover(link)
    assert sync_requests(link) == []  # lazy: nothing until there is something to send
    link.a.start_liveness_check(5.0)
    link.now = 5.0
    link.flush()
    sent = [s.msg for s in link.sent_by("M") if not s.msg.response]
    assert sent[0].message_id == 0 and NotifyType.IKEV2_MESSAGE_ID_SYNC in notify_types(sent[0])
    assert sent[1].message_id == 1  # the liveness check goes out after the sync, with M2 = 0 + 1
    # The data plane's first ESP packet is the other trigger of the same kind.
    link2 = pair(cfg(trigger=SyncTrigger.FIRST_SEND))
    failover(link2)
    link2.a.on_outbound_traffic(2.0)
    link2.now = 2.0
    link2.flush()
    assert len(sync_requests(link2)) == 1


@pytest.mark.rfc("R7-1", "R7-6")
def test_out_of_window_trigger() -> None:
    link = pair(cfg(trigger=SyncTrigger.OUT_OF_WINDOW), member_snap=make_snapshot(next_send=2, next_recv=2))
    link.b.import_snapshot(
        link.b.snapshot(0.0).with_changes(next_send_mid=4)
    )  # peer ahead of the stale member
    failover(link)
    assert sync_requests(link) == []
    link.b.start_liveness_check(2.0)
    link.now = 2.0
    link.flush()
    assert link.a.counters["drop.out_of_window"] == 1
    assert len(sync_requests(link)) == 1
    link2 = pair(cfg(trigger=SyncTrigger.LAZY))
    failover(link2)
    link2.a.on_inbound_anomaly(2.0)
    link2.now = 2.0
    link2.flush()
    assert len(sync_requests(link2)) == 1


@pytest.mark.rfc("R7-5")
def test_sync_initiated_at_most_once_per_failover() -> None:
    link = pair(cfg(trigger=SyncTrigger.LAZY))
    failover(link)
    for t in (2.0, 3.0, 4.0):
        link.a.on_inbound_anomaly(t)
        link.a.on_outbound_traffic(t)
        link.now = t
        link.flush()
    assert len(sync_requests(link)) == 1
    assert link.a.counters["sync_started"] == 1
    failover(link, t=10.0)  # a new failover event re-arms it
    link.a.on_outbound_traffic(10.0)
    link.flush()
    assert link.a.counters["sync_started"] == 2


def _hold_sync(after: AfterFailover) -> tuple[Link, list[bytes]]:
    link = pair(cfg(after_failover=after), member_snap=make_snapshot(next_send=2, next_recv=5))
    link.b.import_snapshot(make_snapshot(initiator=True, next_send=5, next_recv=2, children=MIRROR))
    link.a.failover_takeover(1.0)
    held = link.a.messages_to_send(1.0)  # the sync request, not yet delivered
    return link, held


@pytest.mark.rfc("R8.1-1")
def test_windowed_policy_accepts_only_the_declared_window() -> None:
    link, held = _hold_sync(AfterFailover.WINDOWED)
    link.b.start_liveness_check(1.0)
    (req5,) = link.b.messages_to_send(1.0)
    link.a.receive(req5, 1.0)  # Message ID 5 = P1: inside the declared window
    assert link.a.counters["requests_answered"] == 1
    old = link.b.seal(
        Message(link.b.spi_i, link.b.spi_r, ExchangeType.INFORMATIONAL, True, False, 3, (), True)
    )
    link.a.receive(old, 1.0)  # Message ID 3: below the declared window
    assert link.a.counters["drop.out_of_window"] == 1
    # The peer likewise: after answering with M2, an old request of the failed member is dropped.
    for d in held:
        link.b.receive(d, 1.0)
    late = link.a.seal(
        Message(link.a.spi_i, link.a.spi_r, ExchangeType.INFORMATIONAL, False, False, 2, (), True)
    )
    link.b.receive(late, 1.5)
    assert link.b.counters["drop.out_of_window"] == 1


@pytest.mark.rfc("R8.1-2")
def test_strict_policy_drops_every_request_until_sync_completes() -> None:
    link, held = _hold_sync(AfterFailover.STRICT)
    link.b.start_liveness_check(1.0)
    (req5,) = link.b.messages_to_send(1.0)
    link.a.receive(req5, 1.0)
    assert link.a.counters["drop.strict_after_failover"] == 1
    link.drop = lambda s: False
    for d in held:
        link.b.receive(d, 1.0)
    link.now = 1.0
    link.flush()
    assert link.a.member.pending is None
    link.run_until(10.0)  # the peer's retransmission is now accepted
    assert link.a.counters["requests_answered"] >= 1 and synchronized(link)


@pytest.mark.rfc("R8.3-1")
def test_teardown_when_peer_without_sync_is_ahead() -> None:
    link = pair(member_snap=make_snapshot(caps=NONE, next_send=2, next_recv=2))
    link.b.import_snapshot(
        make_snapshot(initiator=True, caps=NONE, next_send=6, next_recv=2, children=MIRROR)
    )
    failover(link)
    link.b.start_liveness_check(2.0)
    link.now = 2.0
    link.flush()
    (ev,) = [e for e in link.a.events() if isinstance(e, IkeSaDeleted)]
    assert ev.reason == "inconsistent"


@pytest.mark.rfc("R8.3-1")
def test_teardown_on_sync_response_breaking_the_rules() -> None:
    link = pair(member_snap=make_snapshot(next_send=5, next_recv=5))
    link.a.failover_takeover(1.0)
    link.a.messages_to_send(1.0)
    nonce = link.a.member.nonce
    bad = MessageIdSync(nonce, 5, 3).to_notify()  # M2 = 3 < M1 = 6: violates R5.1-6
    resp = link.b.seal(
        Message(link.b.spi_i, link.b.spi_r, ExchangeType.INFORMATIONAL, True, True, 0, (bad,), True)
    )
    link.a.receive(resp, 1.1)
    assert link.a.deleted and link.a.counters["deleted.inconsistent"] == 1
