"""A path of the exploration as the records of ``hasim run --trace``'s message ladder.

The ladder's time column is the step number: a message row is written when the message is
delivered (or lost), so the rows are in the order the receivers acted on them. State copies,
crashes, takeovers, timers, new requests, duplications, lost copies to the standby, messages a
receiver dropped (with the protocol's reason) and broken properties are marks between the
messages; a deleted IKE SA is a row of its own.
"""

from __future__ import annotations

from typing import Any

from hasim.explore.model import KEYS, Action, Bounds, Datagram, Policy
from hasim.explore.search import Path, initial
from hasim.explore.steps import member_name
from hasim.explore.world import REQUESTS, World
from hasim.protocol.events import MessageDropped
from hasim.protocol.policy import SyncReading
from hasim.wire import Delete, ExchangeType, Notify, decode
from hasim.wire.constants import enum_name
from hasim.wire.describe import describe_notify

SIDE_NAMES = ("cluster", "peer")


def _message_row(t: int, w: World, d: Datagram, lost: bool) -> dict[str, Any]:
    dst = w.sides[d.dst]
    row: dict[str, Any] = {
        "time": t,
        "dst": member_name(d.dst, dst.gen),
        "sa": 0,
        "lost": lost,
    }
    if d.esp:
        return {
            **row,
            "src": SIDE_NAMES[1 - d.dst],
            "exchange": "ESP",
            "message_id": d.seq,
            "response": False,
            "notifies": f"spi={d.spi:#010x}",
        }
    msg = decode(d.data, KEYS)
    parts = [
        describe_notify(p) if isinstance(p, Notify) else "DELETE"
        for p in msg.payloads
        if isinstance(p, Notify | Delete)
    ]
    return {
        **row,
        "src": member_name(1 - d.dst, d.data[33]),  # the IV names the sending member (model.Draws)
        "exchange": enum_name(ExchangeType, msg.exchange),
        "message_id": msg.message_id,
        "response": msg.response,
        "notifies": " ".join(parts),
    }


def _mark(t: int, node: str, kind: str, value: str) -> dict[str, Any]:
    return {"time": t, "node": node, "kind": kind, "value": value, "sa": -1}


def records(
    path: Path, bounds: Bounds, reading: SyncReading, policy: Policy
) -> dict[str, list[dict[str, Any]]]:
    """Replay ``path`` and describe every step in the record shape of the simulator's probes."""
    w, stepper = initial(bounds, reading, policy)
    messages: list[dict[str, Any]] = []
    timeline: list[dict[str, Any]] = []
    for t, a in enumerate(path, start=1):
        n = stepper.apply(w, a)
        timeline.extend(_step_marks(t, w, n, a))
        if a.kind in ("deliver", "lose") and a.datagram is not None:
            messages.append(_message_row(t, w, a.datagram, a.kind == "lose"))
        for i, (old, new) in enumerate(zip(w.sides, n.sides, strict=True)):
            if new.sa.deleted and not old.sa.deleted:
                reason = next((k.split(".", 1)[1] for k in new.sa.counters if k.startswith("deleted.")), "")
                timeline.append(
                    {"time": t, "node": member_name(i, new.gen), "kind": "deleted", "value": reason, "sa": 0}
                )
        for ev in n.events:
            if isinstance(ev, MessageDropped):
                node = member_name(a.side, n.sides[a.side].gen)
                timeline.append(_mark(t, node, "dropped", f"{ev.reason} mid={ev.message_id}"))
        for name, detail in n.findings:
            timeline.append(_mark(t, "check", "violated", f"{name}: {detail}"))
        w = n
    return {"ike_messages": messages, "timeline": timeline}


def _step_marks(t: int, w: World, n: World, a: Action) -> list[dict[str, Any]]:
    side = w.sides[a.side]
    node = member_name(a.side, side.gen)
    marks: list[dict[str, Any]] = []
    if a.kind == "duplicate" and a.datagram is not None:
        marks.append(_mark(t, "network", "duplicate", f"a datagram to {SIDE_NAMES[a.datagram.dst]}"))
    elif a.kind == "timer":
        marks.append(_mark(t, node, "timer", "outstanding requests time out"))
    elif a.kind == "copy":
        s = n.sides[a.side].standby
        assert s is not None
        marks.append(_mark(t, node, "state_copy", f"next_send={s.next_send_mid} next_recv={s.next_recv_mid}"))
    elif a.kind == "crash":
        new = n.sides[a.side]
        marks.append(_mark(t, node, "crash", ""))
        marks.append(_mark(t, member_name(a.side, new.gen), "takeover", "from the standby's copy"))
    elif a.kind == "request":
        marks.append(_mark(t, node, "request", f"liveness check #{w.spent[REQUESTS + a.side]}"))
    elif a.kind == "esp":
        seq = n.sides[a.side].sa.children[0].out_seq
        marks.append(_mark(t, node, "esp_sent", f"sequence number {seq}"))
    if a.share_lost:
        marks.append(_mark(t, node, "share_lost", "the copy to the standby after this step is lost"))
    return marks
