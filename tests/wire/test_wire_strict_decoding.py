"""Strict decoding: each malformation raises DecodeError naming the offending byte offset."""

from __future__ import annotations

import pytest

from hasim.errors import DecodeError
from hasim.wire import Delete, Notify, ProtocolId, decode, encode, from_notify

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
