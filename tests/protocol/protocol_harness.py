"""Scripted-time harness for protocol tests: two IKE SAs wired by a fake link, time advanced by hand.

``Link`` moves datagrams between two ``IkeSa`` objects with no delay; a ``drop`` predicate decides
per datagram whether it is lost. Both sides' outputs are collected before any is delivered, so that
requests sent "at the same time" cross on the wire (simultaneous failover). Every delivered datagram
is logged with its decoded header so tests can assert on what was on the wire.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hasim.protocol.child_sa import ChildSaSnapshot
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig
from hasim.protocol.snapshot import Capabilities, IkeSaSnapshot
from hasim.wire import ExchangeType, Message, Payload, SkKeys, SkSuite, decode

BOTH = Capabilities(True, True)
KEYS = SkKeys(SkSuite.AES_GCM_16_128, bytes(range(20)), bytes(range(20, 40)))
SPI_I, SPI_R = 0x1111222233334444, 0x5555666677778888


CHILD = (ChildSaSnapshot(0x1000, 0x2000, False),)
MIRROR = (ChildSaSnapshot(0x2000, 0x1000, False),)


def forge(
    sa: IkeSa,
    mid: int,
    payloads: tuple[Payload, ...] = (),
    *,
    response: bool = False,
    exchange: int = ExchangeType.INFORMATIONAL,
) -> bytes:
    """An authentic message as ``sa``'s side would send it (keys known), built by hand."""
    msg = Message(sa.spi_i, sa.spi_r, exchange, sa.original_initiator, response, mid, payloads, True)
    return sa.seal(msg)


def rng_bytes(seed: int) -> Callable[[int], bytes]:
    """A deterministic random_bytes for a test side."""
    r = random.Random(seed)
    return r.randbytes


@dataclass
class Sent:
    """One datagram on the wire: time, sender name, bytes and decoded message."""

    time: float
    src: str
    data: bytes
    msg: Message


@dataclass
class Link:
    """Two sides and the datagrams between them."""

    a: IkeSa
    b: IkeSa
    now: float = 0.0
    log: list[Sent] = field(default_factory=list)
    drop: Callable[[Sent], bool] = lambda s: False

    def other(self, sa: IkeSa) -> IkeSa:
        return self.b if sa is self.a else self.a

    def flush(self, max_rounds: int = 100) -> None:
        """Deliver until both sides are quiet."""
        for _ in range(max_rounds):
            batch = [(self.a, d) for d in self.a.messages_to_send(self.now)]
            batch += [(self.b, d) for d in self.b.messages_to_send(self.now)]
            if not batch:
                return
            for src, data in batch:
                sent = Sent(self.now, src.name, data, decode(data, KEYS))
                self.log.append(sent)
                if not self.drop(sent):
                    self.other(src).receive(data, self.now)
        raise AssertionError("link did not go quiet")

    def run_until(self, t: float) -> None:
        """Advance time to ``t``, firing timers in order and delivering what they send."""
        self.flush()
        while True:
            timers = [x for x in (self.a.next_timer(), self.b.next_timer()) if x is not None and x <= t]
            if not timers:
                break
            self.now = max(self.now, min(timers))
            for sa in (self.a, self.b):
                nt = sa.next_timer()
                if nt is not None and nt <= self.now:
                    sa.handle_timer(self.now)
            self.flush()
        self.now = t

    def sent_by(self, name: str) -> list[Sent]:
        return [s for s in self.log if s.src == name]


def make_snapshot(
    *,
    initiator: bool = False,
    next_send: int = 0,
    next_recv: int = 0,
    window: int = 1,
    caps: Capabilities = BOTH,
    children: tuple[ChildSaSnapshot, ...] = CHILD,
    highest_recv: int | None = None,
) -> IkeSaSnapshot:
    """A snapshot of an established SA as one side sees it."""
    return IkeSaSnapshot(
        spi_i=SPI_I,
        spi_r=SPI_R,
        original_initiator=initiator,
        keys=KEYS,
        next_send_mid=next_send,
        next_recv_mid=next_recv,
        highest_recv_mid=next_recv - 1 if highest_recv is None else highest_recv,
        send_window=window,
        recv_window=window,
        capabilities=caps,
        children=children,
    )


def pair(
    cfg_member: IkeConfig | None = None,
    cfg_peer: IkeConfig | None = None,
    *,
    member_snap: IkeSaSnapshot | None = None,
    peer_snap: IkeSaSnapshot | None = None,
) -> Link:
    """A cluster member (responder, "M") and a peer (original initiator, "P"), both established."""
    ms = member_snap or make_snapshot()
    ps = peer_snap or ms.mirrored()
    m = IkeSa.from_snapshot(ms, cfg_member or IkeConfig(), rng_bytes(1), name="M")
    p = IkeSa.from_snapshot(ps, cfg_peer or IkeConfig(), rng_bytes(2), name="P")
    return Link(m, p)
