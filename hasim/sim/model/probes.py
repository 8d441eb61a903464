"""Probes: counters every run keeps, and flat per-event records kept only on request.

Counters come from the protocol's events (``hasim.protocol.events``): retransmissions, drops by
reason, sync requests sent and completed, rekeys, deletions. Records are lists of flat dicts, one
per event, ready for ``pandas.DataFrame``: ``ike_messages`` (time, src, dst, sa, exchange, Message ID,
response flag, notifies with their values), ``sync_exchanges``, ``drops``, ``timeline`` and
``counters`` (Message IDs and ESP counters over time, live and as the standby knows them). Raw IKE
datagrams and their keys are kept for the pcap writer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from hasim.errors import DecodeError
from hasim.protocol.events import (
    ChildSaCreated,
    Event,
    ExchangeCompleted,
    IkeSaDeleted,
    MessageDropped,
    Retransmitted,
    SyncAnswered,
    SyncCompleted,
    SyncRequestSent,
    SyncWanted,
)
from hasim.wire import Delete, ExchangeType, Notify, SkKeys, decode
from hasim.wire.constants import enum_name
from hasim.wire.describe import describe_notify

_COUNTED = frozenset(
    {
        ExchangeCompleted,
        Retransmitted,
        MessageDropped,
        SyncWanted,
        SyncRequestSent,
        SyncCompleted,
        IkeSaDeleted,
        ChildSaCreated,
    }
)
"""The events :meth:`Probes.protocol_event` counts or notes (found by their exact type in one look)."""

RECORD_KINDS = ("ike_messages", "sync_exchanges", "drops", "timeline", "counters")
COUNTER_SAS = 8
"""Counter samples are kept for the first IKE SAs only (enough for a timeline figure)."""


class Probes:
    """Counters (always) and records (when ``enabled``) of one run."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.noted: frozenset[type[Event]] | None = None if enabled else _COUNTED
        """The event types :meth:`protocol_event` does anything with (None: every type, records on); the
        world hands it no other (most events of a run, answers to requests, are none of them)."""
        self.counts: Counter[str] = Counter()
        self.records: dict[str, list[dict[str, Any]]] = {k: [] for k in RECORD_KINDS}
        self.ike_raw: list[tuple[float, str, str, int, bytes, SkKeys]] = []
        self.deletions: dict[int, list[tuple[float, str, str]]] = {}
        self.lost_unknown: set[int] = set()
        self.sync_asked: dict[tuple[str, int], float] = {}
        """(node, SA) -> when its gated trigger asked for the sync exchange (``SyncWanted``)."""
        self.sync_wait_max_s = -1.0
        """The longest an SA waited for its member's capacity between asking and starting (s; -1: none)."""
        self.last_sync_completed = -1.0
        """When the last sync exchange completed (-1: none)."""
        self.initiated_done: dict[tuple[str, int], float] = {}
        """(site, SA) -> when an exchange that end initiated last completed (the SA's fate, fates.py)."""

    # --------------------------------------------------------------------------- protocol events
    def protocol_event(self, site: str, node: str, sa: int, ev: Event) -> None:
        """Count one protocol event and, with records on, keep it as a timeline row."""
        if type(ev) in _COUNTED:  # most events of a run (answers, skipped counters) count nothing
            self._count(site, node, sa, ev)
        if self.enabled:
            row = {k: v for k, v in vars(ev).items() if k != "time"}
            value = ";".join(f"{k}={v}" for k, v in row.items())
            self.timeline(ev.time, node, ev.kind, value, sa)
            if isinstance(ev, (SyncRequestSent, SyncCompleted, SyncAnswered)):
                self.records["sync_exchanges"].append(
                    {"time": ev.time, "node": node, "sa": sa, "kind": ev.kind, **row}
                )

    def _count(self, site: str, node: str, sa: int, ev: Event) -> None:
        c = self.counts
        if isinstance(ev, ExchangeCompleted):
            self.initiated_done[(site, sa)] = ev.time
        elif isinstance(ev, Retransmitted):
            c["ike_retransmissions"] += 1
        elif isinstance(ev, MessageDropped):
            c[f"ike_drop.{ev.reason}"] += 1
            if ev.reason == "out_of_window":
                c["ike_out_of_window_drops"] += 1
            elif ev.reason == "stale_sync":
                c["sync_requests_dropped_stale"] += 1
            elif ev.response and ev.reason.startswith("sync_"):
                c["sync_responses_dropped"] += 1
            if self.enabled:
                self.records["drops"].append(
                    {
                        "time": ev.time,
                        "node": node,
                        "sa": sa,
                        "what": "ike",
                        "reason": ev.reason,
                        "count": 1,
                        "message_id": ev.message_id,
                    }
                )
        elif isinstance(ev, SyncWanted):
            self.sync_asked[(node, sa)] = ev.time
        elif isinstance(ev, SyncRequestSent):
            c["sync_exchanges_started"] += 1
            asked = self.sync_asked.pop((node, sa), None)
            if asked is not None:
                self.sync_wait_max_s = max(self.sync_wait_max_s, ev.time - asked)
        elif isinstance(ev, SyncCompleted):
            c["sync_exchanges_completed"] += 1
            self.last_sync_completed = max(self.last_sync_completed, ev.time)
            self.initiated_done[(site, sa)] = ev.time
        elif isinstance(ev, IkeSaDeleted):
            self.deletions.setdefault(sa, []).append((ev.time, node, ev.reason))
        elif isinstance(ev, ChildSaCreated) and ev.rekeyed_spi_in is not None and site == "cluster":
            c["rekeys"] += 1

    # ------------------------------------------------------------------------------- messages
    def ike_message(
        self, t: float, src: str, dst: str, sa: int, data: bytes, keys: SkKeys, *, lost: bool
    ) -> None:
        """An IKE datagram put on the peer link (decoded for the ladder when records are on)."""
        self.counts["ike_messages"] += 1
        if not self.enabled:
            return
        self.ike_raw.append((t, src, dst, sa, data, keys))
        try:
            msg = decode(data, keys)
        except DecodeError:
            self.records["ike_messages"].append(
                {
                    "time": t,
                    "src": src,
                    "dst": dst,
                    "sa": sa,
                    "exchange": "?",
                    "message_id": -1,
                    "response": False,
                    "notifies": "",
                    "bytes": len(data),
                    "lost": lost,
                }
            )
            return
        parts = []
        for p in msg.payloads:
            if isinstance(p, Notify):
                parts.append(describe_notify(p))
            elif isinstance(p, Delete):
                parts.append("DELETE")
        self.records["ike_messages"].append(
            {
                "time": t,
                "src": src,
                "dst": dst,
                "sa": sa,
                "exchange": enum_name(ExchangeType, msg.exchange),
                "message_id": msg.message_id,
                "response": msg.response,
                "notifies": " ".join(parts),
                "bytes": len(data),
                "lost": lost,
            }
        )

    def drop(self, t: float, node: str, reason: str, sa: int, count: int) -> None:
        """A packet dropped by the simulator itself (nobody serving the address)."""
        self.counts[f"drop.{reason}"] += count
        if self.enabled:
            self.records["drops"].append(
                {
                    "time": t,
                    "node": node,
                    "sa": sa,
                    "what": "ike",
                    "reason": reason,
                    "count": count,
                    "message_id": -1,
                }
            )

    def esp_drop_recorder(self, direction: str, sa: int) -> Callable[[float, str, int, int], None] | None:
        """A callback for an ESP flow's drops (None when records are off: no per-batch cost)."""
        if not self.enabled:
            return None
        rows = self.records["drops"]
        node = "peer" if direction == "cluster_to_peer" else "cluster"

        def record(t: float, reason: str, spi: int, count: int) -> None:
            rows.append(
                {
                    "time": t,
                    "node": node,
                    "sa": sa,
                    "what": f"esp:{spi:#010x}",
                    "reason": reason,
                    "count": count,
                    "message_id": -1,
                }
            )

        return record

    def counters(self, t: float, node: str, sa: int, view: str, state: Any) -> None:
        """One sample of an SA's counters as ``node`` holds them: ``view`` live (an active member or the
        peer) or standby (a snapshot that just arrived). ``state`` is an IkeSa or an IkeSaSnapshot."""
        if not self.enabled or sa >= COUNTER_SAS or state is None:
            return
        if hasattr(state, "requests"):
            send, recv = state.requests.next_mid, state.responses.base
            kids = state.children
            out_seq = kids[0].out_seq if kids else 0
            in_top = kids[0].in_highest if kids else 0
        else:
            send, recv = state.next_send_mid, state.next_recv_mid
            out_seq = state.children[0].out_seq if state.children else 0
            in_top = state.children[0].in_highest if state.children else 0
        self.records["counters"].append(
            {
                "time": t,
                "node": node,
                "sa": sa,
                "view": view,
                "next_send_mid": send,
                "next_recv_mid": recv,
                "esp_out_seq": out_seq,
                "esp_in_top": in_top,
            }
        )

    def timeline(self, t: float, node: str, kind: str, value: Any, sa: int = -1) -> None:
        """One timeline row (faults, detection, takeover, counters); kept only with records on."""
        if self.enabled:
            self.records["timeline"].append(
                {"time": t, "node": node, "kind": kind, "value": str(value), "sa": sa}
            )
