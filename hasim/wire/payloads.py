"""Payload values and their bodies (RFC 7296 3.9 Nonce, 3.10 Notify, 3.11 Delete, 3.14 SK).

A payload here is its body plus the critical bit and the 7 RESERVED bits of its generic header
(``reserved``: always 0 when sent; a recipient ignores them, RFC 7296 3.2, and hasim keeps them only
so that ``encode(decode(b)) == b``); the rest of the generic header (Next Payload, Payload Length)
belongs to the chain (see :mod:`hasim.wire.chain`). Every payload type hasim does
not interpret travels as an :class:`OpaquePayload`, unchanged.

Encoding is permissive about field contents (a test may build a malformed RFC 6311 notify to see a
receiver reject it); decoding is strict.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hasim.errors import DecodeError
from hasim.wire.constants import PayloadType, ProtocolId

MAX_BODY = 0xFFFF - 4
"""Largest payload body: the 16-bit Payload Length includes the 4-octet generic header (RFC 7296 3.2)."""

NONCE_MIN, NONCE_MAX = 16, 256
"""Nonce Data length bounds (RFC 7296 3.9)."""

_NOTIFY_FIXED = struct.Struct("!BBH")
_DELETE_FIXED = struct.Struct("!BBH")
_INTERPRETED = frozenset(
    {PayloadType.NONE, PayloadType.NONCE, PayloadType.NOTIFY, PayloadType.DELETE, PayloadType.SK}
)


def delete_spi_size(protocol_id: int) -> int:
    """SPI size of a Delete payload: 0 for IKE (the SA is the one the message travels on), 4 for AH/ESP."""
    if protocol_id == ProtocolId.IKE:
        return 0
    if protocol_id in (ProtocolId.AH, ProtocolId.ESP):
        return 4
    raise ValueError(f"Delete protocol ID {protocol_id} is not IKE (1), AH (2) or ESP (3)")


@dataclass(frozen=True)
class Notify:
    """Notify payload (RFC 7296 3.10): protocol ID, SPI (its size is ``len(spi)``), type and data."""

    notify_type: int
    protocol_id: int = 0
    spi: bytes = b""
    data: bytes = b""
    critical: bool = False
    reserved: int = 0


@dataclass(frozen=True)
class Delete:
    """Delete payload (RFC 7296 3.11); the SPI size follows from the protocol ID (0 IKE, 4 AH/ESP)."""

    protocol_id: int
    spis: tuple[bytes, ...] = ()
    critical: bool = False
    reserved: int = 0

    def __post_init__(self) -> None:
        size = delete_spi_size(self.protocol_id)
        if size == 0 and self.spis:
            raise ValueError("a Delete of the IKE SA carries no SPIs (RFC 7296 3.11)")
        if any(len(s) != size for s in self.spis):
            raise ValueError(f"every SPI of this Delete must be {size} octets")


@dataclass(frozen=True)
class Nonce:
    """Nonce payload (RFC 7296 3.9): 16 to 256 octets of random data."""

    data: bytes
    critical: bool = False
    reserved: int = 0


@dataclass(frozen=True)
class OpaquePayload:
    """Any payload type hasim does not interpret, carried through byte for byte."""

    payload_type: int
    body: bytes
    critical: bool = False
    reserved: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.payload_type <= 255 or self.payload_type in _INTERPRETED:
            raise ValueError(f"payload type {self.payload_type} cannot be opaque (use its own class)")


@dataclass(frozen=True)
class EncryptedPayload:
    """An SK payload left encrypted (no keys given): IV, ciphertext and ICV as one body (RFC 7296 3.14).

    ``first_inner`` is the SK payload's Next Payload field: the type of the first inner payload.
    """

    first_inner: int
    body: bytes
    critical: bool = False
    reserved: int = 0


Payload = Notify | Delete | Nonce | OpaquePayload | EncryptedPayload
"""Any payload of a message's chain."""


