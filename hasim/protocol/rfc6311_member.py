"""RFC 6311, member side: what a newly active cluster member does after taking over an IKE SA.

Theory of operation
===================

The problem (RFC 6311 sections 1-3). A hot-standby cluster keeps IKE and Child SA state on the
active member and copies it to the standby now and then over a sync channel. When the active member
dies, the standby takes over the same IKE SA (same SPIs, same keys) but with the state of the last
snapshot that reached it (``IkeSaSnapshot``): its Message ID counters and ESP sequence counters lag
behind what the failed member really used. Left alone, the peer drops the new member's requests as
old Message IDs or replays, the new member drops the peer's, retransmissions run out and the IKE SA
dies (case 4, the legacy baseline, R5-9).

The repair has two halves, both started here, at most once per failover (R7-5):

1. ESP counters (section 5.2). On takeover the member at once skips its own outgoing sequence
   numbers forward (R5.2-1) by an estimate: packet rate x time since the last snapshot x a safety
   factor, a fixed amount, or 2**30 followed by a rekey of every Child SA so the counter cannot
   wrap (``SkipForward``, R5.2-2, R5.2-3). It also estimates the incoming packets it may have missed
   and asks the peer to skip *its* outgoing counters by that delta with IPSEC_REPLAY_COUNTER_SYNC
   (R5.2-4). Its own inbound windows move up by the delta at takeover, whatever the trigger and
   however long the exchange waits (R8.2-1: strict accepts only the safe window from the failover
   on, lenient for a grace period after it), so old packets replayed from before the failover fall
   below them; the sync later asks for the delta worked out then. Under the strict policy the
   peer's packets below the new edge are dropped until it skips: for a lazy member those drops are
   the first packets outside the window (R7-1). A takeover before the previous member's sync
   started asks for that member's delta too (the snapshot carries it as ``unsent_delta``): the
   windows it inherits already sit above it, the peer's counters do not.

2. Message IDs (section 5.1). The member sends an INFORMATIONAL request with Message ID 0 (R5.1-10)
   holding IKEV2_MESSAGE_ID_SYNC(nonce, M1, P1) and nothing else but the optional replay notify
   (R5.1-9): M1 = its next Message ID pushed past anything known used, by the sender window size
   plus a margin (R5.1-1, R5.1-2; a later member also starts above the M1 an earlier one shared),
   P1 = last Message ID received + 1 (R5.1-3). The values go to the other members through the
   ``SyncRequestSent`` event (R5.1-4) so a second failover never replays them (R2-1). The peer
   answers with Message ID 0 and (P2, M2); the member accepts exactly one response carrying its
   nonce (R5.1-8, R11-2) and adopts M2 as its next Message ID and P2 as the next one it expects
   (R5.1-11). Until then it sends no other request; incoming requests are handled by the named
   ``AfterFailover`` policy: inside the window it declared with P1 (R8.1-1) or not at all (R8.1-2).

Which messages are sent depends on what was negotiated (section 5): both capabilities -> case 3
(one Message ID 0 request with both notifies, R5-8); Message ID sync only -> case 1 (R5-6);
replay counter sync only -> case 2, a normal INFORMATIONAL with the current Message ID (R5-7);
neither -> case 4 (R5-9): only the local skip-forward.

When to start (section 7) is the ``SyncTrigger`` policy: proactively at takeover (R7-3), lazily on
the first packet to send (R7-2) or on the first packet outside the window (R7-1); lazy start
spares a member with many peers a burst of exchanges (R7-6). With ``MemberPolicy.sync_gate`` a
fired trigger only emits ``SyncWanted`` (normal requests are held as if the sync were out) and the
driver starts the exchange with ``IkeSa.start_failover_sync`` when the member has capacity for it:
the takeover and the skip-forward never wait, only the start of the exchange does.

The peer's side (``rfc6311_peer``) authenticates the request first (R9-1), drops a stale M1
(R5.1-5) and answers with max() values (R5.1-6, R5.1-7). What "stale" means is ambiguous in the
RFC (AMB-1), so hasim has both readings as the named ``SyncReading`` policy. STRICT is the
default: it compares M1 against every Message ID the peer has received from the cluster, sync
requests included. It is what section 5.1's text says ("lower than or equal to the highest value
it has seen from the cluster ... includes any previous received synchronization messages") and
what section 11 asks for (a monotonic send counter). SYNC_ONLY compares M1 only against earlier
sync requests: that is the reading under which Appendix A's examples A.2-A.4 work as printed
(their M1 is below what the peer already received). hasim keeps both because they disagree
exactly when a standby's state is stale, which is the case the simulator studies: under STRICT a
stale member must push M1 past everything the failed member used, or its sync is silently
dropped and the SA dies after the retransmissions; under SYNC_ONLY any fresh M1 resynchronizes,
at the price of weaker replay protection. The experiments compare SA survival under the two.

A third reading, STRONGSWAN, is the observed behaviour of strongSwan 5.9.8's charon, the one
public implementation of the peer side (``ike_mid_sync.c``, checked exchange by exchange with
``hasim interop strongswan``): it ignores a sync only if M1 is *below* the Message ID it expects
next from the cluster, and after answering a sync it expects M2 = max(M1, its next expected) next.
So it is STRICT except for an M1 equal to the last sync's M1: a second request with the same M1
and another nonce (a member retransmitting after it dropped an echo of a foreign nonce, or a
second standby with the same snapshot) is answered again with the same M2 instead of dropped.
The values cannot go backwards, so this costs no state, but it answers what R5.1-5 calls a
replay. Under every reading a byte-identical copy of the last sync request is answered from the
cache only while no later request has been accepted (RFC 7296 2.1); after that it is a replay and
is dropped (R11-1), as charon does.

Both roles live on one ``IkeSa``. In a simultaneous failover (two clusters, RA-4, R2-2) each side
answers the other's request as the peer; once a side has answered while its own request is still
out, the Message IDs are already synchronized by that exchange, so its own request is marked
superseded: it no longer holds other requests back, a late response to it changes nothing, and if
it is never answered (STRICT drops one of the two) the SA is kept and any replay delta is sent
again as case 2. Unresolvable state after failover (a peer without Message ID sync sending
requests ahead of our window, or a sync response violating R5.1-6/R5.1-7) tears the IKE SA down
(R8.3-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import ReplayPolicy
from hasim.protocol.child_sa import max_seq
from hasim.protocol.events import (
    CountersSkipped,
    FailoverTakeover,
    SyncCompleted,
    SyncRequestSent,
    SyncSuperseded,
    SyncWanted,
)
from hasim.protocol.exchanges import Parsed
from hasim.protocol.policy import AfterFailover, SkipKind, SyncTrigger
from hasim.protocol.retransmit import PendingRequest, QueuedRequest
from hasim.protocol.snapshot import SyncValues
from hasim.wire import ExchangeType, Message, MessageIdSync, ReplayCounterSync

if TYPE_CHECKING:
    from hasim.protocol.ike_sa import IkeSa


@dataclass
class MemberState:
    """Member-side RFC 6311 state of one IKE SA.

    ``armed``: took over, sync not yet initiated (R7-5: cleared once initiated, only a new takeover
    re-arms it). ``pending``: the Message ID 0 request in flight, with ``nonce``/``m1``/``p1``.
    ``last_sync``: the values last sent by any member (imported from the snapshot, R5.1-4).
    ``wanted``: a trigger fired under a sync gate; the sync waits for the driver (still armed).
    ``delta``: the replay delta of this failover (R5.2-4), worked out at takeover when the inbound
    windows move, asked for by the sync. ``unsent``: an earlier member's delta its sync never asked
    for (imported from the snapshot).
    """

    last_sync: SyncValues | None = None
    failovers: int = 0
    armed: bool = False
    wanted: bool = False
    since_sync_s: float = 0.0
    pending: PendingRequest | None = None
    nonce: int = -1
    m1: int = 0
    p1: int = 0
    superseded: bool = False
    override: tuple[int | None, int | None] = (None, None)
    delta: int | None = None
    unsent: int | None = None

    @property
    def unsent_delta(self) -> int | None:
        """The delta a successor must ask for too: this failover's, while its sync has not started."""
        return self.delta if self.armed else self.unsent


