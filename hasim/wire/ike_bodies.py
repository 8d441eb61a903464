"""Bodies of the SA, KE, Identification and Authentication payloads, which hasim.wire carries as
opaque payloads: SA (RFC 7296 3.3: proposals of transforms with attributes), KE (3.4), ID (3.5) and
AUTH (3.8). Malformed bodies raise DecodeError with the offset inside the body.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from hasim.errors import DecodeError


class TransformType(IntEnum):
    """Transform Type values (RFC 7296 3.3.2; IANA "Transform Type Values")."""

    ENCR = 1
    PRF = 2
    INTEG = 3
    DH = 4
    ESN = 5


class IdType(IntEnum):
    """Identification types used here (RFC 7296 3.5)."""

    IPV4_ADDR = 1
    FQDN = 2
    RFC822_ADDR = 3


AUTH_SHARED_KEY_MIC = 2
"""Authentication Method 2: shared key message integrity code (RFC 7296 3.8)."""

ATTR_KEY_LENGTH = 14
"""Transform attribute Key Length, always in TV form (RFC 7296 3.3.5)."""

PROTOCOL_IKE = 1


@dataclass(frozen=True)
class Transform:
    """One transform: type, ID and, for variable-length ciphers, the key length in bits."""

    type: int
    id: int
    key_length: int | None = None


@dataclass(frozen=True)
class Proposal:
    """One proposal substructure (RFC 7296 3.3.1)."""

    number: int
    protocol_id: int
    spi: bytes
    transforms: tuple[Transform, ...]


# Transform IDs and group numbers used by hasim (IANA "IKEv2 Parameters")
ENCR_AES_CBC = 12
ENCR_AES_GCM_16 = 20
PRF_HMAC_SHA2_256 = 5
AUTH_HMAC_SHA2_256_128 = 12
DH_ECP256 = 19
DH_CURVE25519 = 31
ESN_NO, ESN_YES = 0, 1

PROTOCOL_ESP = 3

_PROPOSAL = struct.Struct("!BBHBBBB")
_TRANSFORM = struct.Struct("!BBHBBH")


def _encode_transform(t: Transform, last: bool) -> bytes:
    attrs = b"" if t.key_length is None else struct.pack("!HH", 0x8000 | ATTR_KEY_LENGTH, t.key_length)
    return _TRANSFORM.pack(0 if last else 3, 0, 8 + len(attrs), t.type, 0, t.id) + attrs


def encode_sa(proposals: tuple[Proposal, ...]) -> bytes:
    """The SA payload body for ``proposals`` (RFC 7296 3.3)."""
    out = b""
    for i, p in enumerate(proposals):
        ts = b"".join(_encode_transform(t, j == len(p.transforms) - 1) for j, t in enumerate(p.transforms))
        last = i == len(proposals) - 1
        head = _PROPOSAL.pack(
            0 if last else 2,
            0,
            8 + len(p.spi) + len(ts),
            p.number,
            p.protocol_id,
            len(p.spi),
            len(p.transforms),
        )
        out += head + p.spi + ts
    return out


def _decode_transforms(body: bytes, at: int, end: int, count: int) -> tuple[Transform, ...]:
    out: list[Transform] = []
    for i in range(count):
        if at + _TRANSFORM.size > end:
            raise DecodeError(at, f"transform {i + 1} of {count} runs past its proposal")
        more, _, length, ttype, _, tid = _TRANSFORM.unpack_from(body, at)
        if length < 8 or at + length > end:
            raise DecodeError(at + 2, f"transform length {length} does not fit its proposal")
        if more != (0 if i == count - 1 else 3):
            raise DecodeError(at, f"transform {i + 1} of {count} has Last Substruc {more}")
        key_length = None
        a = at + 8
        while a < at + length:
            if a + 4 > at + length:
                raise DecodeError(a, "truncated transform attribute")
            atype, value = struct.unpack_from("!HH", body, a)
            if atype & 0x8000:
                if atype & 0x7FFF == ATTR_KEY_LENGTH:
                    key_length = value
                a += 4
            else:
                a += 4 + value
        if a != at + length:
            raise DecodeError(at + 8, "transform attributes overrun the transform")
        out.append(Transform(ttype, tid, key_length))
        at += length
    if at != end:
        raise DecodeError(at, f"{end - at} octets after the last transform of the proposal")
    return tuple(out)


def decode_sa(body: bytes) -> tuple[Proposal, ...]:
    """The proposals of an SA payload body (RFC 7296 3.3.1)."""
    out: list[Proposal] = []
    at = 0
    while True:
        if at + _PROPOSAL.size > len(body):
            raise DecodeError(at, "truncated proposal substructure")
        more, _, length, number, proto, spi_size, count = _PROPOSAL.unpack_from(body, at)
        end = at + length
        if length < 8 + spi_size or end > len(body):
            raise DecodeError(at + 2, f"proposal length {length} does not fit the SA payload")
        spi = body[at + 8 : at + 8 + spi_size]
        out.append(Proposal(number, proto, spi, _decode_transforms(body, at + 8 + spi_size, end, count)))
        at = end
        if more == 0:
            break
        if more != 2:
            raise DecodeError(at - length, f"proposal Last Substruc {more} (0 or 2)")
    if at != len(body):
        raise DecodeError(at, f"{len(body) - at} octets after the last proposal")
    return tuple(out)


def encode_ke(group: int, data: bytes) -> bytes:
    """KE payload body: Diffie-Hellman Group Num, RESERVED, key exchange data (RFC 7296 3.4)."""
    return struct.pack("!HH", group, 0) + data


def decode_ke(body: bytes) -> tuple[int, bytes]:
    """(group, key exchange data) of a KE payload body."""
    if len(body) < 4:
        raise DecodeError(0, f"KE body of {len(body)} octets is shorter than its 4 fixed octets")
    group = struct.unpack_from("!H", body)[0]
    return group, body[4:]


def encode_id(id_type: int, data: bytes) -> bytes:
    """Identification payload body: ID Type, 3 RESERVED octets, data (RFC 7296 3.5)."""
    return bytes([id_type, 0, 0, 0]) + data


def decode_id(body: bytes) -> tuple[int, bytes]:
    """(ID type, identification data) of an ID payload body."""
    if len(body) < 4:
        raise DecodeError(0, f"ID body of {len(body)} octets is shorter than its 4 fixed octets")
    return body[0], body[4:]


def encode_auth(method: int, data: bytes) -> bytes:
    """Authentication payload body: Auth Method, 3 RESERVED octets, data (RFC 7296 3.8)."""
    return bytes([method, 0, 0, 0]) + data


def decode_auth(body: bytes) -> tuple[int, bytes]:
    """(auth method, authentication data) of an AUTH payload body."""
    if len(body) < 4:
        raise DecodeError(0, f"AUTH body of {len(body)} octets is shorter than its 4 fixed octets")
    return body[0], body[4:]
