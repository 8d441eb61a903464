"""Review vectors, worked out by hand from RFC 7296 section 3, RFC 6311 section 6 and RFC 5282.

Other numbers than the first golden tests: a response (R flag, I clear) with Message ID 2**32-1,
SPIs with the high bit set, eight payloads of mixed types (a Notify carrying an ESP SPI, a Delete of
three ESP SPIs, a private-use type hasim does not know, a Vendor ID and a 16422 with the critical
bit set, a Nonce, a 16423 with the largest 64-bit delta, a Delete of the IKE SA), then the same chain
inside SK payloads of both suites, with foreign padding and a critical SK payload.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hasim.errors import DecodeError, IntegrityError, UnsupportedCriticalPayload
from hasim.wire import (
    Delete,
    EncryptedPayload,
    Message,
    MessageIdSync,
    Nonce,
    Notify,
    OpaquePayload,
    ReplayCounterSync,
    SkKeys,
    SkSuite,
    decode,
    encode,
    from_notify,
)
from hasim.wire.chain import encode_chain
from hasim.wire.esp import EspHeader, decode_esp_header


def h(s: str) -> bytes:
    return bytes.fromhex("".join(s.split()))


SPI_I, SPI_R = 0x8000000000000001, 0xFFFFFFFFFFFFFFFE

# Payloads, each with its offset in the plain message (28 + the lengths before it).
P1 = "2a 00 000c  03 04 4009  9abcdef0"  # @28: Notify REKEY_SA 16393 = 16384 + 9 = 0x4009, ESP (3),
#                                          SPI size 4, SPI 9abcdef0, no data; 4 + 4 + 4 = 12; next Delete
P2 = "c8 00 0014  03 04 0003  00000100 fffffffe 7fffffff"  # @40: Delete ESP, 3 SPIs: 4 + 4 + 12 = 20;
#                                                            next = 200 (0xc8, private use)
P3 = "2b 00 0007  010203"  # @60: type 200, not critical, 3 octets: 7; next Vendor ID (43 = 0x2b)
P3_CRITICAL = "2b 80 0007  010203"  # the same with the critical bit (0x80) set
P4 = "28 80 0009  6861736 96d"  # @67: Vendor ID "hasim", critical bit set: 4 + 5 = 9; next Nonce (0x28)
P5 = "29 00 0014  000102030405060708090a0b0c0d0e0f"  # @76: Nonce 16 octets (RFC 7296 3.9 minimum): 20
P6 = "29 00 0010  00 00 4027  ffffffffffffffff"  # @96: 16423, ESN delta 2**64-1: 4 + 4 + 8 = 16
P7 = "2a 80 0014  00 00 4026  ffffffff ffffffff 80000000"  # @112: 16422, critical: 4 + 4 + 12 = 20
P8 = "00 00 0008  01 00 0000"  # @132: Delete IKE SA: protocol 1, SPI size 0, 0 SPIs: 8; last
# Chain: 12 + 20 + 7 + 9 + 20 + 16 + 20 + 8 = 112 octets; message 28 + 112 = 140 = 0x8c.
CHAIN = h(P1 + P2 + P3 + P4 + P5 + P6 + P7 + P8)
HEADER = h(
    "8000000000000001 fffffffffffffffe"  # SPIi, SPIr: high bits set
    "29 20 25 20"  # Next Notify (41), version 2.0, INFORMATIONAL (37), flags R (0x20), I clear
    "ffffffff 0000008c"  # Message ID 2**32-1, Length 140
)
PLAIN = HEADER + CHAIN

PAYLOADS = (
    Notify(16393, protocol_id=3, spi=h("9abcdef0")),
    Delete(3, (h("00000100"), h("fffffffe"), h("7fffffff"))),
    OpaquePayload(200, h("010203")),
    OpaquePayload(43, b"hasim", critical=True),
    Nonce(bytes(range(16))),
    Notify(16423, data=h("ffffffffffffffff")),
    Notify(16422, data=h("ffffffff ffffffff 80000000"), critical=True),
    Delete(1),
)
MSG = Message(SPI_I, SPI_R, 37, initiator=False, response=True, message_id=0xFFFFFFFF, payloads=PAYLOADS)


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


# --- the same chain inside SK payloads -------------------------------------------------------------

CBC = SkKeys(
    SkSuite.AES_CBC_128_HMAC_SHA2_256_128,
    sk_ei=h("f0e1d2c3b4a5968778695a4b3c2d1e0f"),
    sk_er=h("00112233445566778899aabbccddeeff"),
    sk_ai=bytes(range(0x80, 0xA0)),
    sk_ar=bytes(range(0xC0, 0xE0)),
)
GCM = SkKeys(
    SkSuite.AES_GCM_16_128,
    sk_ei=h("000102030405060708090a0b0c0d0e0f 01020304"),
    sk_er=h("feedfacedeadbeefcafebabe01234567 89abcdef"),  # key (16) | salt (4), RFC 5282 7.1
)
CBC_IV = h("ffeeddccbbaa99887766554433221100")
GCM_IV = h("fffffffffffffffe")
PROTECTED = Message(SPI_I, SPI_R, 37, False, True, 0xFFFFFFFF, PAYLOADS, protected=True)


def cbc_wire(inner: bytes, padding: bytes, total_len: int, sk_len: int, sk_flags: str = "00") -> bytes:
    """SK with AES-CBC + HMAC-SHA2-256-128 from the raw primitives; the responder's keys (I clear)."""
    plaintext = inner + padding + bytes([len(padding)])  # RFC 7296 3.14: ... | Padding | Pad Length
    aad = h(
        f"8000000000000001 fffffffffffffffe 2e 20 25 20 ffffffff {total_len:08x} 29 {sk_flags} {sk_len:04x}"
    )
    enc = Cipher(algorithms.AES(CBC.sk_er), modes.CBC(CBC_IV)).encryptor()
    ct = enc.update(plaintext) + enc.finalize()
    return aad + CBC_IV + ct + hmac.new(CBC.sk_ar, aad + CBC_IV + ct, sha256).digest()[:16]


def gcm_wire(inner: bytes, padding: bytes, total_len: int, sk_len: int, sk_flags: str = "00") -> bytes:
    """SK with AES-GCM-16 (RFC 5282): nonce = salt | IV, AAD = IKE header + SK generic header."""
    aad = h(
        f"8000000000000001 fffffffffffffffe 2e 20 25 20 ffffffff {total_len:08x} 29 {sk_flags} {sk_len:04x}"
    )
    nonce = GCM.sk_er[16:] + GCM_IV
    sealed = AESGCM(GCM.sk_er[:16]).encrypt(nonce, inner + padding + bytes([len(padding)]), aad)
    return aad + GCM_IV + sealed  # sealed = ciphertext | 16-octet tag


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