def takeover(sa: IkeSa, now: float, m1: int | None = None, p1: int | None = None) -> None:
    """Become the active member for ``sa``: skip counters forward and arm (or start) the sync.

    ``m1``/``p1`` override the policy's choice of M1 and P1 (to reproduce Appendix A exactly).
    """
    if not sa.established:
        raise ProtocolError("only an established IKE SA can be taken over")
    m = sa.member
    carried = m.unsent_delta  # read before arming: an earlier takeover's delta not yet asked for
    m.failovers += 1
    m.armed = True
    m.wanted = False
    m.pending = None
    m.superseded = False
    m.override = (m1, p1)
    m.since_sync_s = max(0.0, now - sa.snapshot_taken_at)
    sa.counters["takeovers"] += 1
    sa.emit(FailoverTakeover(now, m.since_sync_s))
    requeue(sa, sa.requests.abandon_all())
    policy = sa.config.member
    for child in sa.children:  # R5.2-1: skip own outgoing counters forward
        amount = policy.skip_out.estimate(child.out_rate_pps, m.since_sync_s)
        new_seq = child.skip_outbound(amount)
        sa.emit(CountersSkipped(now, child.spi_out, amount, new_seq))
    m.unsent = None
    m.delta = move_inbound(sa, m.since_sync_s, carried)
    if policy.trigger is SyncTrigger.PROACTIVE:
        request_sync(sa, now)
    if policy.skip_out.kind is SkipKind.LARGE and policy.rekey_after_large_skip:
        for child in list(sa.children):  # R5.2-3: rekey soon after a very large jump (after the sync)
            sa.queue_create_child(now, child)
    sa.pump(now)


