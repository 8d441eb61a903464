"""The sync gate (``MemberPolicy.sync_gate``): the takeover is immediate, the sync exchange waits.

Section 7 of RFC 6311: a member that takes over many SAs can be overloaded by their sync exchanges.
Under a gate a fired trigger only emits ``SyncWanted``; the member's outgoing ESP counters are
skipped at takeover all the same (R5.2-1 is local), normal requests wait as if the sync were out,
and the request goes out when the driver calls ``start_failover_sync``.
"""

from __future__ import annotations

import pytest
from protocol_harness import Link, make_snapshot, pair

from hasim.protocol.events import CountersSkipped, Event, SyncRequestSent, SyncWanted
from hasim.protocol.policy import AfterFailover, IkeConfig, MemberPolicy, SyncTrigger
from hasim.protocol.snapshot import Capabilities
from hasim.wire import ExchangeType, Message


def gated(**member: object) -> IkeConfig:
    return IkeConfig(member=MemberPolicy(sync_gate=True, **member))  # type: ignore[arg-type]


def requests_of(link: Link, src: str = "M") -> list[Message]:
    return [s.msg for s in link.sent_by(src) if not s.msg.response]


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


@pytest.mark.rfc("R7-3", "R5.2-1")
def test_proactive_takeover_skips_at_once_and_the_sync_waits_for_the_driver() -> None:
    link = pair(gated(trigger=SyncTrigger.PROACTIVE))
    link.now = 1.0
    link.a.failover_takeover(1.0)
    link.a.start_liveness_check(1.0)  # a normal request queued right after the takeover
    link.flush()
    events = link.a.events()
    skipped = [e for e in events if isinstance(e, CountersSkipped)]
    assert len(skipped) == 1 and skipped[0].time == 1.0  # counters skipped at takeover
    assert [e for e in events if isinstance(e, SyncWanted)] == [SyncWanted(1.0)]
    assert requests_of(link) == []  # neither the sync nor the held liveness check went out
    link.now = 3.0
    assert link.a.start_failover_sync(3.0) is True
    link.flush()
    sent = requests_of(link)
    assert [(m.exchange, m.message_id) for m in sent] == [
        (ExchangeType.INFORMATIONAL, 0),  # the sync request (R5.1-10) ...
        (ExchangeType.INFORMATIONAL, 1),  # ... then the liveness check with M2 = 0 + window 1
    ]
    syncs = [e for e in link.a.events() if isinstance(e, SyncRequestSent)]
    assert [e.time for e in syncs] == [3.0]
    assert link.a.start_failover_sync(4.0) is False  # R7-5: once per failover


@pytest.mark.rfc("R7-2", "R7-6", "R7-5")
def test_lazy_trigger_asks_once_and_starts_only_when_let() -> None:
    link = pair(gated(trigger=SyncTrigger.LAZY))
    link.now = 1.0
    link.a.failover_takeover(1.0)
    link.flush()
    assert "sync_wanted" not in kinds(link.a.events())  # lazy: nothing wanted until a trigger
    for t in (2.0, 2.5):
        link.a.on_outbound_traffic(t)
        link.a.on_inbound_anomaly(t)
    assert [e for e in link.a.events() if isinstance(e, SyncWanted)] == [SyncWanted(2.0)]
    assert link.a.member.armed and link.a.member.wanted and link.a.member.pending is None
    link.now = 4.0
    assert link.a.start_failover_sync(4.0) is True
    link.flush()
    assert [m.message_id for m in requests_of(link)] == [0]
    assert link.a.counters["sync_started"] == 1 and link.a.counters["sync_completed"] == 1


@pytest.mark.rfc("R8.1-2")
def test_strict_after_failover_drops_requests_while_the_sync_is_wanted() -> None:
    link = pair(
        gated(trigger=SyncTrigger.OUT_OF_WINDOW, after_failover=AfterFailover.STRICT),
        member_snap=make_snapshot(next_send=2, next_recv=2),
    )
    link.now = 1.0
    link.a.failover_takeover(1.0)
    link.b.start_liveness_check(1.0)  # Message ID 2: inside the window, but strict drops it
    link.flush()
    assert link.a.counters["drop.strict_after_failover"] == 1
    assert [e for e in link.a.events() if isinstance(e, SyncWanted)] == [SyncWanted(1.0)]
    assert requests_of(link) == []


def test_without_rfc6311_support_nothing_is_wanted() -> None:
    link = pair(gated(), member_snap=make_snapshot(caps=Capabilities(False, False)))
    link.a.failover_takeover(1.0)
    assert "sync_wanted" not in kinds(link.a.events())
    assert link.a.counters["sync_unsupported"] == 1  # case 4 (R5-9): the local skip only
    assert link.a.start_failover_sync(2.0) is False


def test_a_deleted_sa_never_starts_its_wanted_sync() -> None:
    link = pair(gated())
    link.a.failover_takeover(1.0)
    link.a.delete_now(1.5, "local")
    assert link.a.start_failover_sync(2.0) is False
    assert link.a.counters["sync_started"] == 0
