"""Payload shapes of the exchanges an IKE SA runs (RFC 7296 sections 1.2-1.5, RFC 6311 section 5).

hasim does no real key exchange or authentication (keys are given per SA), but the messages have
their real shapes, so that a capture reads like a real one: IKE_SA_INIT carries SA, KE and Nonce;
IKE_AUTH carries IDi/IDr, AUTH, the first Child SA's SA payload, TSi/TSr, SET_WINDOW_SIZE and the
RFC 6311 *_SUPPORTED notifies inside SK (R5-1); CREATE_CHILD_SA carries SA, Nonce, TSi/TSr and
REKEY_SA when it replaces a Child SA. The SA payloads hold one real proposal (RFC 7296 3.3) whose
SPI is the Child SA's inbound SPI and whose ESN transform says whether ESN is used.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass

from hasim.errors import DecodeError
from hasim.wire import (
    Delete,
    MessageIdSync,
    MessageIdSyncSupported,
    Notify,
    NotifyType,
    OpaquePayload,
    Payload,
    PayloadType,
    ProtocolId,
    ReplayCounterSync,
    ReplayCounterSyncSupported,
    from_notify,
)
from hasim.wire import ike_bodies as bodies
from hasim.wire.ike_bodies import Proposal, Transform, TransformType

DH_GROUP = bodies.DH_ECP256


def ike_sa_payload() -> OpaquePayload:
    """SA payload of IKE_SA_INIT: one IKE proposal, AES-GCM-16-128, PRF-HMAC-SHA2-256, ecp256."""
    tr = (
        Transform(TransformType.ENCR, bodies.ENCR_AES_GCM_16, 128),
        Transform(TransformType.PRF, bodies.PRF_HMAC_SHA2_256),
        Transform(TransformType.DH, bodies.DH_ECP256),
    )
    return OpaquePayload(PayloadType.SA, bodies.encode_sa((Proposal(1, ProtocolId.IKE, b"", tr),)))


def esp_sa_payload(spi: int, esn: bool) -> OpaquePayload:
    """SA payload for a Child SA: one ESP proposal with the sender's inbound SPI and the ESN choice."""
    tr = (
        Transform(TransformType.ENCR, bodies.ENCR_AES_GCM_16, 128),
        Transform(TransformType.ESN, bodies.ESN_YES if esn else bodies.ESN_NO),
    )
    return OpaquePayload(
        PayloadType.SA, bodies.encode_sa((Proposal(1, ProtocolId.ESP, spi.to_bytes(4, "big"), tr),))
    )


def parse_esp_sa(body: bytes) -> tuple[int, bool]:
    """(SPI, ESN) of the first ESP proposal of an SA payload body; DecodeError if it has none."""
    for p in bodies.decode_sa(body):
        if p.protocol_id == ProtocolId.ESP and len(p.spi) == 4:
            esn = any(t.type == TransformType.ESN and t.id == bodies.ESN_YES for t in p.transforms)
            return int.from_bytes(p.spi, "big"), esn
    raise DecodeError(0, "SA payload has no ESP proposal with a 4-octet SPI")


def ke_payload(public: bytes) -> OpaquePayload:
    """KE payload (RFC 7296 3.4): DH group number, reserved, public value."""
    return OpaquePayload(PayloadType.KE, bodies.encode_ke(DH_GROUP, public))


def ts_payloads() -> tuple[OpaquePayload, OpaquePayload]:
    """TSi and TSr (RFC 7296 3.13), each one IPv4 selector for all addresses, ports and protocols."""
    ts = struct.pack("!BBHHH", 7, 0, 16, 0, 0xFFFF) + bytes(4) + b"\xff" * 4
    body = struct.pack("!B3x", 1) + ts
    return OpaquePayload(PayloadType.TSI, body), OpaquePayload(PayloadType.TSR, body)


def id_payload(initiator: bool, fqdn: bytes) -> OpaquePayload:
    """IDi or IDr (RFC 7296 3.5), of type ID_FQDN (2)."""
    body = bodies.encode_id(bodies.IdType.FQDN, fqdn)
    return OpaquePayload(PayloadType.IDI if initiator else PayloadType.IDR, body)


def auth_payload(data: bytes) -> OpaquePayload:
    """AUTH (RFC 7296 3.8) with method 2, shared key MIC (its value is not checked: keys are given)."""
    return OpaquePayload(PayloadType.AUTH, bodies.encode_auth(bodies.AUTH_SHARED_KEY_MIC, data))


