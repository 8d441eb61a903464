"""pcap writer/reader and the Wireshark keys file, checked against layouts written out by hand."""

from __future__ import annotations

import io
import struct

import pytest

from hasim.errors import DecodeError
from hasim.wire import SkKeys, SkSuite
from hasim.wire.esp import EspHeader
from hasim.wire.keysfile import keys_file_line, parse_keys_file, read_keys_file, write_keys_file
from hasim.wire.pcap import PcapWriter, _checksum
from hasim.wire.pcap_read import read_pcap

CBC = SkKeys(
    SkSuite.AES_CBC_128_HMAC_SHA2_256_128, bytes(16), bytes([1]) * 16, bytes([2]) * 32, bytes([3]) * 32
)
GCM = SkKeys(SkSuite.AES_GCM_16_128, bytes([4]) * 20, bytes([5]) * 20)


def ones_complement_sum(data: bytes) -> int:
    """Independent RFC 1071 sum (byte pairs, end-around carry), for checking written checksums."""
    if len(data) % 2:
        data += b"\x00"
    s = 0
    for i in range(0, len(data), 2):
        s += data[i] << 8 | data[i + 1]
        s = (s & 0xFFFF) + (s >> 16)
    return s


def test_internet_checksum_known_example() -> None:
    # The classic IPv4 header example: 4500 0073 0000 4000 4011 xxxx c0a8 0001 c0a8 00c7 -> b861.
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert _checksum(header) == 0xB861


def test_global_header_and_ike_on_4500() -> None:
    out = io.BytesIO()
    w = PcapWriter(out)
    w.write_ike(1.25, b"\xaa" * 28, "192.0.2.1", "192.0.2.2", nat_t=True)
    data = out.getvalue()
    # Global header (little-endian): magic a1b2c3d4, version 2.4, zone 0, sigfigs 0,
    # snaplen 262144 = 0x40000 (above the largest frame, 14 + 65535), Ethernet.
    assert data[:24] == bytes.fromhex(
        "d4c3b2a1 0200 0400 00000000 00000000 00000400 01000000".replace(" ", "")
    )
    # Record: 1 s + 250000 us; frame = 14 Ethernet + 20 IPv4 + 8 UDP + 4 marker + 28 message = 74 = 0x4a.
    assert data[24:40] == struct.pack("<IIII", 1, 250000, 74, 74)
    frame = data[40:]
    assert frame[12:14] == b"\x08\x00"
    ip = frame[14:34]
    assert ip[0] == 0x45 and ip[9] == 17 and int.from_bytes(ip[2:4], "big") == 60  # 20 + 8 + 4 + 28
    assert ip[12:16] == bytes([192, 0, 2, 1]) and ip[16:20] == bytes([192, 0, 2, 2])
    assert ones_complement_sum(ip) == 0xFFFF  # header checksum valid
    udp = frame[34:42]
    assert udp[:6] == bytes.fromhex("1194 1194 0028".replace(" ", ""))  # ports 4500, length 8 + 4 + 28 = 40
    pseudo = ip[12:20] + bytes([0, 17]) + (40).to_bytes(2, "big")
    assert ones_complement_sum(pseudo + frame[34:]) == 0xFFFF  # UDP checksum valid
    assert frame[42:46] == bytes(4)  # non-ESP marker
    assert frame[46:] == b"\xaa" * 28


def test_esp_as_ip_protocol_50_and_on_udp() -> None:
    out = io.BytesIO()
    w = PcapWriter(out)
    w.write_esp(0.0, EspHeader(0x01020304, 2**32 + 7), "10.0.0.1", "10.0.0.2", b"\x00" * 16)
    w.write_esp(0.5, EspHeader(0x01020304, 8), "10.0.0.1", "10.0.0.2", b"\x00" * 16, udp_encap=True)
    w.write_ike(1.0, b"\xbb" * 28, "10.0.0.2", "10.0.0.1")
    packets = list(read_pcap(out.getvalue()))
    assert [(p.kind, p.frame, p.time_ns, p.sport, p.dport) for p in packets] == [
        ("esp", 1, 0, 0, 0),
        ("esp", 2, 500_000_000, 4500, 4500),
        ("ike", 3, 1_000_000_000, 500, 500),
    ]
    # ESP header: SPI 01020304, sequence number low 32 bits of 2**32 + 7 = 7.
    assert packets[0].payload == bytes.fromhex("01020304 00000007".replace(" ", "")) + bytes(16)
    assert packets[2].payload == b"\xbb" * 28
    assert packets[2].src == "10.0.0.2"


def test_reader_rejects_bad_files() -> None:
    with pytest.raises(DecodeError) as info:
        list(read_pcap(b"\x0a\x0d\x0d\x0a" + bytes(40)))  # pcapng
    assert info.value.offset == 0
    good = io.BytesIO()
    PcapWriter(good).write_ike(0.0, b"\xcc" * 28, "10.0.0.1", "10.0.0.2")
    with pytest.raises(DecodeError) as info:
        list(read_pcap(good.getvalue()[:-1]))
    assert info.value.offset == 24 + 8  # the record's captured length field


def test_keys_file_line_is_strongswan_save_keys_layout() -> None:
    line = keys_file_line(0x0123456789ABCDEF, 0xFEDCBA9876543210, CBC)
    assert line == (
        "0123456789abcdef,fedcba9876543210,"
        + "00" * 16
        + ","
        + "01" * 16
        + ',"AES-CBC-128 [RFC3602]",'
        + "02" * 32
        + ","
        + "03" * 32
        + ',"HMAC_SHA2_256_128 [RFC4868]"'
    )
    assert keys_file_line(1, 2, GCM) == (
        "0000000000000001,0000000000000002,"
        + "04" * 20
        + ","
        + "05" * 20
        + ',"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"'
    )


def test_keys_file_round_trip(tmp_path: object) -> None:
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "ikev2_decryption_table"
    table = {(1, 2): CBC, (3, 4): GCM}
    write_keys_file(path, table)
    assert read_keys_file(path) == table


def test_keys_file_errors_name_the_line() -> None:
    good = keys_file_line(1, 2, CBC) + "\n"
    with pytest.raises(DecodeError) as info:
        parse_keys_file(["# comment\n", good, "1,2,3\n"])
    assert "line 3" in info.value.reason and info.value.offset == len("# comment\n") + len(good)
    with pytest.raises(DecodeError, match="unsupported algorithms"):
        parse_keys_file([good.replace("AES-CBC-128", "AES-CBC-256")])
    with pytest.raises(DecodeError, match="needs"):
        parse_keys_file([good.replace("00" * 16, "00" * 15, 1)])
