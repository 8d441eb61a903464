"""The ESP data plane: offered traffic, link fate, ESP flows and the anti-replay windows they reach.

Kept below the model because a packet's path asks the cluster only who sends and who receives
(``esp_flows.FlowEnds``): ``traffic`` gives send times, ``link`` decides loss, delay, reordering and
duplication, ``esp_flows`` carries one direction of a Child SA, and the window modules decide each
arrival, vectorized over whole batches.

``check_batch(state, seqs)`` gives, for packets in arrival order, exactly the outcomes of the
reference ``hasim.protocol.anti_replay.ReplayWindow``; ``replay_exposure`` measures what an attacker
can replay after a failover under the strict and lenient policies of RFC 6311 section 8.2.
"""

from __future__ import annotations

from hasim.sim.dataplane.replay_exposure import ReplayExposure, replay_exposure
from hasim.sim.dataplane.vector_window import (
    check_batch,
    check_batch_reference,
    check_each,
    count_outcomes,
    receive_batch,
)
from hasim.sim.dataplane.window_bank import WindowBank, check_bank
from hasim.sim.dataplane.window_state import WindowState

__all__ = [
    "ReplayExposure",
    "WindowBank",
    "WindowState",
    "check_bank",
    "check_batch",
    "check_batch_reference",
    "check_each",
    "count_outcomes",
    "receive_batch",
    "replay_exposure",
]
