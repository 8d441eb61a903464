"""The steps of the exploration, each driving the real ``IkeSa`` of one side, and the safety checks
made on what that step did.

Properties checked on every step (names as reported):
- ``mid_reuse``: one member sends two different requests with one Message ID (sync requests,
  always Message ID 0, excepted); ``mid_reuse_across_failover`` counts two members of one side
  doing so (a stale standby whose M1 did not clear everything its predecessor used, R5.1-2).
- ``mid_processed_twice``: one member processes one Message ID as new twice. Counted, since
  the RFC does not rule them out: ``request_processed_twice``, one member processes one request
  twice (the peer re-sent it with a new Message ID after a sync, R9-2), and
  ``request_reprocessed_after_failover``, two members of one side process one request.
- ``stale_sync_accepted``: a sync request answered although its M1 is stale under the reading of
  R5.1-5 (worked out here from the two values before the step, not by the code under test);
  ``replayed_sync_accepted``: the same sync request octets answered twice as new (R11-1).
- ``nonce_echo``: a sync completed by a response that does not echo the pending nonce (R5.1-8).
- ``esp_replay_accepted``: one side accepts one ESP sequence number twice (across its members);
  ``iv_reuse``: one side sends one sequence number twice (the IV of a counter-mode SA, R3.4-1).
  Both are safety properties under a policy that promises them and counted under the others; on
  a path where a copy to the standby was lost they are counted as ``esp_replay_after_lost_copy``
  and ``iv_reuse_after_lost_copy`` under every policy: the standby never learnt the delta its
  predecessor asked for (R5.1-4), and no fixed skip covers a skip it does not know of.
"""

from __future__ import annotations

from typing import NamedTuple

from hasim.explore.model import CHILD_SPIS, KEYS, Action, Bounds, Datagram, Draws, Policy
from hasim.explore.world import (
    DUPLICATES,
    EARLY,
    ESP,
    FAILOVERS,
    LOSSES,
    REQUESTS,
    SYNC_LOSSES,
    SYNCS,
    Side,
    World,
)
from hasim.protocol.anti_replay import ReplayOutcome
from hasim.protocol.events import Event, RequestAnswered, SyncAnswered, SyncCompleted, SyncRequestSent
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import IkeConfig, SyncReading
from hasim.protocol.retransmit import QueuedRequest
from hasim.wire import ExchangeType, MessageIdSync, Notify, decode, decode_header, from_notify

SAFETY = (
    "mid_reuse",
    "mid_processed_twice",
    "stale_sync_accepted",
    "replayed_sync_accepted",
    "nonce_echo",
    "esp_replay_accepted",
    "iv_reuse",
)
COUNTED = (
    "mid_reuse_across_failover",
    "request_processed_twice",
    "request_reprocessed_after_failover",
    "esp_replay_after_lost_copy",
    "iv_reuse_after_lost_copy",
)
ESP_PROPERTIES = ("esp_replay_accepted", "iv_reuse")


def stale(reading: SyncReading, m1: int, highest_sync_m1: int, highest_recv: int) -> bool:
    """R5.1-5 as each reading states it: is a sync request with this M1 one to drop?"""
    if reading is SyncReading.SYNC_ONLY:
        return m1 <= highest_sync_m1
    if reading is SyncReading.STRONGSWAN:
        return m1 < max(highest_recv + 1, highest_sync_m1)  # below the next expected Message ID
    return m1 <= max(highest_sync_m1, highest_recv)


Before = tuple[int, int, int, int]


class SideStep(NamedTuple):
    """What one step did to the side it drove (the same whenever that side, in that state, takes
    that step, so it is computed once and shared): the side after it, the datagrams it put on the
    wire, the requests among them as (Message ID, serial), its events, the values the checks need
    from before the step (highest sync M1, highest request received, pending nonce, sync pending),
    and the ESP sequence number it sent or accepted (0: none)."""

    side: Side
    out: tuple[Datagram, ...]
    requests: tuple[tuple[int, int], ...]
    events: tuple[Event, ...]
    before: Before
    esp_sent: int
    esp_accepted: int
    shared: bool