def move_inbound(sa: IkeSa, since_sync_s: float, carried: int | None) -> int | None:
    """Move the inbound windows up by the estimated missed packets (R5.2-4) under the R8.2-1 policy,
    and return the delta the sync will ask for: that estimate plus ``carried`` (None: nothing asked).

    Case 4 and an SA without Child SAs ask for nothing, and nothing moves. The windows move only by the
    estimate: an inherited window already sits above an earlier member's unsent delta.
    """
    if not (sa.caps.replay_sync and sa.children):
        return None
    limit = max_seq(sa.children[0].esn)
    own = min(limit, max(sa.config.member.skip_in.estimate(c.in_rate_pps, since_sync_s) for c in sa.children))
    strict = sa.config.inbound_after_failover is ReplayPolicy.STRICT
    for child in sa.children:
        child.advance_inbound(own, strict)  # R8.2-1 policy for the window below the safe edge
    return min(limit, own + (carried or 0))


def requeue(sa: IkeSa, abandoned: list[PendingRequest]) -> None:
    """Put abandoned requests back at the front of the queue, to go out with new Message IDs."""
    sa.queue[:0] = [QueuedRequest(p.what, p.exchange, p.payloads, p.context) for p in abandoned]


def trigger(sa: IkeSa, now: float, *, first_send: bool) -> None:
    """A lazy trigger fired: the first packet to send (R7-2) or an out-of-window packet (R7-1)."""
    t = sa.config.member.trigger
    wanted = SyncTrigger.FIRST_SEND if first_send else SyncTrigger.OUT_OF_WINDOW
    if sa.member.armed and t in (wanted, SyncTrigger.LAZY):
        request_sync(sa, now)
        sa.pump(now)


def holds_requests(sa: IkeSa, now: float) -> bool:
    """True while normal requests must wait (a sync of ours is out or wanted); may start a lazy
    sync (R7-2)."""
    m = sa.member
    if m.armed and sa.config.member.trigger in (SyncTrigger.FIRST_SEND, SyncTrigger.LAZY):
        request_sync(sa, now)
    return m.wanted or (m.pending is not None and not m.superseded)


def rejects_request(sa: IkeSa, now: float) -> bool:
    """STRICT after-failover policy (R8.1-2): drop every request until the sync completes."""
    m = sa.member
    if sa.config.member.after_failover is not AfterFailover.STRICT:
        return False
    if m.armed:
        request_sync(sa, now)  # otherwise nothing would ever end the strict period
    return m.wanted or (m.pending is not None and not m.superseded)


def on_out_of_window(sa: IkeSa, now: float, mid: int) -> None:
    """An IKE request outside the window: a sync trigger (R7-1), or a teardown (R8.3-1)."""
    m = sa.member
    if m.armed:
        trigger(sa, now, first_send=False)
    ahead = mid >= sa.responses.base + sa.responses.size
    if m.failovers and ahead and not sa.caps.mid_sync and sa.config.teardown_on_inconsistency:
        sa.delete_now(now, "inconsistent")


def has_exchange(sa: IkeSa) -> bool:
    """Whether a sync would send anything (cases 1-3); case 4 (R5-9) is only the local skip."""
    return sa.caps.mid_sync or (sa.member.delta is not None and bool(sa.children))


def request_sync(sa: IkeSa, now: float) -> None:
    """A trigger fired: start the sync now, or under a sync gate ask the driver to (``SyncWanted``)."""
    m = sa.member
    if not m.armed or m.wanted:  # R7-5: at most once per failover event
        return
    if sa.config.member.sync_gate and has_exchange(sa):
        m.wanted = True
        sa.emit(SyncWanted(now))
        return
    start_sync(sa, now)


