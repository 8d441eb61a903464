"""The inbound anti-replay windows move at takeover, whatever the sync trigger and the sync gate.

RFC 6311 8.2: "Strict implementations will only accept traffic that's inside the 'safe' window", from
the failover on. The member works out the delta it will ask the peer to skip (R5.2-4) when it takes
over and moves its windows by it then (R8.2-1); the sync request, however much later it starts,
asks for that same delta.

Hand-worked numbers used throughout: the standby's copy (taken at 10.0 s) has the inbound edge at
5000 and an inbound rate of 200 packets/s; the takeover at 13.5 s is 3.5 s after it, so the delta is
max(1024, ceil(200 x 3.5 x 2)) = 1400 (``SkipForward`` defaults: floor 1024, factor 2) and the safe
edge 5000 + 1400 = 6400. The failed member had accepted 5001..5600. With the default 32-packet window,
numbers 6369..6400 are then duplicates and everything below 6369 too old: both are replay drops, the
anomaly the out-of-window trigger (R7-1) looks for.
"""

from __future__ import annotations

import pytest
from protocol_harness import Link, make_snapshot, pair, rng_bytes

from hasim.protocol.anti_replay import ReplayOutcome, ReplayPolicy
from hasim.protocol.child_sa import ChildSaSnapshot
from hasim.protocol.events import SyncRequestSent
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig, MemberPolicy, SyncTrigger
from hasim.protocol.snapshot import Capabilities, IkeSaSnapshot

EDGE, RATE, TAKEN, TAKEOVER = 5000, 200.0, 10.0, 13.5
DELTA = 1400  # max(1024, ceil(200 * 3.5 * 2))
SAFE = EDGE + DELTA  # 6400
PEER_SENT = 5600  # the failed member accepted 5001..5600
BOTH = Capabilities(True, True)


def member_snapshot(caps: Capabilities = BOTH) -> IkeSaSnapshot:
    kids = (ChildSaSnapshot(0x1000, 0x2000, False, in_highest=EDGE, in_rate_pps=RATE),)
    return make_snapshot(caps=caps, children=kids).with_changes(taken_at=TAKEN)


def peer_snapshot(caps: Capabilities = BOTH) -> IkeSaSnapshot:
    kids = (ChildSaSnapshot(0x2000, 0x1000, False, out_seq=PEER_SENT),)
    return make_snapshot(initiator=True, caps=caps, children=kids)


def config(trigger: SyncTrigger, *, gate: bool = False, lenient: bool = False) -> IkeConfig:
    policy = ReplayPolicy.LENIENT if lenient else ReplayPolicy.STRICT
    return IkeConfig(member=MemberPolicy(trigger=trigger, sync_gate=gate), inbound_after_failover=policy)


def taken_over(cfg: IkeConfig, caps: Capabilities = BOTH) -> Link:
    link = pair(cfg, member_snap=member_snapshot(caps), peer_snap=peer_snapshot(caps))
    link.now = TAKEOVER
    link.a.failover_takeover(TAKEOVER)
    link.flush()
    return link


def requested(link: Link) -> list[int | None]:
    return [e.delta for e in link.a.events() if isinstance(e, SyncRequestSent)]


@pytest.mark.rfc("R8.2-1", "R5.2-4", "R7-1")
@pytest.mark.parametrize("trigger", [SyncTrigger.LAZY, SyncTrigger.OUT_OF_WINDOW])
def test_a_lazy_member_rejects_a_replay_before_its_sync_starts(trigger: SyncTrigger) -> None:
    link = taken_over(config(trigger))
    child = link.a.children[0]
    assert requested(link) == [] and link.a.member.armed  # no trigger yet: no sync
    assert child.safe_edge == SAFE
    assert child.inbound.receive(5300) is ReplayOutcome.TOO_OLD  # the failed member accepted it
    assert child.inbound.receive(EDGE + 1) is ReplayOutcome.TOO_OLD
    assert child.inbound.receive(6390) is ReplayOutcome.DUPLICATE
    # the peer's next packet (5601, below the safe edge) is dropped: the data plane's R7-1 anomaly
    assert child.inbound.receive(PEER_SENT + 1) is ReplayOutcome.TOO_OLD
    link.now = 14.0
    link.a.on_inbound_anomaly(14.0)
    link.flush()
    assert requested(link) == [DELTA]  # the delta worked out at takeover
    assert link.b.children[0].out_seq == PEER_SENT + DELTA  # R5.2-6: the peer skipped 1400
    assert child.safe_edge == SAFE  # the sync moved nothing again
    assert child.inbound.receive(PEER_SENT + DELTA + 1) is ReplayOutcome.ACCEPTED  # 7001 > 6400


