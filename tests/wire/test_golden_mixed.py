"""Golden vectors with other numbers than test_golden and test_golden_sk, worked out by hand
(tests/wire/vectors.py): a mixed chain of eight payloads, RFC 6311 values at their maximum, ESP SPIs in
Notify and Delete, the chain inside SK payloads of both suites with foreign padding, ESP header extremes.
"""

from __future__ import annotations

import pytest

from hasim.errors import DecodeError
from hasim.wire import (
    Delete,
    MessageIdSync,
    Notify,
    OpaquePayload,
    ReplayCounterSync,
    decode,
    encode,
    from_notify,
)
from hasim.wire.chain import encode_chain
from hasim.wire.esp import EspHeader, decode_esp_header

from .vectors import (
    CBC,
    CBC_IV,
    CHAIN,
    GCM,
    GCM_IV,
    MSG,
    P1,
    P2,
    PAYLOADS,
    PLAIN,
    PROTECTED,
    cbc_wire,
    gcm_wire,
    h,
)


def test_mixed_chain_golden() -> None:
    assert len(CHAIN) == 112 and len(PLAIN) == 140
    assert encode(MSG) == PLAIN
    assert decode(PLAIN) == MSG


@pytest.mark.rfc("R6-4", "R6-5")
def test_rfc6311_values_at_their_maximum() -> None:
    n6, n7 = PAYLOADS[5], PAYLOADS[6]
    assert isinstance(n6, Notify) and isinstance(n7, Notify)
    assert from_notify(n6) == ReplayCounterSync(2**64 - 1, esn=True)
    # The critical bit of a notify type hasim understands is ignored (RFC 7296 3.2).
    assert from_notify(n7) == MessageIdSync(0xFFFFFFFF, 0xFFFFFFFF, 0x80000000)
    # 16423 without ESN at its maximum: 4 + 4 + 4 = 12 = 0x0c.
    no_esn = ReplayCounterSync(0xFFFFFFFF, esn=False).to_notify()
    assert encode_chain([no_esn]) == (41, h("00 00 000c 00 00 4027 ffffffff"))
    with pytest.raises(ValueError):
        ReplayCounterSync(2**32, esn=False)
    with pytest.raises(ValueError):
        ReplayCounterSync(2**64, esn=True)
    with pytest.raises(ValueError):
        MessageIdSync(0, 2**32, 0)


def test_notify_with_an_esp_spi_and_delete_of_esp_spis() -> None:
    # RFC 7296 3.10: SPI Size 4 for ESP; 3.11: ESP SPI Size 4 with Num of SPIs SPIs following.
    first, octets = encode_chain([Notify(16393, 3, h("01020304"), h("ab"))])
    assert (first, octets) == (41, h("00 00 000d 03 04 4009 01020304 ab"))  # 4 + 4 + 4 + 1 = 13
    first, octets = encode_chain([Delete(2, (h("00000001"),))])  # AH: SPI size 4 too
    assert (first, octets) == (42, h("00 00 000c 02 04 0001 00000001"))  # 4 + 4 + 4 = 12
    with pytest.raises(ValueError):
        Delete(1, (h("00000001"),))  # the IKE SA: no SPIs (RFC 7296 3.11)
    with pytest.raises(ValueError):
        Delete(3, (h("000001"),))  # ESP SPIs are 4 octets


def test_cbc_golden_other_numbers() -> None:
    # 112 inner octets are 7 whole blocks, so hasim pads 15 zero octets + Pad Length 15 = 128.
    # SK body 16 + 128 + 16 = 160; SK Payload Length 164 = 0xa4; Length 28 + 164 = 192 = 0xc0.
    wire = cbc_wire(CHAIN, bytes(15), 192, 164)
    assert len(wire) == 192
    assert encode(PROTECTED, CBC, CBC_IV) == wire
    assert decode(wire, CBC) == PROTECTED


def test_gcm_golden_other_numbers() -> None:
    # No padding: 112 + Pad Length (1) = 113; body 8 + 113 + 16 = 137; SK 141 = 0x8d; total 169 = 0xa9.
    wire = gcm_wire(CHAIN, b"", 169, 141)
    assert len(wire) == 169
    assert encode(PROTECTED, GCM, GCM_IV) == wire
    assert decode(wire, GCM) == PROTECTED


def test_foreign_padding_contents_and_lengths_are_accepted() -> None:
    # RFC 7296 3.14: padding contents are arbitrary and any Pad Length giving whole blocks is fine.
    # CBC: 112 + 31 (0xa5) + 1 = 144 = 9 blocks; body 16 + 144 + 16 = 176; SK 180 = 0xb4; total 208.
    assert decode(cbc_wire(CHAIN, b"\xa5" * 31, 208, 180), CBC) == PROTECTED
    # CBC with Pad Length 0: P1 + P2 (now announcing a Vendor ID) + a 95-octet Vendor ID
    # = 12 + 20 + 95 = 127 inner octets, + Pad Length = 128 = 8 blocks.
    vid = "00 00 005f " + "42" * 91  # 4 + 91 = 95 = 0x5f
    inner = h(P1 + P2.replace("c8 00", "2b 00", 1) + vid)
    assert len(inner) == 127
    body = 16 + 128 + 16  # 160; SK 164; total 192
    msg = decode(cbc_wire(inner, b"", 28 + 4 + body, 4 + body), CBC)
    assert msg.payloads[2] == OpaquePayload(43, b"\x42" * 91)
    # GCM (RFC 5282 3: padding allowed, not needed): 112 + 5 (0xee) + 1 = 118; body 8 + 118 + 16 = 142;
    # SK 146 = 0x92; total 174 = 0xae.
    assert decode(gcm_wire(CHAIN, b"\xee" * 5, 174, 146), GCM) == PROTECTED


def test_esp_header_extremes() -> None:
    # RFC 4303 2.1/2.2: SPI (4) | Sequence Number (4); with ESN only the low 32 bits travel.
    assert EspHeader(0xFFFFFFFF, 2**64 - 1).encode() == h("ffffffff ffffffff")
    assert EspHeader(0x100, 2**32).encode() == h("00000100 00000000")
    assert decode_esp_header(h("80000000 00000001 deadbeef")) == EspHeader(0x80000000, 1)
    with pytest.raises(DecodeError) as info:
        decode_esp_header(h("00000000 00000001"))  # SPI 0 is reserved (RFC 4303 2.1)
    assert info.value.offset == 0
    with pytest.raises(DecodeError) as info:
        decode_esp_header(h("01020304 0506"))
    assert info.value.offset == 6
