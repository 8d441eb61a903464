"""A request with an unknown payload type whose critical bit is set is rejected and answered with
UNSUPPORTED_CRITICAL_PAYLOAD carrying that type (RFC 7296 2.5, 3.2, 3.10.1)."""

from __future__ import annotations

from protocol_harness import KEYS, forge, pair

from hasim.wire import ExchangeType, Notify, NotifyType, OpaquePayload, decode
from hasim.wire.chain import encode_chain

UNKNOWN = 200  # private-use payload type (128-255, RFC 7296 IANA registry): unknown to hasim


def test_answer_notify_octets_by_hand() -> None:
    # Notify payload (RFC 7296 3.10): generic header next=0, C=0, length 9; protocol ID 0, SPI size 0,
    # type 1 (UNSUPPORTED_CRITICAL_PAYLOAD), data = the one-octet type 200 = 0xC8
    first, octets = encode_chain([Notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, data=bytes([UNKNOWN]))])
    assert first == 41
    assert octets == bytes.fromhex("0000000900000001c8")


def test_critical_unknown_payload_is_answered_with_its_type() -> None:
    link = pair()
    m, p = link.a, link.b
    request = forge(p, 0, (OpaquePayload(UNKNOWN, b"\x01\x02", critical=True),))
    m.receive(request, 1.0)
    out = m.messages_to_send(1.0)
    assert len(out) == 1
    answer = decode(out[0], KEYS)
    assert (answer.exchange, answer.message_id, answer.response, answer.initiator) == (
        ExchangeType.INFORMATIONAL,
        0,
        True,
        False,
    )
    assert answer.payloads == (Notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, data=bytes([UNKNOWN])),)
    assert m.counters["unsupported_critical_answered"] == 1
    # the answer took Message ID 0: a retransmitted copy gets the same octets, the next request is 1
    m.receive(request, 2.0)
    assert m.messages_to_send(2.0) == out
    m.receive(forge(p, 1), 3.0)
    nxt = [decode(d, KEYS) for d in m.messages_to_send(3.0)]
    assert [(x.message_id, x.payloads) for x in nxt] == [(1, ())]


def test_unknown_payload_without_critical_bit_is_skipped() -> None:
    link = pair()
    m, p = link.a, link.b
    m.receive(forge(p, 0, (OpaquePayload(UNKNOWN, b"\x01", critical=False),)), 1.0)
    (answer,) = [decode(d, KEYS) for d in m.messages_to_send(1.0)]
    assert (answer.message_id, answer.response, answer.payloads) == (0, True, ())
    assert m.counters["unsupported_critical_answered"] == 0


def test_critical_unknown_payload_in_a_response_is_dropped() -> None:
    link = pair()
    m, p = link.a, link.b
    m.start_liveness_check(0.0)
    m.messages_to_send(0.0)
    m.receive(forge(p, 0, (OpaquePayload(UNKNOWN, b"", critical=True),), response=True), 0.5)
    assert m.messages_to_send(0.5) == []
    assert m.counters["drop.unsupported_critical"] == 1
    assert 0 in m.requests.outstanding  # the request is still waiting for its answer
