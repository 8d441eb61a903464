"""The fixed 28-octet IKE header (RFC 7296 3.1).

::

    SPIi (8) | SPIr (8) | Next Payload (1) | MjVer|MnVer (1) | Exchange Type (1) | Flags (1)
    | Message ID (4) | Length (4)

The major version must be 2 (a higher one is dropped, RFC 7296 3.1 and 2.5). What a recipient MUST
ignore - the minor version, the V flag and the X bits - is accepted and kept, so that
``encode(decode(b)) == b``; hasim itself sends minor version 0 and only the I and R flags.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hasim.errors import DecodeError
from hasim.wire.constants import FLAG_INITIATOR, FLAG_RESPONSE, IKE_HEADER_LEN, IKE_VERSION, OTHER_FLAGS

_HEADER = struct.Struct("!QQBBBBII")
_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1


@dataclass(frozen=True)
class IkeHeader:
    """The IKE header's fields; ``length`` is the whole message, header included (RFC 7296 3.1)."""

    spi_i: int
    spi_r: int
    next_payload: int
    exchange: int
    initiator: bool
    response: bool
    message_id: int
    length: int
    minor_version: int = 0
    other_flags: int = 0

    def encode(self) -> bytes:
        """The 28 header octets; ValueError if a field does not fit its width."""
        for name, value, top in (
            ("spi_i", self.spi_i, _U64),
            ("spi_r", self.spi_r, _U64),
            ("next_payload", self.next_payload, 255),
            ("exchange", self.exchange, 255),
            ("message_id", self.message_id, _U32),
            ("length", self.length, _U32),
            ("minor_version", self.minor_version, 0x0F),
        ):
            if not 0 <= value <= top:
                raise ValueError(f"IKE header {name}={value} does not fit in its field (0..{top})")
        if self.other_flags & ~OTHER_FLAGS or self.other_flags < 0:
            raise ValueError(f"IKE header other_flags 0x{self.other_flags:x} must not hold I or R")
        flags = (FLAG_INITIATOR if self.initiator else 0) | (FLAG_RESPONSE if self.response else 0)
        return _HEADER.pack(
            self.spi_i,
            self.spi_r,
            self.next_payload,
            IKE_VERSION | self.minor_version,
            self.exchange,
            flags | self.other_flags,
            self.message_id,
            self.length,
        )


def decode_header(data: bytes) -> IkeHeader:
    """Parse and check the header at the start of ``data`` (the whole message, for the length check)."""
    if len(data) < IKE_HEADER_LEN:
        raise DecodeError(len(data), f"truncated IKE header: {len(data)} of {IKE_HEADER_LEN} octets")
    spi_i, spi_r, next_payload, version, exchange, flags, message_id, length = _HEADER.unpack_from(data)
    if version >> 4 != IKE_VERSION >> 4:
        raise DecodeError(17, f"unsupported IKE major version {version >> 4} (expected 2)")
    if length != len(data):
        raise DecodeError(24, f"length field says {length} octets but the message has {len(data)}")
    return IkeHeader(
        spi_i=spi_i,
        spi_r=spi_r,
        next_payload=next_payload,
        exchange=exchange,
        initiator=bool(flags & FLAG_INITIATOR),
        response=bool(flags & FLAG_RESPONSE),
        message_id=message_id,
        length=length,
        minor_version=version & 0x0F,
        other_flags=flags & OTHER_FLAGS,
    )
