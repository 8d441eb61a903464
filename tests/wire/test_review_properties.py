"""Properties of the critical bit (RFC 7296 3.2) over generated messages."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.errors import UnsupportedCriticalPayload
from hasim.wire import Message, OpaquePayload, Payload, SkKeys, decode, encode, iv_size
from hasim.wire.chain import encode_chain

from .strategies import payloads, sk_keys, u32, u64

SETTINGS = settings(max_examples=100, deadline=None)
UNKNOWN = st.one_of(st.integers(1, 32), st.integers(49, 255))


@SETTINGS
@given(payloads, payloads, UNKNOWN, st.binary(max_size=20), u64, u64, u32, st.booleans())
def test_unknown_critical_payload_anywhere_rejects_the_message(
    before: tuple[Payload, ...],
    after: tuple[Payload, ...],
    ptype: int,
    body: bytes,
    spi_i: int,
    spi_r: int,
    mid: int,
    initiator: bool,
) -> None:
    bad = OpaquePayload(ptype, body, critical=True)
    msg = Message(spi_i, spi_r, 37, initiator, False, mid, (*before, bad, *after))
    # The offending payload starts after the header and the payloads before it.
    at = 28 + len(encode_chain(before)[1])
    try:
        decode(encode(msg))
    except UnsupportedCriticalPayload as exc:
        assert (exc.offset, exc.payload_type) == (at, ptype)
    else:
        raise AssertionError("a critical payload of an unknown type must reject the message")
    # Without the critical bit the same message decodes and round-trips.
    ok = Message(spi_i, spi_r, 37, initiator, False, mid, (*before, OpaquePayload(ptype, body), *after))
    assert decode(encode(ok)) == ok


@SETTINGS
@given(payloads, UNKNOWN, sk_keys, st.booleans(), st.data())
def test_inside_sk_too(
    inner: tuple[Payload, ...], ptype: int, keys: SkKeys, initiator: bool, data: st.DataObject
) -> None:
    msg = Message(1, 2, 37, initiator, True, 5, (*inner, OpaquePayload(ptype, b"", True)), protected=True)
    wire = encode(msg, keys, data.draw(st.binary(min_size=iv_size(keys.suite), max_size=iv_size(keys.suite))))
    at = 28 + 4 + iv_size(keys.suite) + len(encode_chain(inner)[1])
    try:
        decode(wire, keys)
    except UnsupportedCriticalPayload as exc:
        assert (exc.offset, exc.payload_type) == (at, ptype)
    else:
        raise AssertionError("a critical payload of an unknown type must reject the message")
    # Without keys the SK payload is opaque: the message decodes (nothing unknown is visible).
    assert encode(decode(wire)) == wire
