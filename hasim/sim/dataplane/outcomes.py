"""Counting anti-replay outcomes: which flow statistic each outcome adds to, and the first acceptance.

Every path that delivers ESP packets (a flow's vectorized batches and its packet-by-packet reference, the
flow bank's passes over many flows, over a few, and its copies sent before a rekey) counts what the
receiver's window decided through these functions (in array form, and packet by packet for a few packets,
side by side), so the statistics mean the same on every path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from hasim.protocol.anti_replay import ReplayOutcome

OUTCOME_COUNTERS = ("accepted", "duplicate", "too_old", "unverifiable")
"""The flow statistic of each outcome, by its code (``ReplayOutcome``); the last three are the replay
drops."""

assert tuple(o.name.lower() for o in ReplayOutcome) == OUTCOME_COUNTERS


def tally(
    out: NDArray[np.int8], group: NDArray[np.int64] | None = None, groups: int = 1
) -> NDArray[np.int64]:
    """How many packets got each outcome, shape (groups, 4): all in one group, or per ``group`` index."""
    n = len(ReplayOutcome)
    if group is None:
        return np.bincount(out.astype(np.intp), minlength=n).reshape(1, n)
    return np.bincount(group * n + out.astype(np.int64), minlength=n * groups).reshape(groups, n)


def accepted_from(
    out: NDArray[np.int8], arrival: NDArray[np.float64], watch: float | NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Which packets count for recovery after a takeover: accepted, arriving at or after the watch time
    (a NaN watch time, i.e. none, matches nothing)."""
    return (out == ReplayOutcome.ACCEPTED) & (arrival >= watch)


def tally_each(out: Iterable[int]) -> list[int]:
    """``tally`` packet by packet, for a few packets (cheaper than arrays): how many got each outcome."""
    counts = [0] * len(OUTCOME_COUNTERS)
    for o in out:
        counts[o] += 1
    return counts


def first_accepted_from(out: Sequence[int], arrival: Sequence[float], watch: float) -> float | None:
    """``accepted_from`` packet by packet: the arrival of the first packet that counts for recovery."""
    for o, a in zip(out, arrival, strict=True):
        if o == ReplayOutcome.ACCEPTED and a >= watch:
            return a
    return None
