"""The INFORMATIONAL sync message (Message ID 0, 16422 + 16423) in SK form, for both suites.

The expected octets are built here from RFC 7296 3.14 / RFC 5282 by hand: header and SK generic
header written out with their length arithmetic, the plaintext is the hand-made inner chain plus
padding, and the ciphertext and ICV come from ``cryptography``'s primitives called directly (the
raw AES-CBC / AES-GCM modes and ``hmac``), not through hasim.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hasim.errors import DecodeError, IntegrityError
from hasim.wire import (
    ExchangeType,
    Message,
    MessageIdSync,
    ReplayCounterSync,
    SkKeys,
    SkSuite,
    decode,
    encode,
    encode_protected,
)

SPI_I, SPI_R = 0x0123456789ABCDEF, 0xFEDCBA9876543210
HEADER_SPIS = bytes.fromhex("0123456789abcdef fedcba9876543210")

# The inner chain: the same two notifies as the plain golden message (32 octets).
INNER = bytes.fromhex(
    "29 00 0014 00 00 4026 00000007 0000000a 00000003"  # 16422: nonce 7, send 10, recv 3 (20 octets)
    "00 00 000c 00 00 4027 00000040"  # 16423: delta 64 (12 octets); 20 + 12 = 32
)
MSG = Message(
    spi_i=SPI_I,
    spi_r=SPI_R,
    exchange=ExchangeType.INFORMATIONAL,
    initiator=True,
    response=False,
    message_id=0,
    payloads=(MessageIdSync(7, 10, 3).to_notify(), ReplayCounterSync(64, esn=False).to_notify()),
    protected=True,
)

CBC_KEYS = SkKeys(
    SkSuite.AES_CBC_128_HMAC_SHA2_256_128,
    sk_ei=bytes(range(0x00, 0x10)),
    sk_er=bytes(range(0x10, 0x20)),
    sk_ai=bytes(range(0x20, 0x40)),
    sk_ar=bytes(range(0x40, 0x60)),
)
CBC_IV = bytes(range(0xA0, 0xB0))

GCM_KEYS = SkKeys(
    SkSuite.AES_GCM_16_128,
    sk_ei=bytes(range(0x00, 0x10)) + bytes.fromhex("c0c1c2c3"),  # 16-octet key | 4-octet salt
    sk_er=bytes(range(0x10, 0x20)) + bytes.fromhex("d0d1d2d3"),
)
GCM_IV = bytes.fromhex("0000000000000001")


def expected_cbc(enc_key: bytes, auth_key: bytes, flags: str) -> bytes:
    # Plaintext: 32 inner octets; 32 mod 16 = 0, so pad 15 octets then Pad Length 15 = 48 octets.
    plaintext = INNER + bytes(15) + bytes([15])
    # SK body: IV 16 + ciphertext 48 + ICV 16 = 80; SK Payload Length 4 + 80 = 84 = 0x54;
    # message Length 28 + 84 = 112 = 0x70.
    aad = HEADER_SPIS + bytes.fromhex(f"2e 20 25 {flags} 00000000 00000070" + "29 00 0054")
    enc = Cipher(algorithms.AES(enc_key), modes.CBC(CBC_IV)).encryptor()
    ct = enc.update(plaintext) + enc.finalize()
    icv = hmac.new(auth_key, aad + CBC_IV + ct, sha256).digest()[:16]  # HMAC-SHA2-256-128
    return aad + CBC_IV + ct + icv


def expected_gcm(key_salt: bytes, flags: str) -> bytes:
    # Plaintext: 32 inner octets, no padding needed, Pad Length 0: 33 octets.
    # SK body: IV 8 + 33 + ICV 16 = 57; SK Payload Length 61 = 0x3d; message Length 28 + 61 = 89 = 0x59.
    aad = HEADER_SPIS + bytes.fromhex(f"2e 20 25 {flags} 00000000 00000059" + "29 00 003d")
    nonce = key_salt[16:] + GCM_IV  # RFC 5282 section 4: salt (4) | IV (8)
    enc = Cipher(algorithms.AES(key_salt[:16]), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)  # RFC 5282 section 5.1: header through SK generic header
    ct = enc.update(INNER + b"\x00") + enc.finalize()
    return aad + GCM_IV + ct + enc.tag


@pytest.mark.rfc("R6-4", "R6-5", "R6-7")
def test_cbc_initiator_golden() -> None:
    wire = expected_cbc(CBC_KEYS.sk_ei, CBC_KEYS.sk_ai, "08")
    assert len(wire) == 112
    assert encode(MSG, CBC_KEYS, CBC_IV) == wire
    assert decode(wire, CBC_KEYS) == MSG


@pytest.mark.rfc("R6-7")
def test_cbc_responder_uses_sk_er_and_sk_ar() -> None:
    resp = Message(
        SPI_I, SPI_R, 37, initiator=False, response=True, message_id=0, payloads=MSG.payloads, protected=True
    )
    wire = expected_cbc(CBC_KEYS.sk_er, CBC_KEYS.sk_ar, "20")  # flags: R = 0x20, I clear
    assert encode(resp, CBC_KEYS, CBC_IV) == wire
    assert decode(wire, CBC_KEYS) == resp


@pytest.mark.rfc("R6-4", "R6-5", "R6-7")
def test_gcm_initiator_golden() -> None:
    wire = expected_gcm(GCM_KEYS.sk_ei, "08")
    assert len(wire) == 89
    assert encode(MSG, GCM_KEYS, GCM_IV) == wire
    assert decode(wire, GCM_KEYS) == MSG


@pytest.mark.rfc("R6-7")
def test_gcm_responder_uses_sk_er() -> None:
    resp = Message(
        SPI_I, SPI_R, 37, initiator=False, response=True, message_id=0, payloads=MSG.payloads, protected=True
    )
    wire = expected_gcm(GCM_KEYS.sk_er, "20")
    assert encode(resp, GCM_KEYS, GCM_IV) == wire
    assert decode(wire, GCM_KEYS) == resp


def test_without_keys_the_sk_payload_stays_encrypted_and_round_trips() -> None:
    wire = expected_cbc(CBC_KEYS.sk_ei, CBC_KEYS.sk_ai, "08")
    msg = decode(wire)
    assert not msg.protected
    [sk] = msg.payloads
    assert sk.__class__.__name__ == "EncryptedPayload"
    assert encode(msg) == wire


@pytest.mark.rfc("R6-7", "R9-1")
@pytest.mark.parametrize(("keys", "iv"), [(CBC_KEYS, CBC_IV), (GCM_KEYS, GCM_IV)], ids=["cbc", "gcm"])
def test_any_flipped_bit_is_an_integrity_error(keys: SkKeys, iv: bytes) -> None:
    wire = encode(MSG, keys, iv)
    # Octets the ICV covers (SPIs, Message ID, SK header's Next Payload, IV, ciphertext, ICV): a
    # flipped bit must be caught before any inner payload is parsed.
    for i in [0, 8, 20, 23, 28, 32, len(wire) - 20, len(wire) - 1]:
        bad = bytearray(wire)
        bad[i] ^= 0x01
        with pytest.raises(IntegrityError):
            decode(bytes(bad), keys)
    # The header's Next Payload (offset 16) turned from SK (46) into CP (47) leaves no SK payload to
    # verify; the chain no longer parses (the former SK header announces a next payload).
    bad = bytearray(wire)
    bad[16] ^= 0x01
    with pytest.raises(DecodeError):
        decode(bytes(bad), keys)


@pytest.mark.rfc("R6-7", "R9-1")
def test_wrong_keys_are_an_integrity_error() -> None:
    wire = encode(MSG, CBC_KEYS, CBC_IV)
    swapped = SkKeys(CBC_KEYS.suite, CBC_KEYS.sk_er, CBC_KEYS.sk_ei, CBC_KEYS.sk_ar, CBC_KEYS.sk_ai)
    with pytest.raises(IntegrityError) as info:
        decode(wire, swapped)
    assert info.value.offset == 112 - 16  # the ICV's first octet


def test_integrity_error_is_a_decode_error() -> None:
    assert issubclass(IntegrityError, DecodeError)
    assert issubclass(DecodeError, ValueError)


def test_sk_body_of_impossible_size() -> None:
    # CBC body must be 16 (IV) + k*16 (k >= 1) + 16 (ICV); 40 octets is not. Length 28 + 4 + 40 = 72.
    wire = HEADER_SPIS + bytes.fromhex("2e 20 25 08 00000000 00000048 29 00 002c") + bytes(40)
    with pytest.raises(DecodeError) as info:
        decode(wire, CBC_KEYS)
    assert info.value.offset == 32 and not isinstance(info.value, IntegrityError)


def test_empty_protected_message() -> None:
    # An empty INFORMATIONAL (liveness check): SK Next Payload 0; CBC plaintext is 15 pad + Pad Length.
    msg = Message(SPI_I, SPI_R, 37, True, False, 5, (), protected=True)
    wire = encode(msg, CBC_KEYS, CBC_IV)
    assert len(wire) == 28 + 4 + 16 + 16 + 16
    assert wire[32 - 4] == 0  # SK Next Payload: none
    assert decode(wire, CBC_KEYS) == msg
    for keys, iv in [(CBC_KEYS, CBC_IV), (GCM_KEYS, GCM_IV)]:
        assert decode(encode(msg, keys, iv), keys) == msg


def test_foreign_pad_length_is_accepted() -> None:
    # RFC 7296 3.14: the recipient MUST accept any pad length that results in proper alignment.
    # 32 inner octets + 31 padding + Pad Length 31 = 64 octets = 4 blocks.
    plaintext = INNER + bytes(range(31)) + bytes([31])
    aad = HEADER_SPIS + bytes.fromhex(
        "2e 20 25 08 00000000 00000080 29 00 0064"
    )  # 28 + 4 + 16 + 64 + 16 = 128
    enc = Cipher(algorithms.AES(CBC_KEYS.sk_ei), modes.CBC(CBC_IV)).encryptor()
    ct = enc.update(plaintext) + enc.finalize()
    wire = aad + CBC_IV + ct + hmac.new(CBC_KEYS.sk_ai, aad + CBC_IV + ct, sha256).digest()[:16]
    assert decode(wire, CBC_KEYS) == MSG


def test_protected_message_needs_keys_and_iv() -> None:
    with pytest.raises(ValueError):
        encode(MSG)
    with pytest.raises(ValueError):
        encode(MSG, CBC_KEYS, bytes(8))


def test_cbc_messages_in_a_row_under_one_key_each_match_a_cbc_of_their_own_iv() -> None:
    """Messages of 2 to 17 blocks, both directions interleaved and each decoded between two others:
    every ciphertext is the AES-CBC of that message alone under its IV, and every ICV the HMAC of
    that message (a context per message, made here with ``cryptography`` and ``hmac`` directly)."""
    from hasim.wire import Nonce

    for k in range(40):
        initiator = k % 3 != 1
        nonce = Nonce(bytes([k]) * (16 + 6 * k))  # 16 to 250 octets: 2 to 17 blocks with its header
        msg = Message(SPI_I, SPI_R, 37, initiator, not initiator, k, (nonce,), protected=True)
        iv = bytes([k ^ 0x5A]) * 16
        wire = encode(msg, CBC_KEYS, iv)
        inner = encode(Message(SPI_I, SPI_R, 37, initiator, not initiator, k, (nonce,)))[28:]
        pad = 15 - len(inner) % 16
        enc_key, auth_key = CBC_KEYS.sender(initiator)
        enc = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
        ct = enc.update(inner + bytes(pad) + bytes([pad])) + enc.finalize()
        assert wire[32:48] == iv
        assert wire[48:-16] == ct
        assert wire[-16:] == hmac.new(auth_key, wire[:-16], sha256).digest()[:16]
        assert decode(wire, CBC_KEYS) == msg


def test_cbc_messages_sealed_and_opened_in_threads_at_once_under_one_key_stay_exact() -> None:
    """The kept CBC contexts are shared by every thread of a process: four threads sealing and opening
    under the same keys at once, thread switches forced often, still give each message its own
    AES-CBC (checked against a context made for it) and get every message back."""
    import sys
    import threading

    from hasim.wire import Nonce

    bad: list[int] = []

    def work(t: int) -> None:
        for k in range(2000):
            nonce = Nonce(bytes([k % 251]) * (16 + 16 * (k % 5)))
            msg = Message(SPI_I, SPI_R, 37, True, False, k, (nonce,), protected=True)
            iv = bytes([(k + t) % 256]) * 16
            wire = encode(msg, CBC_KEYS, iv)
            inner = encode(Message(SPI_I, SPI_R, 37, True, False, k, (nonce,)))[28:]
            pad = 15 - len(inner) % 16
            enc = Cipher(algorithms.AES(CBC_KEYS.sk_ei), modes.CBC(iv)).encryptor()
            if wire[48:-16] != enc.update(inner + bytes(pad) + bytes([pad])) + enc.finalize():
                bad.append(k)
                continue
            try:
                back = decode(wire, CBC_KEYS)
            except (DecodeError, IntegrityError):
                back = None
            if back != msg:
                bad.append(-k - 1)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old)
    assert bad == []


@pytest.mark.parametrize("key_len", [0, 1, 32, 63, 64, 65, 200])
def test_icv_is_hmac_sha256_truncated_for_keys_shorter_and_longer_than_the_block(key_len: int) -> None:
    """The ICV is HMAC-SHA-256 (RFC 2104) cut to 16 octets (RFC 4868) whatever the key's length: keys
    shorter than SHA-256's 64-octet block are padded, longer ones hashed first (``hmac`` as reference)."""
    from hasim.wire.sk import _icv

    key = bytes((7 * k + 3) % 256 for k in range(key_len))
    for data in (b"", b"a", bytes(range(256)) * 3):
        assert _icv(key, data) == hmac.new(key, data, sha256).digest()[:16]
        assert _icv(key, memoryview(data)) == hmac.new(key, data, sha256).digest()[:16]


@pytest.mark.parametrize(
    ("suite", "initiator", "flags"),
    [("cbc", True, "08"), ("cbc", False, "20"), ("gcm", True, "08"), ("gcm", False, "20")],
)
def test_encode_protected_gives_the_golden_octets_from_the_fields(
    suite: str, initiator: bool, flags: str
) -> None:
    # The sync request (initiator, flags I) and the same payloads as a response (flags R, I clear),
    # encoded from their fields without a Message: the octets written out above.
    keys, iv = (CBC_KEYS, CBC_IV) if suite == "cbc" else (GCM_KEYS, GCM_IV)
    wire = encode_protected(SPI_I, SPI_R, 37, initiator, not initiator, 0, MSG.payloads, keys, iv)
    if suite == "cbc":
        assert wire == expected_cbc(
            *((keys.sk_ei, keys.sk_ai) if initiator else (keys.sk_er, keys.sk_ar)), flags
        )
    else:
        assert wire == expected_gcm(keys.sk_ei if initiator else keys.sk_er, flags)
