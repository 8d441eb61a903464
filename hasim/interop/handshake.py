"""A real IKEv2 responder for the two exchanges that set up an IKE SA (RFC 7296 1.2, 2.14, 2.15).

hasim.protocol's ``IkeSa`` models an established IKE SA; it has no Diffie-Hellman, no proposal
choice and no real authentication. To speak to a real implementation, this module does that part
for real: IKE_SA_INIT with one proposal (``SUITE``), a Curve25519 exchange, nonces and
the RFC 7296 2.14 key derivation, then IKE_AUTH with a pre-shared key (2.15) and no Child SA
(RFC 6023 childless initiation; the kernel has no ESP and the IKE SA is what RFC 6311 section 5.1
is about). The responder asserts IKEV2_MESSAGE_ID_SYNC_SUPPORTED only if the initiator did (R5-1,
R5-2). Every message is built and parsed by hasim.wire. When IKE_AUTH completes, ``snapshot()``
hands the SA to hasim.protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from hasim.errors import DecodeError, ProtocolError
from hasim.interop.keymat import IkeKeymat, derive_keymat, psk_auth
from hasim.protocol.snapshot import Capabilities, IkeSaSnapshot
from hasim.wire import (
    ExchangeType,
    Message,
    Nonce,
    Notify,
    NotifyType,
    OpaquePayload,
    Payload,
    PayloadType,
    decode,
    encode,
    iv_size,
)
from hasim.wire import ike_bodies as bodies
from hasim.wire.ike_bodies import Proposal, Transform, TransformType

CHILDLESS_IKEV2_SUPPORTED = 16418
"""RFC 6023 section 3: the responder's IKE_SA_INIT notify that allows an IKE SA without Child SA."""

RandomBytes = Callable[[int], bytes]

SUITE: tuple[Transform, ...] = (
    Transform(TransformType.ENCR, bodies.ENCR_AES_CBC, 128),
    Transform(TransformType.PRF, bodies.PRF_HMAC_SHA2_256),
    Transform(TransformType.INTEG, bodies.AUTH_HMAC_SHA2_256_128),
    Transform(TransformType.DH, bodies.DH_CURVE25519),
)
"""The one suite the responder accepts: AES-CBC-128 / PRF-HMAC-SHA2-256 / HMAC-SHA2-256-128 / Curve25519."""


def choose_proposal(proposals: tuple[Proposal, ...]) -> Proposal | None:
    """The first IKE proposal that offers every transform of ``SUITE``, reduced to that suite."""
    for p in proposals:
        if p.protocol_id == bodies.PROTOCOL_IKE and all(t in p.transforms for t in SUITE):
            return Proposal(p.number, bodies.PROTOCOL_IKE, b"", SUITE)
    return None


@dataclass(frozen=True)
class Established:
    """What the handshake produced: SPIs, keys, the initiator's identity and negotiated capabilities."""

    spi_i: int
    spi_r: int
    keymat: IkeKeymat
    peer_id: bytes
    mid_sync: bool


def _find(payloads: tuple[Payload, ...], ptype: int) -> OpaquePayload | None:
    for p in payloads:
        if isinstance(p, OpaquePayload) and p.payload_type == ptype:
            return p
    return None


def _notify_types(payloads: tuple[Payload, ...]) -> set[int]:
    return {p.notify_type for p in payloads if isinstance(p, Notify)}


