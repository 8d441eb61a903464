"""The sender's outbound ESP counter: never cycles, skips forward on failover, signals the rekey."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.errors import ProtocolError
from hasim.protocol.esp_counter import CounterExhausted, OutboundCounter, counter_limit


def test_first_packet_is_one_and_numbers_increase() -> None:
    c = OutboundCounter()
    assert [c.next(), c.next(), c.next()] == [1, 2, 3]  # RFC 4303 3.3.3: first packet carries 1
    assert c.take(5) == (4, 8)
    assert c.take(0) == (9, 8)
    assert c.last == 8


def test_exhaustion_without_esn_refuses_to_cycle() -> None:
    c = OutboundCounter(last=2**32 - 3)
    assert c.next() == 2**32 - 2
    assert c.next() == 2**32 - 1  # the last number a non-ESN SA may use
    assert c.exhausted and c.remaining == 0
    with pytest.raises(CounterExhausted):
        c.next()  # would cycle to 0 (RFC 4303 3.3.3)
    assert c.last == 2**32 - 1
    assert isinstance(CounterExhausted("x"), ProtocolError)


def test_exhaustion_with_esn_at_two_to_the_64() -> None:
    c = OutboundCounter(esn=True, last=2**64 - 2)
    assert c.next() == 2**64 - 1
    with pytest.raises(CounterExhausted):
        c.next()
    assert counter_limit(True) == 2**64 - 1 and counter_limit(False) == 2**32 - 1


def test_take_is_all_or_nothing() -> None:
    c = OutboundCounter(last=2**32 - 10)
    with pytest.raises(CounterExhausted):
        c.take(10)  # would need 2**32 - 9 .. 2**32
    assert c.last == 2**32 - 10
    assert c.take(9) == (2**32 - 9, 2**32 - 1)


def test_soft_limit_signals_rekey() -> None:
    c = OutboundCounter(soft_limit=100)
    c.take(100)
    assert not c.rekey_due  # 100 is still within the soft limit
    c.next()
    assert c.rekey_due  # 101 > 100
    default = OutboundCounter()
    assert default.soft_limit == int((2**32 - 1) * 0.9)
    with pytest.raises(ProtocolError):
        OutboundCounter(soft_limit=2**32)


@pytest.mark.rfc("R5.2-1", "R5.2-6")
def test_skip_forward_jumps_the_counter() -> None:
    # R5.2-1: the newly active member skips its own counter; R5.2-6: the peer adds the requested
    # delta to every Child SA counter. Synced value 1000, skip 500: next packet 1501.
    c = OutboundCounter(last=1000)
    assert c.skip_forward(500) == 1500
    assert c.next() == 1501
    assert c.skipped == 500
    with pytest.raises(ProtocolError):
        c.skip_forward(-1)


@pytest.mark.rfc("R5.2-3")
def test_large_skip_makes_rekey_due_and_never_wraps() -> None:
    # RFC 6311 5.2's "very large number" 2**30 from a counter at 3 * 2**30 (soft limit 90% of 2**32):
    # 4 * 2**30 = 2**32 > 2**32 - 1, so the skip stops at the limit: exhausted, rekey due, no wrap.
    c = OutboundCounter(last=3 * 2**30)
    assert c.skip_forward(2**30) == 2**32 - 1
    assert c.exhausted and c.rekey_due
    assert c.counter_space_used == 1.0
    with pytest.raises(CounterExhausted):
        c.next()
    d = OutboundCounter(last=2**31)
    d.skip_forward(2**30)  # 2**31 + 2**30 = 0.75 of the space: below the soft limit
    assert not d.rekey_due
    assert d.counter_space_used == pytest.approx(0.75, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(esn=st.booleans(), ops=st.lists(st.tuples(st.sampled_from("nts"), st.integers(0, 2**33)), max_size=40))
def test_counter_is_strictly_increasing_and_bounded(esn: bool, ops: list[tuple[str, int]]) -> None:
    c = OutboundCounter(esn=esn, last=2**32 - 2**20 if not esn else 2**64 - 2**34)
    used: list[int] = []
    for op, amount in ops:
        try:
            if op == "n":
                used.append(c.next())
            elif op == "t":
                first, last = c.take(amount % 5000)
                used.extend(range(first, last + 1))
            else:
                c.skip_forward(amount)
        except CounterExhausted:
            assert c.remaining < max(amount % 5000, 1)
        assert c.last <= c.limit
    assert used == sorted(set(used))