def payload_type(p: Payload) -> int:
    """The Payload Type number that announces ``p`` in the preceding Next Payload field."""
    if isinstance(p, Notify):
        return PayloadType.NOTIFY
    if isinstance(p, Delete):
        return PayloadType.DELETE
    if isinstance(p, Nonce):
        return PayloadType.NONCE
    if isinstance(p, EncryptedPayload):
        return PayloadType.SK
    return p.payload_type


def encode_body(p: Payload) -> bytes:
    """The payload's body, i.e. everything after its generic header."""
    if isinstance(p, Notify):
        if not (0 <= p.protocol_id <= 255 and 0 <= p.notify_type <= 0xFFFF and len(p.spi) <= 255):
            raise ValueError(f"Notify field out of range: {p!r}")
        body = _NOTIFY_FIXED.pack(p.protocol_id, len(p.spi), p.notify_type) + p.spi + p.data
    elif isinstance(p, Delete):
        if len(p.spis) > 0xFFFF:
            raise ValueError("a Delete carries at most 65535 SPIs")
        body = _DELETE_FIXED.pack(p.protocol_id, delete_spi_size(p.protocol_id), len(p.spis)) + b"".join(
            p.spis
        )
    elif isinstance(p, Nonce):
        body = p.data
    else:
        body = p.body
    if len(body) > MAX_BODY:
        raise ValueError(f"payload body of {len(body)} octets exceeds {MAX_BODY}")
    return body


def decode_body(ptype: int, critical: bool, body: bytes, offset: int, reserved: int = 0) -> Payload:
    """Parse a body of type ``ptype``; ``offset`` is where the body starts in the message (for errors).

    The SK payload is not handled here: the chain decides whether to decrypt it.
    """
    if ptype == PayloadType.NOTIFY:
        if len(body) < _NOTIFY_FIXED.size:
            raise DecodeError(offset, f"Notify body of {len(body)} octets is shorter than its 4 fixed octets")
        protocol_id, spi_size, notify_type = _NOTIFY_FIXED.unpack_from(body)
        if 4 + spi_size > len(body):
            raise DecodeError(
                offset + 1, f"Notify SPI size {spi_size} exceeds the {len(body) - 4} octets left"
            )
        return Notify(
            notify_type, protocol_id, body[4 : 4 + spi_size], body[4 + spi_size :], critical, reserved
        )
    if ptype == PayloadType.DELETE:
        if len(body) < _DELETE_FIXED.size:
            raise DecodeError(offset, f"Delete body of {len(body)} octets is shorter than its 4 fixed octets")
        protocol_id, spi_size, count = _DELETE_FIXED.unpack_from(body)
        try:
            expected = delete_spi_size(protocol_id)
        except ValueError as exc:
            raise DecodeError(offset, str(exc)) from None
        if spi_size != expected:
            raise DecodeError(
                offset + 1, f"Delete SPI size {spi_size} for protocol {protocol_id} (expected {expected})"
            )
        if expected == 0 and count != 0:
            raise DecodeError(offset + 2, f"Delete of the IKE SA lists {count} SPIs (expected 0)")
        if len(body) != 4 + count * spi_size:
            raise DecodeError(  # the Num of SPIs field disagrees with the Payload Length
                offset + 2,
                f"Delete announces {count} SPIs of {spi_size} octets but has {len(body) - 4} octets of SPIs",
            )
        spis = tuple(body[4 + i * spi_size : 4 + (i + 1) * spi_size] for i in range(count))
        return Delete(protocol_id, spis, critical, reserved)
    if ptype == PayloadType.NONCE:
        if not NONCE_MIN <= len(body) <= NONCE_MAX:
            raise DecodeError(
                offset, f"Nonce of {len(body)} octets (RFC 7296 3.9: {NONCE_MIN} to {NONCE_MAX})"
            )
        return Nonce(body, critical, reserved)
    if ptype == PayloadType.NONE:
        raise DecodeError(offset, "payload type 0 (NONE) cannot carry a payload")
    return OpaquePayload(ptype, body, critical, reserved)
