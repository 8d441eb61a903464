"""The out-of-window watches of many SAs (the ``out_of_window`` and ``lazy`` RFC 6311 triggers, R7-1) on one
shared clock.

After a takeover the per-SA world polls every armed SA every ``ANOMALY_POLL_S`` (10 ms) for up to
``ANOMALY_WATCH_S`` (10 s) and fires the trigger at the first poll that finds a new replay drop. At
10,000 SAs that is ten million SimPy events, and a small ESP pass per SA at nearly every one of them.
Here the watches that start at the same instant share one tick sequence (the same floating-point
times: ``t + poll`` added up tick by tick, as SimPy adds the timeouts), and each watch is looked at
only at the tick that first follows the moment a copy may have reached one of its receivers (before
that its drop count cannot change). The SAs due at a tick move in one pass, then are checked in the
order the per-SA watches would run (the order they started), so triggers ask the sync gate in the
same order at the same times, and outcomes are those of the per-SA poll:

- a watch whose SA stopped being watched between two ticks (member crashed, SA replaced, trigger
  already asked for or sync started) ends at its next due tick without acting; the per-SA poll would
  have ended earlier, also without acting (these conditions never turn back within one takeover);
- a tick is only skipped when no copy can have arrived for any of its SAs, i.e. when the per-SA poll
  would have found the same drop count.

The drop counts and arrival bounds of all watches due at a tick are read in one pass over their flows
(``drops`` and ``bound`` answer per flow): a trigger that fires moves only its own SA's flows, so the
counts and bounds of the other SAs are the same before and after it.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass
class _Watch:
    """One SA's watch: its receiving flows, drop count at the start, the earliest time a copy may arrive
    (``nxt``) and when the watch ends."""

    order: int
    i: int
    m: Any
    sa: Any
    flows: list[int]
    base: int
    nxt: float
    end: float


class _Cohort:
    """The watches started at one instant: their common ticks and the watches by next due tick."""

    def __init__(self, start: float, poll: float, span: float) -> None:
        ticks = [start]
        end = start + span
        while ticks[-1] < end:  # the per-SA poll's last tick is the first one at or after its end
            ticks.append(ticks[-1] + poll)
        self.ticks = ticks
        self.tick_times = np.array(ticks)
        self.heap: list[tuple[int, int, _Watch]] = []
        """(due tick, order started, watch)."""
        self.pending: set[int] = set()
        self.count = 0

    def due_index(self, nxt: float, after: int) -> int:
        """The first tick after tick ``after`` at which ``nxt < tick`` (len(ticks) if none)."""
        return bisect_right(self.ticks, nxt, lo=after + 1)


class AnomalyWatches:
    """All out-of-window watches of one failover driver (see the module docstring)."""

    def __init__(
        self,
        env: Any,
        poll: float,
        span: float,
        *,
        move: Callable[[list[_Watch]], None],
        drops: Callable[[NDArray[np.int64]], NDArray[np.int64]],
        bound: Callable[[NDArray[np.int64]], NDArray[np.float64]],
        watching: Callable[[_Watch], bool],
        fire: Callable[[_Watch], None],
    ) -> None:
        """``drops``: the replay drops of each flow so far; ``bound``: per flow, the earliest time a copy
        may arrive (``FlowBank.next_arrival_bound``)."""
        self.env, self.poll, self.span = env, poll, span
        self.move, self.drops, self.bound = move, drops, bound
        self.watching, self.fire = watching, fire
        self._cohorts: dict[float, _Cohort] = {}

    def add(self, i: int, m: Any, sa: Any, flows: list[int], base: int, nxt: float) -> None:
        """Start watching SA ``i`` now (its drop count so far ``base``, no copy before ``nxt``)."""
        now = self.env.now
        c = self._cohorts.get(now)
        if c is None:
            c = self._cohorts[now] = _Cohort(now, self.poll, self.span)
        w = _Watch(c.count, i, m, sa, flows, base, nxt, now + self.span)
        c.count += 1
        due = c.due_index(nxt, 0)
        if due < len(c.ticks):
            heapq.heappush(c.heap, (due, w.order, w))
            self._schedule(c, 0, due)

    def _schedule(self, c: _Cohort, at: int, j: int) -> None:
        """An event at tick ``j`` of cohort ``c``, now being tick ``at``: exactly at that float time, or a
        step of one poll (SimPy's own addition) when the jump would not land on it exactly."""
        if j in c.pending:
            return
        now = self.env.now
        delay = c.ticks[j] - now
        if now + delay != c.ticks[j]:
            j, delay = at + 1, self.poll
            if j in c.pending:
                return
        c.pending.add(j)
        ev = self.env.timeout(delay)
        ev.callbacks.append(lambda _: self._tick(c, j))

    def _tick(self, c: _Cohort, j: int) -> None:
        """Tick ``j``: move the due watches' flows in one pass, then check each in start order."""
        c.pending.discard(j)
        due: list[_Watch] = []
        while c.heap and c.heap[0][0] <= j:
            due.append(heapq.heappop(c.heap)[2])
        due = [w for w in due if self.watching(w)]
        if due:
            self.move(due)
            sizes = [len(w.flows) for w in due]  # at least one each: a watch without flows is never due
            flows = np.fromiter(chain.from_iterable(w.flows for w in due), dtype=np.int64, count=sum(sizes))
            starts = np.zeros(len(due), dtype=np.int64)
            np.cumsum(sizes[:-1], out=starts[1:])
            drops = np.add.reduceat(self.drops(flows), starts).tolist()
            now = c.ticks[j]
            fired = False
            left: list[int] = []
            for k, w in enumerate(due):  # in the order the watches started
                if drops[k] > w.base:
                    self.fire(w)
                    fired = True
                    continue
                # a trigger fired moves and changes only its own SA: the others watch as before it
                if now >= w.end or (fired and not self.watching(w)):
                    continue
                left.append(k)
            if left:
                at = np.array(left, dtype=np.int64)
                nxt = np.minimum.reduceat(self.bound(flows), starts)[at]
                nexts = np.maximum(np.searchsorted(c.tick_times, nxt, side="right"), j + 1).tolist()
                last = len(c.ticks)
                for k, b, d in zip(left, nxt.tolist(), nexts, strict=True):
                    w = due[k]
                    w.nxt = b
                    if d < last:
                        heapq.heappush(c.heap, (d, w.order, w))
        if c.heap:
            self._schedule(c, j, c.heap[0][0])
        elif not c.pending:
            self._cohorts.pop(c.ticks[0], None)
