"""Counter-mode IV reuse across a failover (R3.4-1): recorded exactly when a sequence number repeats."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.protocol.esp_counter import OutboundCounter
from hasim.protocol.iv_reuse import IvReuse, IvUsageTracker, iv_from_seq


def test_iv_is_the_sequence_number() -> None:
    assert iv_from_seq(1) == b"\x00" * 7 + b"\x01"  # RFC 4106 3.1: 8 octets, here the 64-bit counter
    assert iv_from_seq(2**32) == b"\x00\x00\x00\x01\x00\x00\x00\x00"


@pytest.mark.rfc("R3.4-1", "R5.2-1")
def test_stale_counter_with_too_small_skip_reuses_ivs() -> None:
    # The old active sent 1..1000; the standby's synced value is 800; it skips 150 -> resumes at 951.
    # Numbers 951..1000 are sent again under the same key: 50 repeated IVs.
    tracker = IvUsageTracker()
    old = OutboundCounter()
    tracker.use("sa1", *old.take(1000))
    new = OutboundCounter(last=800)
    new.skip_forward(150)
    events = tracker.use("sa1", *new.take(100))  # 951..1050
    assert events == [IvReuse("sa1", 951, 1000)]
    assert tracker.reused_ivs == 50
    assert tracker.used_ranges("sa1") == [(1, 1050)]


@pytest.mark.rfc("R3.4-1", "R5.2-1")
def test_large_enough_skip_reuses_nothing() -> None:
    tracker = IvUsageTracker()
    tracker.use("sa1", 1, 1000)
    new = OutboundCounter(last=800)
    new.skip_forward(200)  # resumes at 1001: exactly enough
    assert tracker.use("sa1", *new.take(10)) == []
    assert tracker.use("sa2", 1, 5) == []  # another SA has its own key and IV space
    assert tracker.reused_ivs == 0


def test_three_uses_count_twice_and_merging_keeps_ranges_small() -> None:
    t = IvUsageTracker()
    for a, b in [(1, 10), (21, 30), (11, 20)]:  # the third fills the gap exactly
        assert t.use("x", a, b) == []
    assert t.used_ranges("x") == [(1, 30)]
    assert [e.count for e in t.use("x", 5, 6)] == [2]
    assert [e.count for e in t.use("x", 5, 5)] == [1]  # 5 now used three times
    assert t.reused_ivs == 3
    t.forget("x")
    assert t.use("x", 5, 5) == []


@settings(max_examples=150, deadline=None)
@given(runs=st.lists(st.tuples(st.integers(1, 300), st.integers(0, 40)), max_size=30))
def test_reuse_events_equal_a_per_iv_count(runs: list[tuple[int, int]]) -> None:
    tracker, counts = IvUsageTracker(), {}
    expected = 0
    for first, length in runs:
        last = first + length - 1
        events = tracker.use("sa", first, last)
        repeated = [s for s in range(first, last + 1) if counts.get(s, 0) > 0]
        for s in range(first, last + 1):
            counts[s] = counts.get(s, 0) + 1
        expected += len(repeated)
        assert sorted(s for e in events for s in range(e.first, e.last + 1)) == repeated
    assert tracker.reused_ivs == expected
    used = {s for s, c in counts.items() if c}
    ranges = tracker.used_ranges("sa")
    assert {s for a, b in ranges for s in range(a, b + 1)} == used
    assert all(b + 1 < a2 for (_, b), (a2, _) in itertools.pairwise(ranges))


def test_scale_a_long_run_is_one_interval() -> None:
    t = IvUsageTracker()
    for start in range(1, 10_000_000, 1000):  # 10,000 runs of 1000: 1..10,000,000
        t.use("sa", start, start + 999)
    assert t.used_ranges("sa") == [(1, 10_000_000)]
    assert t.use("sa", 9_999_995, 10_000_005)[0].count == 6  # 9,999,995..10,000,000 repeated
