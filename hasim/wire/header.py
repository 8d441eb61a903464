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
        return pack_header(
            self.spi_i,
            self.spi_r,
            self.next_payload,
            self.exchange,
            self.initiator,
            self.response,
            self.message_id,
            self.length,
            self.minor_version,
            self.other_flags,
        )


def pack_header(
    spi_i: int,
    spi_r: int,
    next_payload: int,
    exchange: int,
    initiator: bool,
    response: bool,
    message_id: int,
    length: int,
    minor_version: int = 0,
    other_flags: int = 0,
) -> bytes:
    """The 28 header octets of these fields (``IkeHeader.encode`` without building the object, for the
    message codec's hot path); ValueError if a field does not fit its width."""
    if not (
        0 <= spi_i <= _U64
        and 0 <= spi_r <= _U64
        and 0 <= next_payload <= 255
        and 0 <= exchange <= 255
        and 0 <= message_id <= _U32
        and 0 <= length <= _U32
        and 0 <= minor_version <= 0x0F
    ):
        for name, value, top in (
            ("spi_i", spi_i, _U64),
            ("spi_r", spi_r, _U64),
            ("next_payload", next_payload, 255),
            ("exchange", exchange, 255),
            ("message_id", message_id, _U32),
            ("length", length, _U32),
            ("minor_version", minor_version, 0x0F),
        ):
            if not 0 <= value <= top:
                raise ValueError(f"IKE header {name}={value} does not fit in its field (0..{top})")
    if other_flags & ~OTHER_FLAGS or other_flags < 0:
        raise ValueError(f"IKE header other_flags 0x{other_flags:x} must not hold I or R")
    flags = (FLAG_INITIATOR if initiator else 0) | (FLAG_RESPONSE if response else 0)
    return _HEADER.pack(
        spi_i,
        spi_r,
        next_payload,
        IKE_VERSION | minor_version,
        exchange,
        flags | other_flags,
        message_id,
        length,
    )


def decode_header(data: bytes) -> IkeHeader:
    """Parse and check the header at the start of ``data`` (the whole message, for the length check)."""
    return IkeHeader(*unpack_header(data))


def unpack_header(data: bytes) -> tuple[int, int, int, int, bool, bool, int, int, int, int]:
    """``decode_header``'s checks and fields, in ``IkeHeader``'s order, without building the object."""
    if len(data) < IKE_HEADER_LEN:
        raise DecodeError(len(data), f"truncated IKE header: {len(data)} of {IKE_HEADER_LEN} octets")
    spi_i, spi_r, next_payload, version, exchange, flags, message_id, length = _HEADER.unpack_from(data)
    if version >> 4 != IKE_VERSION >> 4:
        raise DecodeError(17, f"unsupported IKE major version {version >> 4} (expected 2)")
    if length != len(data):
        raise DecodeError(24, f"length field says {length} octets but the message has {len(data)}")
    return (
        spi_i,
        spi_r,
        next_payload,
        exchange,
        bool(flags & FLAG_INITIATOR),
        bool(flags & FLAG_RESPONSE),
        message_id,
        length,
        version & 0x0F,
        flags & OTHER_FLAGS,
    )
