"""The critical bit (RFC 7296 3.2): a payload type hasim does not know rejects the whole message when
its critical bit is set and travels opaquely when not, every RFC 7296 type is understood with the bit
set, inside SK payloads too; by hand (tests/wire/vectors.py) and over generated messages.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.errors import DecodeError, IntegrityError, UnsupportedCriticalPayload
from hasim.wire import (
    EncryptedPayload,
    Message,
    OpaquePayload,
    Payload,
    SkKeys,
    decode,
    encode,
    iv_size,
)
from hasim.wire.chain import encode_chain

from .strategies import payloads, sk_keys, u32, u64
from .vectors import (
    CBC,
    CHAIN,
    GCM,
    HEADER,
    P1,
    P2,
    P3_CRITICAL,
    P4,
    P5,
    P6,
    P7,
    P8,
    PROTECTED,
    cbc_wire,
    gcm_wire,
    h,
)


def test_unknown_type_with_critical_bit_rejects_the_message() -> None:
    # RFC 7296 3.2: a payload type the recipient does not understand, critical bit set: reject the
    # whole message; the error names the payload (offset 60) and carries its type for the
    # UNSUPPORTED_CRITICAL_PAYLOAD notify (3.10.1: one octet of data, the type).
    bad = HEADER + h(P1 + P2 + P3_CRITICAL + P4 + P5 + P6 + P7 + P8)
    with pytest.raises(UnsupportedCriticalPayload) as info:
        decode(bad)
    assert info.value.offset == 60 and info.value.payload_type == 200
    assert isinstance(info.value, DecodeError)


@pytest.mark.parametrize("ptype", [1, 32, 49, 50, 127, 128, 255])
def test_unknown_types_travel_opaquely_unless_critical(ptype: int) -> None:
    # A lone payload of that type: 4 + 2 = 6 octets; message 28 + 6 = 34 = 0x22.
    head = f"0000000000000001 0000000000000002 {ptype:02x} 20 25 08 00000000 00000022"
    plain = h(head + "00 00 0006 beef")
    assert decode(plain).payloads == (OpaquePayload(ptype, h("beef")),)
    assert encode(decode(plain)) == plain
    with pytest.raises(UnsupportedCriticalPayload) as info:
        decode(h(head + "00 80 0006 beef"))
    assert (info.value.offset, info.value.payload_type) == (28, ptype)


@pytest.mark.parametrize("ptype", range(33, 49))
def test_every_rfc7296_type_is_understood_with_the_critical_bit(ptype: int) -> None:
    # Bodies that are valid for the interpreted types: Nonce 16 octets, Notify/Delete fixed parts.
    body = {40: "00" * 16, 41: "00 00 4000", 42: "01 00 0000"}.get(ptype, "beef")
    n = len(bytes.fromhex(body.replace(" ", "")))
    if ptype == 46:  # an SK payload, not decrypted without keys
        body, n = "00" * 8, 8
    head = f"0000000000000001 0000000000000002 {ptype:02x} 20 25 08 00000000 {28 + 4 + n:08x}"
    wire = h(head + f"00 80 {4 + n:04x} " + body)
    [p] = decode(wire).payloads
    assert p.critical
    assert encode(decode(wire)) == wire


@pytest.mark.parametrize("suite", ["cbc", "gcm"])
def test_sk_payload_with_critical_bit_decrypts_and_round_trips(suite: str) -> None:
    # RFC 7296 3.2: the recipient MUST ignore the critical bit of a type it understands (SK: 46).
    if suite == "cbc":
        wire, keys = cbc_wire(CHAIN, bytes(15), 192, 164, sk_flags="80"), CBC
    else:
        wire, keys = gcm_wire(CHAIN, b"", 169, 141, sk_flags="80"), GCM
    assert decode(wire, keys) == PROTECTED
    # Without keys the SK payload keeps its critical bit and the octets round-trip.
    [sk] = decode(wire).payloads
    assert isinstance(sk, EncryptedPayload) and sk.critical and sk.first_inner == 41
    assert encode(decode(wire)) == wire
    # The ICV covers the critical bit: clearing it is an integrity failure, not a silent accept.
    tampered = bytearray(wire)
    tampered[29] = 0x00
    with pytest.raises(IntegrityError):
        decode(bytes(tampered), keys)


def test_unknown_critical_payload_inside_sk() -> None:
    # The check runs on the decrypted chain, after the ICV verified. Inner P3 sits at 12 + 20 = 32;
    # in the message: 28 (header) + 4 (SK header) + IV (16 CBC, 8 GCM) + 32 = 80 (CBC), 72 (GCM).
    inner = h(P1 + P2 + P3_CRITICAL + P4 + P5 + P6 + P7 + P8)
    for wire, keys, at in [
        (cbc_wire(inner, bytes(15), 192, 164), CBC, 80),
        (gcm_wire(inner, b"", 169, 141), GCM, 72),
    ]:
        with pytest.raises(UnsupportedCriticalPayload) as info:
            decode(wire, keys)
        assert (info.value.offset, info.value.payload_type) == (at, 200)


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
