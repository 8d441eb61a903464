"""The explorer finds seeded bugs in the protocol objects, each with its shortest counterexample.

The shortest lengths are worked out by hand from the initial state (cluster member at next
Message ID 2, peer expecting 2; the standby holds the same state; window 1):

- A peer that answers a sync request whatever its M1 (R5.1-5 removed) answers a stale one after 4
  steps and no fewer: the first sync (M1 = 2 + window = 3) is fresh; a stale M1 needs a second
  member's request (a second crash) delivered after a higher or equal M1 was seen, i.e. crash,
  crash, deliver one sync, deliver the other (or crash with its copy to the standby lost, deliver,
  crash, deliver). A copy of one sync request is answered from the cache, never as new.
- A requester that does not advance its next Message ID reuses one after 2 steps: two requests
  started on one side go out with Message ID 2 (the window allows a second request, since 2 <
  lowest outstanding 2 + window 1 holds for the unchanged counter).
"""

from __future__ import annotations

import pytest

from hasim.explore.model import POLICIES, Bounds
from hasim.explore.search import explore
from hasim.protocol import mid_window, rfc6311_peer
from hasim.protocol.policy import SyncReading

SMALL = dict(esp=0, losses=0, duplicates=0, early_timeouts=0, syncs=0)


def _accept_any_m1(reading, m1, p1, highest_recv, highest_sync_m1, next_recv, next_send):  # type: ignore[no-untyped-def]
    return rfc6311_peer.PeerDecision(True, max(m1, highest_recv + 1, next_recv), max(p1, next_send))


def _allocate_without_advancing(self: mid_window.RequestWindow) -> int:
    return self.next_mid


@pytest.mark.parametrize("reading", [SyncReading.STRICT, SyncReading.STRONGSWAN])
def test_a_peer_accepting_stale_syncs_is_caught_in_four_steps(
    monkeypatch: pytest.MonkeyPatch, reading: SyncReading
) -> None:
    bounds = Bounds(window=1, requests=0, failovers=2, sync_losses=1, **SMALL)
    clean = explore(bounds, reading, POLICIES["proactive"])
    assert clean.complete and clean.findings["stale_sync_accepted"].holds
    monkeypatch.setattr(rfc6311_peer, "decide", _accept_any_m1)
    res = explore(bounds, reading, POLICIES["proactive"])
    f = res.findings["stale_sync_accepted"]
    assert f.safety and not f.holds
    assert f.path is not None and len(f.path) == 4
    assert [a.kind for a in f.path].count("crash") == 2
    last = f.path[-1]
    assert (
        last.kind == "deliver" and last.datagram is not None and last.datagram.serial == -2
    )  # a sync request


def test_a_requester_reusing_a_message_id_is_caught_in_two_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds = Bounds(window=1, requests=2, failovers=0, sync_losses=0, **SMALL)
    clean = explore(bounds, SyncReading.STRICT, POLICIES["proactive"])
    assert clean.complete and clean.findings["mid_reuse"].holds
    monkeypatch.setattr(mid_window.RequestWindow, "allocate", _allocate_without_advancing)
    res = explore(bounds, SyncReading.STRICT, POLICIES["proactive"])
    f = res.findings["mid_reuse"]
    assert not f.holds and f.path is not None
    assert [(a.kind, a.side) for a in f.path] in ([("request", 0)] * 2, [("request", 1)] * 2)
    assert "as Message ID 2" in f.detail
