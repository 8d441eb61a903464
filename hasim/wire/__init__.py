"""Floor 1: bytes <-> frozen dataclasses (RFC 7296 section 3, RFC 6311 section 6, RFC 4303 header, pcap).

The names most callers need are re-exported here; each lives in the module named after it.
"""

from __future__ import annotations

from hasim.wire.constants import ExchangeType, NotifyType, PayloadType, ProtocolId
from hasim.wire.header import IkeHeader, decode_header
from hasim.wire.message import Message, decode, encode, encode_protected
from hasim.wire.payloads import Delete, EncryptedPayload, Nonce, Notify, OpaquePayload, Payload
from hasim.wire.rfc6311 import (
    MessageIdSync,
    MessageIdSyncSupported,
    ReplayCounterSync,
    ReplayCounterSyncSupported,
    Rfc6311Notify,
    from_notify,
)
from hasim.wire.sk import SkKeys, SkSuite, iv_size

__all__ = [
    "Delete",
    "EncryptedPayload",
    "ExchangeType",
    "IkeHeader",
    "Message",
    "MessageIdSync",
    "MessageIdSyncSupported",
    "Nonce",
    "Notify",
    "NotifyType",
    "OpaquePayload",
    "Payload",
    "PayloadType",
    "ProtocolId",
    "ReplayCounterSync",
    "ReplayCounterSyncSupported",
    "Rfc6311Notify",
    "SkKeys",
    "SkSuite",
    "decode",
    "decode_header",
    "encode",
    "encode_protected",
    "from_notify",
    "iv_size",
]
