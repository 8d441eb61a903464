"""Counting anti-replay outcomes, the one count every delivery path uses: numbers by hand."""

from __future__ import annotations

import math

import numpy as np

from hasim.protocol.anti_replay import ReplayOutcome, ReplayWindow
from hasim.sim.dataplane.esp_flows import FlowStats
from hasim.sim.dataplane.outcomes import OUTCOME_COUNTERS, accepted_from, tally


def test_tally_counts_each_outcome() -> None:
    out = np.array([0, 1, 0, 2, 3, 0, 1], dtype=np.int8)
    assert tally(out).tolist() == [[3, 2, 1, 1]]


def test_tally_per_group() -> None:
    out = np.array([0, 0, 1, 2, 0, 3], dtype=np.int8)
    group = np.array([0, 0, 0, 2, 2, 2])
    assert tally(out, group, 3).tolist() == [[2, 1, 0, 0], [0, 0, 0, 0], [1, 0, 1, 1]]


def test_counters_follow_the_outcome_codes() -> None:
    assert OUTCOME_COUNTERS[ReplayOutcome.ACCEPTED] == "accepted"
    assert OUTCOME_COUNTERS[ReplayOutcome.TOO_OLD] == "too_old"


def test_flow_stats_add_a_window_s_decisions() -> None:
    # a window of 32: 5 accepted, 5 again a duplicate, 40 accepted moves the edge, 5 then too old
    win = ReplayWindow(32)
    stats = FlowStats()
    for seq in (5, 5, 40, 5, 6):
        stats.outcomes[win.receive(seq)] += 1  # as the packet-by-packet path counts
    assert (stats.accepted, stats.duplicate, stats.too_old, stats.unverifiable) == (2, 1, 2, 0)
    assert stats.replay_drops == 3
    stats.add(tally(np.array([0, 3, 3], dtype=np.int8))[0])  # as a batch counts
    assert (stats.accepted, stats.unverifiable) == (3, 2)


def test_accepted_from_the_watch_time_on() -> None:
    out = np.array([0, 1, 0, 0], dtype=np.int8)
    arrival = np.array([1.0, 2.0, 2.0, 3.0])
    assert accepted_from(out, arrival, 2.0).tolist() == [False, False, True, True]
    assert not accepted_from(out, arrival, math.nan).any()  # no watch: nothing counts
