"""The ESP header (RFC 4303 section 2): SPI (4) | Sequence Number (4), for pcap export.

With Extended Sequence Numbers only the low 32 bits travel in the header (RFC 4303 2.2.1); the
high 32 bits are implied by the receiver's window and enter only the ICV. ``EspHeader.seq`` is the
full counter and ``encode`` writes its low half; ``decode`` gives back those 32 bits.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hasim.errors import DecodeError

ESP_HEADER_LEN = 8
"""Octets of SPI and sequence number before the payload data."""

_ESP = struct.Struct("!II")


@dataclass(frozen=True)
class EspHeader:
    """SPI and sequence number of one ESP packet; SPI 0 is reserved (RFC 4303 2.1)."""

    spi: int
    seq: int

    def __post_init__(self) -> None:
        if not 1 <= self.spi <= 0xFFFFFFFF:
            raise ValueError(f"ESP SPI {self.spi} must be 1..2**32-1 (0 is reserved, RFC 4303 2.1)")
        if not 0 <= self.seq < 1 << 64:
            raise ValueError(f"ESP sequence number {self.seq} must fit in 64 bits")

    def encode(self) -> bytes:
        """The 8 header octets: SPI and the low 32 bits of the sequence number."""
        return _ESP.pack(self.spi, self.seq & 0xFFFFFFFF)


def decode_esp_header(data: bytes) -> EspHeader:
    """The header at the start of ``data`` (anything after it is the encrypted payload)."""
    if len(data) < ESP_HEADER_LEN:
        raise DecodeError(len(data), f"truncated ESP header: {len(data)} of {ESP_HEADER_LEN} octets")
    spi, seq = _ESP.unpack_from(data)
    if spi == 0:
        raise DecodeError(0, "ESP SPI 0 is reserved (RFC 4303 2.1)")
    return EspHeader(spi, seq)
