"""What an IKE SA reports to its driver: frozen events, drained with ``IkeSa.events()``.

Events are the only output besides bytes to send. The simulator turns them into records and
metrics; the cluster sync channel listens for ``SyncRequestSent`` so that the values a member sent
reach the other members (RFC 6311 R5.1-4). Every event carries the protocol time it happened at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Event:
    """Base of all events: ``kind`` names the event in flat records."""

    time: float
    kind: ClassVar[str] = "event"


@dataclass(frozen=True)
class IkeSaEstablished(Event):
    """IKE_AUTH completed; ``mid_sync``/``replay_sync`` are the negotiated capabilities (R5-3)."""

    mid_sync: bool
    replay_sync: bool
    kind: ClassVar[str] = "established"


@dataclass(frozen=True)
class IkeSaDeleted(Event):
    """The IKE SA is gone. reason: timeout | delete_received | local | inconsistent (R8.3-1)."""

    reason: str
    kind: ClassVar[str] = "deleted"


@dataclass(frozen=True)
class ExchangeCompleted(Event):
    """A request this side sent got its response (``what`` names the request: liveness, rekey, ...)."""

    exchange: int
    message_id: int
    what: str
    kind: ClassVar[str] = "exchange_completed"


@dataclass(frozen=True)
class RequestAnswered(Event):
    """This side answered a new request of the other side (not a cached retransmission)."""

    exchange: int
    message_id: int
    kind: ClassVar[str] = "request_answered"


@dataclass(frozen=True)
class Retransmitted(Event):
    """A request was sent again with identical bytes (RFC 7296 2.1); attempt 1 = first retransmission."""

    message_id: int
    attempt: int
    kind: ClassVar[str] = "retransmitted"


@dataclass(frozen=True)
class MessageDropped(Event):
    """An incoming message was dropped without acting on it; ``reason`` is a short fixed name."""

    reason: str
    message_id: int
    response: bool
    kind: ClassVar[str] = "dropped"


@dataclass(frozen=True)
class FailoverTakeover(Event):
    """This side took over the IKE SA from a failed member (imported state, now active)."""

    since_sync_s: float
    kind: ClassVar[str] = "takeover"


@dataclass(frozen=True)
class CountersSkipped(Event):
    """Outgoing ESP counters of one Child SA jumped forward on failover (R5.2-1)."""

    spi_out: int
    amount: int
    new_seq: int
    kind: ClassVar[str] = "counters_skipped"


@dataclass(frozen=True)
class SyncWanted(Event):
    """A sync trigger fired under a sync gate (``MemberPolicy.sync_gate``): the member wants to start
    its counter synchronization and waits for its driver to call ``IkeSa.start_failover_sync``.

    Section 7 warns that a member taking over many SAs can be overloaded by their sync exchanges;
    the gate lets the driver (the simulator's member capacity) decide when each exchange starts,
    while the takeover itself (counters skipped, R5.2-1) has already happened.
    """

    kind: ClassVar[str] = "sync_wanted"


@dataclass(frozen=True)
class SyncRequestSent(Event):
    """A member sent a sync request: the values to share with the other members (R5.1-4).

    ``delta`` is the IPSEC_REPLAY_COUNTER_SYNC value or None; ``m1``/``p1`` are None in case 2.
    """

    nonce: int | None
    m1: int | None
    p1: int | None
    delta: int | None
    kind: ClassVar[str] = "sync_sent"


@dataclass(frozen=True)
class SyncCompleted(Event):
    """The member accepted the peer's response and adopted M2 and P2 (R5.1-11)."""

    m2: int | None
    p2: int | None
    kind: ClassVar[str] = "sync_completed"


@dataclass(frozen=True)
class SyncSuperseded(Event):
    """Simultaneous failover: this side answered the other side's sync while its own was pending;
    the Message IDs are synchronized by that exchange, so its own request is no longer waited for."""

    nonce: int
    kind: ClassVar[str] = "sync_superseded"


@dataclass(frozen=True)
class SyncAnswered(Event):
    """Peer side: a sync request was accepted and answered with (P2, M2) (R5.1-6, R5.1-7)."""

    m1: int
    p1: int
    m2: int
    p2: int
    abandoned_requests: int
    kind: ClassVar[str] = "sync_answered"


@dataclass(frozen=True)
class ReplayDeltaApplied(Event):
    """Peer side: the outgoing counters of every Child SA were increased by ``delta`` (R5.2-6)."""

    delta: int
    children: int
    kind: ClassVar[str] = "replay_delta_applied"


@dataclass(frozen=True)
class ChildSaCreated(Event):
    """A Child SA was created or rekeyed (``rekeyed_spi_in`` = inbound SPI of the SA it replaces)."""

    spi_in: int
    spi_out: int
    rekeyed_spi_in: int | None
    kind: ClassVar[str] = "child_created"


@dataclass(frozen=True)
class ChildSaDeleted(Event):
    """A Child SA was removed (after a rekey, or by a Delete payload)."""

    spi_in: int
    kind: ClassVar[str] = "child_deleted"
