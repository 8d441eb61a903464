"""One message worked out by hand from RFC 7296 section 3, RFC 6311 section 6 and RFC 5282, shared by
the wire tests (golden vectors, offsets, critical bits, tshark) and the ``hasim decode`` tests.

A response (R flag, I clear) with Message ID 2**32-1, SPIs with the high bit set, eight payloads of
mixed types (a Notify carrying an ESP SPI, a Delete of three ESP SPIs, a private-use type hasim does
not know, a Vendor ID and a 16422 with the critical bit set, a Nonce, a 16423 with the largest 64-bit
delta, a Delete of the IKE SA), and the SK payloads of both suites built from the raw primitives.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hasim.wire import (
    Delete,
    Message,
    Nonce,
    Notify,
    OpaquePayload,
    SkKeys,
    SkSuite,
)


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
