"""Breadth-first search over the explored worlds, states deduplicated by their canonical key.

Breadth-first order makes the first path found to anything the shortest one: each property's
first violation and each kind of terminal state come with a shortest counterexample. Each state
keeps only its parent's key and the step from it; paths are replayed from the initial world when
they are needed (``replay``), so the search holds live protocol objects for one depth at a time.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

from hasim.explore.model import CHILD_SPIS, KEYS, SPI_I, SPI_R, Action, Bounds, Draws, Policy, ike_config
from hasim.explore.steps import COUNTED, ESP_PROPERTIES, SAFETY, Stepper, member_name
from hasim.explore.world import SYNC_LOSSES, Monitors, Side, World, enabled
from hasim.protocol.child_sa import ChildSaSnapshot
from hasim.protocol.ike_sa import IkeSa
from hasim.protocol.policy import SyncReading
from hasim.protocol.snapshot import Capabilities, IkeSaSnapshot

Path = tuple[Action, ...]


@dataclass
class Finding:
    """One property: how many states a step breaking it led to, and the shortest such path."""

    name: str
    safety: bool
    states: int = 0
    path: Path | None = None
    detail: str = ""

    @property
    def holds(self) -> bool:
        return self.states == 0


@dataclass
class Outcome:
    """Terminal (quiescent) states: synchronized, IKE SA deleted, waiting (a lazily triggered member
    that has not started its sync, R7-6: it will once it has traffic), or neither (the property
    fails)."""

    synchronized: int = 0
    deleted: int = 0
    neither: int = 0
    waiting: int = 0
    deleted_paths: list[Path] = field(default_factory=list)
    neither_path: Path | None = None

    @property
    def terminal(self) -> int:
        return self.synchronized + self.deleted + self.waiting + self.neither


@dataclass
class Exploration:
    """What one search covered and found."""

    reading: SyncReading
    policy: Policy
    bounds: Bounds
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    complete: bool = True
    findings: dict[str, Finding] = field(default_factory=dict)
    outcome: Outcome = field(default_factory=Outcome)


def initial(bounds: Bounds, reading: SyncReading, policy: Policy) -> tuple[World, Stepper]:
    """Both ends of an established IKE SA (as the interleaving tests start: the cluster has used
    Message IDs up to 1 and received up to 2), the standby holding the same state."""
    cfg = ike_config(bounds, reading, policy)
    snap = IkeSaSnapshot(
        spi_i=SPI_I,
        spi_r=SPI_R,
        original_initiator=False,
        keys=KEYS,
        next_send_mid=2,
        next_recv_mid=3,
        highest_recv_mid=2,
        send_window=bounds.window,
        recv_window=bounds.window,
        capabilities=Capabilities(True, True),
        children=(ChildSaSnapshot(CHILD_SPIS[0], CHILD_SPIS[1], False),),
    )
    sides = []
    for i, s in enumerate((snap, snap.mirrored())):
        draws = Draws(i, 0)
        sa = IkeSa.from_snapshot(s, cfg, draws, name=member_name(i, 0))
        standby = sa.snapshot(0.0) if i == 0 or bounds.peer_cluster else None
        sides.append(Side(sa, standby, 0, draws))
    return World(sides, [], [0] * 10, Monitors()), Stepper(cfg, bounds, policy)


def classify(w: World) -> str:
    """A terminal state's outcome: ``deleted``, ``synchronized``, ``waiting`` or ``neither``."""
    a, b = w.sides[0].sa, w.sides[1].sa
    if a.deleted or b.deleted:
        return "deleted"
    idle = all(
        not s.requests.outstanding and not s.queue and s.member.pending is None and not s.member.wanted
        for s in (a, b)
    )
    if idle and a.requests.next_mid == b.responses.base and b.requests.next_mid == a.responses.base:
        return "synchronized"
    if a.member.armed or b.member.armed:
        return "waiting"
    return "neither"


def successors(w: World, stepper: Stepper) -> list[tuple[Action, World]]:
    """Every next world, with the step to it (a step whose sync copy may be lost gives two)."""
    out = []
    bounds = stepper.bounds
    for a in enabled(w, bounds):
        n = stepper.apply(w, a)
        out.append((a, n))
        if n.shared and w.spent[SYNC_LOSSES] < bounds.sync_losses:
            lost = a._replace(share_lost=True)
            out.append((lost, stepper.apply(w, lost)))
    return out


