"""pcap writer and reader and the Wireshark keys file, checked against layouts written out by hand:
Ethernet (RFC 894), IPv4 (RFC 791) with its header checksum (RFC 1071), UDP (RFC 768) length and
checksum over the pseudo-header, the record header, ESP as IP protocol 50 and on UDP; the reader on
hand-made captures in the other byte order, with nanoseconds, SLL and 802.1Q; the keys file in
strongSwan's save-keys layout.
"""

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


# A bare INFORMATIONAL request (header only): Length 28 = 0x1c.
BARE = bytes.fromhex("0000000000000001 0000000000000002 00 20 25 08 00000000 0000001c".replace(" ", ""))


def fold(words: list[int]) -> int:
    s = sum(words)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def test_ike_on_udp_500_byte_for_byte() -> None:
    out = io.BytesIO()
    PcapWriter(out).write_ike(3.000001, BARE, "198.51.100.7", "203.0.113.9")
    data = out.getvalue()
    # Record header: 3 s, 1 us; frame 14 + 20 + 8 + 28 = 70 octets, captured whole.
    assert data[24:40] == struct.pack("<IIII", 3, 1, 70, 70)
    frame = data[40:]
    assert len(frame) == 70
    # Ethernet: destination MAC 02:00 + 203.0.113.9, source 02:00 + 198.51.100.7, type IPv4.
    assert frame[:14] == bytes.fromhex("0200cb007109 0200c6336407 0800".replace(" ", ""))
    # IPv4: version 4 / IHL 5, TOS 0, total 20 + 8 + 28 = 56 = 0x38, ident 1 (first packet), no
    # fragment, TTL 64, UDP (17). Header checksum by hand (RFC 1071), 16-bit words:
    # 4500 + 0038 + 0001 + 0000 + 4011 + c633 + 6407 + cb00 + 7109 = 0x2eb8d -> 0xeb8d + 2 = 0xeb8f,
    # complemented 0x1470.
    assert frame[14:34] == bytes.fromhex("4500 0038 0001 0000 4011 1470 c6336407 cb007109".replace(" ", ""))
    # UDP: ports 500 (0x01f4), length 8 + 28 = 36 = 0x24. Checksum by hand over the pseudo-header
    # (c633 6407 cb00 7109 0011 0024), the UDP header (01f4 01f4 0024 0000) and the message words
    # (0001, 0002, 0020, 2508, 001c, zeros): sum 0x28fcb -> 0x8fcb + 2 = 0x8fcd, complemented 0x7032.
    assert frame[34:42] == bytes.fromhex("01f4 01f4 0024 7032".replace(" ", ""))
    assert frame[42:] == BARE


def test_odd_length_payloads_and_the_ident_counter() -> None:
    out = io.BytesIO()
    w = PcapWriter(out)
    odd = BARE + b"\xab"  # 29 octets: the checksum pads a zero octet (RFC 768)
    w.write_ike(0.0, odd, "10.9.8.7", "10.1.2.3", nat_t=True)
    w.write_esp(0.5, EspHeader(0xDEADBEEF, 2**40 + 5), "10.9.8.7", "10.1.2.3", b"\x01\x02\x03")
    data = out.getvalue()
    packets = list(read_pcap(data))
    assert [p.kind for p in packets] == ["ike", "esp"]
    # First frame: IPv4 total 20 + 8 + 4 (non-ESP marker) + 29 = 61; UDP length 41.
    f1 = data[40 : 40 + 14 + 61]
    ip, udp = f1[14:34], f1[34:]
    assert int.from_bytes(ip[2:4], "big") == 61 and int.from_bytes(ip[4:6], "big") == 1
    assert fold(list(struct.unpack("!10H", ip))) == 0xFFFF
    assert udp[:6] == bytes.fromhex("1194 1194 0029".replace(" ", ""))  # 4500, 4500, 41
    pseudo = ip[12:20] + bytes([0, 17]) + (41).to_bytes(2, "big")
    padded = pseudo + udp + b"\x00"
    assert fold(list(struct.unpack(f"!{len(padded) // 2}H", padded))) == 0xFFFF
    assert udp[8:12] == bytes(4) and udp[12:] == odd
    # Second frame: ESP as IP protocol 50, ident 2, total 20 + 8 + 3 = 31; low 32 bits of the sequence.
    at = 40 + 14 + 61 + 16
    ip2 = data[at + 14 : at + 34]
    assert ip2[9] == 50 and int.from_bytes(ip2[2:4], "big") == 31 and int.from_bytes(ip2[4:6], "big") == 2
    assert fold(list(struct.unpack("!10H", ip2))) == 0xFFFF
    assert data[at + 34 :] == bytes.fromhex("deadbeef 00000005 010203".replace(" ", ""))


