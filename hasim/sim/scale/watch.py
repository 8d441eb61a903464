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
counts and bounds of the other SAs are the same before and after it. A cohort keeps the tick each
watch is next due at in an array (taken in due tick, then start order, as a heap of them would give).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass
class _Watch:
    """One SA's watch: its receiving flows, drop count at the start and when the watch ends."""

    order: int
    i: int
    m: Any
    sa: Any
    flows: list[int]
    base: int
    end: float


class _Cohort:
    """The watches started at one instant: their common ticks, and per watch (in the order they started)
    the tick it is next due at (``len(ticks)``: never again)."""

    def __init__(self, start: float, poll: float, span: float) -> None:
        ticks = [start]
        end = start + span
        while ticks[-1] < end:  # the per-SA poll's last tick is the first one at or after its end
            ticks.append(ticks[-1] + poll)
        self.ticks = ticks
        self.tick_times = np.array(ticks)
        self.never = len(ticks)
        self.watches: list[_Watch] = []
        self._due: list[int] = []
        self.pending: set[int] = set()
        self.arrays: _CohortArrays | None = None
        """The watches as arrays, made at the first tick (every watch of a cohort starts at its start)."""

    def due_index(self, nxt: float, after: int) -> int:
        """The first tick after tick ``after`` at which ``nxt < tick`` (len(ticks) if none)."""
        return bisect_right(self.ticks, nxt, lo=after + 1)

    def add(self, w: _Watch, due: int) -> None:
        assert self.arrays is None, "a watch joined a cohort after its first tick"
        self.watches.append(w)
        self._due.append(due)

    def first_due(self) -> int:
        """The earliest tick any watch is due at (``never`` if none)."""
        if self.arrays is None:
            return min(self._due, default=self.never)
        due = self.arrays.due
        return int(due.min()) if due.shape[0] else self.never

    def as_arrays(self) -> _CohortArrays:
        if self.arrays is None:
            self.arrays = _CohortArrays(self.watches, self._due)
        return self.arrays


class _CohortArrays:
    """A cohort's watches as arrays: next due tick, base drop count and end per watch; every watch's flows
    in one array (watch by watch) with the watch each belongs to."""

    def __init__(self, watches: list[_Watch], due: list[int]) -> None:
        self.due = np.array(due, dtype=np.int64)
        self.base = np.array([w.base for w in watches], dtype=np.int64)
        self.end = np.array([w.end for w in watches])
        sizes = [len(w.flows) for w in watches]
        every = chain.from_iterable(w.flows for w in watches)
        self.flows = np.fromiter(every, dtype=np.int64, count=sum(sizes))
        self.owner = np.repeat(np.arange(len(watches), dtype=np.int64), sizes)

    def flows_of(self, ks: NDArray[np.int64]) -> tuple[NDArray[np.int64], ...]:
        """The flows of watches ``ks`` (in ascending order, each with at least one flow), the watch each
        belongs to, and where each watch's flows start among them."""
        mask = np.zeros(self.due.shape[0], dtype=bool)
        mask[ks] = True
        pos = np.flatnonzero(mask[self.owner])
        owners = self.owner[pos]
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        return self.flows[pos], owners, starts


class AnomalyWatches:
    """All out-of-window watches of one failover driver (see the module docstring)."""

    def __init__(
        self,
        env: Any,
        poll: float,
        span: float,
        *,
        move: Callable[[list[_Watch], list[int]], None],
        drops: Callable[[NDArray[np.int64]], NDArray[np.int64]],
        bound: Callable[[NDArray[np.int64]], NDArray[np.float64]],
        watching: Callable[[_Watch], bool],
        fire: Callable[[_Watch], None],
    ) -> None:
        """``move``: bring the due watches' SAs and flows (sorted) up to now; ``drops``: the replay drops of
        each flow so far; ``bound``: per flow, the earliest time a copy may arrive
        (``FlowBank.next_arrival_bound``)."""
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
        w = _Watch(len(c.watches), i, m, sa, flows, base, now + self.span)
        due = c.due_index(nxt, 0)
        c.add(w, due)
        if due < c.never:
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
        a = c.as_arrays()
        ks = np.flatnonzero(a.due <= j)
        if ks.shape[0]:
            order = np.argsort(a.due[ks], kind="stable")  # by due tick, then in the order they started
            ks = ks[order]
            a.due[ks] = c.never
            ws = c.watches
            due_ks = [k for k in ks.tolist() if self.watching(ws[k])]
            if due_ks:
                self._check(c, a, j, due_ks)
        first = c.first_due()
        if first < c.never:
            self._schedule(c, j, first)
        elif not c.pending:
            self._cohorts.pop(c.ticks[0], None)

    def _check(self, c: _Cohort, a: _CohortArrays, j: int, due_ks: list[int]) -> None:
        """The watches ``due_ks`` (still watching, in the order to check them) at tick ``j``."""
        ws = c.watches
        ks = np.array(due_ks, dtype=np.int64)
        flows, owners, starts = a.flows_of(ks)
        self.move([ws[k] for k in due_ks], np.unique(flows).tolist())
        drops = np.zeros(a.due.shape[0], dtype=np.int64)
        drops[owners[starts]] = np.add.reduceat(self.drops(flows), starts)
        now = c.ticks[j]
        over = drops[ks] > a.base[ks]
        if over.any():
            fired = False
            left: list[int] = []
            for k, hit in zip(due_ks, over.tolist(), strict=True):  # in the order the watches started
                if hit:
                    self.fire(ws[k])
                    fired = True
                    continue
                # a trigger fired moves and changes only its own SA: the others watch as before it
                if now >= a.end[k] or (fired and not self.watching(ws[k])):
                    continue
                left.append(k)
            rest = np.array(left, dtype=np.int64)
        else:
            rest = ks[a.end[ks] > now]
        if rest.shape[0] == 0:
            return
        flows, owners, starts = a.flows_of(rest)
        nxt = np.minimum.reduceat(self.bound(flows), starts)
        at = owners[starts]  # ascending: the watches of ``rest`` by order
        due = np.maximum(np.searchsorted(c.tick_times, nxt, side="right"), j + 1)
        a.due[at] = np.minimum(due, c.never)
