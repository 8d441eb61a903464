"""The responder's IKE_SA_INIT and IKE_AUTH against an initiator written here, keys computed by hand.

The test plays the initiator with hasim.wire for the bytes, ``cryptography`` for X25519 and the
hmac module for every key and AUTH value (RFC 7296 2.14, 2.15), so the responder's derivation is
checked against an independent one; the strongSwan interop test checks it against charon.
"""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from hasim.interop.handshake import CHILDLESS_IKEV2_SUPPORTED, HandshakeResponder
from hasim.wire import (
    ExchangeType,
    Message,
    Nonce,
    Notify,
    NotifyType,
    OpaquePayload,
    PayloadType,
    SkKeys,
    SkSuite,
    decode,
    encode,
)

from .test_ike_bodies import SUITE_SA

PSK = b"test pre-shared key"
SPI_I = 0xA1A2A3A4A5A6A7A8


def _h(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _payload(msg: Message, ptype: int) -> bytes:
    return next(p.body for p in msg.payloads if isinstance(p, OpaquePayload) and p.payload_type == ptype)


def _handshake(assert_sync: bool, psk: bytes = PSK) -> tuple[HandshakeResponder, Message, bytes, SkKeys]:
    rng = random.Random(7)
    responder = HandshakeResponder(PSK, b"member.example", rng.randbytes)
    priv = X25519PrivateKey.from_private_bytes(bytes(range(32)))
    ni = bytes(range(50, 82))
    init = Message(
        SPI_I,
        0,
        ExchangeType.IKE_SA_INIT,
        True,
        False,
        0,
        (
            OpaquePayload(PayloadType.SA, SUITE_SA),
            OpaquePayload(PayloadType.KE, b"\x00\x1f\x00\x00" + priv.public_key().public_bytes_raw()),
            Nonce(ni),
        ),
    )
    init_bytes = encode(init)
    resp_bytes = responder.receive(init_bytes)
    assert resp_bytes is not None
    resp = decode(resp_bytes)
    assert resp.response and not resp.initiator and resp.exchange == ExchangeType.IKE_SA_INIT
    assert _payload(resp, PayloadType.SA) == SUITE_SA  # the one proposal, echoed
    assert any(isinstance(p, Notify) and p.notify_type == CHILDLESS_IKEV2_SUPPORTED for p in resp.payloads)
    ke = _payload(resp, PayloadType.KE)
    assert ke[:4] == b"\x00\x1f\x00\x00"
    nr = next(p.data for p in resp.payloads if isinstance(p, Nonce))
    gir = priv.exchange(X25519PublicKey.from_public_bytes(ke[4:]))
    # RFC 7296 2.14, by hand: 192 octets of prf+ for SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr
    sks = _h(ni + nr, gir)
    seed = ni + nr + SPI_I.to_bytes(8, "big") + resp.spi_r.to_bytes(8, "big")
    stream, block = b"", b""
    for n in range(1, 7):
        block = _h(sks, block + seed + bytes([n]))
        stream += block
    sk_ai, sk_ar, sk_ei, sk_er = stream[32:64], stream[64:96], stream[96:112], stream[112:128]
    sk_pi, sk_pr = stream[128:160], stream[160:192]
    keys = SkKeys(SkSuite.AES_CBC_128_HMAC_SHA2_256_128, sk_ei, sk_er, sk_ai, sk_ar)
    idi = b"\x02\x00\x00\x00initiator.example"
    auth_i = _h(_h(psk, b"Key Pad for IKEv2"), init_bytes + nr + _h(sk_pi, idi))
    notes = (Notify(NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED),) if assert_sync else ()
    auth_req = Message(
        SPI_I,
        resp.spi_r,
        ExchangeType.IKE_AUTH,
        True,
        False,
        1,
        (
            OpaquePayload(PayloadType.IDI, idi),
            OpaquePayload(PayloadType.AUTH, b"\x02\x00\x00\x00" + auth_i),
            *notes,
        ),
        True,
    )
    out = responder.receive(encode(auth_req, keys, bytes(16)))
    assert out is not None
    auth_resp = decode(out, keys)
    assert auth_resp.protected and auth_resp.response and auth_resp.message_id == 1
    idr = _payload(auth_resp, PayloadType.IDR) if not responder.failure else b""
    expected_r = _h(_h(PSK, b"Key Pad for IKEv2"), resp_bytes + ni + _h(sk_pr, idr))
    return responder, auth_resp, expected_r, keys


@pytest.mark.rfc("R5-1")
def test_ike_auth_verifies_both_ways_and_asserts_mid_sync_when_asked() -> None:
    responder, resp, expected_auth, keys = _handshake(assert_sync=True)
    assert _payload(resp, PayloadType.IDR) == b"\x02\x00\x00\x00member.example"
    assert _payload(resp, PayloadType.AUTH) == b"\x02\x00\x00\x00" + expected_auth
    assert [p.notify_type for p in resp.payloads if isinstance(p, Notify)] == [
        NotifyType.IKEV2_MESSAGE_ID_SYNC_SUPPORTED
    ]
    assert responder.established is not None and responder.established.mid_sync
    assert responder.established.peer_id == b"initiator.example"
    snap = responder.snapshot()
    assert (snap.next_send_mid, snap.next_recv_mid, snap.highest_recv_mid) == (0, 2, 1)
    assert snap.capabilities.mid_sync and not snap.original_initiator and snap.keys == keys


@pytest.mark.rfc("R5-2")
def test_responder_does_not_assert_what_the_initiator_did_not() -> None:
    responder, resp, _, _ = _handshake(assert_sync=False)
    assert not any(isinstance(p, Notify) for p in resp.payloads)
    assert responder.established is not None and not responder.established.mid_sync
    assert not responder.snapshot().capabilities.mid_sync


def test_wrong_psk_gets_authentication_failed() -> None:
    responder, resp, _, _ = _handshake(assert_sync=True, psk=b"another key")
    assert responder.established is None and responder.failure is not None
    notes = [p.notify_type for p in resp.payloads if isinstance(p, Notify)]
    assert notes == [NotifyType.AUTHENTICATION_FAILED]


def test_unacceptable_proposal_gets_no_proposal_chosen() -> None:
    responder = HandshakeResponder(PSK, b"m", random.Random(1).randbytes)
    sa = bytes.fromhex("0000001c010100020300000c0100000c800e01000000000804000001")  # AES-256, MODP-768
    req = Message(
        SPI_I, 0, ExchangeType.IKE_SA_INIT, True, False, 0,
        (OpaquePayload(PayloadType.SA, sa), OpaquePayload(PayloadType.KE, bytes(4 + 96)), Nonce(bytes(32))),
    )  # fmt: skip
    out = responder.receive(encode(req))
    assert out is not None
    notes = [p.notify_type for p in decode(out).payloads if isinstance(p, Notify)]
    assert notes == [NotifyType.NO_PROPOSAL_CHOSEN] and responder.failure