def start_sync(sa: IkeSa, now: float) -> None:
    """Initiate the counter synchronization for this failover (case 1, 2, 3 or 4 of section 5)."""
    m = sa.member
    if not m.armed:  # R7-5: at most once per failover event
        return
    m.armed = False
    m.wanted = False
    policy = sa.config.member
    esn = bool(sa.children) and sa.children[0].esn
    delta = m.delta if sa.children else None  # R5.2-4: the delta the windows moved for at takeover
    if sa.caps.mid_sync:
        known = sa.requests.next_mid
        if m.last_sync is not None and m.last_sync.m1 is not None:
            known = max(known, m.last_sync.m1 + 1)  # R5.1-4: never replay a shared M1
        m1 = known + sa.requests.size + policy.m1_margin  # R5.1-1, R5.1-2
        p1 = max(sa.responses.base, sa.responses.highest + 1) + policy.p1_margin  # R5.1-3
        m1 = m.override[0] if m.override[0] is not None else m1
        p1 = m.override[1] if m.override[1] is not None else p1
        nonce = int.from_bytes(sa.random_bytes(4), "big")
        notifies = [MessageIdSync(nonce, m1, p1).to_notify()]
        if delta is not None:
            notifies.append(ReplayCounterSync(delta, esn).to_notify())
        payloads = tuple(notifies)
        data = sa.sealed(ExchangeType.INFORMATIONAL, 0, payloads, False)  # R5.1-10
        pending = PendingRequest(0, ExchangeType.INFORMATIONAL, "mid_sync", data, now, now, payloads=payloads)
        pending.start(now, sa.config.retransmit, sa.jitter_draw())
        m.pending, m.nonce, m.m1, m.p1 = pending, nonce, m1, p1
        sa.requests.next_mid = max(sa.requests.next_mid, m1)
        sa.responses.reset(p1)  # R8.1-1: from now on only the declared window is accepted
        m.last_sync = SyncValues(nonce, m1, p1, delta)
        sa.send(data)
        sent = SyncRequestSent(now, nonce, m1, p1, delta)
    elif delta is not None:  # case 2 (R5-7): a normal INFORMATIONAL, sent before anything else
        req = QueuedRequest(
            "replay_sync", ExchangeType.INFORMATIONAL, (ReplayCounterSync(delta, esn).to_notify(),), {}
        )
        sa.queue.insert(0, req)
        m.last_sync = SyncValues(None, None, None, delta)
        sent = SyncRequestSent(now, None, None, None, delta)
    else:  # case 4 (R5-9): nothing to negotiate, plain IKEv2
        sa.counters["sync_unsupported"] += 1
        return
    sa.counters["sync_started"] += 1
    sa.emit(sent)


def on_sync_response(sa: IkeSa, msg: Message, parsed: Parsed, now: float) -> None:
    """A response carrying IKEV2_MESSAGE_ID_SYNC: accept it once, with our nonce (R5.1-8, R11-2)."""
    m = sa.member
    ms = parsed.mid_sync
    assert ms is not None

    def dropped(reason: str) -> None:
        sa.counters["sync_responses_dropped"] += 1
        sa.drop(now, reason, msg.message_id, True)

    if msg.message_id != 0:
        return dropped("sync_nonzero_mid")  # R5.1-10
    if m.pending is None or ms.nonce != m.nonce:
        return dropped("sync_nonce")  # R5.1-8, R11-2
    if parsed.others or parsed.replay_sync is not None:
        return dropped("sync_extra_payload")  # R5.1-9 (and R6-6: 16423 never comes from the peer)
    p2, m2 = ms.expected_send, ms.expected_recv
    if m.superseded:
        m.pending = None
        sa.counters["sync_superseded_responses"] += 1
        return None
    if m2 < m.m1 or p2 < m.p1:  # the peer broke R5.1-6 / R5.1-7: nothing consistent to adopt
        if sa.config.teardown_on_inconsistency:
            sa.delete_now(now, "inconsistent")  # R8.3-1
            return None
        return dropped("sync_inconsistent")
    m.pending = None
    sa.requests.next_mid = m2  # R5.1-11
    sa.responses.reset(p2)
    sa.counters["sync_completed"] += 1
    sa.emit(SyncCompleted(now, m2, p2))
    return None


def on_case2_response(sa: IkeSa, now: float) -> None:
    """The empty response to a case-2 replay counter sync (R5-7)."""
    sa.counters["sync_completed"] += 1
    sa.emit(SyncCompleted(now, None, None))


def on_answered_other_sync(sa: IkeSa, now: float) -> None:
    """Simultaneous failover: we answered the other side's sync while ours was pending (RA-4)."""
    m = sa.member
    if m.pending is not None and not m.superseded:
        m.superseded = True
        sa.counters["sync_superseded"] += 1
        sa.emit(SyncSuperseded(now, m.nonce))


def sync_gave_up(sa: IkeSa, now: float) -> None:
    """Our sync request ran out of retransmissions: the SA dies, unless it was superseded."""
    m = sa.member
    if not m.superseded:
        sa.delete_now(now, "timeout")
        return
    m.pending = None
    delta = m.last_sync.delta if m.last_sync else None
    if delta is not None and sa.caps.replay_sync:
        esn = bool(sa.children) and sa.children[0].esn
        req = QueuedRequest(
            "replay_sync", ExchangeType.INFORMATIONAL, (ReplayCounterSync(delta, esn).to_notify(),), {}
        )
        sa.queue.insert(0, req)
