"""RFC 6311, peer side: answering a newly active member's synchronization (sections 5.1, 5.2, 9).

See ``rfc6311_member`` for the theory of operation of both sides. The peer's rules, in the order
they are applied to an IKEV2_MESSAGE_ID_SYNC request:

1. The message was authenticated and decrypted before this code runs (R9-1, R6-7): a forged or
   tampered SK payload never gets here.
2. It must use Message ID 0 (R5.1-10) and hold nothing but the sync notify and at most one
   IPSEC_REPLAY_COUNTER_SYNC (R5.1-9); the capability must have been negotiated (R5-3).
3. A byte-identical copy of the last sync request answered, while no later request from the
   cluster has been accepted, is a retransmission: it gets the same response bytes again (RFC 7296
   2.1: only the response to the most recent request is retransmitted) and changes nothing. Once
   a later request is accepted the cached pair is forgotten, and the copy is a replay that rule 4
   drops (R11-1).
4. Stale M1 (R5.1-5, R11-1) is silently dropped. "Stale" depends on the ``SyncReading`` (AMB-1):
   STRICT (default): M1 <= the highest Message ID received from the cluster in any request, sync
   requests' M1 included; SYNC_ONLY: M1 <= the highest earlier sync M1; STRONGSWAN (observed
   behaviour of strongSwan 5.9.8's ``ike_mid_sync.c``): M1 < the Message ID expected next from
   the cluster, i.e. M1 <= max(highest received, highest earlier sync M1 - 1), since a sync's M1
   is the cluster's next Message ID. It answers a second sync with the same M1 again, which
   STRICT drops.
5. A replay delta whose size disagrees with the Child SAs' ESN setting is dropped, counted (R6-5).
6. M2 = max(M1, highest value received from the cluster + 1, next expected) (R5.1-6), where an
   earlier sync counts as the value M1 (STRICT, SYNC_ONLY) or M1 - 1 (STRONGSWAN, which answers
   M2 = max(M1, its next expected)), and P2 = max(P1, highest Message ID this side used + 1)
   (R5.1-7). Requests of ours still waiting for
   a response are no longer waited for (R9-2) and go out again with new Message IDs from P2;
   requests of the other side not yet received are no longer expected (R9-3): the window restarts
   at M2.
7. Only after the Message ID part, the delta is added to the outgoing counters of every Child SA
   of the IKE SA (R5.2-5, R5.2-6).
8. The response has Message ID 0 and carries only IKEV2_MESSAGE_ID_SYNC with the request's nonce
   and (P2, M2) (R5.1-8, R5.1-9). The peer never sends IPSEC_REPLAY_COUNTER_SYNC (R6-6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hasim.protocol import rfc6311_member
from hasim.protocol.events import ReplayDeltaApplied, SyncAnswered
from hasim.protocol.exchanges import Parsed
from hasim.protocol.policy import SyncReading
from hasim.wire import ExchangeType, Message, MessageIdSync, ReplayCounterSync

if TYPE_CHECKING:
    from hasim.protocol.ike_sa import IkeSa


@dataclass(frozen=True)
class PeerDecision:
    """Outcome of the R5.1-5..R5.1-7 rules for one request: dropped, or the (P2, M2) to answer."""

    accept: bool
    m2: int = 0
    p2: int = 0


def decide(
    reading: SyncReading,
    m1: int,
    p1: int,
    highest_recv: int,
    highest_sync_m1: int,
    next_recv: int,
    next_send: int,
) -> PeerDecision:
    """The peer's pure decision: ``highest_recv`` = highest request Message ID received (-1: none),
    ``highest_sync_m1`` = highest earlier sync M1 (-1: none), ``next_recv``/``next_send`` = the
    peer's own next expected and next used Message IDs."""
    # The highest value seen from an earlier sync: its M1, or under STRONGSWAN M1 - 1 (a sync's M1
    # is the cluster's next Message ID; ike_mid_sync.c drops only M1 < its next expected ID).
    sync_seen = highest_sync_m1 - 1 if reading is SyncReading.STRONGSWAN else highest_sync_m1
    seen = sync_seen if reading is SyncReading.SYNC_ONLY else max(sync_seen, highest_recv)
    if m1 <= seen:  # R5.1-5
        return PeerDecision(False)
    m2 = max(m1, highest_recv + 1, sync_seen + 1, next_recv)  # R5.1-6
    p2 = max(p1, next_send)  # R5.1-7
    return PeerDecision(True, m2, p2)


