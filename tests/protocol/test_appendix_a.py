"""RFC 6311 Appendix A, examples A.1-A.4, under both readings of R5.1-5 (AMB-1).

Tuples are (EXPECTED_SEND, EXPECTED_RECV) as in the RFC. Each example states the peer's history
(which Message IDs it has sent and received), since the strict reading depends on it. Expected
outcomes are worked out by hand from section 5.1:
  STRICT:    drop iff M1 <= highest request Message ID received from the cluster (sync M1s included)
  SYNC_ONLY: drop iff M1 <= highest earlier sync M1
  M2 = max(M1, highest received + 1), P2 = max(P1, highest sent + 1).
"""

from __future__ import annotations

import pytest
from protocol_harness import Link, make_snapshot, rng_bytes

from hasim.protocol.child_sa import ChildSaSnapshot
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig, MemberPolicy, SyncReading, SyncTrigger
from hasim.wire import MessageIdSync, Notify, NotifyType, from_notify

STRICT, SYNC_ONLY = SyncReading.STRICT, SyncReading.SYNC_ONLY
CHILD = (ChildSaSnapshot(0x1000, 0x2000, False),)
MIRROR = (ChildSaSnapshot(0x2000, 0x1000, False),)


def build(reading: SyncReading, member: tuple[int, int], peer: tuple[int, int]) -> Link:
    """Member M (cluster, responder) with (next send, next expected); peer P likewise."""
    cfg = IkeConfig(reading=reading, member=MemberPolicy(trigger=SyncTrigger.PROACTIVE))
    ms = make_snapshot(next_send=member[0], next_recv=member[1], children=CHILD)
    ps = make_snapshot(initiator=True, next_send=peer[0], next_recv=peer[1], children=MIRROR)
    m = IkeSa.from_snapshot(ms, cfg, rng_bytes(11), name="M")
    p = IkeSa.from_snapshot(ps, cfg, rng_bytes(12), name="P")
    return Link(m, p)


def sync_values(link: Link, src: str, response: bool) -> list[tuple[int, int]]:
    out = []
    for s in link.sent_by(src):
        if s.msg.response != response:
            continue
        for p in s.msg.payloads:
            if isinstance(p, Notify) and p.notify_type == NotifyType.IKEV2_MESSAGE_ID_SYNC:
                v = from_notify(p)
                assert isinstance(v, MessageIdSync)
                out.append((v.expected_send, v.expected_recv))
    return out


def state(sa: IkeSa) -> tuple[int, int]:
    return sa.requests.next_mid, sa.responses.base


@pytest.mark.rfc("RA-1", "AMB-1", "R5-5")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_a1_member_sends_0_5(reading: SyncReading) -> None:
    # Peer history: sent requests 0..4, never received a request from the cluster -> (5, 0).
    link = build(reading, member=(0, 5), peer=(5, 0))
    link.a.failover_takeover(1.0, m1=0, p1=5)
    link.now = 1.0
    link.flush()
    assert sync_values(link, "M", False) == [(0, 5)]
    assert sync_values(link, "P", True) == [(5, 0)]  # answered under both readings
    assert state(link.a) == (0, 5) and state(link.b) == (5, 0)


@pytest.mark.rfc("RA-2", "AMB-1", "R5.1-5", "R5.1-6", "R5.1-7")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_a2_member_sends_2_3_peer_holds_4_5(reading: SyncReading) -> None:
    # Peer history: sent 0..3, received 0..4 from the cluster -> (4, 5). The standby lags: (2, 3).
    link = build(reading, member=(2, 3), peer=(4, 5))
    link.a.failover_takeover(1.0, m1=2, p1=3)
    link.run_until(1.0 + 200.0)
    assert sync_values(link, "M", False)[0] == (2, 3)
    if reading is SYNC_ONLY:
        assert sync_values(link, "P", True) == [(4, 5)]
        assert state(link.a) == (5, 4) and state(link.b) == (4, 5)
        assert not link.a.deleted
    else:  # M1 = 2 <= 4 received: silently dropped, every retransmission too; the SA dies
        assert sync_values(link, "P", True) == []
        assert link.b.counters["sync_requests_dropped_stale"] == 6
        assert state(link.b) == (4, 5)
        assert link.a.deleted and link.a.counters["deleted.timeout"] == 1


