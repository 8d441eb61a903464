"""Copying an IKE SA for one branch of a search, and the frozen value of its protocol state.

An exhaustive search (``hasim.explore``) tries every next step from every state it reaches, so it
must copy live ``IkeSa`` objects often and recognise a state it has already seen. ``clone`` copies
exactly the mutable parts (windows, outstanding and cached messages, member state, Child SA
counters and replay windows) and shares what never changes (configuration, keys, message bytes,
payload tuples); ``state_key`` is a hashable value of everything that decides what the SA does
next. Neither changes how an SA behaves: a clone driven like the original does the same thing.

Left out of the key, because no decision reads them: counters (statistics), event and output
lists (drained after every step), ``snapshot_taken_at`` and the member's ``since_sync_s`` (they
only scale packet-rate estimates), and timer deadlines: ``hasim.explore`` fires all of a side's
outstanding requests at once with the same wait for every try, so the order ``handle_timer`` takes
them in follows from what the key holds (not yet resent before resent, then Message ID order).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, TypeVar

from hasim.errors import ProtocolError
from hasim.protocol.anti_replay import ReplayWindow
from hasim.protocol.child_sa import ChildSa, EspState, SpiAllocator
from hasim.protocol.mid_window import RequestWindow, ResponseWindow
from hasim.protocol.retransmit import PendingRequest
from hasim.protocol.rfc6311_member import MemberState

if TYPE_CHECKING:
    from collections.abc import Callable

    from hasim.protocol.ike_sa import IkeSa

T = TypeVar("T")

CLONED_FIELDS = frozenset(
    {
        "config", "original_initiator", "spi_i", "spi_r", "keys", "random_bytes", "spis", "name",
        "state", "requests", "responses", "caps", "children", "member", "highest_sync_m1",
        "last_sync_request", "last_sync_response", "snapshot_taken_at", "counters", "queue",
        "_out", "_events",
    }
)  # fmt: skip
"""Every attribute of an ``IkeSa``; a test fails when one is added that ``clone`` does not know."""


def _pending(p: PendingRequest) -> PendingRequest:
    out = PendingRequest.__new__(PendingRequest)
    out.__dict__.update(p.__dict__)
    out.context = dict(p.context)
    return out


def _slots(obj: T) -> T:
    """A shallow copy of an object with ``__slots__`` (its fields hold ints, bools and lists)."""
    cls = type(obj)
    out = cls.__new__(cls)
    for name in cls.__slots__:  # type: ignore[attr-defined]
        value = getattr(obj, name)
        setattr(out, name, list(value) if isinstance(value, list) else value)
    return out


def _child(c: ChildSa) -> ChildSa:
    if c.lease is not None:
        raise ProtocolError("a Child SA whose counters are leased out cannot be copied")
    out = ChildSa.__new__(ChildSa)
    out.__dict__.update(c.__dict__)
    out.held = EspState(_slots(c.held.outbound), _slots(c.held.inbound))
    return out


def _requests(w: RequestWindow) -> RequestWindow:
    out = RequestWindow(w.next_mid, w.size)
    out.outstanding = {m: _pending(p) for m, p in w.outstanding.items()}
    return out


def _responses(w: ResponseWindow) -> ResponseWindow:
    out = ResponseWindow.__new__(ResponseWindow)
    out.base, out.size, out.highest = w.base, w.size, w.highest
    out.received = set(w.received)
    out.cache = dict(w.cache)
    return out


def clone(sa: IkeSa, random_bytes: Callable[[int], bytes]) -> IkeSa:
    """An independent copy of ``sa`` that draws from ``random_bytes`` (the branch's own draws)."""
    out = type(sa).__new__(type(sa))
    out.__dict__.update(sa.__dict__)
    out.random_bytes = random_bytes
    spis = SpiAllocator.__new__(SpiAllocator)
    spis.__dict__.update(sa.spis.__dict__)
    spis._random_bytes = random_bytes
    spis._used = set(sa.spis._used)
    out.spis = spis
    out.requests = _requests(sa.requests)
    out.responses = _responses(sa.responses)
    out.children = [_child(c) for c in sa.children]
    m = sa.member
    member = MemberState.__new__(MemberState)
    member.__dict__.update(m.__dict__)
    member.pending = _pending(m.pending) if m.pending is not None else None
    out.member = member
    counters: Counter[str] = Counter()
    dict.update(counters, sa.counters)
    out.counters = counters
    out.queue = list(sa.queue)  # QueuedRequest values are never changed once queued
    out._out = list(sa._out)
    out._events = list(sa._events)
    return out


def _window_key(w: ReplayWindow) -> tuple[int, tuple[int, ...]]:
    return (w.top, w.words)


def state_key(sa: IkeSa) -> tuple[object, ...]:
    """A hashable value of everything that decides what ``sa`` does next (see the module docstring)."""
    m = sa.member
    pend = m.pending
    return (
        sa.state,
        sa.requests.next_mid,
        sa.requests.size,
        tuple(
            (mid, p.data, p.attempt, tuple(sorted(p.context.items(), key=str)))
            for mid, p in sorted(sa.requests.outstanding.items())
        ),
        sa.responses.base,
        sa.responses.size,
        sa.responses.highest,
        tuple(sorted(sa.responses.received)),
        tuple(sorted(sa.responses.cache.items())),
        tuple((c.spi_in, c.spi_out, c.out_seq, _window_key(c.inbound), c.safe_edge) for c in sa.children),
        (m.last_sync, m.failovers, m.armed, m.wanted, m.nonce, m.m1, m.p1, m.superseded, m.override, m.delta),
        m.unsent,
        None if pend is None else (pend.data, pend.attempt),
        sa.highest_sync_m1,
        sa.last_sync_request,
        sa.last_sync_response,
        tuple((q.what, q.exchange, q.payloads, tuple(sorted(q.context.items(), key=str))) for q in sa.queue),
    )
