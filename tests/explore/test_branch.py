"""Cloning an IKE SA for a branch changes nothing: the clone behaves as the original, and the two
are independent afterwards (hasim.protocol.branch)."""

from __future__ import annotations

import random

from hasim.explore.model import POLICIES, Bounds
from hasim.explore.search import initial
from hasim.protocol.branch import CLONED_FIELDS, clone, state_key
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import SyncReading


def _pair() -> tuple[IkeSa, IkeSa]:
    """The explorer's starting pair: established, window 2, the cluster member at Message ID 2."""
    w, _ = initial(Bounds(window=2), SyncReading.STRICT, POLICIES["proactive"])
    return w.sides[0].sa, w.sides[1].sa


def test_clone_knows_every_field_of_an_ike_sa() -> None:
    m, _ = _pair()
    assert set(vars(m)) == CLONED_FIELDS


def test_a_clone_driven_like_the_original_sends_the_same_and_ends_in_the_same_state() -> None:
    m, p = _pair()
    m.failover_takeover(0.0)  # a sync request out, ESP counters skipped, inbound window advanced
    p.start_liveness_check(0.0)
    sync = m.messages_to_send(0.0)
    live = p.messages_to_send(0.0)
    twin = clone(m, random.Random(7).randbytes)
    original = clone(m, random.Random(7).randbytes)
    assert state_key(twin) == state_key(m)
    for sa in (twin, original):
        for data in live:
            sa.receive(data, 1.0)
    assert twin.messages_to_send(1.0) == original.messages_to_send(1.0)
    assert state_key(twin) == state_key(original)
    # the first clone's step left the SA it was cloned from as it was
    assert state_key(m) != state_key(twin)
    assert m.responses.base == 3 and twin.responses.highest >= 3
    assert sync and m.member.pending is not None


def test_a_clone_is_independent_of_its_original() -> None:
    m, _ = _pair()
    twin = clone(m, random.Random(3).randbytes)
    twin.children[0].next_out_seq()
    twin.children[0].inbound.receive(5)
    twin.start_liveness_check(0.0)
    assert m.children[0].out_seq == 0 and m.children[0].in_highest == 0
    assert not m.requests.outstanding and len(twin.requests.outstanding) == 1