class Stepper:
    """Applies an ``Action`` to a ``World`` (a new world; the old one is left as it was).

    Time is abstract: every call into an SA passes ``now`` 0 except a timer, which passes the
    latest deadline of the side, so that all its outstanding requests time out together.
    """

    MEMO_LIMIT = 200_000

    def __init__(self, cfg: IkeConfig, bounds: Bounds, policy: Policy) -> None:
        self.cfg = cfg
        self.bounds = bounds
        self.policy = policy
        self.memo: dict[tuple[object, ...], SideStep] = {}
        self.ids: dict[tuple[object, ...], int] = {}
        self._nonces: dict[bytes, list[int]] = {}
        """Side keys numbered (``Side.ident``), so world keys hold a number per side."""

    def apply(self, w: World, a: Action) -> World:
        n = w.fork()
        d = a.datagram
        if a.kind == "lose":
            assert d is not None
            n.net.remove(d)
            n.spent[LOSSES] += 1
            return n
        if a.kind == "duplicate":
            assert d is not None
            n.net.append(d)
            n.spent[DUPLICATES] += 1
            return n
        if a.kind == "copy":
            old = n.sides[a.side]
            n.sides[a.side] = Side(old.sa, old.sa.snapshot(0.0), old.gen, old.draws)
            n.spent[SYNCS] += 1
            return n
        serial = -1
        if a.kind == "deliver":
            assert d is not None
            n.net.remove(d)
        elif a.kind == "timer":
            if n.net:
                n.spent[EARLY] += 1
        elif a.kind == "crash":
            n.spent[FAILOVERS] += 1
        elif a.kind == "request":
            serial = n.spent[REQUESTS + a.side]
            n.spent[REQUESTS + a.side] += 1
        elif a.kind == "esp":
            n.spent[ESP + a.side] += 1
        else:
            raise ValueError(f"unknown step {a.kind!r}")
        side = n.sides[a.side]
        mk = (side.ident(self.ids), a.kind, d, serial, a.share_lost)
        st = self.memo.get(mk)
        if st is None:
            if len(self.memo) >= self.MEMO_LIMIT:
                self.memo.clear()
            st = self.memo[mk] = self._side_step(side, a, serial)
        n.sides[a.side] = st.side
        n.net.extend(st.out)
        n.events = st.events
        if st.shared:
            n.shared = True
            if a.share_lost:
                n.spent[SYNC_LOSSES] += 1
        self._check(n, a.side, st, d)
        return n

    # ------------------------------------------------------------------- driving one side
    def _side_step(self, old: Side, a: Action, serial: int) -> SideStep:
        i = a.side
        if a.kind == "crash":
            assert old.standby is not None
            gen = old.gen + 1
            draws = Draws(i, gen)
            sa = IkeSa.from_snapshot(old.standby, self.cfg, draws, name=member_name(i, gen))
            side = Side(sa, old.standby, gen, draws)
        else:
            side = old.fork()
            sa = side.sa
        m = sa.member
        before = (sa.highest_sync_m1, sa.responses.highest, m.nonce, int(m.pending is not None))
        esp_sent = esp_accepted = 0
        out: list[Datagram] = []
        d = a.datagram
        if a.kind == "crash":
            sa.failover_takeover(0.0)
        elif a.kind == "deliver" and d is not None and d.esp:
            esp_accepted = self._esp_in(sa, d)
        elif a.kind == "deliver" and d is not None:
            sa.receive(d.data, 0.0)
        elif a.kind == "timer":
            pending = [*sa.requests.outstanding.values(), *([m.pending] if m.pending else [])]
            sa.handle_timer(max(p.deadline for p in pending))
        elif a.kind == "request":
            sa.enqueue(QueuedRequest("liveness", ExchangeType.INFORMATIONAL, (), {"serial": serial}), 0.0)
        elif a.kind == "esp":
            sa.on_outbound_traffic(0.0)  # a lazy trigger (R7-2) fires before the packet leaves
            child = sa.children[0]
            esp_sent = child.next_out_seq()
            out.append(Datagram(1 - i, b"", -1, child.spi_out, esp_sent))
        requests: list[tuple[int, int]] = []
        for data in sa.messages_to_send(0.0):
            s = self._serial(sa, data)
            if s != -1 and s != -2:
                requests.append((decode_header(data).message_id, s))
            out.append(Datagram(1 - i, data, s))
        events = tuple(sa.events())
        shared = side.cluster and any(isinstance(e, (SyncRequestSent, SyncCompleted)) for e in events)
        if shared and not a.share_lost:  # R5.1-4: the values go to the standby with a state copy
            side = Side(sa, sa.snapshot(0.0), side.gen, side.draws)
        return SideStep(side, tuple(out), tuple(requests), events, before, esp_sent, esp_accepted, shared)

    @staticmethod
    def _serial(sa: IkeSa, data: bytes) -> int:
        """The serial of a datagram a side puts on the wire (-1: a response or a request the
        protocol made itself, -2: the sync request)."""
        h = decode_header(data)
        if h.response:
            return -1
        p = sa.requests.outstanding.get(h.message_id)
        if p is None or p.data != data:
            return -2  # the sync request (Message ID 0), outside the Message ID sequence
        serial = p.context.get("serial", -3)
        assert isinstance(serial, int)
        return serial

    @staticmethod
    def _esp_in(sa: IkeSa, d: Datagram) -> int:
        """Deliver an ESP packet; the sequence number if the receiver accepted it, else 0."""
        child = None if sa.deleted else sa.child_by_spi_in(d.spi)
        if child is None:
            return 0
        outcome = child.inbound.receive(d.seq)
        if outcome is ReplayOutcome.ACCEPTED:
            return d.seq
        if outcome is not ReplayOutcome.DUPLICATE:
            sa.on_inbound_anomaly(0.0)  # outside the window: sync trigger R7-1
        return 0

    # ------------------------------------------------------------------------- the checks
    def _check(self, n: World, i: int, st: SideStep, d: Datagram | None) -> None:
        mon = n.mon
        gen = st.side.gen
        spi_out, spi_in = (CHILD_SPIS[1], CHILD_SPIS[0]) if i == 0 else CHILD_SPIS
        lost = "_after_lost_copy" if n.spent[SYNC_LOSSES] else ""
        if st.esp_sent:
            used = (i, spi_out, st.esp_sent)
            if used in mon.esp_sent:
                n.findings.append(
                    (f"iv_reuse{lost}", f"side {i} sent ESP sequence number {st.esp_sent} again")
                )
            mon.esp_sent = mon.esp_sent | {used}
        if st.esp_accepted:
            got = (i, spi_in, st.esp_accepted)
            if got in mon.esp_accepted:
                what = f"side {i} accepted ESP sequence number {st.esp_accepted} again"
                n.findings.append(("esp_replay_after_lost_copy" if lost else "esp_replay_accepted", what))
            mon.esp_accepted = mon.esp_accepted | {got}
        for mid, serial in st.requests:
            self._sent(n, i, gen, mid, serial)
        for ev in st.events:
            if isinstance(ev, RequestAnswered) and d is not None:
                self._processed(n, i, gen, ev.message_id, d.serial)
            elif isinstance(ev, SyncAnswered) and d is not None:
                self._sync_answered(n, i, ev.m1, d, st.before)
            elif isinstance(ev, SyncCompleted) and ev.m2 is not None and d is not None:
                self._sync_completed(n, d, st.before)

    @staticmethod
    def _sent(n: World, i: int, gen: int, mid: int, serial: int) -> None:
        entry = (i, mid, gen, serial)
        if entry in n.mon.sent:
            return
        for s, m, g, other in n.mon.sent:
            if s == i and m == mid and other != serial:
                what = "mid_reuse" if g == gen else "mid_reuse_across_failover"
                n.findings.append((what, f"side {i} sent requests {other} and {serial} as Message ID {mid}"))
        n.mon.sent = n.mon.sent | {entry}

    @staticmethod
    def _processed(n: World, i: int, gen: int, mid: int, serial: int) -> None:
        for s, g, m, other in n.mon.processed:
            if s != i:
                continue
            if g == gen and m == mid:
                n.findings.append(
                    ("mid_processed_twice", f"side {i} processed Message ID {mid} as new twice")
                )
            elif serial >= 0 and other == serial:
                what = "request_processed_twice" if g == gen else "request_reprocessed_after_failover"
                n.findings.append((what, f"side {i} processed request {serial} as new again"))
        n.mon.processed = n.mon.processed | {(i, gen, mid, serial)}

    def _sync_answered(self, n: World, i: int, m1: int, d: Datagram, before: Before) -> None:
        if stale(self.cfg.reading, m1, before[0], before[1]):
            n.findings.append(
                ("stale_sync_accepted", f"side {i} answered M1={m1} after {before[0]} (sync) / {before[1]}")
            )
        got = (i, d.data)
        if got in n.mon.syncs:
            n.findings.append(("replayed_sync_accepted", f"side {i} answered one sync request twice"))
        n.mon.syncs = n.mon.syncs | {got}

    def _sync_completed(self, n: World, d: Datagram, before: Before) -> None:
        nonces = self._nonces.get(d.data)
        if nonces is None:
            msg = decode(d.data, KEYS)
            typed = [from_notify(p) for p in msg.payloads if isinstance(p, Notify)]
            nonces = self._nonces[d.data] = [t.nonce for t in typed if isinstance(t, MessageIdSync)]
            nonces.append(msg.message_id)  # last: the Message ID, which must be 0
        if not before[3] or nonces != [before[2], 0]:
            what = f"sync completed by a response echoing {nonces[:-1]}, pending {before[2]}"
            n.findings.append(("nonce_echo", what))


def member_name(side: int, gen: int) -> str:
    """How the ladder names member ``gen`` of a side (``cluster0`` the first, ``peer`` the peer)."""
    base = "cluster" if side == 0 else "peer"
    return f"{base}{gen}" if side == 0 or gen else base
