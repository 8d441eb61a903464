"""Named policies and configuration of an IKE SA: every choice RFC 6311 leaves open is an option here.

Nothing in this module is a hidden constant: the readings of RFC 6311 section 5.1's replay rule
(AMB-1: the RFC's two and strongSwan's), strict or windowed IKE handling after failover (section
8.1), proactive or lazy synchronization (sections 7, 7.x), and the skip-forward estimate of section 5.2
are all values a scenario chooses. Defaults follow strongSwan where strongSwan has an answer,
except the reading of R5.1-5, which defaults to the RFC's text (``SyncReading.STRICT``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from hasim.errors import ConfigError
from hasim.protocol.anti_replay import ReplayPolicy


class SyncReading(StrEnum):
    """Which "highest value seen from the cluster" R5.1-5 compares M1 against (AMB-1).

    STRICT (default): the highest Message ID of any request received from the cluster, sync
    requests' M1 included; a repeat of an earlier M1 is dropped, as R5.1-5's "lower than or equal
    to" says. SYNC_ONLY: only the M1 of earlier sync requests, so that Appendix A's examples RA-2,
    RA-3 and RA-4 hold as printed. STRONGSWAN: what strongSwan 5.9.8 (``ike_mid_sync.c``) was
    observed to do: drop iff M1 is below the Message ID it expects next from the cluster; a sync's
    M1 counts as the cluster's *next* Message ID, so after a sync with M1 the next expected is M1
    and a second request with the same M1 (another nonce) is answered again, with M2 = M1. It
    differs from STRICT only for M1 equal to the highest earlier sync M1.

    Under every reading a byte-identical retransmission of the last sync request gets the cached
    response until a later request from the cluster is accepted (RFC 7296 2.1); after that it is a
    replay and goes through the reading's rule (R11-1).
    """

    STRICT = "strict"
    SYNC_ONLY = "sync_only"
    STRONGSWAN = "strongswan"


class AfterFailover(StrEnum):
    """How the newly active member treats incoming IKE requests until the sync completes (8.1).

    WINDOWED (R8.1-1): accept requests inside the window it declared with EXPECTED_RECV, drop the rest.
    STRICT (R8.1-2): drop every incoming IKE request until the Message ID sync completes.
    """

    WINDOWED = "windowed"
    STRICT = "strict"


class SyncTrigger(StrEnum):
    """When the newly active member starts the counter synchronization (section 7, R7-1..R7-3, R7-6).

    PROACTIVE: right after taking over (R7-3; section 7's "proactively"). FIRST_SEND: with the first
    IKE request or ESP packet to send (R7-2). OUT_OF_WINDOW: on the first received IKE message or ESP
    packet outside the expected window (R7-1). LAZY: whichever of FIRST_SEND and OUT_OF_WINDOW happens
    first (R7-6). The values are the words a scenario's ``policy.trigger`` takes.
    """

    PROACTIVE = "proactive"
    FIRST_SEND = "first_send"
    OUT_OF_WINDOW = "out_of_window"
    LAZY = "lazy"


class SkipKind(StrEnum):
    """How the newly active member estimates an ESP counter jump (R5.2-1, R5.2-2, R5.2-3).

    FIXED: a configured amount. ESTIMATE: packet rate x time since the last state sync x a safety
    factor, plus the fixed amount as a floor. LARGE: 2**30 (the RFC's example), followed by a rekey of
    every Child SA so that the counter never wraps.
    """

    FIXED = "fixed"
    ESTIMATE = "estimate"
    LARGE = "large"


LARGE_SKIP = 2**30
"""The "very large number" of RFC 6311 section 5.2."""


@dataclass(frozen=True)
class SkipForward:
    """The skip-forward estimate for outgoing counters and for the incoming delta requested (5.2)."""

    kind: SkipKind = SkipKind.ESTIMATE
    amount: int = 1024
    factor: float = 2.0
    fallback_rate_pps: float = 0.0

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ConfigError("skip_forward.amount", f"must be >= 0, got {self.amount}")
        if self.factor < 1.0:
            raise ConfigError("skip_forward.factor", f"must be >= 1, got {self.factor}")

    def estimate(self, rate_pps: float, since_sync_s: float) -> int:
        """Packets that may have been sent (or received) since the last state sync (R5.2-2)."""
        if self.kind is SkipKind.LARGE:
            return LARGE_SKIP
        if self.kind is SkipKind.FIXED:
            return self.amount
        rate = rate_pps if rate_pps > 0 else self.fallback_rate_pps
        return max(self.amount, math.ceil(rate * max(since_sync_s, 0.0) * self.factor))


@dataclass(frozen=True)
class RetransmitSchedule:
    """Request retransmission timing (RFC 7296 2.1); defaults are strongSwan's charon settings.

    Attempt n (0 = first send) waits ``timeout * base**n`` (capped by ``limit``) before the next send;
    after ``tries`` retransmissions and the wait that follows the last one, the IKE SA is given up:
    sends at 0, 4, 11.2, 24.16, 47.488, 89.4784 s and deletion at 165.06112 s. ``jitter`` (0..1)
    shortens each wait by ``jitter * u`` of itself, u in [0, 1) drawn by the caller.
    """

    timeout: float = 4.0
    base: float = 1.8
    tries: int = 5
    jitter: float = 0.0
    limit: float | None = None

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ConfigError("retransmit.timeout", f"must be > 0, got {self.timeout}")
        if self.base < 1.0:
            raise ConfigError("retransmit.base", f"must be >= 1, got {self.base}")
        if self.tries < 0:
            raise ConfigError("retransmit.tries", f"must be >= 0, got {self.tries}")
        if not 0.0 <= self.jitter < 1.0:
            raise ConfigError("retransmit.jitter", f"must be in [0, 1), got {self.jitter}")

    def wait(self, attempt: int, u: float = 0.0) -> float:
        """Seconds to wait after send number ``attempt`` (0-based) before acting again."""
        t = self.timeout * self.base**attempt
        if self.limit is not None:
            t = min(t, self.limit)
        return t * (1.0 - self.jitter * u)

    def send_times(self) -> tuple[list[float], float]:
        """Without jitter: the send times of a lost request and the time it is given up."""
        times, t = [], 0.0
        for n in range(self.tries + 1):
            times.append(t)
            t += self.wait(n)
        return times, t


@dataclass(frozen=True)
class MemberPolicy:
    """What a newly active member does on failover (RFC 6311 sections 5.1, 5.2, 7, 8.1).

    ``sync_gate``: when the trigger fires, do not send the sync request at once but emit
    ``SyncWanted`` and hold normal requests until the driver calls ``IkeSa.start_failover_sync``
    (a member that can start only so many sync exchanges per second, section 7). The takeover
    itself (skip-forward, R5.2-1) never waits for the gate.
    """

    trigger: SyncTrigger = SyncTrigger.PROACTIVE
    after_failover: AfterFailover = AfterFailover.WINDOWED
    m1_margin: int = 0
    p1_margin: int = 0
    skip_out: SkipForward = field(default_factory=SkipForward)
    skip_in: SkipForward = field(default_factory=SkipForward)
    rekey_after_large_skip: bool = True
    sync_gate: bool = False

    def __post_init__(self) -> None:
        if self.m1_margin < 0 or self.p1_margin < 0:
            raise ConfigError("policy.m1_margin", "margins must be >= 0")


@dataclass(frozen=True)
class IkeConfig:
    """Per-IKE-SA settings: windows, retransmission, RFC 6311 support and the failover policies."""

    window_size: int = 1
    retransmit: RetransmitSchedule = field(default_factory=RetransmitSchedule)
    mid_sync: bool = True
    replay_sync: bool = True
    reading: SyncReading = SyncReading.STRICT
    member: MemberPolicy = field(default_factory=MemberPolicy)
    esn: bool = False
    teardown_on_inconsistency: bool = True
    replay_window: int = 32
    inbound_after_failover: ReplayPolicy = ReplayPolicy.STRICT

    def __post_init__(self) -> None:
        if not 1 <= self.window_size <= 2**16:
            raise ConfigError("window_size", f"must be in 1..65536, got {self.window_size}")