def accept_replay_sync(sa: IkeSa, rcs: ReplayCounterSync, mid: int, now: float) -> bool:
    """Check a received IPSEC_REPLAY_COUNTER_SYNC before using it (R5-3, R6-5); drop if unusable."""
    if not sa.caps.replay_sync:
        sa.drop(now, "replay_sync_not_negotiated", mid, False)
        return False
    if sa.children and any(c.esn != rcs.esn for c in sa.children):
        sa.counters["replay_size_mismatch"] += 1
        sa.drop(now, "replay_size_mismatch", mid, False)  # R6-5
        return False
    return True


def apply_delta(sa: IkeSa, delta: int, now: float) -> None:
    """Add ``delta`` to the outgoing counter of every Child SA of this IKE SA (R5.2-6)."""
    for child in sa.children:
        child.skip_outbound(delta)
    sa.counters["replay_deltas_applied"] += 1
    sa.emit(ReplayDeltaApplied(now, delta, len(sa.children)))


def forget_sync_response(sa: IkeSa) -> None:
    """A later request from the cluster was accepted: stop answering copies of the last sync request
    from the cache (RFC 7296 2.1 retransmits only the response to the most recent request); a copy
    arriving now is a replay and meets the stale-M1 rule (R11-1)."""
    sa.last_sync_request = None
    sa.last_sync_response = None


def on_sync_request(sa: IkeSa, msg: Message, parsed: Parsed, data: bytes, now: float) -> None:
    """Process an (already authenticated, R9-1) request carrying IKEV2_MESSAGE_ID_SYNC.

    Any such request from the newly active member is answered unless a rule of section 5.1 drops
    it (R5-5); no other state (pending exchanges, windows) stands in the way.
    """
    ms = parsed.mid_sync
    assert ms is not None

    def dropped(reason: str) -> None:
        sa.drop(now, reason, msg.message_id, False)

    if msg.message_id != 0:
        return dropped("sync_nonzero_mid")  # R5.1-10
    if not sa.established:
        return dropped("not_established")
    if parsed.others:
        return dropped("sync_extra_payload")  # R5.1-9
    if not sa.caps.mid_sync:
        return dropped("sync_not_negotiated")  # R5-3
    if data == sa.last_sync_request and sa.last_sync_response is not None:
        sa.counters["sync_retransmissions_answered"] += 1
        sa.send(sa.last_sync_response)
        return None
    d = decide(
        sa.config.reading,
        ms.expected_send,
        ms.expected_recv,
        sa.responses.highest,
        sa.highest_sync_m1,
        sa.responses.base,
        sa.requests.next_mid,
    )
    if not d.accept:
        sa.counters["sync_requests_dropped_stale"] += 1
        return dropped("stale_sync")  # R5.1-5, R11-1
    rcs = parsed.replay_sync
    if rcs is not None and not accept_replay_sync(sa, rcs, msg.message_id, now):
        return None
    abandoned = sa.requests.abandon_all()  # R9-2
    rfc6311_member.requeue(sa, abandoned)
    sa.requests.next_mid = d.p2
    sa.responses.reset(d.m2)  # R9-3
    sa.highest_sync_m1 = ms.expected_send
    if rcs is not None:  # R5.2-5: after the Message ID part
        apply_delta(sa, rcs.delta, now)
    reply = (MessageIdSync(ms.nonce, d.p2, d.m2).to_notify(),)
    out = sa.sealed(ExchangeType.INFORMATIONAL, 0, reply, True)  # R5.1-10
    sa.last_sync_request, sa.last_sync_response = data, out
    sa.send(out)
    sa.counters["sync_answered"] += 1
    sa.emit(SyncAnswered(now, ms.expected_send, ms.expected_recv, d.m2, d.p2, len(abandoned)))
    rfc6311_member.on_answered_other_sync(sa, now)
    return None
