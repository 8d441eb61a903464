"""One explored state: the two sides' live IKE SAs, the standby copies, the datagrams in flight,
the budget spent and the monitors the safety properties read; and the steps between states.

Side 0 is a cluster (an active member driving a real ``IkeSa`` and a standby holding the last
``IkeSaSnapshot`` copied to it); side 1 is the peer, a cluster too with ``Bounds.peer_cluster``.
Datagrams to a cluster reach whichever member is active (the address moves with the failover).
A crash makes the standby active from its copy (``IkeSa.from_snapshot`` + ``failover_takeover``);
the restarted member becomes the standby and keeps that same copy until a newer one arrives.

Worlds are copied on write and a side is never changed once a world holds it: a step clones only
the side it drives (``hasim.protocol.branch``), so a lost or duplicated datagram copies no protocol
object at all, and one side after one step can be shared by every world that reaches it.
"""

from __future__ import annotations

from hasim.explore.model import Action, Bounds, Datagram, Draws
from hasim.protocol.branch import clone, state_key
from hasim.protocol.events import Event
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.snapshot import IkeSaSnapshot

# indexes of World.spent
FAILOVERS, SYNCS, SYNC_LOSSES, LOSSES, DUPLICATES, EARLY, REQUESTS, ESP = 0, 1, 2, 3, 4, 5, 6, 8
"""REQUESTS and ESP hold one count per side (index + side)."""


class Side:
    """One end of the IKE SA: the active member's live SA, the standby's copy (clusters only)."""

    __slots__ = ("_id", "_key", "_stale", "_timer", "draws", "gen", "sa", "standby")

    def __init__(self, sa: IkeSa, standby: IkeSaSnapshot | None, gen: int, draws: Draws) -> None:
        self.sa = sa
        self.standby = standby
        self.gen = gen
        self.draws = draws
        self._key: tuple[object, ...] | None = None
        self._stale: bool | None = None
        self._id = -1
        self._timer: bool | None = None

    @property
    def cluster(self) -> bool:
        """True if this side has a standby that can take over."""
        return self.standby is not None

    def key(self) -> tuple[object, ...]:
        """The side's part of the state key (computed once: a side is not changed after a step)."""
        if self._key is None:
            self._key = (state_key(self.sa), self.standby, self.gen, self.draws.count)
        return self._key

    @property
    def timer(self) -> bool:
        """A retransmission timer is pending (computed once, after the step that made the side)."""
        if self._timer is None:
            self._timer = self.sa.next_timer() is not None
        return self._timer

    def ident(self, ids: dict[tuple[object, ...], int]) -> int:
        """A small number standing for ``key()``: equal keys, equal numbers (``ids`` holds them)."""
        if self._id < 0:
            self._id = ids.setdefault(self.key(), len(ids))
        return self._id

    def standby_stale(self) -> bool:
        """True if a state copy now would give the standby something new (computed once)."""
        if self._stale is None:
            self._stale = self.standby is not None and self.sa.snapshot(0.0) != self.standby
        return self._stale

    def fork(self) -> Side:
        """A copy whose SA may be driven without touching this one."""
        draws = self.draws.copy()
        return Side(clone(self.sa, draws), self.standby, self.gen, draws)


class Monitors:
    """What the properties need to remember across steps (every set is small and only grows).

    ``sent``: (side, Message ID, member, request serial) of every request put on the wire;
    ``processed``: (side, member, Message ID, serial) of every request processed as new;
    ``syncs``: (side, octets) of every sync request accepted; ``esp_sent``/``esp_accepted``:
    (side, SPI, sequence number) of every ESP packet sent and accepted.
    """

    __slots__ = ("esp_accepted", "esp_sent", "processed", "sent", "syncs")

    def __init__(self) -> None:
        self.sent: frozenset[tuple[int, int, int, int]] = frozenset()
        self.processed: frozenset[tuple[int, int, int, int]] = frozenset()
        self.syncs: frozenset[tuple[int, bytes]] = frozenset()
        self.esp_sent: frozenset[tuple[int, int, int]] = frozenset()
        self.esp_accepted: frozenset[tuple[int, int, int]] = frozenset()

    def copy(self) -> Monitors:
        """The same sets (they are replaced, never changed, so sharing them is safe)."""
        out = Monitors()
        out.sent, out.processed, out.syncs = self.sent, self.processed, self.syncs
        out.esp_sent, out.esp_accepted = self.esp_sent, self.esp_accepted
        return out

    def key(self) -> tuple[object, ...]:
        """The monitors' part of the state key."""
        return (self.sent, self.processed, self.syncs, self.esp_sent, self.esp_accepted)


class World:
    """A state of the exploration; ``findings``, ``shared`` and ``events`` describe the step that
    made it and are not part of the state."""

    __slots__ = ("events", "findings", "mon", "net", "shared", "sides", "spent")

    def __init__(self, sides: list[Side], net: list[Datagram], spent: list[int], mon: Monitors) -> None:
        self.sides = sides
        self.net = net
        self.spent = spent
        self.mon = mon
        self.findings: list[tuple[str, str]] = []
        self.shared = False
        self.events: tuple[Event, ...] = ()
        """What the SA driven by the step that made this world reported (for the ladder)."""

    def fork(self) -> World:
        """A copy sharing the (unchanged) sides; ``touch`` a side before driving it."""
        return World(list(self.sides), list(self.net), list(self.spent), self.mon.copy())

    def key(self, ids: dict[tuple[object, ...], int]) -> tuple[object, ...]:
        """The canonical state: sides (numbered through ``ids``), the datagrams in flight as a
        multiset, budgets, monitors."""
        return (
            self.sides[0].ident(ids),
            self.sides[1].ident(ids),
            tuple(sorted(self.net)),
            tuple(self.spent),
            self.mon.key(),
        )

    def quiescent(self) -> bool:
        """Nothing in flight and no timer pending: where the network has turned reliable and every
        timer has run out (a terminal state of the outcome property)."""
        return not self.net and not any(s.timer for s in self.sides)


def enabled(w: World, bounds: Bounds) -> list[Action]:
    """Every step possible from ``w``, in a fixed order (so that searches are reproducible)."""
    spent = w.spent
    room = len(w.net) < bounds.in_flight
    acts: list[Action] = []
    for d in sorted(set(w.net)):
        acts.append(Action("deliver", d.dst, d))
        if spent[LOSSES] < bounds.losses:
            acts.append(Action("lose", d.dst, d))
        if room and spent[DUPLICATES] < bounds.duplicates:
            acts.append(Action("duplicate", d.dst, d))
    for i, side in enumerate(w.sides):
        sa = side.sa
        if room and side.timer and (not w.net or spent[EARLY] < bounds.early_timeouts):
            acts.append(Action("timer", i))
        if sa.deleted:
            continue
        if room and spent[REQUESTS + i] < bounds.requests:
            acts.append(Action("request", i))
        if room and spent[ESP + i] < bounds.esp and sa.children:
            acts.append(Action("esp", i))
        if side.cluster:
            if spent[SYNCS] < bounds.syncs and side.standby_stale():
                acts.append(Action("copy", i))
            if room and spent[FAILOVERS] < bounds.failovers:
                acts.append(Action("crash", i))
    return acts
