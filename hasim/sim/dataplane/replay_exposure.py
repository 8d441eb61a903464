"""How exposed a newly active member's stale inbound window leaves it to replays (RFC 6311 8.2, R8.2-1).

The old active member accepted packets up to some number; the standby's copy of the window is
older. Everything the old member accepted that the stale window has not seen and that is not yet
too old is, after the failover, a packet an attacker who captured it can replay successfully. The
two policies of section 8.2 trade this against dropping legitimate traffic:

- STRICT: at the failover the member marks every number up to the safe edge ``E = stale.top + delta``
  as received (``delta`` is what it asks the peer to skip with IPSEC_REPLAY_COUNTER_SYNC, R5.2-4).
  Only old packets above ``E`` stay replayable (none when ``delta`` was large enough); legitimate
  packets the peer sent before it applied the delta and numbered at or below ``E`` are dropped.
- LENIENT: the member keeps the stale window for ``grace_s`` and only then marks through ``E``: the
  legitimate packets of that period pass, and so does every replay.

The timeline modelled (t = 0 at the failover): the attacker replays every captured packet at once;
legitimate packet k (k = 0, 1, ...) arrives at k / rate numbered ``peer_next + k``, or
``peer_next + k + delta`` once the peer has applied the delta at ``sync_s`` (R5.2-6). A replayable
packet stops being replayable when the window has moved ``size`` past it or when the safe edge
covers it. ``peer_next`` is taken to be above every old number and the stale edge (the peer never
went back).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hasim.errors import ConfigError
from hasim.protocol.anti_replay import ReplayOutcome, ReplayPolicy
from hasim.sim.dataplane.vector_window import check_each
from hasim.sim.dataplane.window_state import WindowState


@dataclass(frozen=True)
class ReplayExposure:
    """The figures of one SA's failover: what could be replayed, for how long, and what was lost."""

    policy: ReplayPolicy
    safe_edge: int
    replayable: int
    """Distinct packets the old member accepted that the new member accepts again when replayed."""
    exposure_s: float
    """Seconds after the failover until no captured packet can be replayed (inf: never, without traffic)."""
    legit_dropped: int
    """Legitimate packets dropped because the safe edge was applied before the peer's skip took effect."""
    lowest: int | None = None
    highest: int | None = None
    """The range of replayable numbers (None when nothing is replayable)."""


def replay_exposure(
    old_accepted: ArrayLike,
    stale: WindowState,
    *,
    policy: ReplayPolicy,
    delta: int,
    grace_s: float = 0.0,
    rate_pps: float = 0.0,
    sync_s: float = math.inf,
    peer_next: int | None = None,
) -> ReplayExposure:
    """Replay exposure of a new member holding ``stale`` after a failover (R8.2-1).

    ``old_accepted``: numbers the old active member accepted (any order; the sim's record, or
    ``WindowState.received_numbers()`` of its last window plus what came after the snapshot).
    ``delta``: the incoming skip requested from the peer; ``grace_s``: how long LENIENT keeps the stale
    window; ``rate_pps``: the peer's legitimate packet rate after the failover; ``sync_s``: when the
    peer applies ``delta``; ``peer_next``: the peer's next number at the failover (default: one above
    every old and stale number).
    """
    if delta < 0:
        raise ConfigError("delta", f"must be >= 0, got {delta}")
    if grace_s < 0 or rate_pps < 0 or sync_s < 0:
        raise ConfigError("grace_s", "times and rates must be >= 0")
    old = np.unique(np.asarray(old_accepted, dtype=np.uint64))
    limit = 2**64 - 1 if stale.esn else 2**32 - 1
    edge = min(stale.top + delta, limit)
    if peer_next is None:
        peer_next = max(stale.top, int(old[-1]) if old.size else 0) + 1
    lenient = policy is ReplayPolicy.LENIENT and grace_s > 0
    window = stale if lenient else stale.mark_received_through(edge)
    replayable = old[check_each(window, old) == ReplayOutcome.ACCEPTED]

    k_sync = math.ceil(sync_s * rate_pps) if rate_pps and math.isfinite(sync_s) else math.inf
    # legitimate packets numbered <= edge, arriving after the mark and before the peer's skip
    below_edge = max(edge - peer_next + 1, 0)
    legit_dropped = 0
    if rate_pps and not (lenient and math.isinf(grace_s)):
        k_mark = math.ceil(grace_s * rate_pps) if lenient else 0
        legit_dropped = int(max(min(k_sync, below_edge) - k_mark, 0))

    # The end time grows with the number, except that the grace mark cuts it for numbers <= edge:
    # the largest replayable number and the largest one at or below the edge give the maximum.
    exposure = 0.0
    candidates = [replayable[-1:], replayable[replayable <= np.uint64(edge)][-1:]]
    for a in {int(x) for part in candidates for x in part}:
        until = _replayable_until(a, stale.size, edge, lenient, grace_s, rate_pps, k_sync, peer_next, delta)
        exposure = max(exposure, until)
    return ReplayExposure(
        policy=policy,
        safe_edge=edge,
        replayable=int(replayable.size),
        exposure_s=exposure,
        legit_dropped=legit_dropped,
        lowest=int(replayable[0]) if replayable.size else None,
        highest=int(replayable[-1]) if replayable.size else None,
    )


def _replayable_until(
    a: int,
    size: int,
    edge: int,
    lenient: bool,
    grace_s: float,
    rate_pps: float,
    k_sync: float,
    peer_next: int,
    delta: int,
) -> float:
    """When old number ``a`` stops being replayable: the window moved past it, or the mark covers it."""
    by_mark = grace_s if lenient and a <= edge else math.inf
    if size == 0 or rate_pps == 0:
        return by_mark
    need = a + size - peer_next  # legitimate packet index whose number pushes ``a`` out of the window
    if need <= 0:
        k = 0
    elif need < k_sync:
        k = need
    else:
        k = max(int(k_sync), need - delta)
    return min(by_mark, k / rate_pps)
