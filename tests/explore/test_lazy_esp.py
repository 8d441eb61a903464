"""The lazy trigger keeps the ESP safety properties: its inbound window moves at the takeover (R8.2-1).

By hand, at the bound of the counterexample docs/explore.md once showed (one ESP packet of the peer,
one duplicate, no loss, no requests): the peer sends sequence number 1, the network duplicates it, the
active member accepts one copy and crashes before any copy reaches the standby. The new member's
window is the standby's (edge 0); at the takeover it moves to 0 + 1024 (the policy's skip) and marks
everything below as received, whatever the trigger, so the second copy of 1 is dropped although a lazy
member has started no sync.
"""

from __future__ import annotations

import pytest

from hasim.explore.model import POLICIES, Bounds
from hasim.explore.search import explore
from hasim.protocol.policy import SyncReading

ESP = Bounds(window=1, esp=1, losses=0, requests=0, duplicates=1)


@pytest.mark.rfc("R8.2-1", "R5.2-4", "R7-6")
@pytest.mark.parametrize("policy", ["lazy", "proactive"])
def test_no_duplicate_is_accepted_across_a_takeover(policy: str) -> None:
    res = explore(ESP, SyncReading.STRICT, POLICIES[policy])
    assert res.complete and res.findings["esp_replay_accepted"].holds
