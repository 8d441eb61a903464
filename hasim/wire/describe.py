"""Messages as analyser-style text and as JSON-able dicts (used by ``hasim decode`` and by records).

The JSON form names every field: ``spi_i``/``spi_r`` as 16 hex digits, ``exchange`` by name,
``payloads`` each with its ``type`` name; a notify adds ``notify_type``, ``notify_name``,
``protocol_id``, ``spi_size`` and ``data`` decoded into named fields for RFC 6311's 16422
(``nonce``, ``expected_send_req_message_id``, ``expected_recv_req_message_id``) and 16423 (``delta``,
``esn``); other notify data is given as ``{"hex": ...}``.
"""

from __future__ import annotations

from typing import Any

from hasim.errors import DecodeError
from hasim.wire.constants import ExchangeType, NotifyType, PayloadType, ProtocolId, enum_name
from hasim.wire.message import Message
from hasim.wire.payloads import (
    Delete,
    EncryptedPayload,
    Nonce,
    Notify,
    Payload,
    delete_spi_size,
    payload_type,
)
from hasim.wire.rfc6311 import MessageIdSync, ReplayCounterSync, from_notify


def describe_notify(n: Notify) -> str:
    """``NAME`` or ``NAME(field=value, ...)`` for the RFC 6311 notifies with values (the ladders)."""
    name = enum_name(NotifyType, n.notify_type)
    try:
        typed = from_notify(n)
    except DecodeError:
        return f"{name}(malformed)"
    if isinstance(typed, MessageIdSync):
        return f"{name}(nonce={typed.nonce:#010x}, send={typed.expected_send}, recv={typed.expected_recv})"
    if isinstance(typed, ReplayCounterSync):
        return f"{name}(delta={typed.delta})"
    return name


def notify_data(n: Notify) -> dict[str, Any]:
    """A notify's data as named fields (RFC 6311 section 6) or as hex for other types."""
    typed = from_notify(n)
    if isinstance(typed, MessageIdSync):
        return {
            "nonce": typed.nonce,
            "expected_send_req_message_id": typed.expected_send,
            "expected_recv_req_message_id": typed.expected_recv,
        }
    if isinstance(typed, ReplayCounterSync):
        return {"delta": typed.delta, "esn": typed.esn}
    if typed is not None:
        return {}
    return {"hex": n.data.hex()}


def payload_json(p: Payload) -> dict[str, Any]:
    """One payload as a dict whose ``type`` is the payload type's name."""
    if isinstance(p, EncryptedPayload):
        return {
            "type": "SK",
            "critical": p.critical,
            "encrypted": True,
            "first_inner": enum_name(PayloadType, p.first_inner),
            "length": 4 + len(p.body),
        }
    out: dict[str, Any] = {"type": enum_name(PayloadType, payload_type(p)), "critical": p.critical}
    if isinstance(p, Notify):
        out.update(
            notify_type=p.notify_type,
            notify_name=enum_name(NotifyType, p.notify_type),
            protocol_id=p.protocol_id,
            spi_size=len(p.spi),
            spi=p.spi.hex(),
            data=notify_data(p),
        )
    elif isinstance(p, Delete):
        out.update(
            protocol_id=p.protocol_id,
            protocol=enum_name(ProtocolId, p.protocol_id),
            spi_size=delete_spi_size(p.protocol_id),
            spis=[s.hex() for s in p.spis],
        )
    elif isinstance(p, Nonce):
        out.update(length=len(p.data), data=p.data.hex())
    else:
        out.update(length=len(p.body), body=p.body.hex())
    return out


def message_json(msg: Message, length: int) -> dict[str, Any]:
    """The whole message as a JSON-able dict; ``length`` is its encoded size in octets."""
    return {
        "spi_i": f"{msg.spi_i:016x}",
        "spi_r": f"{msg.spi_r:016x}",
        "exchange": enum_name(ExchangeType, msg.exchange),
        "initiator": msg.initiator,
        "response": msg.response,
        "message_id": msg.message_id,
        "length": length,
        "protected": msg.protected,
        "payloads": [payload_json(p) for p in msg.payloads],
    }


def _payload_lines(p: Payload) -> list[str]:
    c = " [critical]" if p.critical else ""
    if isinstance(p, Notify):
        head = (
            f"Notify {enum_name(NotifyType, p.notify_type)} ({p.notify_type}){c}: "
            f"protocol ID {p.protocol_id}, SPI size {len(p.spi)}" + (f", SPI {p.spi.hex()}" if p.spi else "")
        )
        typed = from_notify(p)
        if isinstance(typed, MessageIdSync):
            return [
                head,
                f"    Nonce Data: 0x{typed.nonce:08x}",
                f"    EXPECTED_SEND_REQ_MESSAGE_ID: {typed.expected_send}",
                f"    EXPECTED_RECV_REQ_MESSAGE_ID: {typed.expected_recv}",
            ]
        if isinstance(typed, ReplayCounterSync):
            size = "8 octets, ESN" if typed.esn else "4 octets, no ESN"
            return [head, f"    Incoming IPsec SA delta: {typed.delta} ({size})"]
        return [head] + ([f"    Data: {p.data.hex()}"] if p.data else [])
    if isinstance(p, Delete):
        spis = ", ".join(s.hex() for s in p.spis) or "none (the IKE SA itself)"
        return [f"Delete{c}: protocol {enum_name(ProtocolId, p.protocol_id)}, SPIs: {spis}"]
    if isinstance(p, Nonce):
        return [f"Nonce{c}: {len(p.data)} octets {p.data.hex()}"]
    if isinstance(p, EncryptedPayload):
        return [
            f"Encrypted and Authenticated (SK){c}: {len(p.body)} octets, first inner payload "
            f"{enum_name(PayloadType, p.first_inner)} (no keys: not decrypted)"
        ]
    return [f"{enum_name(PayloadType, p.payload_type)}{c}: {len(p.body)} octets {p.body.hex()}"]


def message_lines(msg: Message, length: int) -> list[str]:
    """The message laid out like a protocol analyser's detail pane, one line per field."""
    kind = "response" if msg.response else "request"
    sender = "original initiator" if msg.initiator else "original responder"
    lines = [
        f"IKEv2 {enum_name(ExchangeType, msg.exchange)} {kind}, Message ID {msg.message_id}, {length} octets",
        f"  Initiator SPI: {msg.spi_i:016x}",
        f"  Responder SPI: {msg.spi_r:016x}",
        f"  Flags: {'I' if msg.initiator else '-'}{'R' if msg.response else '-'} (sent by the {sender})",
    ]
    indent = "  "
    if msg.protected:
        lines.append("  Encrypted and Authenticated (SK): ICV verified, decrypted")
        indent = "    "
    if not msg.payloads:
        lines.append(f"{indent}(no payloads)")
    for p in msg.payloads:
        lines.extend(indent + line for line in _payload_lines(p))
    return lines
