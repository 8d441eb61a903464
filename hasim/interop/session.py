"""One IKE SA between hasim and charon, with hasim's own prediction of every charon message.

Two hasim.protocol ``IkeSa`` objects share the SA's SPIs and keys once the real handshake is done:

* the **member** (responder role) is hasim's side: it sends requests, answers charon's requests
  and, after a simulated failover, is replaced by a member rebuilt from a stale snapshot that runs
  the RFC 6311 sync (``failover_takeover``);
* the **model peer** (initiator role, the chosen reading of R5.1-5, strict by default) stands in for
  charon: every datagram hasim sends to charon goes to it too, and what it answers is the
  prediction. When charon sends a request of its own (DPD, Delete), the model peer is asked to
  send the same kind of request, and its Message ID is the prediction of charon's.

Each step compares the prediction with what charon did, as one-line summaries of the decrypted
messages, and keeps the charon log lines that explain it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from hasim.interop.charon import Charon
from hasim.interop.handshake import HandshakeResponder
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig, SyncReading
from hasim.protocol.snapshot import IkeSaSnapshot
from hasim.wire import (
    Delete,
    ExchangeType,
    Message,
    MessageIdSync,
    Notify,
    NotifyType,
    SkKeys,
    decode,
    from_notify,
)

LOG_KEYS = ("MID sync", "MESSAGE_ID_SYNC", "message ID", "retransmit", "ignore", "deleting", "IKE_SA hasim")
"""charon log lines worth quoting next to a step."""


def _name(enum: type[IntEnum], value: int) -> str:
    try:
        return enum(value).name
    except ValueError:
        return str(value)


def describe(data: bytes | None, keys: SkKeys) -> str:
    """One line for a protected message (``no message`` for None), e.g.
    ``INFORMATIONAL response 0 [MID_SYNC nonce=0x1a2b3c4d send=3 recv=4]``."""
    if data is None:
        return "no message"
    msg = decode(data, keys)
    parts: list[str] = []
    for p in msg.payloads:
        if isinstance(p, Notify):
            typed = from_notify(p)
            if isinstance(typed, MessageIdSync):
                values = f"send={typed.expected_send} recv={typed.expected_recv}"
                parts.append(f"MID_SYNC nonce={typed.nonce:#010x} {values}")
            else:
                parts.append(f"N({_name(NotifyType, p.notify_type)})")
        elif isinstance(p, Delete):
            parts.append("D(IKE)" if not p.spis else f"D({len(p.spis)} SPIs)")
        else:
            parts.append(type(p).__name__)
    kind = _name(ExchangeType, msg.exchange)
    role = "response" if msg.response else "request"
    return f"{kind} {role} {msg.message_id} [{' '.join(parts)}]"


@dataclass(frozen=True)
class CapturedDatagram:
    """One datagram between hasim and charon, for a pcap: wall time, octets, direction."""

    time: float
    data: bytes
    from_hasim: bool


@dataclass
class Step:
    """One exchange-level comparison: what hasim's model predicted, what charon did, charon's log."""

    case: str
    what: str
    predicted: str
    observed: str
    log: list[str] = field(default_factory=list)
    finding: str = ""

    @property
    def agree(self) -> bool:
        return self.predicted == self.observed


class Session:
    """hasim's UDP endpoint towards charon for one IKE SA, and the member and model peer around it."""

    def __init__(
        self,
        sock: socket.socket,
        charon: Charon,
        case: str,
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
        reading: SyncReading = SyncReading.STRICT,
        reply_timeout: float = 5.0,
        retransmits: int = 2,
        silence: float = 1.5,
        capture: list[CapturedDatagram] | None = None,
    ) -> None:
        self.sock = sock
        self.charon = charon
        self.case = case
        self.random_bytes = random_bytes
        self.reading = reading
        self.reply_timeout = reply_timeout
        self.retransmits = retransmits
        self.silence = silence
        self.t0 = time.monotonic()
        self.steps: list[Step] = []
        self.capture = capture
        self.charon_addr = (charon.s.address, charon.s.charon_port)
        self.member: IkeSa | None = None
        self.model: IkeSa | None = None
        self.keys: SkKeys | None = None
        self.handshake_snapshot: IkeSaSnapshot | None = None
        self.model_requests: list[bytes] = []
        self.charon_requests_seen: set[int] = set()
        self.charon_requests_answered: set[int] = set()
        self.recording = True
        self._log_mark = len(charon.log_lines())

    def now(self) -> float:
        return time.monotonic() - self.t0

    # --------------------------------------------------------------------------- handshake
    def establish(self) -> None:
        """Have charon initiate (swanctl --initiate) and answer IKE_SA_INIT and IKE_AUTH for real."""
        s = self.charon.s
        proc = self.charon.swanctl_background("--initiate", "--ike", "hasim", "--timeout", "10")
        hs = HandshakeResponder(s.psk.encode(), s.hasim_id.encode(), os.urandom)
        deadline = time.monotonic() + 10
        while hs.established is None and hs.failure is None and time.monotonic() < deadline:
            got = self._recv(deadline - time.monotonic())
            if got is not None:
                out = hs.receive(got)
                if out is not None:
                    self._send(out)
        out_text = proc.communicate(timeout=15)[0]
        if hs.established is None or proc.returncode != 0:
            raise OSError(f"IKE SA with charon not established: {hs.failure or out_text.strip()[-300:]}")
        snap = hs.snapshot(self.now())
        self.handshake_snapshot = snap
        self.keys = snap.keys
        self.member = IkeSa.from_snapshot(snap, IkeConfig(), self.random_bytes, name="member")
        self.model = IkeSa.from_snapshot(
            snap.mirrored(), IkeConfig(reading=self.reading), self.random_bytes, name="model-peer"
        )
        self._log_mark = len(self.charon.log_lines())

    # --------------------------------------------------------------------------- transport
    def _recv(self, timeout: float) -> bytes | None:
        """The next datagram from charon for this IKE SA (others, e.g. late ones of an earlier
        case's SA, are skipped), or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                return None
            if self.capture is not None:
                self.capture.append(CapturedDatagram(time.time(), data, False))
            snap = self.handshake_snapshot
            if snap is None or data[:16] == snap.spi_i.to_bytes(8, "big") + snap.spi_r.to_bytes(8, "big"):
                return data

    def _send(self, data: bytes) -> None:
        self.sock.sendto(data, self.charon_addr)
        if self.capture is not None:
            self.capture.append(CapturedDatagram(time.time(), data, True))

    def _new_log(self) -> list[str]:
        lines = self.charon.log_lines()
        fresh = lines[self._log_mark :]
        self._log_mark = len(lines)
        return [ln for ln in fresh if any(k in ln for k in LOG_KEYS)]

    def _describe(self, data: bytes | None) -> str:
        assert self.keys is not None
        return describe(data, self.keys)

    # --------------------------------------------------------------------------- steps
    def send_request(self, data: bytes, what: str, finding: str = "") -> Step:
        """Send one request of hasim's to charon and to the model peer; compare the answers.

        Charon requests that arrive meanwhile (DPD) are handled as their own steps.
        """
        assert self.model is not None
        self._take_waiting_requests()
        now = self.now()
        self.model.receive(data, now)
        predicted = self._split(self.model.messages_to_send(now))
        mid = decode(data).message_id
        self._send(data)
        responses = self._collect(mid, expect=bool(predicted))
        tries = 0
        while predicted and not responses and tries < self.retransmits:
            # RFC 7296 2.1: retransmit the same octets. charon can lose a request that arrives while
            # it processes a response with the same Message ID ("ignoring request with ID 2, already
            # processing"), as when hasim answers charon's DPD 2 and at once sends its own request 2.
            tries += 1
            self._send(data)
            responses = self._collect(mid, expect=True)
        if tries:
            what += f" (sent {tries + 1} times)"
        step = Step(
            self.case,
            what,
            self._describe(predicted[0] if predicted else None),
            self._describe(responses[0] if responses else None),
            self._new_log(),
            finding,
        )
        self.steps.append(step)
        for r in responses:
            self._to_member(r)
        return step

    def _take_waiting_requests(self) -> None:
        """Handle the requests charon started on its own that already wait on the socket (a DPD after
        dpd_delay of silence while hasim was busy, as on a loaded machine) before hasim's next request
        is predicted, so that the model peer knows charon has them out. A retransmission of a request
        already seen is no new request and is left alone."""
        while (got := self._recv(0.0)) is not None:
            head = decode(got)
            if head.response:
                step = Step(self.case, "late or unexpected response", "no message", self._describe(got))
                self.steps.append(step)
            elif not self._retransmission(got):
                self.charon_request(got, take_log=False)

    def _retransmission(self, data: bytes) -> bool:
        """A request of charon's seen before (RFC 7296 2.1: charon lost or did not wait for the
        answer) is no new request and no step: the member answers it again if it answered it at
        all (a request left unanswered on purpose stays so)."""
        mid = decode(data).message_id
        if mid not in self.charon_requests_seen:
            return False
        if mid in self.charon_requests_answered:
            for reply in self._to_member(data):
                self._send(reply)
        return True

    def _split(self, out: list[bytes]) -> list[bytes]:
        """Keep the model peer's responses; its own requests (e.g. one it re-sends with a new Message
        ID after a sync, R9-2) are the prediction of charon's next request."""
        self.model_requests += [m for m in out if not decode(m).response]
        return [m for m in out if decode(m).response]

    def _collect(self, mid: int, *, expect: bool) -> list[bytes]:
        """charon's responses to request ``mid`` within the reply timeout (or a short silence when
        none is predicted). A response with another Message ID (a late answer to an earlier step)
        becomes a step of its own that cannot agree, so that it is never taken for this one's."""
        deadline = time.monotonic() + (self.reply_timeout if expect else self.silence)
        out: list[bytes] = []
        while time.monotonic() < deadline:
            got = self._recv(deadline - time.monotonic())
            if got is None:
                break
            head = decode(got)
            if head.response and head.message_id == mid:
                out.append(got)
                if expect:
                    break
            elif head.response:
                step = Step(self.case, "late or unexpected response", "no message", self._describe(got))
                self.steps.append(step)
            elif not self._retransmission(got):  # e.g. a DPD: its own step, log lines stay here
                self.charon_request(got, take_log=False)
        return out

    def _to_member(self, data: bytes) -> list[bytes]:
        assert self.member is not None
        now = self.now()
        self.member.receive(data, now)
        return self.member.messages_to_send(now)

    def charon_request(
        self, data: bytes, what: str = "", *, answer: bool = True, finding: str = "", take_log: bool = True
    ) -> Step | None:
        """A request charon sent: predict its Message ID with the model peer, answer it as the member.

        The prediction is the request the model peer already has out (re-sent after a sync), or else
        the same kind of request (Delete or empty INFORMATIONAL) asked of the model peer now.
        ``answer=False`` leaves charon's request unanswered (to have one pending at the sync). Once
        ``recording`` is off (the model's state has diverged from charon's after a finding), charon's
        requests are only answered by the member.
        """
        assert self.model is not None
        if not self.recording:
            for reply in self._to_member(data):
                self._send(reply)
            return None
        now = self.now()
        msg = decode(data, self.keys)
        self.charon_requests_seen.add(msg.message_id)
        deleting = any(isinstance(p, Delete) for p in msg.payloads)
        if not self.model_requests:
            if deleting:
                self.model.delete(now)
            else:
                self.model.start_liveness_check(now)
            self.model_requests += self.model.messages_to_send(now)
        predicted = self.model_requests[:1]
        del self.model_requests[:1]
        label = what or ("charon's Delete (swanctl --terminate)" if deleting else "charon's DPD request")
        step = Step(
            self.case,
            label,
            self._describe(predicted[0] if predicted else None),
            self._describe(data),
            self._new_log() if take_log else [],
            finding,
        )
        self.steps.append(step)
        if not answer:
            return step
        self.charon_requests_answered.add(msg.message_id)
        for reply in self._to_member(data):
            self._send(reply)
            self.model.receive(reply, self.now())
            self._split(self.model.messages_to_send(self.now()))
        return step

    def wait_charon_request(
        self, timeout: float, what: str = "", *, answer: bool = True, finding: str = ""
    ) -> Step | None:
        """Wait for charon's next request (a DPD after ``dpd_delay`` of silence) and handle it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self._recv(deadline - time.monotonic())
            if got is not None and not decode(got).response and not self._retransmission(got):
                return self.charon_request(got, what, answer=answer, finding=finding)
        return None

    def member_request(self, member: IkeSa, what: str, finding: str = "") -> Step | None:
        """Have ``member`` start an empty INFORMATIONAL (liveness check) and send it."""
        now = self.now()
        member.start_liveness_check(now)
        out = member.messages_to_send(now)
        if not out:
            return None
        return self.send_request(out[0], what, finding)

    def sealed(self, msg: Message) -> bytes:
        """Encrypt a hand-made message with the SA's keys as the responder (for crafted requests)."""
        from hasim.wire import encode, iv_size

        assert self.keys is not None
        return encode(msg, self.keys, self.random_bytes(iv_size(self.keys.suite)))

    def terminate(self, *, record: bool = True) -> None:
        """``swanctl --terminate --force``: charon sends its Delete (one step) and drops the SA."""
        self.recording = record
        proc = self.charon.swanctl_background("--terminate", "--ike", "hasim", "--force", "--timeout", "2")
        self.wait_charon_request(3.0)
        proc.communicate(timeout=10)