def window_notify(size: int) -> Notify:
    """SET_WINDOW_SIZE (RFC 7296 2.3): the number of requests this side can process at once."""
    return Notify(NotifyType.SET_WINDOW_SIZE, data=size.to_bytes(4, "big"))


def supported_notifies(mid_sync: bool, replay_sync: bool) -> tuple[Notify, ...]:
    """One *_SUPPORTED notify per capability, each independent (R5-1)."""
    out: list[Notify] = []
    if mid_sync:
        out.append(MessageIdSyncSupported().to_notify())
    if replay_sync:
        out.append(ReplayCounterSyncSupported().to_notify())
    return tuple(out)


def rekey_notify(old_spi: int) -> Notify:
    """REKEY_SA (RFC 7296 3.10.1): names the Child SA being replaced by the sender's inbound SPI."""
    return Notify(NotifyType.REKEY_SA, protocol_id=ProtocolId.ESP, spi=old_spi.to_bytes(4, "big"))


@dataclass(frozen=True)
class Parsed:
    """What the state machine needs from a message's payloads, parsed once.

    ``mid_sync``/``replay_sync`` are the RFC 6311 notifies (typed), ``supports_*`` the capability
    announcements, ``others`` the number of payloads that are neither of the two sync notifies
    (R5.1-9 needs it), ``window`` a SET_WINDOW_SIZE value, ``esp_sa`` (SPI, ESN) of an SA payload,
    ``rekey_spi`` the SPI of a REKEY_SA notify and ``deletes`` the Delete payloads' content.
    """

    mid_sync: MessageIdSync | None = None
    replay_sync: ReplayCounterSync | None = None
    supports_mid_sync: bool = False
    supports_replay_sync: bool = False
    others: int = 0
    window: int | None = None
    esp_sa: tuple[int, bool] | None = None
    rekey_spi: int | None = None
    delete_ike: bool = False
    delete_esp: tuple[int, ...] = ()
    sync_notifies: int = 0


_SET_WINDOW_SIZE = int(NotifyType.SET_WINDOW_SIZE)
_REKEY_SA = int(NotifyType.REKEY_SA)
_SA = int(PayloadType.SA)
_IKE = int(ProtocolId.IKE)
"""The types every payload is asked about, bound once (an enum member's lookup is slow)."""

_NOTHING = Parsed()
"""What a message without payloads carries (a liveness check and its answer: most messages)."""


def parse_payloads(payloads: tuple[Payload, ...]) -> Parsed:
    """Interpret the payloads the IKE SA acts on; DecodeError for malformed RFC 6311 notifies."""
    if not payloads:
        return _NOTHING
    fields: dict[str, object] = {}
    others = 0
    sync_notifies = 0
    delete_esp: list[int] = []
    for p in payloads:
        if isinstance(p, Notify):
            typed = from_notify(p)
            if isinstance(typed, MessageIdSync) and "mid_sync" not in fields:
                fields["mid_sync"] = typed
                sync_notifies += 1
                continue
            if isinstance(typed, ReplayCounterSync) and "replay_sync" not in fields:
                fields["replay_sync"] = typed
                sync_notifies += 1
                continue
            if isinstance(typed, MessageIdSyncSupported):
                fields["supports_mid_sync"] = True
            elif isinstance(typed, ReplayCounterSyncSupported):
                fields["supports_replay_sync"] = True
            elif p.notify_type == _SET_WINDOW_SIZE and len(p.data) == 4:
                fields["window"] = max(1, int.from_bytes(p.data, "big"))
            elif p.notify_type == _REKEY_SA and len(p.spi) == 4:
                fields["rekey_spi"] = int.from_bytes(p.spi, "big")
        elif isinstance(p, OpaquePayload) and p.payload_type == _SA and "esp_sa" not in fields:
            with contextlib.suppress(DecodeError):
                fields["esp_sa"] = parse_esp_sa(p.body)
        elif isinstance(p, Delete):
            if p.protocol_id == _IKE:
                fields["delete_ike"] = True
            else:
                delete_esp.extend(int.from_bytes(s, "big") for s in p.spis)
        others += 1
    return Parsed(others=others, delete_esp=tuple(delete_esp), sync_notifies=sync_notifies, **fields)  # type: ignore[arg-type]