@pytest.mark.rfc("R8.2-1", "R5.2-4", "R7-3")
def test_a_gated_proactive_member_rejects_a_replay_while_its_exchange_waits() -> None:
    link = taken_over(config(SyncTrigger.PROACTIVE, gate=True))
    child = link.a.children[0]
    assert link.a.member.wanted and requested(link) == []
    assert child.inbound.receive(5300) is ReplayOutcome.TOO_OLD
    # the gate lets the exchange start at 20 s: 10 s after the copy, an estimate at that time would be
    # ceil(200 x 10 x 2) = 4000; the request carries the takeover's 1400
    link.now = 20.0
    assert link.a.start_failover_sync(20.0)
    link.flush()
    assert requested(link) == [DELTA] and child.safe_edge == SAFE


@pytest.mark.rfc("R8.2-1")
def test_lenient_keeps_the_stale_window_from_the_takeover() -> None:
    link = taken_over(config(SyncTrigger.LAZY, lenient=True))
    child = link.a.children[0]
    assert child.safe_edge == SAFE  # the grace period's end marks through here (the driver's timer)
    assert child.inbound.receive(5300) is ReplayOutcome.ACCEPTED  # the grace period lets it in
    assert child.inbound.receive(5301) is ReplayOutcome.ACCEPTED
    child.inbound.mark_received_through(SAFE)
    assert child.inbound.receive(5302) is ReplayOutcome.TOO_OLD
    assert child.inbound.receive(6390) is ReplayOutcome.DUPLICATE


@pytest.mark.rfc("R5-9", "R5-6")
@pytest.mark.parametrize("caps", [Capabilities(False, False), Capabilities(True, False)])
def test_without_replay_counter_sync_nothing_moves(caps: Capabilities) -> None:
    link = taken_over(config(SyncTrigger.PROACTIVE), caps)
    child = link.a.children[0]
    assert child.safe_edge is None and child.inbound.top == EDGE
    assert link.a.member.delta is None
    assert child.inbound.receive(5300) is ReplayOutcome.ACCEPTED  # no delta asked, no safe window


@pytest.mark.rfc("R5.2-4", "R5.2-6", "R2-1")
def test_a_second_takeover_before_the_sync_asks_for_both_deltas() -> None:
    link = taken_over(config(SyncTrigger.LAZY))
    first = link.a
    sent = [link.b.children[0].next_out_seq() for _ in range(100)]
    assert sent == list(range(PEER_SENT + 1, 5701))  # the peer sends 5601..5700: below 6369, dropped
    assert {first.children[0].inbound.receive(seq) for seq in sent} == {ReplayOutcome.TOO_OLD}
    copy = first.snapshot(14.0)
    assert copy.unsent_delta == DELTA and copy.children[0].in_highest == SAFE
    # the second member takes over at 15 s, 1 s after its copy: its own delta max(1024, 400) = 1024,
    # its window moves from 6400 to 7424; it asks for 1400 + 1024 = 2424
    second = IkeSa.from_snapshot(copy, first.config, rng_bytes(3), name="M")
    link2 = Link(second, link.b, now=15.0)
    second.failover_takeover(15.0)
    assert second.children[0].safe_edge == SAFE + 1024
    link2.now = 15.5
    second.on_inbound_anomaly(15.5)
    link2.flush()
    assert requested(link2) == [DELTA + 1024]
    peer_next = 5700 + DELTA + 1024 + 1  # 8125, above the second member's safe edge 7424
    assert link.b.children[0].out_seq + 1 == peer_next
    assert second.children[0].inbound.receive(peer_next) is ReplayOutcome.ACCEPTED
    # once its sync started, the member owes nothing: a third member asks for its own delta only
    assert second.snapshot(16.0).unsent_delta is None


@pytest.mark.rfc("R5.2-4", "R5.2-6")
def test_a_child_sa_rekeyed_before_the_sync_keeps_its_fresh_window() -> None:
    link = taken_over(config(SyncTrigger.OUT_OF_WINDOW))
    link.a.rekey_child(14.0)  # OUT_OF_WINDOW holds no request back: the rekey goes out first
    link.now = 14.0
    link.flush()
    assert [c.spi_in for c in link.a.children] != [0x1000]
    (fresh,) = link.a.children
    assert fresh.safe_edge is None and fresh.inbound.top == 0  # new keys, counters restart (RFC 7296 2.8)
    link.now = 15.0
    link.a.on_inbound_anomaly(15.0)
    link.flush()
    assert requested(link) == [DELTA]  # the request covers the SA's Child SAs (R5.2-6)
    assert link.b.children[0].out_seq == DELTA  # the peer's fresh counter skipped 1400
    assert fresh.inbound.receive(DELTA + 1) is ReplayOutcome.ACCEPTED
