"""The four RFC 6311 notifies as typed values (RFC 6311 section 6, IANA values of section 7).

All four carry Protocol ID 0 and SPI Size 0 (R6-2)::

    16420 IKEV2_MESSAGE_ID_SYNC_SUPPORTED      no data (R6-3)
    16421 IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED  no data (R6-3)
    16422 IKEV2_MESSAGE_ID_SYNC                Nonce (4) | EXPECTED_SEND_REQ_MESSAGE_ID (4)
                                               | EXPECTED_RECV_REQ_MESSAGE_ID (4), network order (R6-4)
    16423 IPSEC_REPLAY_COUNTER_SYNC            incoming IPsec SA delta: 8 octets with ESN, else 4 (R6-5)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hasim.errors import DecodeError
from hasim.wire.constants import NotifyType
from hasim.wire.payloads import Notify

_MID_SYNC = struct.Struct("!III")
_U32 = (1 << 32) - 1
_U64 = (1 << 64) - 1
RFC6311_TYPES = frozenset(
    {
        NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED,
        NotifyType.IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED,
        NotifyType.IKEV2_MESSAGE_ID_SYNC,
        NotifyType.IPSEC_REPLAY_COUNTER_SYNC,
    }
)
"""The notify types defined by RFC 6311 (R6-1)."""


@dataclass(frozen=True)
class MessageIdSyncSupported:
    """IKEV2_MESSAGE_ID_SYNC_SUPPORTED (16420), sent in IKE_AUTH to announce Message ID sync support."""

    def to_notify(self) -> Notify:
        """The generic Notify: protocol 0, no SPI, no data (R6-2, R6-3)."""
        return Notify(NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED)


@dataclass(frozen=True)
class ReplayCounterSyncSupported:
    """IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED (16421), sent in IKE_AUTH to announce replay counter sync."""

    def to_notify(self) -> Notify:
        """The generic Notify: protocol 0, no SPI, no data (R6-2, R6-3)."""
        return Notify(NotifyType.IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED)


@dataclass(frozen=True)
class MessageIdSync:
    """IKEV2_MESSAGE_ID_SYNC (16422): a nonce and the sender's two expected request Message IDs (R6-4)."""

    nonce: int
    expected_send: int
    expected_recv: int

    def __post_init__(self) -> None:
        for name in ("nonce", "expected_send", "expected_recv"):
            if not 0 <= getattr(self, name) <= _U32:
                raise ValueError(f"IKEV2_MESSAGE_ID_SYNC {name} must fit in 32 bits")

    def to_notify(self) -> Notify:
        """The generic Notify with 12 octets of data in network byte order (R6-4)."""
        data = _MID_SYNC.pack(self.nonce, self.expected_send, self.expected_recv)
        return Notify(NotifyType.IKEV2_MESSAGE_ID_SYNC, data=data)


@dataclass(frozen=True)
class ReplayCounterSync:
    """IPSEC_REPLAY_COUNTER_SYNC (16423): the delta to add to every incoming SA's counter (R6-5).

    ``esn`` says whether the IKE SA's Child SAs use Extended Sequence Numbers: 8 octets, else 4.
    """

    delta: int
    esn: bool

    def __post_init__(self) -> None:
        if not 0 <= self.delta <= (_U64 if self.esn else _U32):
            raise ValueError(f"IPSEC_REPLAY_COUNTER_SYNC delta must fit in {64 if self.esn else 32} bits")

    def to_notify(self) -> Notify:
        """The generic Notify with the delta as 4 or 8 octets in network byte order (R6-5)."""
        data = self.delta.to_bytes(8 if self.esn else 4, "big")
        return Notify(NotifyType.IPSEC_REPLAY_COUNTER_SYNC, data=data)


Rfc6311Notify = MessageIdSyncSupported | ReplayCounterSyncSupported | MessageIdSync | ReplayCounterSync
"""Any of the four typed RFC 6311 notifies."""


_MID_SYNC_SUPPORTED = int(NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED)
_REPLAY_SYNC_SUPPORTED = int(NotifyType.IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED)
_MID_SYNC_TYPE = int(NotifyType.IKEV2_MESSAGE_ID_SYNC)
"""The notify types :func:`from_notify` tells apart, bound once (an enum member's lookup is slow)."""


def from_notify(n: Notify, offset: int = 0) -> Rfc6311Notify | None:
    """The typed value of an RFC 6311 notify, or None for any other notify type.

    ``offset`` is where the Notify payload (its generic header) starts in the message, so that a
    DecodeError names the offending octet: protocol ID at +4, SPI size at +5, data at +8.
    """
    ntype = n.notify_type
    if ntype not in RFC6311_TYPES:
        return None
    if n.protocol_id != 0:
        raise DecodeError(
            offset + 4, f"{_name(ntype)} has protocol ID {n.protocol_id} (RFC 6311 section 6: must be 0)"
        )
    if n.spi:
        raise DecodeError(
            offset + 5, f"{_name(ntype)} has SPI size {len(n.spi)} (RFC 6311 section 6: must be 0)"
        )
    data_at = offset + 8
    if ntype in (_MID_SYNC_SUPPORTED, _REPLAY_SYNC_SUPPORTED):
        if n.data:
            raise DecodeError(
                data_at, f"{_name(ntype)} carries {len(n.data)} octets of data (RFC 6311: none)"
            )
        if ntype == _MID_SYNC_SUPPORTED:
            return MessageIdSyncSupported()
        return ReplayCounterSyncSupported()
    if ntype == _MID_SYNC_TYPE:
        if len(n.data) != _MID_SYNC.size:
            raise DecodeError(
                data_at, f"{_name(ntype)} data is {len(n.data)} octets (RFC 6311 section 6: 12)"
            )
        return MessageIdSync(*_MID_SYNC.unpack(n.data))
    if len(n.data) not in (4, 8):
        raise DecodeError(
            data_at, f"{_name(ntype)} data is {len(n.data)} octets (RFC 6311 section 6: 4, or 8 with ESN)"
        )
    return ReplayCounterSync(int.from_bytes(n.data, "big"), esn=len(n.data) == 8)


def _name(notify_type: int) -> str:
    """A notify type's name for an error message (worked out only when one is raised)."""
    return NotifyType(notify_type).name