def explore(
    bounds: Bounds, reading: SyncReading, policy: Policy, *, max_states: int = 0, keep_deleted: int = 0
) -> Exploration:
    """Search every state within ``bounds`` (stop after ``max_states`` if given: ``complete`` False).

    ``keep_deleted``: keep the paths of the first so many terminal states with the SA deleted.
    """
    was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived objects, no cycles: collections would only rescan the graph
    try:
        return _explore(bounds, reading, policy, max_states, keep_deleted)
    finally:
        if was_enabled:
            gc.enable()


def _explore(
    bounds: Bounds, reading: SyncReading, policy: Policy, max_states: int, keep_deleted: int
) -> Exploration:
    t0 = time.perf_counter()
    res = Exploration(reading, policy, bounds)
    names = SAFETY + COUNTED
    for name in names:
        safety = name in SAFETY and (policy.promises_esp or name not in ESP_PROPERTIES)
        res.findings[name] = Finding(name, safety)
    w0, stepper = initial(bounds, reading, policy)
    ids = stepper.ids
    k0 = w0.key(ids)
    parents: dict[tuple[object, ...], tuple[tuple[object, ...], Action] | None] = {k0: None}

    def path_to(k: tuple[object, ...]) -> Path:
        steps = []
        link = parents[k]
        while link is not None:
            k, a = link
            steps.append(a)
            link = parents[k]
        return tuple(reversed(steps))

    frontier = [(k0, w0)]
    depth = 0
    while frontier and res.complete:
        nxt = []
        for k, w in frontier:
            for a, n in successors(w, stepper):
                res.transitions += 1
                nk = n.key(ids)
                new = nk not in parents
                if new:
                    parents[nk] = (k, a)
                for name, detail in n.findings:
                    f = res.findings[name]
                    if new:
                        f.states += 1
                    if f.path is None:
                        f.path, f.detail = (*path_to(k), a), detail
                        f.states = max(f.states, 1)
                if not new:
                    continue
                nxt.append((nk, n))
                if n.quiescent():
                    kind = classify(n)
                    out = res.outcome
                    if kind == "synchronized":
                        out.synchronized += 1
                    elif kind == "deleted":
                        out.deleted += 1
                        if len(out.deleted_paths) < keep_deleted:
                            out.deleted_paths.append(path_to(nk))
                    elif kind == "waiting":
                        out.waiting += 1
                    else:
                        out.neither += 1
                        if out.neither_path is None:
                            out.neither_path = path_to(nk)
                if max_states and len(parents) >= max_states:
                    res.complete = False
                    break
            if not res.complete:
                break
        if nxt:
            depth += 1
        frontier = nxt
    res.states = len(parents)
    res.depth = depth
    res.seconds = time.perf_counter() - t0
    return res


@dataclass
class Replay:
    """A path replayed: the worlds along it, how many of its steps could be taken (a step not
    possible in this configuration ends the replay there), and the stepper that took them."""

    worlds: list[World]
    taken: int
    stepper: Stepper


def replay(path: Path, bounds: Bounds, reading: SyncReading, policy: Policy) -> Replay:
    """``path`` replayed from the initial world under ``reading`` and ``policy``."""
    w, stepper = initial(bounds, reading, policy)
    worlds = [w]
    for taken, a in enumerate(path):
        acts = enabled(w, bounds)
        if a._replace(share_lost=False) not in acts or (
            a.share_lost and w.spent[SYNC_LOSSES] >= bounds.sync_losses
        ):
            return Replay(worlds, taken, stepper)
        w = stepper.apply(w, a)
        worlds.append(w)
    return Replay(worlds, len(path), stepper)


def settle(w: World, stepper: Stepper, limit: int = 500) -> tuple[Path, World]:
    """Run ``w`` on a reliable network until it is terminal: deliver the datagrams in flight (in
    their sorted order), and fire a timer only when nothing is in flight."""
    steps: list[Action] = []
    for _ in range(limit):
        if w.net:
            d = sorted(w.net)[0]
            a = Action("deliver", d.dst, d)
        else:
            due = [i for i, s in enumerate(w.sides) if s.sa.next_timer() is not None]
            if not due:
                return tuple(steps), w
            a = Action("timer", due[0])
        w = stepper.apply(w, a)
        steps.append(a)
    raise RuntimeError("the world did not settle")
