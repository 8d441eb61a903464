"""The plain IKEv2 exchanges of an IKE SA: handshake, INFORMATIONAL and CREATE_CHILD_SA (RFC 7296 1.2-1.5).

Functions over an ``IkeSa`` (kept apart from the state machine's driving loop so that each module
holds one idea). Requests are queued as ``QueuedRequest`` and go out through the window; responses
are built here, cached in the response window for retransmitted requests, and sent.

Negotiation of RFC 6311 (section 5, R5-1..R5-3) happens in IKE_AUTH: the initiator announces each
capability it supports with its own *_SUPPORTED notify inside SK; the responder echoes only those
it supports too; each side then uses exactly the capabilities asserted by both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hasim.errors import ProtocolError
from hasim.protocol import rfc6311_member, rfc6311_peer
from hasim.protocol.child_sa import ChildSa
from hasim.protocol.events import (
    ChildSaCreated,
    ChildSaDeleted,
    ExchangeCompleted,
    IkeSaEstablished,
    RequestAnswered,
)
from hasim.protocol.exchanges import (
    Parsed,
    auth_payload,
    esp_sa_payload,
    id_payload,
    ike_sa_payload,
    ke_payload,
    rekey_notify,
    supported_notifies,
    ts_payloads,
    window_notify,
)
from hasim.protocol.retransmit import PendingRequest, QueuedRequest
from hasim.protocol.sa_state import SaState
from hasim.protocol.snapshot import Capabilities
from hasim.wire import Delete, ExchangeType, Message, Nonce, Notify, NotifyType, Payload, ProtocolId

if TYPE_CHECKING:
    from hasim.protocol.ike_sa import IkeSa

_FQDN = {True: b"initiator.hasim", False: b"responder.hasim"}


def respond(sa: IkeSa, msg: Message, payloads: tuple[Payload, ...], now: float) -> None:
    """Answer a new request: same exchange and Message ID, R flag; cache it for retransmissions."""
    data = sa.sealed(msg.exchange, msg.message_id, payloads, True)
    sa.responses.accept(msg.message_id, data)
    rfc6311_peer.forget_sync_response(sa)  # a later request accepted: a sync copy is now a replay
    sa.send(data)
    sa.counters["requests_answered"] += 1
    sa.emit(RequestAnswered(now, msg.exchange, msg.message_id))


def _send_handshake(sa: IkeSa, exchange: int, payloads: tuple[Payload, ...], what: str, now: float) -> None:
    mid = sa.requests.allocate()
    data = sa.sealed(exchange, mid, payloads, False)
    pending = PendingRequest(mid, exchange, what, data, now, now, payloads=payloads)
    pending.start(now, sa.config.retransmit, sa.jitter_draw())
    sa.requests.add(pending)
    sa.send(data)


def start_handshake(sa: IkeSa, now: float) -> None:
    """Initiator: send IKE_SA_INIT (Message ID 0, unprotected)."""
    if sa.state is not SaState.CREATED or not sa.original_initiator:
        raise ProtocolError("connect() is for a new IKE SA on its original initiator")
    payloads = (ike_sa_payload(), ke_payload(sa.random_bytes(64)), Nonce(sa.random_bytes(32)))
    _send_handshake(sa, ExchangeType.IKE_SA_INIT, payloads, "ike_sa_init", now)
    sa.state = SaState.INIT_SENT


def _auth_payloads(sa: IkeSa, spi_in: int, esn: bool, caps: Capabilities) -> tuple[Payload, ...]:
    tsi, tsr = ts_payloads()
    return (
        id_payload(sa.original_initiator, _FQDN[sa.original_initiator]),
        auth_payload(sa.random_bytes(32)),
        esp_sa_payload(spi_in, esn),
        tsi,
        tsr,
        window_notify(sa.config.window_size),
        *supported_notifies(caps.mid_sync, caps.replay_sync),  # R5-1: inside SK, one per capability
    )


def on_handshake_response(sa: IkeSa, msg: Message, parsed: Parsed, now: float) -> None:
    """Initiator: IKE_SA_INIT answered -> send IKE_AUTH; IKE_AUTH answered -> established."""
    pending = sa.requests.outstanding.get(msg.message_id)
    if pending is None or pending.exchange != msg.exchange:
        sa.drop(now, "unexpected_response", msg.message_id, True)
        return
    sa.requests.complete(msg.message_id)
    if msg.exchange == ExchangeType.IKE_SA_INIT:
        spi_in = sa.spis.allocate()
        mine = Capabilities(sa.config.mid_sync, sa.config.replay_sync)
        payloads = _auth_payloads(sa, spi_in, sa.config.esn, mine)
        _send_handshake(sa, ExchangeType.IKE_AUTH, payloads, "ike_auth", now)
        sa.requests.outstanding[msg.message_id + 1].context["spi_in"] = spi_in
        sa.state = SaState.AUTH_SENT
        return
    # R5-3: a capability is used only if both sides asserted it (a responder asserting one we did
    # not announce is ignored).
    sa.caps = Capabilities(
        sa.config.mid_sync and parsed.supports_mid_sync, sa.config.replay_sync and parsed.supports_replay_sync
    )
    sa.requests.size = parsed.window or 1
    if parsed.esp_sa is not None:
        spi_in = int(pending.context["spi_in"])  # type: ignore[call-overload]
        sa.new_child(spi_in, parsed.esp_sa[0], parsed.esp_sa[1])
    sa.state = SaState.ESTABLISHED
    sa.emit(IkeSaEstablished(now, sa.caps.mid_sync, sa.caps.replay_sync))


def on_handshake_request(sa: IkeSa, msg: Message, parsed: Parsed, now: float) -> None:
    """Responder: answer IKE_SA_INIT, then IKE_AUTH (negotiating RFC 6311, R5-2)."""
    verdict = sa.responses.classify(msg.message_id)
    if verdict == sa.responses.RETRANSMIT:
        sa.send(sa.responses.cache[msg.message_id])
        return
    if verdict != sa.responses.NEW:
        sa.drop(now, "out_of_window", msg.message_id, False)
        return
    if msg.exchange == ExchangeType.IKE_SA_INIT and sa.state is SaState.CREATED:
        payloads = (ike_sa_payload(), ke_payload(sa.random_bytes(64)), Nonce(sa.random_bytes(32)))
        respond(sa, msg, payloads, now)
        sa.state = SaState.INIT_DONE
        return
    if msg.exchange != ExchangeType.IKE_AUTH or sa.state is not SaState.INIT_DONE:
        sa.drop(now, "unexpected_exchange", msg.message_id, False)
        return
    # R5-2: assert a capability only if the initiator asserted it and this side supports it.
    sa.caps = Capabilities(
        sa.config.mid_sync and parsed.supports_mid_sync, sa.config.replay_sync and parsed.supports_replay_sync
    )
    sa.requests.size = parsed.window or 1
    esn = parsed.esp_sa[1] if parsed.esp_sa else sa.config.esn
    spi_in = sa.spis.allocate()
    if parsed.esp_sa is not None:
        sa.new_child(spi_in, parsed.esp_sa[0], esn)
    respond(sa, msg, _auth_payloads(sa, spi_in, esn, sa.caps), now)
    sa.state = SaState.ESTABLISHED
    sa.emit(IkeSaEstablished(now, sa.caps.mid_sync, sa.caps.replay_sync))


def queue_create_child(sa: IkeSa, now: float, old: ChildSa | None) -> None:
    """Queue CREATE_CHILD_SA: a new Child SA, or (with ``old``) its replacement with counters from 0."""
    spi_in = sa.spis.allocate()
    esn = old.esn if old is not None else (sa.children[0].esn if sa.children else sa.config.esn)
    tsi, tsr = ts_payloads()
    head: tuple[Payload, ...] = (rekey_notify(old.spi_in),) if old is not None else ()
    payloads = (*head, esp_sa_payload(spi_in, esn), Nonce(sa.random_bytes(32)), tsi, tsr)
    context: dict[str, object] = {"spi_in": spi_in, "esn": esn, "old": old.spi_in if old else None}
    sa.enqueue(
        QueuedRequest("rekey" if old else "create_child", ExchangeType.CREATE_CHILD_SA, payloads, context),
        now,
    )


def queue_delete_ike(sa: IkeSa, now: float) -> None:
    """Queue the INFORMATIONAL Delete of the whole IKE SA (RFC 7296 1.4.1)."""
    if not sa.established:
        sa.delete_now(now, "local")
        return
    sa.enqueue(
        QueuedRequest("delete_ike", ExchangeType.INFORMATIONAL, (Delete(ProtocolId.IKE),), {}),
        now,
        front=True,
    )


def _queue_delete_child(sa: IkeSa, now: float, spi_in: int) -> None:
    payloads = (Delete(ProtocolId.ESP, (spi_in.to_bytes(4, "big"),)),)
    sa.enqueue(QueuedRequest("delete_child", ExchangeType.INFORMATIONAL, payloads, {"spi_in": spi_in}), now)


def _remove_child(sa: IkeSa, child: ChildSa, now: float) -> None:
    sa.children.remove(child)
    sa.emit(ChildSaDeleted(now, child.spi_in))


def on_request(sa: IkeSa, msg: Message, parsed: Parsed, now: float) -> None:
    """A new in-window request on an established SA."""
    if msg.exchange == ExchangeType.INFORMATIONAL:
        if parsed.delete_ike:
            respond(sa, msg, (), now)
            sa.delete_now(now, "delete_received")
            return
        if parsed.delete_esp:
            gone: list[bytes] = []
            for spi in parsed.delete_esp:
                child = next((c for c in sa.children if c.spi_out == spi), None)
                if child is not None:
                    gone.append(child.spi_in.to_bytes(4, "big"))
                    _remove_child(sa, child, now)
            respond(sa, msg, (Delete(ProtocolId.ESP, tuple(gone)),) if gone else (), now)
            return
        if parsed.replay_sync is not None:  # case 2 of RFC 6311 section 5 (R5-7)
            if not rfc6311_peer.accept_replay_sync(sa, parsed.replay_sync, msg.message_id, now):
                return
            rfc6311_peer.apply_delta(sa, parsed.replay_sync.delta, now)
        respond(sa, msg, (), now)
        return
    if msg.exchange == ExchangeType.CREATE_CHILD_SA:
        if parsed.esp_sa is None:
            respond(sa, msg, (Notify(NotifyType.NO_PROPOSAL_CHOSEN),), now)
            return
        spi_out, esn = parsed.esp_sa
        spi_in = sa.spis.allocate()
        sa.new_child(spi_in, spi_out, esn)
        old = next((c for c in sa.children if c.spi_out == parsed.rekey_spi), None)
        tsi, tsr = ts_payloads()
        respond(sa, msg, (esp_sa_payload(spi_in, esn), Nonce(sa.random_bytes(32)), tsi, tsr), now)
        sa.emit(ChildSaCreated(now, spi_in, spi_out, old.spi_in if old else None))
        return
    sa.drop(now, "unexpected_exchange", msg.message_id, False)


def on_response(sa: IkeSa, pending: PendingRequest, msg: Message, parsed: Parsed, now: float) -> None:
    """The response to one of this side's requests arrived."""
    what = pending.what
    if what == "delete_ike":
        sa.emit(ExchangeCompleted(now, msg.exchange, msg.message_id, what))
        sa.delete_now(now, "local")
        return
    if what == "delete_child":
        child = sa.child_by_spi_in(int(pending.context["spi_in"]))  # type: ignore[call-overload]
        if child is not None:
            _remove_child(sa, child, now)
    elif what in ("rekey", "create_child") and parsed.esp_sa is not None:
        spi_in = int(pending.context["spi_in"])  # type: ignore[call-overload]
        old_spi = pending.context["old"]
        sa.new_child(spi_in, parsed.esp_sa[0], bool(pending.context["esn"]))
        sa.emit(ChildSaCreated(now, spi_in, parsed.esp_sa[0], old_spi if isinstance(old_spi, int) else None))
        if isinstance(old_spi, int) and sa.child_by_spi_in(old_spi) is not None:
            _queue_delete_child(sa, now, old_spi)
    elif what == "replay_sync":
        rfc6311_member.on_case2_response(sa, now)
    sa.emit(ExchangeCompleted(now, msg.exchange, msg.message_id, what))
