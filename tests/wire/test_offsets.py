"""Strict decoding: every malformation raises DecodeError naming the offending byte offset.

First on a small hand-made message (one 16422 Notify), then on the 140-octet mixed-payload response
of tests/wire/vectors.py (payloads at 28, 40, 60, 67, 76, 96, 112, 132): truncated and lying length
fields at every level, each case changing one field by hand, the expected offset (the field that
lies or, for a payload announced but missing, where it should start) worked out in the comment.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hasim.errors import DecodeError, IntegrityError
from hasim.wire import Delete, Notify, ProtocolId, decode, encode, from_notify

from .vectors import (
    CBC,
    CBC_IV,
    CHAIN,
    GCM,
    GCM_IV,
    P1,
    P2,
    P3,
    P4,
    P5,
    P6,
    P7,
    P8,
    PLAIN,
    cbc_wire,
    gcm_wire,
    h,
)

# A valid base message: header (28) + one 16422 notify (20) = 48 octets.
HEADER = "0000000000000001 0000000000000002 29 20 25 08 00000000 {length}"


N16422 = "00 00 0014 00 00 4026 00000001 00000002 00000003"


def msg(*payloads: str, next_payload: str = "29", length: int | None = None) -> bytes:
    body = bytes.fromhex("".join("".join(payloads).split()))
    total = 28 + len(body) if length is None else length
    head = HEADER.format(length=f"{total:08x}").replace(" 29 ", f" {next_payload} ", 1)
    return bytes.fromhex("".join(head.split())) + body


def offset_of(data: bytes) -> int:
    with pytest.raises(DecodeError) as info:
        decode(data)
    return info.value.offset


def test_base_message_decodes() -> None:
    assert len(decode(msg(N16422)).payloads) == 1


def test_truncated_header() -> None:
    assert offset_of(msg(N16422)[:27]) == 27
    assert offset_of(b"") == 0


def test_wrong_version() -> None:
    data = bytearray(msg(N16422))
    data[17] = 0x10  # IKEv1
    assert offset_of(bytes(data)) == 17


def test_v_flag_x_bits_and_minor_version_are_ignored_and_kept() -> None:
    # RFC 7296 3.1: a recipient MUST ignore the V flag, the X bits and the minor version.
    data = bytearray(msg(N16422))
    data[17] = 0x21  # version 2.1
    data[19] |= 0x10 | 0x01  # V flag and an X bit
    m = decode(bytes(data))
    assert (m.initiator, m.response, m.minor_version, m.other_flags) == (True, False, 1, 0x11)
    assert encode(m) == bytes(data)


def test_length_field_disagrees_with_data() -> None:
    assert offset_of(msg(N16422, length=47)) == 24
    assert offset_of(msg(N16422) + b"\x00") == 24


def test_payload_length_overruns_message() -> None:
    # Notify claims 0x15 = 21 octets but only 20 remain: the length field is at 28 + 2 = 30.
    assert offset_of(msg("00 00 0015 00 00 4026 00000001 00000002 00000003")) == 30


def test_payload_length_below_generic_header() -> None:
    assert offset_of(msg("00 00 0003 00")) == 30


def test_reserved_bits_in_generic_header_are_ignored_and_kept() -> None:
    # RFC 7296 3.2: RESERVED "MUST be ignored on receipt".
    data = msg("00 40 0014 00 00 4026 00000001 00000002 00000003")
    [n] = decode(data).payloads
    assert isinstance(n, Notify) and n.reserved == 0x40 and not n.critical
    assert encode(decode(data)) == data


def test_chain_announces_more_than_is_there() -> None:
    # Next Payload = 0x29 in the only notify: a second payload is announced at offset 48.
    assert offset_of(msg("29 00 0014 00 00 4026 00000001 00000002 00000003")) == 48


def test_octets_after_the_last_payload() -> None:
    assert offset_of(msg(N16422, "00000000")) == 48


@pytest.mark.rfc("R6-2")
def test_rfc6311_notify_with_protocol_id_or_spi() -> None:
    # Protocol ID 3 (ESP) at 28 + 4 = 32.
    assert offset_of(msg("00 00 0014 03 00 4026 00000001 00000002 00000003")) == 32
    # SPI Size 4 with a 4-octet SPI: SPI size octet at 28 + 5 = 33.
    assert offset_of(msg("00 00 0018 00 04 4026 11111111 00000001 00000002 00000003")) == 33


@pytest.mark.rfc("R6-4")
def test_message_id_sync_data_not_12_octets() -> None:
    # 8 octets of data; the data starts at 28 + 8 = 36.
    assert offset_of(msg("00 00 0010 00 00 4026 00000001 00000002")) == 36


@pytest.mark.rfc("R6-5")
@pytest.mark.parametrize("n", [0, 3, 5, 7, 9, 12])
def test_replay_counter_sync_data_neither_4_nor_8(n: int) -> None:
    assert offset_of(msg(f"00 00 {8 + n:04x} 00 00 4027 " + "ab" * n)) == 36


@pytest.mark.rfc("R6-3")
@pytest.mark.parametrize("ntype", ["4024", "4025"])
def test_supported_notifies_with_data(ntype: str) -> None:
    assert offset_of(msg(f"00 00 000c 00 00 {ntype} 00000000")) == 36


def test_from_notify_ignores_other_types_and_offsets_errors() -> None:
    assert from_notify(Notify(16384)) is None
    with pytest.raises(DecodeError) as info:
        from_notify(Notify(16422, data=b"\x00" * 11), offset=100)
    assert info.value.offset == 108


def test_notify_spi_size_overrun() -> None:
    # SPI Size 0x10 but the body has 0 octets after its 4 fixed ones: SPI size octet at 28 + 5 = 33.
    assert offset_of(msg("00 00 0008 00 10 4000")) == 33


def test_delete_layouts() -> None:
    ike = msg("00 00 0008 01 00 0000", next_payload="2a")
    assert decode(ike).payloads == (Delete(ProtocolId.IKE),)
    esp = msg("00 00 0010 03 04 0002 aabbccdd 11223344", next_payload="2a")
    assert decode(esp).payloads == (
        Delete(ProtocolId.ESP, (bytes.fromhex("aabbccdd"), bytes.fromhex("11223344"))),
    )
    # Num of SPIs (at 28 + 6 = 34) says 2, the Payload Length leaves room for 1: the count is named.
    assert offset_of(msg("00 00 000c 03 04 0002 aabbccdd", next_payload="2a")) == 34
    assert offset_of(msg("00 00 0008 03 00 0000", next_payload="2a")) == 33
    assert offset_of(msg("00 00 0008 07 00 0000", next_payload="2a")) == 32


def test_nonce_length_bounds() -> None:
    assert offset_of(msg("00 00 0013" + "00" * 15, next_payload="28")) == 32
    assert len(decode(msg("00 00 0014" + "00" * 16, next_payload="28")).payloads) == 1


def test_sk_must_be_last() -> None:
    # SK (0x2e) of length 8 followed by 4 more octets: the error is where the extra data starts.
    assert offset_of(msg("00 00 0008 00000000 00000000", next_payload="2e")) == 36


def header(length: int, next_payload: str = "29") -> str:
    return f"8000000000000001 fffffffffffffffe {next_payload} 20 25 20 ffffffff {length:08x}"


def message(*payloads: str, length: int | None = None) -> bytes:
    chain = h("".join(payloads))
    return h(header(28 + len(chain) if length is None else length)) + chain


def error(data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        decode(data)
    assert 0 <= info.value.offset <= len(data)
    return info.value


def test_base_is_the_golden_message() -> None:
    assert message(P1, P2, P3, P4, P5, P6, P7, P8) == PLAIN


@pytest.mark.parametrize("cut", [0, 1, 8, 16, 17, 23, 27])
def test_truncated_ike_header_names_where_the_data_ends(cut: int) -> None:
    assert error(PLAIN[:cut]).offset == cut


@pytest.mark.parametrize("cut", [28, 30, 39, 100, 139])
def test_truncated_message_names_the_length_field(cut: int) -> None:
    # The header's Length (octets 24..27) still says 140: it disagrees with the data.
    assert error(PLAIN[:cut]).offset == 24


@pytest.mark.parametrize("length", [0, 28, 139, 141, 0xFFFFFFFF])
def test_lying_message_length(length: int) -> None:
    assert error(message(P1, P2, P3, P4, P5, P6, P7, P8, length=length)).offset == 24


def test_major_version_is_checked_minor_is_not() -> None:
    for version, ok in [(0x20, True), (0x2F, True), (0x10, False), (0x30, False), (0x00, False)]:
        data = bytearray(PLAIN)
        data[17] = version
        if ok:
            assert decode(bytes(data)).minor_version == version & 0xF
        else:
            assert error(bytes(data)).offset == 17


def test_payload_announced_but_missing() -> None:
    # Drop P8 but keep P7's Next Payload (Delete): the missing payload would start at 132.
    assert error(message(P1, P2, P3, P4, P5, P6, P7)).offset == 132
    # Only 2 of P8's 4 generic header octets present (message 134 octets): still named at 132.
    assert error(message(P1, P2, P3, P4, P5, P6, P7, P8[:5])).offset == 132
    # The header announces a Notify but the message is the bare header: offset 28.
    assert error(h(header(28))).offset == 28


@pytest.mark.parametrize(
    ("last", "at"),
    [
        ("00 00 0009 01 00 0000", 134),  # P8 (@132) claims 9 octets, 8 remain: its Payload Length at 134
        ("00 00 ffff 01 00 0000", 134),
        ("00 00 0003 01 00 0000", 134),  # shorter than the 4-octet generic header
        ("00 00 0000 01 00 0000", 134),
    ],
)
def test_lying_payload_length_of_the_last_payload(last: str, at: int) -> None:
    assert error(message(P1, P2, P3, P4, P5, P6, P7, last)).offset == at


def test_lying_payload_length_in_the_middle() -> None:
    # P1 (@28) claims 0x1000 octets: overruns the message; its Payload Length is at 30.
    assert error(message(P1.replace("000c", "1000", 1), P2, P3, P4, P5, P6, P7, P8)).offset == 30


def test_trailing_octets_after_the_chain() -> None:
    # P8 is last (Next 0) but 4 more octets follow within the header's Length: named at 140.
    assert error(message(P1, P2, P3, P4, P5, P6, P7, P8, "00000000")).offset == 140


def test_notify_lying_spi_size() -> None:
    # P1 (@28) body (@32): Protocol ID @32, SPI Size @33. SPI Size 5 but only 4 octets follow.
    assert error(message(P1.replace("03 04", "03 05", 1), P2, P3, P4, P5, P6, P7, P8)).offset == 33
    # Notify body shorter than its 4 fixed octets: Payload Length 7, body @32.
    short = "2a 00 0007 03 04 40"
    assert error(message(short, P2, P3, P4, P5, P6, P7, P8)).offset == 32


@pytest.mark.parametrize(
    ("p2", "at"),
    [
        ("c8 00 0014 03 04 0004 00000100 fffffffe 7fffffff", 46),  # Num of SPIs 4, room for 3: @40+6
        ("c8 00 0014 03 04 0002 00000100 fffffffe 7fffffff", 46),  # Num of SPIs 2, 12 octets of SPIs
        ("c8 00 0014 03 08 0003 00000100 fffffffe 7fffffff", 45),  # SPI Size 8 for ESP: @40+5
        ("c8 00 0014 00 04 0003 00000100 fffffffe 7fffffff", 44),  # Protocol ID 0: @40+4
        ("c8 00 0014 09 04 0003 00000100 fffffffe 7fffffff", 44),  # Protocol ID 9
        ("c8 00 0007 03 04 00", 44),  # body of 3 octets, shorter than its fixed 4: body @44
    ],
)
def test_delete_lying_fields(p2: str, at: int) -> None:
    assert error(message(P1, p2, P3, P4, P5, P6, P7, P8)).offset == at


def test_delete_of_the_ike_sa_with_spis() -> None:
    # P8 (@132): protocol IKE, SPI Size 0, Num of SPIs 1 (RFC 7296 3.11: none): Num of SPIs @138.
    assert error(message(P1, P2, P3, P4, P5, P6, P7, "00 00 0008 01 00 0001")).offset == 138
    # SPI Size 4 for IKE: @137.
    assert error(message(P1, P2, P3, P4, P5, P6, P7, "00 00 000c 01 04 0001 00000001")).offset == 137


def test_nonce_out_of_bounds() -> None:
    # P5 (@76) with 15 or 257 octets of Nonce Data (RFC 7296 3.9: 16..256): named at its body, 80.
    assert error(message(P1, P2, P3, P4, "29 00 0013" + "00" * 15, P6, P7, P8)).offset == 80
    assert error(message(P1, P2, P3, P4, "29 00 0105" + "00" * 257, P6, P7, P8)).offset == 80
    assert len(decode(message(P1, P2, P3, P4, "29 00 0104" + "00" * 256, P6, P7, P8)).payloads) == 8


@pytest.mark.rfc("R6-2", "R6-4", "R6-5")
def test_rfc6311_notify_errors_deep_in_the_chain() -> None:
    # P6 (@96): Protocol ID @100, SPI Size @101, data @104. P7 (@112): data @120.
    p6_proto = P6.replace("00 00 4027", "03 00 4027", 1)
    assert error(message(P1, P2, P3, P4, P5, p6_proto, P7, P8)).offset == 100
    p6_spi = "29 00 0014 00 04 4027 01020304 ffffffffffffffff"  # SPI Size 4 + SPI: 20 octets
    assert error(message(P1, P2, P3, P4, P5, p6_spi, P7, P8)).offset == 101
    p6_6 = "29 00 000e 00 00 4027 ffffffffffff"  # 6 octets of delta: neither 4 nor 8
    assert error(message(P1, P2, P3, P4, P5, p6_6, P7, P8)).offset == 104
    p7_16 = "2a 80 0018 00 00 4026 ffffffff ffffffff 80000000 00000000"  # 16 octets instead of 12
    assert error(message(P1, P2, P3, P4, P5, P6, p7_16, P8)).offset == 120
    for ntype in ("4024", "4025"):  # the SUPPORTED notifies carry no data (R6-3)
        extra = f"2a 00 0009 00 00 {ntype} 00"
        assert error(message(P1, P2, P3, P4, P5, P6, extra, P8)).offset == 120


def test_from_notify_offsets_follow_the_payload() -> None:
    [*_, n7, _] = decode(PLAIN).payloads
    assert isinstance(n7, Notify)
    assert from_notify(n7, offset=112) is not None
    bad = Notify(16422, data=b"\x00" * 13)
    with pytest.raises(DecodeError) as info:
        from_notify(bad, offset=112)
    assert info.value.offset == 120


def test_lying_inner_payload_length() -> None:
    # Inner chain = P1 alone with Payload Length 13 (12 octets present): its length field is inner
    # octet 2, i.e. message offset 28 + 4 + IV + 2 = 50 (CBC, IV 16) or 42 (GCM, IV 8).
    inner = h("00 00 000d 03 04 4009 9abcdef0")
    # CBC: 12 + 3 pad + 1 = 16; body 16 + 16 + 16 = 48; SK 52; total 80. GCM: 8 + 13 + 16 = 37; SK 41; 69.
    for wire, keys, at in [
        (cbc_wire(inner, bytes(3), 80, 52), CBC, 50),
        (gcm_wire(inner, b"", 69, 41), GCM, 42),
    ]:
        with pytest.raises(DecodeError) as info:
            decode(wire, keys)
        assert info.value.offset == at and not isinstance(info.value, IntegrityError)


def test_pad_length_too_big() -> None:
    # CBC: one block whose last octet, the Pad Length, is 0x20 = 32 > 15 octets before it. The Pad
    # Length octet is at 28 + 4 + 16 (IV) + 15 = 63. Lengths: body 16 + 16 + 16 = 48, SK 52, total 80.
    aad = h(header(80, "2e") + "29 00 0034")
    enc = Cipher(algorithms.AES(CBC.sk_er), modes.CBC(CBC_IV)).encryptor()
    ct = enc.update(bytes(15) + b"\x20") + enc.finalize()
    bad = aad + CBC_IV + ct + hmac.new(CBC.sk_ar, aad + CBC_IV + ct, sha256).digest()[:16]
    with pytest.raises(DecodeError) as info:
        decode(bad, CBC)
    assert info.value.offset == 63 and not isinstance(info.value, IntegrityError)
    # GCM: 4 octets of plaintext ending in Pad Length 9 > 3: the octet is at 28 + 4 + 8 + 3 = 43.
    # Lengths: body 8 + 4 + 16 = 28, SK 32 = 0x20, total 60.
    aad = h(header(60, "2e") + "29 00 0020")
    sealed = AESGCM(GCM.sk_er[:16]).encrypt(GCM.sk_er[16:] + GCM_IV, h("00000009"), aad)
    with pytest.raises(DecodeError) as info:
        decode(aad + GCM_IV + sealed, GCM)
    assert info.value.offset == 43 and not isinstance(info.value, IntegrityError)


@pytest.mark.parametrize(("inner", "at"), [("", None), ("deadbeef", 48), ("00", 48)])
def test_an_empty_inner_chain_has_nothing_before_the_padding(inner: str, at: int | None) -> None:
    # SK Next Payload 0: no inner payloads. CBC plaintext = inner + padding + Pad Length, one block
    # (16); body 16 (IV) + 16 + 16 (ICV) = 48, SK Payload Length 52 = 0x34, message 28 + 52 = 80.
    # Octets before the padding are after the (empty) chain: named where they start, at 28 + 4 + 16.
    plain = h(inner)
    pad = bytes(15 - len(plain))
    aad = h(header(80, "2e") + "00 00 0034")
    enc = Cipher(algorithms.AES(CBC.sk_er), modes.CBC(CBC_IV)).encryptor()
    ct = enc.update(plain + pad + bytes([len(pad)])) + enc.finalize()
    wire = aad + CBC_IV + ct + hmac.new(CBC.sk_ar, aad + CBC_IV + ct, sha256).digest()[:16]
    if at is None:
        got = decode(wire, CBC)
        assert got.payloads == () and got.protected and got.message_id == 0xFFFFFFFF and got.response
        return
    with pytest.raises(DecodeError) as info:
        decode(wire, CBC)
    assert info.value.offset == at and not isinstance(info.value, IntegrityError)


@pytest.mark.parametrize(
    ("suite", "body_len"), [("cbc", 47), ("cbc", 32), ("cbc", 49), ("gcm", 24), ("gcm", 0)]
)
def test_sk_body_of_impossible_size(suite: str, body_len: int) -> None:
    # CBC needs IV 16 + n * 16 (n >= 1) + ICV 16; GCM needs IV 8 + at least the Pad Length + ICV 16.
    # Named at the SK body, offset 32, and not an integrity failure (nothing to verify yet).
    wire = h(header(32 + body_len, "2e") + f"29 00 {4 + body_len:04x}") + bytes(body_len)
    with pytest.raises(DecodeError) as info:
        decode(wire, CBC if suite == "cbc" else GCM)
    assert info.value.offset == 32 and not isinstance(info.value, IntegrityError)


def test_lying_sk_payload_length() -> None:
    # A valid CBC message (192 octets) whose SK Payload Length (@30) says one octet more / less.
    wire = bytearray(cbc_wire(CHAIN, bytes(15), 192, 164))
    wire[30:32] = (165).to_bytes(2, "big")
    assert error(bytes(wire)).offset == 30  # overruns the message
    wire[30:32] = (163).to_bytes(2, "big")
    assert error(bytes(wire)).offset == 28 + 163  # data after the SK payload, which must be last
