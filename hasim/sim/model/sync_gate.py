"""A member's capacity to start RFC 6311 sync exchanges: a first-come first-served gate.

RFC 6311 section 7 warns that a newly active member with many peers can be overloaded by the sync
exchanges it must run (R7-6 is why lazy triggers exist). What costs the member is the exchange,
not the takeover: a hot standby holds every SA's state and takes them all over at once. So the
protocol core runs with a sync gate (``MemberPolicy.sync_gate``): a fired trigger asks to start its
exchange, and this gate lets one exchange start per ``1 / rate`` seconds, in the order asked.

The gate starts an exchange at the very moment it is free: an ask on an idle gate is served by a
SimPy process whose first step runs before any ordinary event of the same instant (SimPy runs a
new process's initialization with urgent priority), so a proactive sync that finds capacity is out
before, say, an attacker's replay scheduled for the takeover instant. A queued start whose SA went
away meanwhile (deleted, member crashed) costs no capacity.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import simpy


class SyncGate:
    """One member's sync-exchange starts: at most ``rate`` per second, first asked first started."""

    def __init__(self, env: simpy.Environment, rate_per_s: float) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        self.env = env
        self.period_s = 1.0 / rate_per_s
        self.waiting: deque[Callable[[], bool]] = deque()
        self.busy = False
        self.started = 0

    def ask(self, start: Callable[[], bool]) -> None:
        """Queue ``start``; it runs when the gate is free and returns whether an exchange started
        (False: nothing to start any more, the slot goes to the next in line at once)."""
        self.waiting.append(start)
        if not self.busy:
            self.busy = True
            self.env.process(self._serve())

    def _serve(self) -> Generator[simpy.Event, Any, None]:
        while self.waiting:
            start = self.waiting.popleft()
            if start():
                self.started += 1
                yield self.env.timeout(self.period_s)
        self.busy = False
