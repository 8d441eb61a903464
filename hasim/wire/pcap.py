"""A classic libpcap writer for IKE messages and ESP packets (Ethernet / IPv4 / UDP or IP proto 50).

IKE travels on UDP 500, or on UDP 4500 behind the 4-octet non-ESP marker of zeros (RFC 3948
section 2.2, RFC 7296 3.1). ESP travels as IP protocol 50, or on UDP 4500 with no marker (RFC 3948
2.1: a non-zero SPI tells it apart). The file opens in Wireshark / tshark; with the keys file
written beside it (:mod:`hasim.wire.keysfile`) they decrypt the SK payloads.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import BinaryIO

from hasim.wire.esp import EspHeader

PCAP_MAGIC = 0xA1B2C3D4
"""Classic pcap, microsecond timestamps."""

LINKTYPE_ETHERNET = 1
IKE_PORT, NAT_T_PORT = 500, 4500
NON_ESP_MARKER = bytes(4)
IPPROTO_UDP, IPPROTO_ESP = 17, 50
SNAPLEN = 262144
"""Larger than any frame written (14 + 65535 octets): a record's captured length must not exceed the
file's snapshot length (draft-ietf-opsawg-pcap section 4); 262144 is tcpdump's and Wireshark's default."""

_GLOBAL = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip(addr: str) -> bytes:
    return ipaddress.IPv4Address(addr).packed


def ipv4_packet(src: str, dst: str, proto: int, payload: bytes, ident: int = 0) -> bytes:
    """An IPv4 packet (RFC 791) with a 20-octet header, DF clear, TTL 64 and a valid checksum."""
    total = 20 + len(payload)
    if total > 0xFFFF:
        raise ValueError(f"IPv4 packet of {total} octets exceeds 65535")
    head = _IPV4.pack(0x45, 0, total, ident & 0xFFFF, 0, 64, proto, 0, _ip(src), _ip(dst))
    return head[:10] + struct.pack("!H", _checksum(head)) + head[12:] + payload


def udp_datagram(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    """A UDP header and payload (RFC 768) with its checksum over the IPv4 pseudo-header."""
    length = 8 + len(payload)
    if length > 0xFFFF:
        raise ValueError(f"UDP datagram of {length} octets exceeds 65535")
    pseudo = _ip(src) + _ip(dst) + struct.pack("!BBH", 0, IPPROTO_UDP, length)
    csum = _checksum(pseudo + _UDP.pack(sport, dport, length, 0) + payload) or 0xFFFF
    return _UDP.pack(sport, dport, length, csum) + payload


def _mac(addr: str) -> bytes:
    """A locally administered MAC derived from the IPv4 address, so each node keeps one MAC."""
    return b"\x02\x00" + _ip(addr)


class PcapWriter:
    """Writes packets to a binary stream as a classic pcap file with Ethernet link type."""

    def __init__(self, stream: BinaryIO) -> None:
        self._out = stream
        self._ident = 0
        self._out.write(_GLOBAL.pack(PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))

    def write_ip(self, time_s: float, src: str, dst: str, proto: int, l4: bytes) -> None:
        """Write one IPv4 packet carrying ``l4`` with protocol ``proto``, framed in Ethernet."""
        if time_s < 0:
            raise ValueError(f"pcap time {time_s} is negative")
        self._ident += 1
        frame = _mac(dst) + _mac(src) + b"\x08\x00" + ipv4_packet(src, dst, proto, l4, self._ident)
        usec_total = round(time_s * 1_000_000)
        sec, usec = divmod(usec_total, 1_000_000)
        self._out.write(_RECORD.pack(sec, usec, len(frame), len(frame)) + frame)

    def write_ike(self, time_s: float, message: bytes, src: str, dst: str, *, nat_t: bool = False) -> None:
        """Write an encoded IKE message: UDP 500, or UDP 4500 behind the non-ESP marker when ``nat_t``."""
        port = NAT_T_PORT if nat_t else IKE_PORT
        payload = NON_ESP_MARKER + message if nat_t else message
        self.write_ip(time_s, src, dst, IPPROTO_UDP, udp_datagram(src, dst, port, port, payload))

    def write_esp(
        self,
        time_s: float,
        header: EspHeader,
        src: str,
        dst: str,
        payload: bytes = bytes(32),
        *,
        udp_encap: bool = False,
    ) -> None:
        """Write an ESP packet: the header then ``payload`` (IV, ciphertext, ICV: opaque here),
        as IP protocol 50 or, when ``udp_encap``, on UDP 4500."""
        esp = header.encode() + payload
        if udp_encap:
            self.write_ip(time_s, src, dst, IPPROTO_UDP, udp_datagram(src, dst, NAT_T_PORT, NAT_T_PORT, esp))
        else:
            self.write_ip(time_s, src, dst, IPPROTO_ESP, esp)
