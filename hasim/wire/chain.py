"""The generic payload header and the payload chain (RFC 7296 3.2).

::

    Next Payload (1) | C (1 bit) RESERVED (7 bits) | Payload Length (2, header included) | body

Each payload's Next Payload field names the type of the one after it; the IKE header's Next
Payload names the first. The SK payload is always last and its Next Payload names the first
payload *inside* it (RFC 7296 3.14). The walk consumes at least 4 octets per step, so it ends.

Critical bit (RFC 7296 3.2): a recipient MUST ignore it for payload types it understands (every
type of :class:`PayloadType`; hasim keeps the bit so that the octets round-trip), and MUST reject
the whole message when it does not understand a payload type whose critical bit is set
(:class:`UnsupportedCriticalPayload`); an unknown type without the bit is carried opaquely.
The 7 RESERVED bits are ignored on receipt too, and kept for the round trip.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from hasim.errors import DecodeError, UnsupportedCriticalPayload
from hasim.wire.constants import CRITICAL_BIT, GENERIC_HEADER_LEN, RESERVED_BITS, PayloadType, enum_name
from hasim.wire.payloads import EncryptedPayload, Notify, Payload, decode_body, encode_body, payload_type
from hasim.wire.rfc6311 import from_notify

GENERIC = struct.Struct("!BBH")
"""The generic payload header: Next Payload, critical bit and RESERVED, Payload Length."""


_NONE = int(PayloadType.NONE)

_UNDERSTOOD = frozenset(PayloadType) - {PayloadType.NONE}
"""Payload types an RFC 7296 implementation understands (hasim carries some of them opaquely)."""


def _name(ptype: int) -> str:
    """A payload type's name for an error message (worked out only when one is raised)."""
    return enum_name(PayloadType, ptype)


def generic_header(next_payload: int, critical: bool, length: int, reserved: int = 0) -> bytes:
    """The 4-octet generic payload header; ``length`` includes these 4 octets."""
    if not 0 <= reserved <= RESERVED_BITS:
        raise ValueError(f"generic header reserved bits {reserved} do not fit in 7 bits")
    return GENERIC.pack(next_payload, (CRITICAL_BIT if critical else 0) | reserved, length)


def encode_chain(payloads: Sequence[Payload], *, allow_sk: bool = True) -> tuple[int, bytes]:
    """Encode a chain: (type of the first payload, or 0 when empty; the payloads' octets)."""
    if not payloads:  # a liveness check and its answer: most messages
        return _NONE, b""
    parts: list[bytes] = []
    for i, p in enumerate(payloads):
        if isinstance(p, EncryptedPayload):
            if not allow_sk:
                raise ValueError("an SK payload cannot be nested inside an SK payload")
            if i != len(payloads) - 1:
                raise ValueError("the SK payload must be the last payload (RFC 7296 3.14)")
            if not 0 <= p.first_inner <= 255:
                raise ValueError(f"SK first_inner {p.first_inner} does not fit in one octet")
            nxt = p.first_inner
        else:
            nxt = payload_type(payloads[i + 1]) if i + 1 < len(payloads) else PayloadType.NONE
        body = encode_body(p)
        parts.append(generic_header(nxt, p.critical, GENERIC_HEADER_LEN + len(body), p.reserved) + body)
    first = payload_type(payloads[0]) if payloads else PayloadType.NONE
    return first, b"".join(parts)


def decode_chain(data: bytes, first_type: int, base: int, *, allow_sk: bool = True) -> list[Payload]:
    """Decode the whole of ``data`` as a chain whose first payload has type ``first_type``.

    ``base`` is the offset of ``data[0]`` in the message, so errors name message offsets. An SK
    payload (allowed only when ``allow_sk``) is returned undecrypted as the last element.
    """
    payloads: list[Payload] = []
    pos, ptype, size = 0, first_type, len(data)
    while ptype != PayloadType.NONE:
        at = base + pos
        if size - pos < GENERIC_HEADER_LEN:
            raise DecodeError(
                at, f"truncated: {_name(ptype)} payload announced but only {size - pos} octets left"
            )
        nxt, flags, length = GENERIC.unpack_from(data, pos)
        if length < GENERIC_HEADER_LEN:
            raise DecodeError(
                at + 2, f"{_name(ptype)} payload length {length} is shorter than its 4-octet header"
            )
        end = pos + length
        if end > size:
            raise DecodeError(
                at + 2,
                f"{_name(ptype)} payload length {length} overruns the message by {end - size} octets",
            )
        body = data[pos + GENERIC_HEADER_LEN : end]
        critical, reserved = bool(flags & CRITICAL_BIT), flags & RESERVED_BITS
        if critical and ptype not in _UNDERSTOOD:
            raise UnsupportedCriticalPayload(
                at,
                f"payload type {ptype} is not understood and its critical bit is set: the message "
                "must be rejected (RFC 7296 3.2)",
                ptype,
            )
        if ptype == PayloadType.SK:
            if not allow_sk:
                raise DecodeError(at, "SK payload nested inside an SK payload")
            if end != size:
                raise DecodeError(
                    at + length, "data after the SK payload, which must be last (RFC 7296 3.14)"
                )
            payloads.append(EncryptedPayload(nxt, body, critical, reserved))
            return payloads
        p = decode_body(ptype, critical, body, at + GENERIC_HEADER_LEN, reserved)
        if isinstance(p, Notify):
            from_notify(p, at)
        payloads.append(p)
        pos = end
        ptype = nxt
    if pos != len(data):
        raise DecodeError(base + pos, f"{len(data) - pos} octets after the last payload")
    return payloads
