"""AMB-1 at a bound: the strict reading of R5.1-5 loses an SA that the sync-only reading keeps.

Worked out by hand (window 1, two requests per side, one failover, nothing lost): for the strict
peer to drop the new member's sync as stale, the failed member must have sent Message IDs 2 and 3
after the standby's copy (the new member's M1 is 2 + window = 3). With window 1 the second request
waits for the first response, so that takes 6 steps (two requests, their deliveries and their
responses' deliveries, which a quiet network needs before any timer); then the crash, the sync
delivered and dropped, a timer (retransmission), the copy delivered and dropped, a timer (give up):
11 steps, none of which can be left out.
"""

from __future__ import annotations

from hasim.explore.compare import sa_lost_only_under
from hasim.explore.model import KEYS, POLICIES, Bounds
from hasim.explore.search import replay
from hasim.protocol.policy import SyncReading
from hasim.wire import MessageIdSync, Notify, decode, from_notify

TWO = Bounds(window=1, requests=2, failovers=1, sync_losses=0, losses=0)


def test_strict_loses_in_eleven_steps_what_sync_only_keeps() -> None:
    res, div = sa_lost_only_under(TWO, POLICIES["proactive"])
    assert res.complete and div is not None
    assert len(div.lossy_path) == 11
    strict = replay(div.lossy_path, TWO, SyncReading.STRICT, POLICIES["proactive"])
    assert strict.taken == 11
    end = strict.worlds[-1]
    assert end.sides[0].sa.deleted and end.sides[0].sa.counters["deleted.timeout"] == 1
    # every delivery of the sync request found an M1 no higher than a Message ID the peer had received
    for before, a in zip(strict.worlds, div.lossy_path, strict=False):
        d = a.datagram
        if a.kind == "deliver" and d is not None and d.serial == -2:
            typed = [from_notify(p) for p in decode(d.data, KEYS).payloads if isinstance(p, Notify)]
            (sync,) = [t for t in typed if isinstance(t, MessageIdSync)]
            assert sync.expected_send <= before.sides[1].sa.responses.highest
    other = replay(div.other_path, TWO, SyncReading.SYNC_ONLY, POLICIES["proactive"])
    assert other.taken == len(div.other_path)
    a, b = (s.sa for s in other.worlds[-1].sides)
    assert not a.deleted and not b.deleted
    assert a.requests.next_mid == b.responses.base and b.requests.next_mid == a.responses.base
    assert not a.requests.outstanding and not b.requests.outstanding
