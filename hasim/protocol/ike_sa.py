"""One IKE SA as a sans-IO state machine: bytes in, bytes out, time passed in (RFC 7296 section 2).

Driving it (the aioquic pattern): feed every datagram to ``receive(data, now)``; call
``handle_timer(now)`` when ``next_timer()`` is due; after either, and after any API call, send
``messages_to_send(now)`` and read ``events()``. API calls queue work: ``connect`` (initiator
handshake), ``start_liveness_check``, ``create_child``, ``rekey_child``, ``delete``, and on a
cluster member ``failover_takeover`` (and ``start_failover_sync`` under a sync gate).
``snapshot(now)`` exports the state the cluster shares and ``IkeSa.from_snapshot`` rebuilds an SA
from it on the standby.

Both RFC 6311 roles live on this one object: any IKE SA answers a sync request as the peer
(``rfc6311_peer``), and one that took over after a failover runs the member side
(``rfc6311_member``), so two clusters failing over at once (R2-2) and repeated failovers (R2-1)
need nothing special. Every incoming message is decoded with the SA's keys first; a failed ICV
(IntegrityError) or malformed message is a counted drop before any state is looked at (R6-7, R9-1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from hasim.errors import DecodeError, IntegrityError, ProtocolError, UnsupportedCriticalPayload
from hasim.protocol import ike_exchanges, rfc6311_member, rfc6311_peer
from hasim.protocol.child_sa import ChildSa, SpiAllocator
from hasim.protocol.events import Event, IkeSaDeleted, MessageDropped, Retransmitted
from hasim.protocol.exchanges import Parsed, parse_payloads
from hasim.protocol.mid_window import RequestWindow, ResponseWindow
from hasim.protocol.policy import IkeConfig
from hasim.protocol.retransmit import PendingRequest, QueuedRequest, TimerAction
from hasim.protocol.rfc6311_member import MemberState
from hasim.protocol.sa_state import SaState
from hasim.protocol.snapshot import Capabilities, IkeSaSnapshot
from hasim.wire import (
    ExchangeType,
    Message,
    Notify,
    NotifyType,
    Payload,
    PayloadType,
    SkKeys,
    decode,
    decode_header,
    encode,
    encode_protected,
    iv_size,
)

RandomBytes = Callable[[int], bytes]
_ESTABLISHED = SaState.ESTABLISHED
_DELETED = SaState.DELETED
_INIT_DONE = SaState.INIT_DONE
_IKE_SA_INIT = ExchangeType.IKE_SA_INIT
_INFORMATIONAL = ExchangeType.INFORMATIONAL
"""The states and exchanges every message asks about, bound once (an enum member's lookup is slow)."""
__all__ = ["IkeSa", "QueuedRequest", "RandomBytes", "SaState"]


class IkeSa:
    """An IKE SA between this side and the other one (see the module docstring for the driving loop).

    ``random_bytes(n)`` is the only source of randomness (IVs, nonces, SPIs, jitter); the caller
    owns it. ``spi_allocator`` hands out inbound Child SA SPIs (cluster-unique, R3.3-1); by default
    a private allocator over ``random_bytes`` is used.
    """

    def __init__(
        self,
        config: IkeConfig,
        *,
        original_initiator: bool,
        spi_i: int,
        spi_r: int,
        keys: SkKeys,
        random_bytes: RandomBytes,
        spi_allocator: SpiAllocator | None = None,
        name: str = "",
    ) -> None:
        self.config = config
        self.original_initiator = original_initiator
        self.spi_i = spi_i
        self.spi_r = spi_r
        self.keys = keys
        self.random_bytes = random_bytes
        self.spis = spi_allocator or SpiAllocator(0, random_bytes, member_bits=1)
        self.name = name
        self.state = SaState.CREATED
        self.requests = RequestWindow(0, 1)
        self.responses = ResponseWindow(0, config.window_size)
        self.caps = Capabilities()
        self.children: list[ChildSa] = []
        self.member = MemberState()
        self.highest_sync_m1 = -1
        self.last_sync_request: bytes | None = None
        self.last_sync_response: bytes | None = None
        self.snapshot_taken_at = 0.0
        self.counters: Counter[str] = Counter()
        self.queue: list[QueuedRequest] = []
        self._out: list[bytes] = []
        self._events: list[Event] = []

    # ----------------------------------------------------------------- construction from state
    @classmethod
    def from_snapshot(
        cls,
        snap: IkeSaSnapshot,
        config: IkeConfig,
        random_bytes: RandomBytes,
        *,
        spi_allocator: SpiAllocator | None = None,
        name: str = "",
    ) -> IkeSa:
        """An established IKE SA rebuilt from shared state (a standby's view, or a test set-up)."""
        sa = cls(
            config,
            original_initiator=snap.original_initiator,
            spi_i=snap.spi_i,
            spi_r=snap.spi_r,
            keys=snap.keys,
            random_bytes=random_bytes,
            spi_allocator=spi_allocator,
            name=name,
        )
        sa.import_snapshot(snap)
        return sa

    def import_snapshot(self, snap: IkeSaSnapshot) -> None:
        """Replace this SA's state by ``snap`` (the sync channel delivered a newer one)."""
        if (snap.spi_i, snap.spi_r) != (self.spi_i, self.spi_r):
            raise ProtocolError("snapshot belongs to another IKE SA")
        self.state = SaState.ESTABLISHED
        self.requests = RequestWindow(snap.next_send_mid, snap.send_window)
        self.responses = ResponseWindow(snap.next_recv_mid, snap.recv_window, snap.highest_recv_mid)
        self.caps = snap.capabilities
        self.children = [ChildSa.from_snapshot(c, self.config.replay_window) for c in snap.children]
        for c in self.children:
            self.spis.reserve(c.spi_in)
        self.member = MemberState(last_sync=snap.last_sync, unsent=snap.unsent_delta)
        self.highest_sync_m1 = snap.highest_sync_m1
        self.snapshot_taken_at = snap.taken_at
        self.queue.clear()

    def snapshot(self, now: float) -> IkeSaSnapshot:
        """The state to share with the other cluster members (R5-4, R5.1-4)."""
        return IkeSaSnapshot(
            spi_i=self.spi_i,
            spi_r=self.spi_r,
            original_initiator=self.original_initiator,
            keys=self.keys,
            next_send_mid=self.requests.next_mid,
            next_recv_mid=self.responses.base,
            highest_recv_mid=self.responses.highest,
            send_window=self.requests.size,
            recv_window=self.responses.size,
            capabilities=self.caps,
            children=tuple(c.snapshot() for c in self.children),
            last_sync=self.member.last_sync,
            highest_sync_m1=self.highest_sync_m1,
            taken_at=now,
            unsent_delta=self.member.unsent_delta,
        )

    # ------------------------------------------------------------------------- driver interface
    @property
    def established(self) -> bool:
        """True once IKE_AUTH completed (or the SA was imported) and until it is deleted."""
        return self.state is _ESTABLISHED

    @property
    def deleted(self) -> bool:
        """True once the SA is gone (timeout, Delete, or teardown on inconsistency)."""
        return self.state is _DELETED

    def receive(self, data: bytes, now: float) -> None:
        """Process one incoming datagram: authenticate and decrypt first, then act (R6-7, R9-1)."""
        if self.state is _DELETED:
            self.drop(now, "sa_deleted", -1, False)
            return
        try:
            msg = decode(data, self.keys)
        except IntegrityError:
            self.drop(now, "integrity", -1, False)
            return
        except UnsupportedCriticalPayload as e:
            self._on_unsupported_critical(data, e.payload_type, now)
            return
        except DecodeError:
            self.drop(now, "decode", -1, False)
            return
        init = msg.exchange == _IKE_SA_INIT
        if msg.spi_i != self.spi_i or (not init and msg.spi_r != self.spi_r):
            self.drop(now, "unknown_spi", msg.message_id, msg.response)
            return
        if msg.initiator == self.original_initiator:
            self.drop(now, "reflected", msg.message_id, msg.response)
            return
        if not init and not msg.protected:
            self.drop(now, "unprotected", msg.message_id, msg.response)
            return
        try:
            parsed = parse_payloads(msg.payloads)
        except DecodeError:
            self.drop(now, "malformed", msg.message_id, msg.response)
            return
        if msg.response:
            self._on_response(msg, parsed, now)
        else:
            self._on_request(msg, parsed, data, now)
        if self.queue:  # pump sends nothing from an empty queue
            self.pump(now)

    def handle_timer(self, now: float) -> None:
        """Retransmit requests whose wait expired, or give the SA up when the tries ran out (2.1)."""
        if self.deleted:
            return
        sched = self.config.retransmit
        pendings = list(self.requests.outstanding.values())
        if self.member.pending is not None:
            pendings.append(self.member.pending)
        for p in sorted(pendings, key=lambda q: q.deadline):
            if p.deadline > now or self.deleted:
                continue
            if p.expire(now, sched, self.jitter_draw()) is TimerAction.RETRANSMIT:
                self.counters["retransmissions"] += 1
                self.emit(Retransmitted(now, p.message_id, p.attempt))
                self._out.append(p.data)
            elif p is self.member.pending:
                rfc6311_member.sync_gave_up(self, now)
            else:
                self.delete_now(now, "timeout")
        self.pump(now)

    def next_timer(self) -> float | None:
        """When ``handle_timer`` must next be called (None: nothing pending)."""
        if self.state is _DELETED:
            return None
        outstanding, pending = self.requests.outstanding, self.member.pending
        if not outstanding:  # the usual case: one request or none in flight, no sync pending
            return None if pending is None else pending.deadline
        times = [p.deadline for p in outstanding.values()]
        if pending is not None:
            times.append(pending.deadline)
        return min(times)

    def messages_to_send(self, now: float) -> list[bytes]:
        """Drain the datagrams to put on the wire now (requests, retransmissions, responses)."""
        if self.queue:  # pump sends nothing from an empty queue
            self.pump(now)
        out, self._out = self._out, []
        return out

    def events(self) -> list[Event]:
        """Drain what happened since the last call (frozen dataclasses, oldest first)."""
        out, self._events = self._events, []
        return out

    # -------------------------------------------------------------------------------- API calls
    def connect(self, now: float) -> None:
        """Original initiator: start IKE_SA_INIT then IKE_AUTH (with the first Child SA)."""
        ike_exchanges.start_handshake(self, now)

    def start_liveness_check(self, now: float) -> None:
        """Queue an empty INFORMATIONAL request (RFC 7296 1.4, dead peer detection)."""
        self.enqueue(QueuedRequest("liveness", _INFORMATIONAL, (), {}), now)

    def create_child(self, now: float) -> None:
        """Queue a CREATE_CHILD_SA for an additional Child SA with the same selectors (R3.2-1)."""
        self.queue_create_child(now, None)

    def rekey_child(self, now: float, spi_in: int | None = None) -> None:
        """Queue a CREATE_CHILD_SA rekeying the Child SA with inbound SPI ``spi_in`` (default: first)."""
        child = (
            self.child_by_spi_in(spi_in)
            if spi_in is not None
            else (self.children[0] if self.children else None)
        )
        if child is None:
            raise ProtocolError(f"no Child SA with inbound SPI {spi_in}")
        self.queue_create_child(now, child)

    def delete(self, now: float) -> None:
        """Queue an INFORMATIONAL Delete of the IKE SA; the SA is gone when it is answered."""
        ike_exchanges.queue_delete_ike(self, now)

    def failover_takeover(self, now: float, *, m1: int | None = None, p1: int | None = None) -> None:
        """This side becomes active for an SA imported from the sync channel (RFC 6311 5.1, 5.2, 7).

        Skips the outgoing ESP counters forward and starts (or arms, for a lazy trigger) the counter
        synchronization. ``m1``/``p1`` override the policy's M1 and P1 (to reproduce Appendix A).
        """
        rfc6311_member.takeover(self, now, m1, p1)

    def start_failover_sync(self, now: float) -> bool:
        """Start the sync exchange a gated trigger asked for (``SyncWanted``, section 7).

        The driver calls this when the member has capacity to run the exchange. Returns whether an
        exchange started (False if none was wanted, e.g. the SA was deleted or already synced).
        """
        if self.deleted or not self.member.wanted:
            return False
        rfc6311_member.start_sync(self, now)
        self.pump(now)
        return True

    def on_outbound_traffic(self, now: float) -> None:
        """The data plane has an ESP packet to send on this SA (sync trigger R7-2)."""
        rfc6311_member.trigger(self, now, first_send=True)

    def on_inbound_anomaly(self, now: float) -> None:
        """The data plane saw an ESP packet outside its replay window (sync trigger R7-1)."""
        rfc6311_member.trigger(self, now, first_send=False)

    def new_child(self, spi_in: int, spi_out: int, esn: bool) -> ChildSa:
        """Add a Child SA with fresh counters (new SA or rekey: sequence numbers restart, RFC 7296 2.8)."""
        child = ChildSa(spi_in, spi_out, esn, replay_window=self.config.replay_window)
        self.children.append(child)
        return child

    def child_by_spi_in(self, spi_in: int) -> ChildSa | None:
        """The Child SA with this inbound SPI, if any."""
        return next((c for c in self.children if c.spi_in == spi_in), None)

    # ------------------------------------------------------------- used by the exchange modules
    def emit(self, event: Event) -> None:
        """Record an event for ``events()``."""
        self._events.append(event)

    def drop(self, now: float, reason: str, mid: int, response: bool) -> None:
        """Count and report a silently dropped message."""
        self.counters["drops"] += 1
        self.counters[f"drop.{reason}"] += 1
        self.emit(MessageDropped(now, reason, mid, response))

    def send(self, data: bytes) -> None:
        """Put a datagram on the outgoing list."""
        self._out.append(data)

    def jitter_draw(self) -> float:
        """A uniform [0, 1) draw for retransmission jitter, only taken when jitter is configured."""
        if self.config.retransmit.jitter <= 0:
            return 0.0
        return int.from_bytes(self.random_bytes(4), "big") / 2**32

    def seal(self, msg: Message) -> bytes:
        """Encode ``msg``, encrypting it with a fresh IV from the caller's draws when protected."""
        if not msg.protected:
            return encode(msg)
        return encode(msg, self.keys, self.random_bytes(iv_size(self.keys.suite)))

    def sealed(self, exchange: int, mid: int, payloads: tuple[Payload, ...], response: bool) -> bytes:
        """``seal(message(exchange, mid, payloads, response))``: the octets of a new message of this SA. A
        protected one (every exchange but IKE_SA_INIT) is encoded from its fields, without a Message."""
        if exchange == _IKE_SA_INIT:
            return self.seal(self.message(exchange, mid, payloads, response))
        keys = self.keys
        iv = self.random_bytes(iv_size(keys.suite))
        return encode_protected(
            self.spi_i, self.spi_r, exchange, self.original_initiator, response, mid, payloads, keys, iv
        )

    def message(self, exchange: int, mid: int, payloads: tuple[Payload, ...], response: bool) -> Message:
        """A message of this SA with the right flags (I flag = this side is the original initiator)."""
        protected = exchange != _IKE_SA_INIT
        return Message(
            self.spi_i, self.spi_r, exchange, self.original_initiator, response, mid, payloads, protected
        )

    def queue_create_child(self, now: float, old: ChildSa | None) -> None:
        """Queue CREATE_CHILD_SA: a new Child SA, or (with ``old``) its rekey (``ike_exchanges``)."""
        ike_exchanges.queue_create_child(self, now, old)

    def enqueue(self, req: QueuedRequest, now: float, front: bool = False) -> None:
        """Queue a request; it goes out when the window allows (and any failover sync is done)."""
        if self.state is _DELETED:
            raise ProtocolError("the IKE SA is deleted")
        if front:
            self.queue.insert(0, req)
        else:
            self.queue.append(req)
        self.pump(now)

    def pump(self, now: float) -> None:
        """Send queued requests while the window has room and nothing holds them back."""
        queue = self.queue
        while queue and self.state is _ESTABLISHED and self.requests.can_send():
            if rfc6311_member.holds_requests(self, now):
                return
            req = queue.pop(0)
            mid = self.requests.allocate()
            data = self.sealed(req.exchange, mid, req.payloads, False)
            pending = PendingRequest(
                mid, req.exchange, req.what, data, now, now, 0, req.context, req.payloads
            )
            pending.start(now, self.config.retransmit, self.jitter_draw())
            self.requests.add(pending)
            self._out.append(data)

    def delete_now(self, now: float, reason: str) -> None:
        """Forget the SA at once (tries ran out, Delete received, or unresolvable state, R8.3-1)."""
        if self.deleted:
            return
        self.state = SaState.DELETED
        self.requests.outstanding.clear()
        self.member.pending = None
        self.queue.clear()
        self.counters[f"deleted.{reason}"] += 1
        self.emit(IkeSaDeleted(now, reason))

    # --------------------------------------------------------------------------------- dispatch
    def _admits_new_request(self, mid: int, now: float) -> bool:
        """Whether request ``mid`` is new and may be acted on; else it was answered from the response
        cache (a retransmission) or dropped (out of the window, or held by a strict after-failover)."""
        verdict = self.responses.classify(mid)
        if verdict == ResponseWindow.RETRANSMIT:
            self.counters["retransmissions_answered"] += 1
            self._out.append(self.responses.cache[mid])
            return False
        if verdict == ResponseWindow.OUT_OF_WINDOW:
            self.counters["out_of_window_drops"] += 1
            self.drop(now, "out_of_window", mid, False)
            rfc6311_member.on_out_of_window(self, now, mid)
            return False
        if rfc6311_member.rejects_request(self, now):
            self.drop(now, "strict_after_failover", mid, False)
            return False
        return True

    def _on_unsupported_critical(self, data: bytes, payload_type: int, now: float) -> None:
        """An authentic request naming a payload type we do not know with its critical bit set is
        rejected, and answered with UNSUPPORTED_CRITICAL_PAYLOAD carrying that type (RFC 7296 2.5,
        3.10.1); as any answer it takes the Message ID and is resent for retransmissions. Anything
        else carrying one (a response, or an unencrypted message) is dropped."""
        h = decode_header(data)  # decode got past the header
        inner = h.next_payload == PayloadType.SK and self.keys is not None  # decrypted, so authentic
        if not inner or h.spi_i != self.spi_i or h.spi_r != self.spi_r or not self.established:
            self.drop(now, "unsupported_critical", h.message_id, h.response)
            return
        if h.initiator == self.original_initiator:
            self.drop(now, "reflected", h.message_id, h.response)
            return
        if h.response:
            self.drop(now, "unsupported_critical", h.message_id, True)
            return
        if not self._admits_new_request(h.message_id, now):
            return
        request = Message(h.spi_i, h.spi_r, h.exchange, h.initiator, False, h.message_id, (), True)
        answer = Notify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, data=bytes([payload_type]))
        self.counters["unsupported_critical_answered"] += 1
        ike_exchanges.respond(self, request, (answer,), now)
        self.pump(now)

    def _on_request(self, msg: Message, parsed: Parsed, data: bytes, now: float) -> None:
        if parsed.mid_sync is not None and msg.exchange == _INFORMATIONAL:
            rfc6311_peer.on_sync_request(self, msg, parsed, data, now)
            return
        if msg.exchange == _IKE_SA_INIT or self.state is _INIT_DONE:
            ike_exchanges.on_handshake_request(self, msg, parsed, now)
            return
        if self.state is not _ESTABLISHED:
            self.drop(now, "not_established", msg.message_id, False)
            return
        if not self._admits_new_request(msg.message_id, now):
            return
        ike_exchanges.on_request(self, msg, parsed, now)

    def _on_response(self, msg: Message, parsed: Parsed, now: float) -> None:
        if parsed.mid_sync is not None and msg.exchange == _INFORMATIONAL:
            rfc6311_member.on_sync_response(self, msg, parsed, now)
            return
        if self.state in (SaState.INIT_SENT, SaState.AUTH_SENT):
            ike_exchanges.on_handshake_response(self, msg, parsed, now)
            return
        pending = self.requests.outstanding.get(msg.message_id)
        if pending is None or pending.exchange != msg.exchange:
            self.drop(now, "unexpected_response", msg.message_id, True)
            return
        self.requests.complete(msg.message_id)
        ike_exchanges.on_response(self, pending, msg, parsed, now)
