"""Golden vectors worked out by hand from RFC 7296 section 3 and RFC 6311 section 6.

Every hex literal below was written from the layouts, field by field, with the arithmetic in the
comments; none was copied from hasim's output.
"""

from __future__ import annotations

import pytest

from hasim.wire import (
    ExchangeType,
    Message,
    MessageIdSync,
    MessageIdSyncSupported,
    Notify,
    NotifyType,
    ReplayCounterSync,
    ReplayCounterSyncSupported,
    decode,
    encode,
    from_notify,
)
from hasim.wire.chain import decode_chain, encode_chain

SPI_I = 0x0123456789ABCDEF
SPI_R = 0xFEDCBA9876543210


def h(s: str) -> bytes:
    """Hex with spaces and line breaks allowed, so vectors can be laid out field by field."""
    return bytes.fromhex("".join(s.split()))


# Generic header (RFC 7296 3.2): Next Payload (1) | C+RESERVED (1) | Payload Length (2);
# Notify body (3.10): Protocol ID (1) | SPI Size (1) | Notify Message Type (2) | SPI | data.
# The payloads below are the last of their chain, so Next Payload = 00.
NOTIFY_16420 = h(
    "00 00 0008"  # length = 4 (generic) + 4 (proto, spi size, type) = 8
    "00 00 4024"  # protocol 0, SPI size 0 (R6-2); 16420 = 0x4000 + 0x24 (0x24 = 36; 16384 + 36 = 16420)
)
NOTIFY_16421 = h("00 00 0008  00 00 4025")  # 16421 = 16384 + 37 = 0x4025; no data (R6-3)
NOTIFY_16422 = h(
    "00 00 0014"  # length = 4 + 4 + 12 = 20 = 0x14
    "00 00 4026"  # 16422 = 16384 + 38 = 0x4026
    "a1b2c3d4"  # Nonce Data
    "00000005"  # EXPECTED_SEND_REQ_MESSAGE_ID = 5
    "00000102"  # EXPECTED_RECV_REQ_MESSAGE_ID = 258 = 0x102
)
NOTIFY_16423_32 = h(
    "00 00 000c"  # length = 4 + 4 + 4 = 12 = 0x0c (no ESN: 4-octet delta)
    "00 00 4027"  # 16423 = 16384 + 39 = 0x4027
    "00010000"  # delta = 65536 = 0x10000
)
NOTIFY_16423_64 = h(
    "00 00 0010"  # length = 4 + 4 + 8 = 16 = 0x10 (ESN: 8-octet delta)
    "00 00 4027"
    "00000001 00000000"  # delta = 2**32 = 0x1_0000_0000
)


def _one(payload_octets: bytes) -> Notify:
    [n] = decode_chain(payload_octets, 41, 0)
    assert isinstance(n, Notify)
    return n


@pytest.mark.rfc("R6-1", "R6-2")
def test_notify_type_values_are_the_iana_ones() -> None:
    # RFC 6311 section 7.
    assert NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED == 16420
    assert NotifyType.IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED == 16421
    assert NotifyType.IKEV2_MESSAGE_ID_SYNC == 16422
    assert NotifyType.IPSEC_REPLAY_COUNTER_SYNC == 16423


@pytest.mark.rfc("R6-1", "R6-2", "R6-3")
def test_supported_notifies_golden() -> None:
    cases: list[tuple[MessageIdSyncSupported | ReplayCounterSyncSupported, bytes]] = [
        (MessageIdSyncSupported(), NOTIFY_16420),
        (ReplayCounterSyncSupported(), NOTIFY_16421),
    ]
    for typed, octets in cases:
        assert encode_chain([typed.to_notify()]) == (41, octets)
        assert from_notify(_one(octets)) == typed


@pytest.mark.rfc("R6-1", "R6-2", "R6-4")
def test_message_id_sync_golden() -> None:
    typed = MessageIdSync(nonce=0xA1B2C3D4, expected_send=5, expected_recv=258)
    assert encode_chain([typed.to_notify()]) == (41, NOTIFY_16422)
    assert from_notify(_one(NOTIFY_16422)) == typed


@pytest.mark.rfc("R6-1", "R6-2", "R6-5")
@pytest.mark.parametrize(
    ("typed", "octets"),
    [
        (ReplayCounterSync(65536, esn=False), NOTIFY_16423_32),
        (ReplayCounterSync(2**32, esn=True), NOTIFY_16423_64),
    ],
)
def test_replay_counter_sync_golden(typed: ReplayCounterSync, octets: bytes) -> None:
    assert encode_chain([typed.to_notify()]) == (41, octets)
    assert from_notify(_one(octets)) == typed


# A full INFORMATIONAL request with Message ID 0 (RFC 6311 section 4: the sync exchange uses Message
# ID 0) carrying 16422 then 16423, sent by the original initiator (I flag) as a request (no R flag).
INFORMATIONAL_PLAIN = h(
    "0123456789abcdef"  # SPIi
    "fedcba9876543210"  # SPIr
    "29"  # Next Payload = 41 (Notify) = 0x29
    "20"  # MjVer 2, MnVer 0
    "25"  # Exchange Type = 37 (INFORMATIONAL) = 0x25
    "08"  # flags: I = 0x08, R clear
    "00000000"  # Message ID 0
    "0000003c"  # Length = 28 (header) + 20 (16422) + 12 (16423) = 60 = 0x3c
    "29 00 0014  00 00 4026  00000007 0000000a 00000003"  # 16422, next = Notify; nonce 7, send 10, recv 3
    "00 00 000c  00 00 4027  00000040"  # 16423, last payload; delta 64
)
INFORMATIONAL_MSG = Message(
    spi_i=SPI_I,
    spi_r=SPI_R,
    exchange=ExchangeType.INFORMATIONAL,
    initiator=True,
    response=False,
    message_id=0,
    payloads=(MessageIdSync(7, 10, 3).to_notify(), ReplayCounterSync(64, esn=False).to_notify()),
)


@pytest.mark.rfc("R6-4", "R6-5", "R6-7")
def test_informational_plain_golden() -> None:
    assert encode(INFORMATIONAL_MSG) == INFORMATIONAL_PLAIN
    assert decode(INFORMATIONAL_PLAIN) == INFORMATIONAL_MSG


def test_empty_informational_is_a_bare_header() -> None:
    # A liveness check without protection: header only, Next Payload 0, Length 28 = 0x1c.
    octets = h("0000000000000001 0000000000000002 00 20 25 20 00000004 0000001c")
    msg = Message(1, 2, ExchangeType.INFORMATIONAL, initiator=False, response=True, message_id=4)
    assert encode(msg) == octets
    assert decode(octets) == msg
