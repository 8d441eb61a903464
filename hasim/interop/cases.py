"""The interop cases: hasim as a newly active cluster member, charon as the RFC 6311 peer.

Every case starts a fresh IKE SA (charon initiates, hasim answers for real), runs a few normal
INFORMATIONAL exchanges both ways - hasim's requests with Message IDs 0, 1, 2 and one DPD request
of charon's (Message ID 2) - and keeps the member's snapshot after the first one: the standby's
state, stale by two requests and one received request. Then the standby takes over
(``failover_takeover``) and sends the sync with M1 = stale next Message ID + window (1) + margin,
P1 = stale next expected (R5.1-1..3). The margin chooses the case:

======================  ======  =============================================================
case                    margin  what is checked (numbers for the default staleness of 2)
======================  ======  =============================================================
fresh M1                2       M1 = 4 > 3 (charon's next expected): answered (P2, M2) = (3, 4)
M1 = next expected      1       M1 = 3, just above the highest seen (2): answered (3, 3)
stale M1                0       M1 = 2 <= 2 (highest seen): silently dropped (R5.1-5)
replayed request        2       the same request again, at once and after one more exchange
wrong nonce             2       a request whose nonce is not the member's, then the genuine one
charon request pending  2       charon's own DPD (Message ID 3) unanswered at the sync (R9-2)
(same), M1 = next exp.  1       the same with M1 = charon's next expected ID
======================  ======  =============================================================

``stale_requests`` (the chosen staleness, default 2) is how many requests the failed member sent
after the standby's snapshot; the margins above scale with it so that each case keeps its place
relative to charon's next expected Message ID (the stale case keeps the policy's own M1).

After the sync, the next Message IDs are checked in both directions: a request from the member
(M2 if it synchronized) and charon's Delete when the case ends (``swanctl --terminate``), whose
Message ID must be P2. A "wrong nonce" makes sense only for a response (R5.1-8: the peer cannot
know which nonce the member chose, it echoes whatever the request carries), so the case sends a
request whose nonce differs from the one the member recorded - as a stale member, or another
standby, would - and checks that charon echoes it, that the member drops the response, and what
happens when the member then retransmits its genuine request with the same M1.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from hasim.interop.charon import Charon
from hasim.interop.session import CapturedDatagram, Session, Step
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig, MemberPolicy, SyncReading
from hasim.protocol.snapshot import IkeSaSnapshot
from hasim.wire import Message, MessageIdSync, Notify, SkKeys, decode, from_notify

FINDINGS: dict[str, str] = {
    "F1": (
        "strongSwan accepts a second sync request whose M1 equals the M1 of the sync it last answered "
        "(ike_mid_sync.c drops only M1 < next expected Message ID, and after a sync that is M1 itself); "
        "the strict reading of R5.1-5 ('lower than or equal to the highest value it has seen from the "
        "cluster ... includes any previous received synchronization messages') drops it. hasim's "
        "SyncReading.STRONGSWAN (--reading strongswan) predicts charon here."
    ),
    "F3": (
        "strongSwan answers P2 = 3 while its own request with Message ID 3 (a DPD) is unanswered; R5.1-7 "
        "asks for 'one more than the highest sender value used by the peer' = 4. ike_mid_sync.c first "
        "applies M2 (set_message_id -> task manager reset(), which moves the pending request back to the "
        "queue) and only then asks has_active_tasks(), which finds none; it then sends Message ID 3 again "
        "(its next DPD goes out as request 3, and the abandoned request's retransmission timer fires too) "
        "where hasim's model re-sends its pending request as 4 (R9-2). When "
        "M1 equals charon's next expected ID there is no reset, and charon answers P2 = 4 and re-sends "
        "its DPD as 4, exactly as hasim predicts (the last case)."
    ),
}


@dataclass(frozen=True)
class CaseSpec:
    """One case: its name, where M1 lands and the script run after the failover.

    ``ahead`` is M1 minus charon's next expected Message ID; None keeps the member policy's own M1
    (stale next ID + window, margin 0), which is stale once the failed member sent two requests
    after the last snapshot.
    """

    name: str
    ahead: int | None
    script: Callable[[Session, IkeSa, IkeSa, bytes], None]

    def margin(self, stale_requests: int) -> int:
        """The member's ``m1_margin``: M1 = stale next ID + window (1) + margin, charon expects
        stale next ID + ``stale_requests``."""
        return 0 if self.ahead is None else stale_requests + self.ahead - 1


def normal_phase(ses: Session, dpd_wait: float, stale_requests: int = 2) -> IkeSaSnapshot:
    """hasim's requests and at least one DPD of charon's (more if hasim was slow for ``dpd_delay``,
    each its own step; the tests count them); returns the member's snapshot after its first
    request: the standby's state, stale by ``stale_requests`` requests and the DPD."""
    if stale_requests < 1:
        raise ValueError("the failed member sends at least one request after the snapshot")
    member = ses.member
    assert member is not None
    seen = len(ses.charon_requests_seen)
    ses.member_request(member, "hasim request, normal")
    stale = member.snapshot(ses.now())
    ses.member_request(member, "hasim request, normal")
    # on a loaded machine charon's DPD may already have come while hasim waited for an answer
    if len(ses.charon_requests_seen) == seen and ses.wait_charon_request(dpd_wait) is None:
        raise OSError(f"charon sent no DPD request within {dpd_wait} s")
    for _ in range(stale_requests - 1):
        ses.member_request(member, "hasim request, normal")
    return stale


