"""What hasim's decoder accepts or rejects, checked against strongSwan's charon on a live IKE SA.

charon initiates an IKE SA with hasim's handshake responder (hasim.interop), then hasim sends it
INFORMATIONAL requests built to probe RFC 7296 3.1/3.2: a critical Notify, unknown payload types
with and without the critical bit, the minor version and V/X flag bits, RESERVED bits, an SK
payload with its critical bit set, and a higher major version. For each, hasim's own ``decode``
verdict must match charon's: an ordinary response where hasim decodes, UNSUPPORTED_CRITICAL_PAYLOAD
carrying the same payload type where hasim raises UnsupportedCriticalPayload, INVALID_MAJOR_VERSION
where hasim rejects the version. Runs as root where charon and ``ip netns`` are usable; skipped
elsewhere with the reason.
"""

from __future__ import annotations

import hmac
import os
import tempfile
from collections.abc import Callable, Iterator
from hashlib import sha256
from pathlib import Path

import pytest

from hasim.errors import DecodeError, UnsupportedCriticalPayload
from hasim.wire import (
    Message,
    Notify,
    NotifyType,
    OpaquePayload,
    Payload,
    SkKeys,
    SkSuite,
    decode,
    encode,
    iv_size,
)


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (ip netns, charon)"
    try:
        from hasim.interop.driver import unavailable_reason
    except ImportError as exc:  # pragma: no cover - the interop package is part of hasim
        return f"hasim.interop not importable: {exc}"
    return unavailable_reason()


REASON = _unavailable()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"strongSwan check skipped: {REASON}")


class Peer:
    """hasim's end of an established IKE SA with charon: send a request, get charon's response."""

    def __init__(self, send: Callable[[bytes], bytes | None], spi_i: int, spi_r: int, keys: SkKeys) -> None:
        self.send, self.spi_i, self.spi_r, self.keys = send, spi_i, spi_r, keys
        self.mid = 0  # hasim answered IKE_SA_INIT/IKE_AUTH; its own requests start at Message ID 0

    def request(self, payloads: tuple[Payload, ...] = (), **header: int) -> bytes:
        msg = Message(self.spi_i, self.spi_r, 37, False, False, self.mid, payloads, True, **header)
        return encode(msg, self.keys, os.urandom(iv_size(self.keys.suite)))

    def exchange(self, wire: bytes) -> Message:
        answer = self.send(wire)
        assert answer is not None, "charon did not answer"
        response = decode(answer, self.keys)
        assert response.response and response.message_id == self.mid
        self.mid += 1
        return response


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    from hasim.interop.charon import Charon, CharonSettings
    from hasim.interop.netns import NetNamespace
    from hasim.interop.session import Session

    wd = Path(tempfile.mkdtemp(prefix="hasim-wire-review-"))
    ns = NetNamespace(f"hasim-wr-{os.getpid()}")
    settings = CharonSettings(workdir=wd, dpd_delay_s=300)  # no DPD request in the middle
    charon = Charon(settings, ns)
    try:
        ns.create()
        charon.start()
        sock = ns.udp_socket(settings.address, settings.hasim_port)
        ses = Session(sock, charon, "wire-review")
        ses.establish()
        snap = ses.handshake_snapshot
        assert snap is not None and ses.keys is not None

        def send(wire: bytes) -> bytes | None:
            sock.sendto(wire, ses.charon_addr)
            sock.settimeout(3.0)
            try:
                return sock.recvfrom(65535)[0]
            except TimeoutError:
                return None

        yield Peer(send, snap.spi_i, snap.spi_r, ses.keys)
        sock.close()
    finally:
        charon.stop()
        ns.remove()
        for f in sorted(wd.iterdir()):
            f.unlink()
        wd.rmdir()


def _errors(response: Message) -> list[Notify]:
    return [p for p in response.payloads if isinstance(p, Notify) and p.notify_type < 16384]


def _hasim_accepts(wire: bytes, keys: SkKeys) -> bool:
    try:
        decode(wire, keys)
    except DecodeError:
        return False
    return True


@pytest.mark.parametrize(
    ("what", "payloads", "header"),
    [
        ("critical Notify (understood type)", (Notify(40000, critical=True),), {}),
        ("unknown type 200, not critical", (OpaquePayload(200, b"x"),), {}),
        ("minor version 1 and the V flag", (), {"minor_version": 1, "other_flags": 0x10}),
        ("X flag bits", (), {"other_flags": 0x01 | 0x02 | 0x04 | 0x40 | 0x80}),
        ("RESERVED bits", (Notify(40000, reserved=0x7F), OpaquePayload(201, b"", reserved=0x01)), {}),
    ],
)
def test_accepted_by_both(
    peer: Peer, what: str, payloads: tuple[Payload, ...], header: dict[str, int]
) -> None:
    wire = peer.request(payloads, **header)
    assert _hasim_accepts(wire, peer.keys), what
    assert _errors(peer.exchange(wire)) == [], what


def test_critical_sk_payload_accepted_by_both(peer: Peer) -> None:
    # Set the SK payload's critical bit (octet 29) and recompute the ICV with the responder's SK_ar.
    assert peer.keys.suite == SkSuite.AES_CBC_128_HMAC_SHA2_256_128
    body = bytearray(peer.request()[:-16])
    body[29] |= 0x80
    wire = bytes(body) + hmac.new(peer.keys.sk_ar, bytes(body), sha256).digest()[:16]
    assert _hasim_accepts(wire, peer.keys)
    assert _errors(peer.exchange(wire)) == []


@pytest.mark.parametrize("ptype", [200, 49])
def test_unknown_critical_payload_rejected_by_both(peer: Peer, ptype: int) -> None:
    wire = peer.request((OpaquePayload(ptype, b"x", critical=True),))
    with pytest.raises(UnsupportedCriticalPayload) as info:
        decode(wire, peer.keys)
    [err] = _errors(peer.exchange(wire))
    # RFC 7296 3.10.1: UNSUPPORTED_CRITICAL_PAYLOAD carries the one-octet payload type.
    assert err.notify_type == NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD
    assert err.data == bytes([info.value.payload_type]) == bytes([ptype])


def test_higher_major_version_rejected_by_both(peer: Peer) -> None:
    good = peer.request()
    wire = good[:17] + b"\x30" + good[18:]  # version 3.0
    with pytest.raises(DecodeError) as info:
        decode(wire, peer.keys)
    assert info.value.offset == 17
    answer = peer.send(wire)
    assert answer is not None
    # charon answers INVALID_MAJOR_VERSION (RFC 7296 2.5) with this Message ID.
    [err] = _errors(decode(answer, peer.keys))
    assert err.notify_type == NotifyType.INVALID_MAJOR_VERSION
