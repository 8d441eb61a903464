"""What the exhaustive exploration ranges over: its bounds, the member policies, and its datagrams.

The bounds make the search finite; everything inside them is explored, in every order. Time is
abstract: a side's retransmission timer fires as one step (every outstanding request of that side
times out together, since all wait the same ``timeout``), and ``early_timeouts`` bounds how often
a timer may fire while datagrams are still in flight (a network slower than the timeout); with
nothing in flight a timer may always fire, since that is the only way forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from hasim.errors import ConfigError
from hasim.protocol.anti_replay import ReplayPolicy
from hasim.protocol.policy import (
    AfterFailover,
    IkeConfig,
    MemberPolicy,
    RetransmitSchedule,
    SkipForward,
    SkipKind,
    SyncReading,
    SyncTrigger,
)
from hasim.wire import SkKeys, SkSuite

KEYS = SkKeys(SkSuite.AES_GCM_16_128, bytes(range(20)), bytes(range(20, 40)))
SPI_I, SPI_R = 0x1111222233334444, 0x5555666677778888
CHILD_SPIS = (0x1000, 0x2000)
"""The one Child SA of the explored IKE SA: (cluster's inbound SPI, peer's inbound SPI)."""


@dataclass(frozen=True)
class Bounds:
    """How far the search goes. Counts are totals over a whole run unless named per side.

    The defaults are the default bound of ``hasim explore`` (run in the tests at windows 1 and 2):
    two failovers, one lost copy to the standby, one lost datagram, one request per side, six
    datagrams in flight, one retransmission. ESP packets, duplicates, state copies and early
    timeouts are off by default and explored at the deeper bounds of docs/explore.md.

    ``sync_losses``: state copies that never reach the standby; the copy the cluster makes when its
    member sends or completes a sync (R5.1-4, as the simulator does) is the one that can be lost.
    ``in_flight``: no step that adds datagrams (request, ESP packet, duplicate, timer, crash) is
    taken while this many are in flight; delivering and losing always are.
    """

    window: int = 1
    failovers: int = 2
    syncs: int = 0
    sync_losses: int = 1
    losses: int = 1
    duplicates: int = 0
    requests: int = 1
    esp: int = 0
    in_flight: int = 6
    tries: int = 1
    early_timeouts: int = 0
    peer_cluster: bool = False

    def __post_init__(self) -> None:
        for name in ("failovers", "syncs", "sync_losses", "losses", "duplicates", "requests", "esp", "tries"):
            value = getattr(self, name)
            if not 0 <= value <= 8:
                raise ConfigError(f"bounds.{name}", f"must be in 0..8, got {value}")
        if not 0 <= self.early_timeouts <= 8:
            raise ConfigError("bounds.early_timeouts", f"must be in 0..8, got {self.early_timeouts}")
        if not 1 <= self.window <= 4:
            raise ConfigError("bounds.window", f"must be in 1..4, got {self.window}")
        if not 1 <= self.in_flight <= 12:
            raise ConfigError("bounds.in_flight", f"must be in 1..12, got {self.in_flight}")


@dataclass(frozen=True)
class Policy:
    """A named member policy: what a newly active member does (section 5.2, 7, 8) and whether it
    promises the ESP properties (no sequence number accepted twice, no IV reused) at these bounds."""

    name: str
    member: MemberPolicy
    inbound: ReplayPolicy
    promises_esp: bool
    about: str


_COVERING = SkipForward(SkipKind.FIXED, amount=1024)
_SHORT = SkipForward(SkipKind.FIXED, amount=0)

POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy(
            "proactive",
            MemberPolicy(trigger=SyncTrigger.PROACTIVE, skip_out=_COVERING, skip_in=_COVERING),
            ReplayPolicy.STRICT,
            True,
            "sync at takeover, windowed IKE, skips of 1024, strict inbound window (the defaults)",
        ),
        Policy(
            "lazy",
            MemberPolicy(trigger=SyncTrigger.LAZY, skip_out=_COVERING, skip_in=_COVERING),
            ReplayPolicy.STRICT,
            True,
            "sync on the first packet to send or outside the window (R7-6), otherwise as proactive",
        ),
        Policy(
            "strict-ike",
            MemberPolicy(
                trigger=SyncTrigger.PROACTIVE,
                after_failover=AfterFailover.STRICT,
                skip_out=_COVERING,
                skip_in=_COVERING,
            ),
            ReplayPolicy.STRICT,
            True,
            "as proactive, but every IKE request dropped until the sync completes (R8.1-2)",
        ),
        Policy(
            "no-skip",
            MemberPolicy(trigger=SyncTrigger.PROACTIVE, skip_out=_SHORT, skip_in=_SHORT),
            ReplayPolicy.LENIENT,
            False,
            "no counter skip and a lenient inbound window: promises nothing about ESP",
        ),
    )
}

READINGS: dict[str, SyncReading] = {
    "strict": SyncReading.STRICT,
    "sync_only": SyncReading.SYNC_ONLY,
    "strongswan": SyncReading.STRONGSWAN,
}


def ike_config(bounds: Bounds, reading: SyncReading, policy: Policy) -> IkeConfig:
    """The configuration both sides run with: one wait per retransmission, no jitter."""
    return IkeConfig(
        window_size=bounds.window,
        retransmit=RetransmitSchedule(timeout=1.0, base=1.0, tries=bounds.tries),
        reading=reading,
        member=policy.member,
        inbound_after_failover=policy.inbound,
    )


class Datagram(NamedTuple):
    """One datagram in flight to side ``dst`` (0: the cluster, 1: the peer).

    IKE: ``data`` is the sealed message; ``serial`` names the request it carries (the k-th request
    its side started; -1 for a response or a request the protocol made itself, -2 for a sync
    request). ESP: ``data`` is empty and ``spi``/``seq`` are the packet's header.
    """

    dst: int
    data: bytes
    serial: int
    spi: int = 0
    seq: int = 0

    @property
    def esp(self) -> bool:
        """True for an ESP packet."""
        return not self.data


class Action(NamedTuple):
    """One step: ``kind`` is deliver, lose, duplicate (of ``datagram``), timer, copy (state to the
    standby), crash (failover), request or esp (on ``side``); ``share_lost``: the copy the cluster
    makes when a sync is sent or completed by this step is lost."""

    kind: str
    side: int
    datagram: Datagram | None = None
    share_lost: bool = False


class Draws:
    """The random draws of one member, fixed so that every branch is reproducible.

    IKE IVs are one fixed value per member (an IV decides nothing in the protocol, and fixing it
    makes a message's octets a function of its content and sender); every other draw (the sync
    nonce) is a counter of that member, so member ``gen`` of side ``side`` always draws the same
    nonces in the same order.
    """

    __slots__ = ("count", "gen", "side")

    def __init__(self, side: int, gen: int, count: int = 0) -> None:
        self.side, self.gen, self.count = side, gen, count

    def __call__(self, n: int) -> bytes:
        if n == 8:  # the explicit IV of AES-GCM-16 (RFC 5282)
            return bytes([0x10 + self.side, self.gen, 0, 0, 0, 0, 0, 0])
        self.count += 1
        value = (self.side << 24) | (self.gen << 16) | self.count
        return value.to_bytes(n, "big") if n >= 4 else bytes(n)

    def copy(self) -> Draws:
        """The same draws from here on, for another branch."""
        return Draws(self.side, self.gen, self.count)
