"""A whole IKEv2 message: header, payload chain and, when protected, the SK payload (RFC 7296 3).

``decode(encode(m, keys, iv), keys) == m`` for every valid message, and ``encode(decode(b)) == b``
for every ``b`` that decodes without keys. Decoding is total: any input either decodes or raises
DecodeError (IntegrityError when an ICV does not verify).
"""

from __future__ import annotations

from dataclasses import dataclass

from hasim.errors import DecodeError
from hasim.wire.chain import GENERIC, decode_chain, encode_chain
from hasim.wire.constants import GENERIC_HEADER_LEN, IKE_HEADER_LEN, PayloadType
from hasim.wire.header import pack_header, unpack_header
from hasim.wire.payloads import EncryptedPayload, Payload
from hasim.wire.sk import SkKeys, body_size, iv_size, open_sk, seal

_SK_BODY_AT = IKE_HEADER_LEN + GENERIC_HEADER_LEN
_SK = int(PayloadType.SK)
_NONE = int(PayloadType.NONE)


@dataclass(frozen=True)
class Message:
    """An IKEv2 message (RFC 7296 3.1); ``protected`` means the payloads travel inside an SK payload.

    ``initiator`` is the I flag (sender is the IKE SA's original initiator), ``response`` the R flag.
    ``minor_version`` and ``other_flags`` (the V flag and X bits of the Flags octet) are what a
    recipient MUST ignore (RFC 7296 3.1); hasim sends 0 and keeps received values only so that the
    octets round-trip.
    """

    spi_i: int
    spi_r: int
    exchange: int
    initiator: bool
    response: bool
    message_id: int
    payloads: tuple[Payload, ...] = ()
    protected: bool = False
    minor_version: int = 0
    other_flags: int = 0


def _header(msg: Message, next_payload: int, length: int) -> bytes:
    """The IKE header of ``msg`` announcing ``next_payload`` and ``length`` octets."""
    return pack_header(
        msg.spi_i,
        msg.spi_r,
        next_payload,
        msg.exchange,
        msg.initiator,
        msg.response,
        msg.message_id,
        length,
        msg.minor_version,
        msg.other_flags,
    )


def encode(msg: Message, keys: SkKeys | None = None, iv: bytes | None = None) -> bytes:
    """The message's octets; a protected message needs ``keys`` and a fresh ``iv`` (sk.iv_size)."""
    if not msg.protected:
        first, chain = encode_chain(msg.payloads)
        return _header(msg, first, IKE_HEADER_LEN + len(chain)) + chain
    if keys is None or iv is None:
        raise ValueError("a protected message needs keys and an IV to encode")
    return encode_protected(
        msg.spi_i,
        msg.spi_r,
        msg.exchange,
        msg.initiator,
        msg.response,
        msg.message_id,
        msg.payloads,
        keys,
        iv,
        msg.minor_version,
        msg.other_flags,
    )


def encode_protected(
    spi_i: int,
    spi_r: int,
    exchange: int,
    initiator: bool,
    response: bool,
    message_id: int,
    payloads: tuple[Payload, ...],
    keys: SkKeys,
    iv: bytes,
    minor_version: int = 0,
    other_flags: int = 0,
) -> bytes:
    """``encode(Message(..., protected=True, ...), keys, iv)`` from the message's fields, without the
    Message object: for a sender that holds them (every protected message an IKE SA sends)."""
    first, inner = encode_chain(payloads, allow_sk=False)
    sk_len = GENERIC_HEADER_LEN + body_size(keys.suite, len(inner))
    if sk_len > 0xFFFF:
        raise ValueError(f"SK payload of {sk_len} octets exceeds the 16-bit Payload Length")
    header = pack_header(
        spi_i,
        spi_r,
        _SK,
        exchange,
        initiator,
        response,
        message_id,
        IKE_HEADER_LEN + sk_len,
        minor_version,
        other_flags,
    )
    return seal(keys, initiator, iv, header + GENERIC.pack(first, 0, sk_len), inner)  # C, RESERVED clear


def decode(data: bytes, keys: SkKeys | None = None) -> Message:
    """Parse ``data``; with ``keys`` verify the SK payload's ICV and decrypt it (protected=True)."""
    data = bytes(data)
    spi_i, spi_r, next_payload, exchange, initiator, response, mid, _, minor, other = unpack_header(data)
    if keys is not None and next_payload == _SK and len(data) >= _SK_BODY_AT:
        # What nearly every message is: one SK payload up to the end. The chain's walk would find the
        # same (its checks all pass); anything else takes the walk below, for its exact errors.
        first_inner, _, sk_len = GENERIC.unpack_from(data, IKE_HEADER_LEN)
        if sk_len == len(data) - IKE_HEADER_LEN:
            plain = open_sk(keys, initiator, data, _SK_BODY_AT)
            if not plain and first_inner == _NONE:  # no payloads (a liveness check, its answer): no walk
                return Message(spi_i, spi_r, exchange, initiator, response, mid, (), True, minor, other)
            inner = decode_chain(plain, first_inner, _SK_BODY_AT + iv_size(keys.suite), allow_sk=False)
            return Message(spi_i, spi_r, exchange, initiator, response, mid, tuple(inner), True, minor, other)
    payloads = decode_chain(data[IKE_HEADER_LEN:], next_payload, IKE_HEADER_LEN)
    protected = False
    if keys is not None and payloads and isinstance(payloads[-1], EncryptedPayload):
        sk = payloads[-1]
        if len(payloads) > 1:
            raise DecodeError(IKE_HEADER_LEN, "unencrypted payloads before the SK payload are not supported")
        # The SK payload's critical and RESERVED bits are ignored (RFC 7296 3.2: SK is understood);
        # the ICV covers them, so a changed bit is still caught.
        plain = open_sk(keys, initiator, data, _SK_BODY_AT)  # the SK payload runs to the end
        payloads = decode_chain(plain, sk.first_inner, _SK_BODY_AT + iv_size(keys.suite), allow_sk=False)
        protected = True
    return Message(spi_i, spi_r, exchange, initiator, response, mid, tuple(payloads), protected, minor, other)
