"""Reading IKE messages and ESP headers back out of a classic pcap file (for ``hasim decode``).

Accepts both byte orders and microsecond or nanosecond timestamps, link types Ethernet (1, with
802.1Q tags), raw IP (101), IPv4 (228) and Linux cooked capture (113). IPv4 only. UDP 500 carries
an IKE message; UDP 4500 carries an IKE message behind the non-ESP marker, or ESP, or a NAT
keepalive (skipped); IP protocol 50 carries ESP. Other packets are skipped. A malformed file raises
DecodeError naming the file offset.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hasim.errors import DecodeError
from hasim.wire.pcap import IKE_PORT, IPPROTO_ESP, IPPROTO_UDP, NAT_T_PORT, NON_ESP_MARKER

_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1),
    b"\xa1\xb2\x3c\x4d": (">", 1),
}
_LINK_OFFSETS = {101: 0, 228: 0}


@dataclass(frozen=True)
class CapturedPacket:
    """One IKE message (``kind`` "ike") or ESP packet (``kind`` "esp") found in a capture."""

    frame: int
    time_ns: int
    src: str
    dst: str
    sport: int
    dport: int
    kind: str
    payload: bytes
    file_offset: int


def _ip_payload(frame: bytes, linktype: int, at: int) -> tuple[bytes, int] | None:
    """The IPv4 packet inside a link-layer frame and its file offset, or None when not IPv4."""
    if linktype == 1:
        pos, ethertype = 12, frame[12:14]
        while ethertype == b"\x81\x00" and len(frame) >= pos + 6:
            pos += 4
            ethertype = frame[pos : pos + 2]
        return (frame[pos + 2 :], at + pos + 2) if ethertype == b"\x08\x00" else None
    if linktype == 113:
        return (frame[16:], at + 16) if frame[14:16] == b"\x08\x00" else None
    if linktype in _LINK_OFFSETS:
        return frame, at
    raise DecodeError(20, f"unsupported pcap link type {linktype} (Ethernet 1, raw IP 101/228, SLL 113)")


PCAP_LIMIT = 1 << 30
"""The largest capture read (into memory, whole): split a larger one with ``editcap -c``."""


def read_pcap_file(path: str | Path) -> bytes:
    """The octets of the capture at ``path``. Its header is checked before the rest is read, and at most
    PCAP_LIMIT octets are, so that a device or stream (``--pcap /dev/zero``) fails at once instead of
    being read until memory runs out."""
    with open(path, "rb") as f:
        head = f.read(24)
        _check_header(head)
        data = head + f.read(PCAP_LIMIT + 1 - len(head))
    if len(data) > PCAP_LIMIT:
        raise DecodeError(PCAP_LIMIT, f"capture larger than {PCAP_LIMIT >> 30} GiB; split it (editcap -c)")
    return data


def _check_header(data: bytes) -> None:
    if len(data) < 24:
        raise DecodeError(len(data), "truncated pcap global header (24 octets)")
    if data[:4] not in _MAGICS:
        raise DecodeError(0, f"not a classic pcap file (magic {data[:4].hex()}; pcapng is not supported)")


def read_pcap(data: bytes) -> Iterator[CapturedPacket]:
    """Yield every IKE message and ESP packet of the capture ``data``, in file order."""
    _check_header(data)
    order, ns_per_tick = _MAGICS[data[:4]]
    linktype = struct.unpack_from(order + "I", data, 20)[0]
    record = struct.Struct(order + "IIII")
    pos, frame_no = 24, 0
    while pos < len(data):
        if len(data) - pos < record.size:
            raise DecodeError(pos, f"truncated pcap record header ({len(data) - pos} of 16 octets)")
        sec, frac, caplen, origlen = record.unpack_from(data, pos)
        if caplen > len(data) - pos - record.size:
            raise DecodeError(pos + 8, f"pcap record of {caplen} octets overruns the file")
        frame_at = pos + record.size
        frame = data[frame_at : frame_at + caplen]
        pos = frame_at + caplen
        frame_no += 1
        if caplen < origlen:
            continue  # truncated by the snap length: not a whole message
        found = _ip_payload(frame, linktype, frame_at)
        if found is None:
            continue
        packet = _transport(*found, frame_no, sec * 1_000_000_000 + frac * ns_per_tick)
        if packet is not None:
            yield packet


def _transport(ip: bytes, at: int, frame_no: int, time_ns: int) -> CapturedPacket | None:
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = int.from_bytes(ip[2:4], "big")
    if ihl < 20 or total < ihl or total > len(ip) or int.from_bytes(ip[6:8], "big") & 0x3FFF:
        return None  # malformed or fragmented IPv4: not decodable as one message
    proto = ip[9]
    src, dst = str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20]))
    body, body_at = ip[ihl:total], at + ihl
    if proto == IPPROTO_ESP:
        return CapturedPacket(frame_no, time_ns, src, dst, 0, 0, "esp", body, body_at)
    if proto != IPPROTO_UDP or len(body) < 8:
        return None
    sport, dport, ulen = struct.unpack_from("!HHH", body)
    if ulen < 8 or ulen > len(body):
        return None
    payload, payload_at = body[8:ulen], body_at + 8
    if IKE_PORT in (sport, dport):
        return CapturedPacket(frame_no, time_ns, src, dst, sport, dport, "ike", payload, payload_at)
    if NAT_T_PORT not in (sport, dport) or len(payload) < 4:
        return None  # other traffic, or a NAT-keepalive (one 0xff octet)
    if payload[:4] == NON_ESP_MARKER:
        return CapturedPacket(frame_no, time_ns, src, dst, sport, dport, "ike", payload[4:], payload_at + 4)
    return CapturedPacket(frame_no, time_ns, src, dst, sport, dport, "esp", payload, payload_at)