class HandshakeResponder:
    """Answers one initiator's IKE_SA_INIT and IKE_AUTH requests; ``receive`` returns the response.

    ``psk`` is the shared secret, ``local_id`` this side's ID_FQDN. ``random_bytes`` gives the SPI,
    nonce, DH private key and IVs. A request hasim cannot accept gets an error notify (NO_PROPOSAL_CHOSEN,
    INVALID_KE_PAYLOAD, AUTHENTICATION_FAILED) and leaves ``failure`` set.
    """

    def __init__(self, psk: bytes, local_id: bytes, random_bytes: RandomBytes) -> None:
        self.psk = psk
        self.local_id = local_id
        self.random_bytes = random_bytes
        self.established: Established | None = None
        self.failure: str | None = None
        self._init_request = b""
        self._init_response = b""
        self._nonce_i = b""
        self._nonce_r = b""
        self._keymat: IkeKeymat | None = None
        self._spi_i = 0
        self._spi_r = 0

    def receive(self, data: bytes) -> bytes | None:
        """Process one request datagram; the response to send, or None if the datagram is ignored."""
        head = decode(data)
        if head.response or not head.initiator:
            return None
        if head.exchange == ExchangeType.IKE_SA_INIT and head.message_id == 0 and not self._keymat:
            return self._on_init(head, data)
        if head.exchange == ExchangeType.IKE_AUTH and head.message_id == 1 and self._keymat is not None:
            if (head.spi_i, head.spi_r) != (self._spi_i, self._spi_r) or self.established:
                return None
            return self._on_auth(data)
        return None

    def _reply(self, req: Message, exchange: int, payloads: tuple[Payload, ...], protected: bool) -> bytes:
        msg = Message(req.spi_i, self._spi_r, exchange, False, True, req.message_id, payloads, protected)
        if not protected:
            return encode(msg)
        assert self._keymat is not None
        keys = self._keymat.sk_keys()
        return encode(msg, keys, self.random_bytes(iv_size(keys.suite)))

    def _fail(self, req: Message, exchange: int, notify: Notify, why: str, protected: bool = False) -> bytes:
        self.failure = why
        return self._reply(req, exchange, (notify,), protected)

    def _on_init(self, req: Message, data: bytes) -> bytes:
        sa = _find(req.payloads, PayloadType.SA)
        ke = _find(req.payloads, PayloadType.KE)
        nonce = next((p for p in req.payloads if isinstance(p, Nonce)), None)
        if sa is None or ke is None or nonce is None:
            raise DecodeError(0, "IKE_SA_INIT request without SA, KE and Nonce payloads")
        self._spi_r = int.from_bytes(self.random_bytes(8), "big") or 1
        chosen = choose_proposal(bodies.decode_sa(sa.body))
        if chosen is None:
            return self._fail(
                req,
                ExchangeType.IKE_SA_INIT,
                Notify(NotifyType.NO_PROPOSAL_CHOSEN),
                "no proposal offers the suite",
            )
        group, public = bodies.decode_ke(ke.body)
        if group != bodies.DH_CURVE25519 or len(public) != 32:
            data_group = bodies.DH_CURVE25519.to_bytes(2, "big")
            return self._fail(
                req,
                ExchangeType.IKE_SA_INIT,
                Notify(NotifyType.INVALID_KE_PAYLOAD, data=data_group),
                f"KE group {group}",
            )
        private = X25519PrivateKey.from_private_bytes(self.random_bytes(32))
        shared = private.exchange(X25519PublicKey.from_public_bytes(public))
        self._spi_i = req.spi_i
        self._nonce_i = nonce.data
        self._nonce_r = self.random_bytes(32)
        self._keymat = derive_keymat(self._nonce_i, self._nonce_r, shared, self._spi_i, self._spi_r)
        mine = private.public_key().public_bytes_raw()
        payloads: tuple[Payload, ...] = (
            OpaquePayload(PayloadType.SA, bodies.encode_sa((chosen,))),
            OpaquePayload(PayloadType.KE, bodies.encode_ke(bodies.DH_CURVE25519, mine)),
            Nonce(self._nonce_r),
            Notify(CHILDLESS_IKEV2_SUPPORTED),
        )
        self._init_request = data
        self._init_response = self._reply(req, ExchangeType.IKE_SA_INIT, payloads, False)
        return self._init_response

    def _on_auth(self, data: bytes) -> bytes:
        assert self._keymat is not None
        req = decode(data, self._keymat.sk_keys())
        if not req.protected:
            raise DecodeError(0, "IKE_AUTH request without an SK payload")
        idi = _find(req.payloads, PayloadType.IDI)
        auth = _find(req.payloads, PayloadType.AUTH)
        if idi is None or auth is None:
            raise DecodeError(0, "IKE_AUTH request without IDi and AUTH payloads")
        method, their_auth = bodies.decode_auth(auth.body)
        expected = psk_auth(self.psk, self._init_request, self._nonce_r, self._keymat.sk_pi, idi.body)
        if method != bodies.AUTH_SHARED_KEY_MIC or their_auth != expected:
            return self._fail(
                req,
                ExchangeType.IKE_AUTH,
                Notify(NotifyType.AUTHENTICATION_FAILED),
                "initiator AUTH does not verify",
                protected=True,
            )
        id_body = bodies.encode_id(bodies.IdType.FQDN, self.local_id)
        mine = psk_auth(self.psk, self._init_response, self._nonce_i, self._keymat.sk_pr, id_body)
        mid_sync = NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED in _notify_types(req.payloads)
        payloads: list[Payload] = [
            OpaquePayload(PayloadType.IDR, id_body),
            OpaquePayload(PayloadType.AUTH, bodies.encode_auth(bodies.AUTH_SHARED_KEY_MIC, mine)),
        ]
        if mid_sync:  # R5-2: only assert what the initiator asserted
            payloads.append(Notify(NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED))
        response = self._reply(req, ExchangeType.IKE_AUTH, tuple(payloads), True)
        self.established = Established(
            self._spi_i, self._spi_r, self._keymat, bodies.decode_id(idi.body)[1], mid_sync
        )
        return response

    def snapshot(self, now: float = 0.0) -> IkeSaSnapshot:
        """The established SA as hasim.protocol state, seen from this (responder) side.

        The initiator used Message IDs 0 and 1; the responder has sent no request yet.
        """
        if self.established is None:
            raise ProtocolError("the IKE SA is not established yet")
        e = self.established
        return IkeSaSnapshot(
            spi_i=e.spi_i,
            spi_r=e.spi_r,
            original_initiator=False,
            keys=e.keymat.sk_keys(),
            next_send_mid=0,
            next_recv_mid=2,
            highest_recv_mid=1,
            capabilities=Capabilities(mid_sync=e.mid_sync),
            taken_at=now,
        )