@pytest.mark.rfc("RA-3", "AMB-1", "R5.1-5", "R5.1-6", "R5.1-7")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_a3_member_sends_2_5_peer_holds_2_4(reading: SyncReading) -> None:
    # Peer history: sent 0..1, received 0..3 from the cluster -> (2, 4). Member sends (2, 5).
    link = build(reading, member=(2, 2), peer=(2, 4))
    link.a.failover_takeover(1.0, m1=2, p1=5)
    link.run_until(1.0 + 200.0)
    assert sync_values(link, "M", False)[0] == (2, 5)
    if reading is SYNC_ONLY:
        assert sync_values(link, "P", True) == [(5, 4)]  # (max(2, 5), max(4, 2))
        assert state(link.a) == (4, 5) and state(link.b) == (5, 4)
    else:  # M1 = 2 <= 3 received
        assert sync_values(link, "P", True) == []
        assert link.a.deleted


@pytest.mark.rfc("RA-4", "AMB-1", "R2-2")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
def test_a4_simultaneous_failover(reading: SyncReading) -> None:
    # X has received 0..3 from Y and sent up to 3: (4, 4). Y has received 0..4 and sent up to 4:
    # (5, 5). Both take over at once; the requests cross on the wire.
    cfg = IkeConfig(reading=reading)
    xs = make_snapshot(initiator=True, next_send=4, next_recv=4, children=MIRROR)
    ys = make_snapshot(next_send=5, next_recv=5, children=CHILD)
    x = IkeSa.from_snapshot(xs, cfg, rng_bytes(21), name="X")
    y = IkeSa.from_snapshot(ys, cfg, rng_bytes(22), name="Y")
    link = Link(x, y)
    x.failover_takeover(1.0, m1=4, p1=4)
    y.failover_takeover(1.0, m1=5, p1=5)
    link.now = 1.0
    link.flush()
    assert sync_values(link, "X", False)[0] == (4, 4)
    assert sync_values(link, "Y", False)[0] == (5, 5)
    assert sync_values(link, "X", True) == [(5, 5)]  # X answers Y's request in both readings
    if reading is SYNC_ONLY:
        assert sync_values(link, "Y", True) == [(5, 5)]  # as printed in A.4
    else:
        assert sync_values(link, "Y", True) == []  # M1 = 4 <= 4 received: dropped
        link.run_until(400.0)  # X's request is superseded: its give-up keeps the SA
        assert not x.deleted and not y.deleted
    # Both sides end synchronized: each side's next send is the other's next expected.
    assert x.requests.next_mid == y.responses.base
    assert y.requests.next_mid == x.responses.base
    link.flush()
    x.start_liveness_check(link.now)
    y.start_liveness_check(link.now)
    link.flush()
    assert x.counters["drop.out_of_window"] == 0 and y.counters["drop.out_of_window"] == 0
    assert not x.requests.outstanding and not y.requests.outstanding


@pytest.mark.rfc("AMB-1", "R5.1-2", "R5.1-5")
@pytest.mark.parametrize("reading", [STRICT, SYNC_ONLY])
@pytest.mark.parametrize(("window", "margin"), [(1, 0), (3, 0), (1, 2)])
def test_stale_standby_survives_by_reading(reading: SyncReading, window: int, margin: int) -> None:
    # The failed member sent k requests after the standby's snapshot (next Message ID s), all
    # received by the peer. M1 = s + window + margin; the strict peer accepts iff M1 > s + k - 1,
    # i.e. k <= window + margin; the sync_only peer accepts any first sync. Worked out from 5.1.
    s = 4
    for k in range(0, 7):
        cfg = IkeConfig(window_size=window, reading=reading, member=MemberPolicy(m1_margin=margin))
        true = make_snapshot(next_send=s + k, next_recv=3, window=window, children=CHILD)
        m = IkeSa.from_snapshot(true.with_changes(next_send_mid=s), cfg, rng_bytes(30 + k), name="M")
        p = IkeSa.from_snapshot(true.mirrored(), cfg, rng_bytes(40 + k), name="P")
        link = Link(m, p, now=1.0)
        m.failover_takeover(1.0)
        link.run_until(400.0)
        survives = reading is SYNC_ONLY or k <= window + margin
        assert m.deleted is not survives, (k, window, margin)
        if survives:
            assert m.requests.next_mid == p.responses.base == max(s + window + margin, s + k)