def take_over(ses: Session, stale: IkeSaSnapshot, margin: int) -> tuple[IkeSa, bytes]:
    """The standby becomes active from ``stale`` and produces its sync request (R5.1-1..3)."""
    config = IkeConfig(member=MemberPolicy(m1_margin=margin))
    new = IkeSa.from_snapshot(stale, config, ses.random_bytes, name="new-member")
    now = ses.now()
    new.failover_takeover(now)
    out = new.messages_to_send(now)
    ses.member = new
    return new, out[0]


def _after_sync(ses: Session, old: IkeSa, new: IkeSa) -> None:
    if new.member.pending is None:
        ses.member_request(new, "new member's next request (M2)")
    else:  # the sync was not answered: probe charon with the failed member's true next Message ID
        ses.member_request(old, "request with the failed member's next Message ID")


def fresh(ses: Session, old: IkeSa, new: IkeSa, sync: bytes) -> None:
    """M1 above anything charon has seen: answered, both sides adopt (M2, P2) (R5.1-6, -7, -11)."""
    ses.send_request(sync, "sync request")
    _after_sync(ses, old, new)


def stale(ses: Session, old: IkeSa, new: IkeSa, sync: bytes) -> None:
    """M1 at or below the highest Message ID charon has seen: silently dropped (R5.1-5)."""
    ses.send_request(sync, "sync request")
    _after_sync(ses, old, new)


def replay(ses: Session, old: IkeSa, new: IkeSa, sync: bytes) -> None:
    """The same request bytes again: at once, then after one more exchange (R11-1)."""
    ses.send_request(sync, "sync request")
    ses.send_request(sync, "same request replayed at once")
    _after_sync(ses, old, new)
    ses.send_request(sync, "same request replayed after a newer request")  # a replay now (R11-1)


def wrong_nonce(ses: Session, old: IkeSa, new: IkeSa, sync: bytes) -> None:
    """A request carrying a nonce the member did not record, then the member's genuine request."""
    assert ses.keys is not None
    msg = decode(sync, ses.keys)
    ms = from_notify(next(p for p in msg.payloads if isinstance(p, Notify)))
    assert isinstance(ms, MessageIdSync)
    other = MessageIdSync(ms.nonce ^ 0xFFFFFFFF, ms.expected_send, ms.expected_recv)
    crafted = Message(msg.spi_i, msg.spi_r, msg.exchange, msg.initiator, False, 0, (other.to_notify(),), True)
    dropped_before = new.counters["sync_responses_dropped"]
    step = ses.send_request(ses.sealed(crafted), "sync request with a nonce the member did not send")
    if new.counters["sync_responses_dropped"] > dropped_before:
        step.what += " (member drops the echo: nonce mismatch, R5.1-8)"
    due = new.next_timer()
    assert due is not None
    new.handle_timer(due)
    again = new.messages_to_send(due)
    ses.send_request(again[0], "member retransmits its genuine request (same M1)", finding="F1")
    _after_sync(ses, old, new)


def pending_request(ses: Session, old: IkeSa, new: IkeSa, sync: bytes) -> None:
    """charon has a request of its own out (a DPD nobody answered) when the sync arrives (R9-2).

    P2 must count the pending request (one more than the highest Message ID charon used), and the
    peer should stop waiting for its response: hasim's model re-sends the request with a new
    Message ID from P2, and the new member answers that.
    """
    if (
        ses.wait_charon_request(ses.charon.s.dpd_delay_s + 2.0, "charon's DPD, left unanswered", answer=False)
        is None
    ):
        raise OSError("charon sent no second DPD request")
    ses.send_request(sync, "sync request", finding="F3")
    _after_sync(ses, old, new)
    ses.wait_charon_request(ses.charon.s.dpd_delay_s + 2.0, "charon's request after the sync", finding="F3")
    if not all(step.agree for step in ses.steps):
        ses.recording = False  # from here on the model's state differs from charon's (F3)


CASES: tuple[CaseSpec, ...] = (
    CaseSpec("fresh M1", 1, fresh),
    CaseSpec("M1 = next expected", 0, fresh),
    CaseSpec("stale M1", None, stale),
    CaseSpec("replayed request", 1, replay),
    CaseSpec("wrong nonce", 1, wrong_nonce),
    CaseSpec("charon request pending", 1, pending_request),
    CaseSpec("charon request pending, M1 = next expected", 0, pending_request),
)


def run_case(
    spec: CaseSpec,
    sock: socket.socket,
    charon: Charon,
    *,
    random_bytes: Callable[[int], bytes] = os.urandom,
    stale_requests: int = 2,
    capture: list[CapturedDatagram] | None = None,
    keys: dict[tuple[int, int], SkKeys] | None = None,
    reading: SyncReading = SyncReading.STRICT,
) -> list[Step]:
    """Establish an IKE SA, run the normal phase, fail over with ``spec`` and end the SA.

    ``capture`` collects every datagram, ``keys`` the SA's SK keys by SPIs (for a pcap)."""
    ses = Session(sock, charon, spec.name, random_bytes=random_bytes, capture=capture, reading=reading)
    ses.establish()
    snap0 = ses.handshake_snapshot
    if keys is not None and snap0 is not None:
        keys[(snap0.spi_i, snap0.spi_r)] = snap0.keys
    old = ses.member
    assert old is not None
    snap = normal_phase(ses, charon.s.dpd_delay_s + 2.0, stale_requests)
    new, sync = take_over(ses, snap, spec.margin(stale_requests))
    spec.script(ses, old, new, sync)
    ses.terminate(record=ses.recording)
    return ses.steps
