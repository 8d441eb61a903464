"""A request processed twice by one member: the windowed after-failover policy (R8.1-1) with the
peer's re-send of abandoned requests (R9-2); dropping requests until the sync completes (R8.1-2)
rules it out.

Worked out by hand (one failover, one request per side, nothing lost, window 1): the new member
sends its sync at takeover; the peer's request (Message ID 3) reaches the member first and is
processed inside the window the member declared (P1 = 3); the sync then reaches the peer, which
gives up waiting for request 3 and sends it again as Message ID 4 (P2 = max(P1, 4)); the member
processes that too. Crash, request, two deliveries of the request and one of the sync: 5 steps,
none of which can be left out.
"""

from __future__ import annotations

from hasim.explore.model import POLICIES, Bounds
from hasim.explore.search import explore
from hasim.protocol.policy import SyncReading

ONE = Bounds(window=1, failovers=1, sync_losses=0, losses=0)


def test_windowed_policy_processes_a_resent_request_again_in_five_steps() -> None:
    res = explore(ONE, SyncReading.STRICT, POLICIES["proactive"])
    f = res.findings["request_processed_twice"]
    assert not f.safety and f.path is not None and len(f.path) == 5
    assert [a.kind for a in f.path] == ["crash", "request", "deliver", "deliver", "deliver"]
    assert f.path[1].side == 1  # the peer's request
    assert [a.datagram.dst for a in f.path[2:] if a.datagram is not None] == [0, 1, 0]
    assert f.detail == "side 0 processed request 0 as new again"


def test_strict_after_failover_never_processes_a_request_twice() -> None:
    res = explore(ONE, SyncReading.STRICT, POLICIES["strict-ike"])
    assert res.complete and res.findings["request_processed_twice"].holds
