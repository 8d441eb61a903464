"""The shareable state of an IKE SA: what the cluster sync channel carries from active to standby.

A standby holds no live object, only the last ``IkeSaSnapshot`` the channel delivered. On failover
it builds an ``IkeSa`` from it (``IkeSa.from_snapshot``); whatever happened on the failed member
after that snapshot was taken (requests sent, ESP packets sent and received) is unknown to it,
which is exactly the stale state RFC 6311 repairs. Everything here is frozen and hashable, so a
snapshot can be kept, compared and sent around freely.

Contents, with the requirement that needs each field:
- SPIs, keys and role: to keep talking on the same IKE SA (RFC 7296 2.6).
- Message ID counters and windows: the values the member's sync request starts from (R5.1-1..3).
- ``capabilities``: the RFC 6311 capabilities negotiated in IKE_AUTH are IKE SA state (R5-4).
- Child SAs with SPIs, ESN and counters: what 5.2 skips forward and requests a delta for.
- ``last_sync``: the values of the last sync request a member sent, so that a later member never
  replays the same M1 after a second failover (R5.1-4, R2-1).
- ``unsent_delta``: the replay delta a member moved its inbound windows for at takeover but has not
  asked the peer for yet (its sync not started), so that a later member asks for it too (R5.2-4).
- ``highest_sync_m1``: the peer-role memory of R5.1-5 (the highest M1 received), so that a cluster
  facing another cluster (R2-2) keeps its replay protection across its own failovers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from hasim.protocol.child_sa import ChildSaSnapshot

if TYPE_CHECKING:
    from hasim.wire.sk import SkKeys


@dataclass(frozen=True)
class Capabilities:
    """RFC 6311 capabilities asserted by both sides in IKE_AUTH (R5-1..R5-3)."""

    mid_sync: bool = False
    replay_sync: bool = False


@dataclass(frozen=True)
class SyncValues:
    """The values of one sync request (R5.1-4): nonce, M1, P1 and the replay delta (None if absent)."""

    nonce: int | None
    m1: int | None
    p1: int | None
    delta: int | None = None


@dataclass(frozen=True)
class IkeSaSnapshot:
    """Frozen IKE SA state as exported by ``IkeSa.snapshot(now)`` and imported by a standby.

    Message ID fields: ``next_send_mid`` is the Message ID of this side's next request;
    ``next_recv_mid`` the lowest request Message ID not yet received from the other side;
    ``highest_recv_mid`` the highest request Message ID received (-1: none). ``send_window`` is the
    other side's announced window (how many requests this side may have outstanding), ``recv_window``
    this side's own (SET_WINDOW_SIZE, RFC 7296 2.3).
    """

    spi_i: int
    spi_r: int
    original_initiator: bool
    keys: SkKeys
    next_send_mid: int = 0
    next_recv_mid: int = 0
    highest_recv_mid: int = -1
    send_window: int = 1
    recv_window: int = 1
    capabilities: Capabilities = field(default_factory=Capabilities)
    children: tuple[ChildSaSnapshot, ...] = ()
    last_sync: SyncValues | None = None
    highest_sync_m1: int = -1
    taken_at: float = 0.0
    unsent_delta: int | None = None

    def with_changes(self, **changes: object) -> IkeSaSnapshot:
        """A copy with some fields replaced (tests and the sync channel's staleness models use it)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def mirrored(self) -> IkeSaSnapshot:
        """The other side's view of a synchronized SA: role, counters and Child SA SPIs swapped.

        Used to set up both ends of an established IKE SA without running the handshake.
        """
        kids = tuple(
            ChildSaSnapshot(
                c.spi_out, c.spi_in, c.esn, c.in_highest, c.out_seq, c.in_rate_pps, c.out_rate_pps
            )
            for c in self.children
        )
        return IkeSaSnapshot(
            spi_i=self.spi_i,
            spi_r=self.spi_r,
            original_initiator=not self.original_initiator,
            keys=self.keys,
            next_send_mid=self.next_recv_mid,
            next_recv_mid=self.next_send_mid,
            highest_recv_mid=self.next_send_mid - 1,
            send_window=self.recv_window,
            recv_window=self.send_window,
            capabilities=self.capabilities,
            children=kids,
            taken_at=self.taken_at,
        )
