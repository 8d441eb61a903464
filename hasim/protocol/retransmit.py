"""Outstanding requests and their retransmission (RFC 7296 section 2.1).

A request that got no response is sent again with identical bytes (the same encrypted octets,
so the responder can recognise it and answer from its cache) after a growing wait; once the
configured number of retransmissions and the wait after the last one have passed, the IKE SA is
given up. The waits come from ``RetransmitSchedule`` (strongSwan's defaults: 4 s, base 1.8,
5 retransmissions, about 165 s in all); the caller supplies any jitter draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from hasim.protocol.policy import RetransmitSchedule
from hasim.wire import Payload


class TimerAction(StrEnum):
    """What an expired request timer asks for."""

    RETRANSMIT = "retransmit"
    GIVE_UP = "give-up"


@dataclass
class PendingRequest:
    """A request on the wire awaiting its response.

    ``attempt`` counts sends minus one (0 after the first send); ``deadline`` is when the next
    retransmission (or the give-up) is due. ``what`` names the request for events and ``context``
    carries what the response handler needs (for example the Child SA being rekeyed).
    """

    message_id: int
    exchange: int
    what: str
    data: bytes
    first_sent: float
    deadline: float
    attempt: int = 0
    context: dict[str, object] = field(default_factory=dict)
    payloads: tuple[Payload, ...] = ()

    def start(self, now: float, schedule: RetransmitSchedule, u: float = 0.0) -> None:
        """Record the first send at ``now``."""
        self.first_sent = now
        self.attempt = 0
        self.deadline = now + schedule.wait(0, u)

    def expire(self, now: float, schedule: RetransmitSchedule, u: float = 0.0) -> TimerAction:
        """The deadline passed: either retransmit (and set the next deadline) or give up."""
        if self.attempt >= schedule.tries:
            return TimerAction.GIVE_UP
        self.attempt += 1
        self.deadline = now + schedule.wait(self.attempt, u)
        return TimerAction.RETRANSMIT


class QueuedRequest:
    """A request waiting for a Message ID and window space; its payloads are fixed when queued."""

    __slots__ = ("context", "exchange", "payloads", "what")

    def __init__(
        self, what: str, exchange: int, payloads: tuple[Payload, ...], context: dict[str, object]
    ) -> None:
        self.what = what
        self.exchange = exchange
        self.payloads = payloads
        self.context = context