def test_timestamps_round_to_the_microsecond() -> None:
    out = io.BytesIO()
    w = PcapWriter(out)
    w.write_ike(0.9999996, BARE, "10.0.0.1", "10.0.0.2")  # rounds up to 1 s, 0 us
    w.write_ike(86400.25, BARE, "10.0.0.1", "10.0.0.2")
    assert [p.time_ns for p in read_pcap(out.getvalue())] == [1_000_000_000, 86_400_250_000_000]
    with pytest.raises(ValueError):
        w.write_ike(-0.5, BARE, "10.0.0.1", "10.0.0.2")


def _ipv4_udp(sport: int, dport: int, payload: bytes, *, frag: int = 0) -> bytes:
    """An IPv4/UDP packet with zero checksums (the reader does not check them)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, frag, 64, 17, 0, bytes([10, 0, 0, 1]),
                       bytes([10, 0, 0, 2])) + udp  # fmt: skip


def test_reader_big_endian_nanoseconds_sll_and_vlan() -> None:
    ip = _ipv4_udp(500, 500, BARE)
    # Big-endian, nanosecond magic a1b23c4d, link type 113 (Linux cooked: 16-octet header, protocol
    # 0x0800 at octets 14..15). Record: 7 s + 123456789 ns.
    sll = bytes(14) + b"\x08\x00" + ip
    be = struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 113)
    be += struct.pack(">IIII", 7, 123456789, len(sll), len(sll)) + sll
    [p] = read_pcap(be)
    assert (p.kind, p.time_ns, p.payload, p.src, p.dst) == (
        "ike",
        7_123_456_789,
        BARE,
        "10.0.0.1",
        "10.0.0.2",
    )
    assert p.file_offset == 24 + 16 + 16 + 20 + 8
    # Little-endian microseconds, Ethernet with one 802.1Q tag (0x8100, TCI) before 0x0800, then an
    # IP fragment (MF set: skipped), a NAT keepalive on 4500 (one 0xff octet: skipped), and a record
    # cut by the snap length (caplen < origlen: skipped).
    eth = bytes(12) + b"\x81\x00\x00\x05" + b"\x08\x00" + ip
    frag = bytes(12) + b"\x08\x00" + _ipv4_udp(500, 500, BARE, frag=0x2000)
    keepalive = bytes(12) + b"\x08\x00" + _ipv4_udp(4500, 4500, b"\xff")
    le = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    for i, f in enumerate([eth, frag, keepalive]):
        le += struct.pack("<IIII", i, 0, len(f), len(f)) + f
    le += struct.pack("<IIII", 9, 0, 20, 100) + eth[:20]
    packets = list(read_pcap(le))
    assert [(p.frame, p.kind, p.payload) for p in packets] == [(1, "ike", BARE)]


@pytest.mark.parametrize(
    ("cut", "at"),
    [
        (0, 0),  # empty file: the global header is missing
        (23, 23),
        (24 + 15, 24),  # a record header cut short: named where the record starts
        (24 + 16 + 69, 24 + 8),  # the frame cut short: named at the record's captured length
    ],
)
def test_truncated_files(cut: int, at: int) -> None:
    out = io.BytesIO()
    PcapWriter(out).write_ike(0.0, BARE, "10.0.0.1", "10.0.0.2")
    with pytest.raises(DecodeError) as info:
        list(read_pcap(out.getvalue()[:cut]))
    assert info.value.offset == at


def test_oversized_messages_are_a_value_error() -> None:
    # IPv4 total length is 16 bits: 20 + 8 + 65507 = 65535 is the largest IKE message on UDP 500.
    w = PcapWriter(io.BytesIO())
    w.write_ike(0.0, bytes(65507), "10.0.0.1", "10.0.0.2")
    for n in (65508, 65528, 70000):  # 65528 and up overflow the UDP length field itself
        with pytest.raises(ValueError):
            w.write_ike(0.0, bytes(n), "10.0.0.1", "10.0.0.2")
