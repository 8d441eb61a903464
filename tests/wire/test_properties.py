"""Round trips: decode(encode(x)) == x for generated messages, encode(decode(b)) == b for decodable b."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hasim.wire import Message, SkKeys, decode, encode, from_notify, iv_size
from hasim.wire.esp import EspHeader, decode_esp_header

from .strategies import plain_message, protected_message, rfc6311_notify, sk_keys

SETTINGS = settings(max_examples=150, deadline=None)


@pytest.mark.rfc("R6-7")
@SETTINGS
@given(plain_message())
def test_plain_round_trip(msg: Message) -> None:
    wire = encode(msg)
    assert decode(wire) == msg
    assert encode(decode(wire)) == wire


@pytest.mark.rfc("R6-7")
@SETTINGS
@given(protected_message(), sk_keys, st.data())
def test_protected_round_trip(msg: Message, keys: SkKeys, data: st.DataObject) -> None:
    iv = data.draw(st.binary(min_size=iv_size(keys.suite), max_size=iv_size(keys.suite)))
    wire = encode(msg, keys, iv)
    assert decode(wire, keys) == msg
    # Without keys it is a plain message with an SK payload that re-encodes to the same octets.
    assert encode(decode(wire)) == wire


@pytest.mark.rfc("R6-1", "R6-2", "R6-3", "R6-4", "R6-5")
@SETTINGS
@given(rfc6311_notify)
def test_rfc6311_typed_round_trip(typed: object) -> None:
    n = typed.to_notify()  # type: ignore[attr-defined]
    assert n.protocol_id == 0 and n.spi == b""  # R6-2
    assert from_notify(n) == typed


@SETTINGS
@given(st.integers(1, 2**32 - 1), st.integers(0, 2**64 - 1))
def test_esp_header_carries_the_low_32_bits(spi: int, seq: int) -> None:
    wire = EspHeader(spi, seq).encode()
    assert wire == spi.to_bytes(4, "big") + (seq % 2**32).to_bytes(4, "big")
    assert decode_esp_header(wire) == EspHeader(spi, seq % 2**32)
