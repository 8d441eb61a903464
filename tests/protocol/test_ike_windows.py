"""Plain IKEv2 behaviour of an IKE SA: retransmission, response cache, windows (RFC 7296 2.1-2.3)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from protocol_harness import KEYS, make_snapshot, pair

from hasim.errors import ConfigError
from hasim.protocol.events import ExchangeCompleted, IkeSaDeleted, Retransmitted
from hasim.protocol.policy import IkeConfig, RetransmitSchedule
from hasim.wire import ExchangeType, decode

# strongSwan: timeout 4 s, base 1.8, 5 retransmissions. Worked out by hand:
# waits 4, 7.2, 12.96, 23.328, 41.9904, 75.58272; cumulative sends below, give-up at their sum.
SENDS = [0.0, 4.0, 11.2, 24.16, 47.488, 89.4784]
GIVE_UP = 165.06112


def test_default_schedule_matches_strongswan() -> None:
    times, give_up = RetransmitSchedule().send_times()
    assert times == pytest.approx(SENDS)
    assert give_up == pytest.approx(GIVE_UP)


def test_bad_schedule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"retransmit\.base"):
        RetransmitSchedule(base=0.5)
    with pytest.raises(ConfigError, match="window_size"):
        IkeConfig(window_size=0)


def test_lost_request_is_retransmitted_identically_then_sa_deleted() -> None:
    link = pair()
    link.drop = lambda s: s.src == "M" and not s.msg.response
    link.a.start_liveness_check(0.0)
    link.run_until(200.0)
    sent = [s for s in link.sent_by("M") if not s.msg.response]
    assert [s.time for s in sent] == pytest.approx(SENDS)
    assert len({s.data for s in sent}) == 1  # identical bytes every time
    deleted = [e for e in link.a.events() if isinstance(e, IkeSaDeleted)]
    assert len(deleted) == 1
    assert deleted[0].reason == "timeout"
    assert deleted[0].time == pytest.approx(GIVE_UP)
    assert link.a.deleted
    assert link.a.counters["retransmissions"] == 5
    assert link.a.next_timer() is None


def test_jitter_shortens_waits_with_caller_draws() -> None:
    cfg = IkeConfig(retransmit=RetransmitSchedule(jitter=0.5))
    link = pair(cfg)
    link.drop = lambda s: not s.msg.response
    link.a.start_liveness_check(0.0)
    link.run_until(200.0)
    sent = [s.time for s in link.sent_by("M") if not s.msg.response]
    assert len(sent) == 6
    waits = [b - a for a, b in itertools.pairwise(sent)]
    for n, w in enumerate(waits):
        full = 4.0 * 1.8**n
        assert 0.5 * full <= w <= full + 1e-9


def test_lost_response_is_answered_from_cache() -> None:
    link = pair()
    lost = {"n": 0}

    def drop_first_response(s: object) -> bool:
        if getattr(s, "src", "") == "P" and s.msg.response and lost["n"] == 0:  # type: ignore[attr-defined]
            lost["n"] += 1
            return True
        return False

    link.drop = drop_first_response  # type: ignore[assignment]
    link.a.start_liveness_check(0.0)
    link.run_until(10.0)
    responses = [s for s in link.sent_by("P") if s.msg.response]
    assert len(responses) == 2
    assert responses[0].data == responses[1].data  # same bytes from the cache
    assert responses[1].time == pytest.approx(4.0)
    assert link.b.counters["retransmissions_answered"] == 1
    assert link.b.counters["requests_answered"] == 1
    done = [e for e in link.a.events() if isinstance(e, ExchangeCompleted)]
    assert [e.message_id for e in done] == [0]


@pytest.mark.rfc("R7-4")
def test_out_of_window_request_dropped_and_counted() -> None:
    link = pair()
    link.a.start_liveness_check(0.0)
    link.flush()
    first = link.sent_by("M")[0]
    # Two more exchanges move the window on: Message ID 0's response leaves the cache.
    link.a.start_liveness_check(1.0)
    link.a.start_liveness_check(1.0)
    link.flush()
    assert link.b.responses.base == 3
    link.b.receive(first.data, 2.0)  # Message ID 0: below the window, response no longer cached
    assert link.b.counters["out_of_window_drops"] == 1
    assert link.b.counters["drop.out_of_window"] == 1
    assert link.b.messages_to_send(2.0) == []
    # A request far ahead of the window is dropped too.
    msg = decode(first.data, KEYS)
    ahead = link.a.seal(replace(msg, message_id=9))
    link.b.receive(ahead, 2.0)
    assert link.b.counters["out_of_window_drops"] == 2


def test_window_larger_than_one_keeps_several_requests_outstanding() -> None:
    cfg = IkeConfig(window_size=3)
    link = pair(cfg, cfg, member_snap=make_snapshot(window=3))
    link.drop = lambda s: not s.msg.response  # hold every request
    for _ in range(5):
        link.a.start_liveness_check(0.0)
    link.flush()
    mids = sorted({s.msg.message_id for s in link.sent_by("M")})
    assert mids == [0, 1, 2]  # window 3: two more wait
    assert len(link.a.queue) == 2
    link.drop = lambda s: False
    link.run_until(5.0)  # retransmissions get through; the rest follow
    done = sorted(e.message_id for e in link.a.events() if isinstance(e, ExchangeCompleted))
    assert done == [0, 1, 2, 3, 4]
    assert link.b.responses.base == 5


def test_window_accepts_out_of_order_requests_within_it() -> None:
    cfg = IkeConfig(window_size=3)
    link = pair(cfg, cfg, member_snap=make_snapshot(window=3))
    for _ in range(3):
        link.a.start_liveness_check(0.0)
    out = link.a.messages_to_send(0.0)
    assert len(out) == 3
    for d in reversed(out):
        link.b.receive(d, 0.0)
    assert link.b.responses.base == 3
    assert link.b.counters["requests_answered"] == 3
    for d in link.b.messages_to_send(0.0):
        link.a.receive(d, 0.0)
    assert not link.a.requests.outstanding


def test_retransmitted_event_carries_attempt() -> None:
    link = pair()
    link.drop = lambda s: not s.msg.response
    link.a.start_liveness_check(0.0)
    link.run_until(12.0)
    rt = [e for e in link.a.events() if isinstance(e, Retransmitted)]
    assert [(e.attempt, e.time) for e in rt] == [(1, 4.0), (2, pytest.approx(11.2))]


def test_delete_removes_both_sides() -> None:
    link = pair()
    link.a.delete(0.0)
    link.flush()
    assert link.a.deleted and link.b.deleted
    reasons = [e.reason for sa in (link.a, link.b) for e in sa.events() if isinstance(e, IkeSaDeleted)]
    assert reasons == ["local", "delete_received"]


def test_message_shapes_are_real_ikev2() -> None:
    link = pair()
    link.a.start_liveness_check(0.0)
    link.flush()
    req = link.sent_by("M")[0]
    raw = decode(req.data)  # without keys: the payloads stay inside one SK payload
    assert raw.exchange == ExchangeType.INFORMATIONAL
    assert not raw.initiator and not raw.response  # the member is the original responder
    assert len(raw.payloads) == 1 and type(raw.payloads[0]).__name__ == "EncryptedPayload"
    assert req.data[17] == 0x20 and len(req.data) >= 28  # IKEv2 version octet, 28-octet header
