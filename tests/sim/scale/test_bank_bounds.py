"""The out-of-window watches read many flows at once (``FlowBank.next_arrival_bounds`` and
``replay_drops_each``): each flow's answer must be what the one-flow questions give, whatever the bank
holds then (copies in flight in the pool up to its last slot, in side queues, from split-brain senders),
at every checkpoint of runs with rekeys, jitter, a takeover and split brains."""

from __future__ import annotations

import numpy as np
import pytest

from hasim.sim.scale.world import ScaledWorld
from hasim.sim.scenario.config import ScenarioConfig

from ..scenarios import scenario
from .split_brains import split_brains


class _CheckedWorld(ScaledWorld):
    """A scaled world that asks the bank both ways at every checkpoint."""

    def __init__(self, cfg: ScenarioConfig, seed: int) -> None:
        super().__init__(cfg, seed)
        self.seen = {"pool": 0, "pool_tail": 0, "side": 0, "split": 0, "drops": 0}

    def advance_sa(self, i: int) -> None:
        super().advance_sa(i)
        self._check()

    def advance_all(self) -> None:
        super().advance_all()
        self._check()

    def _check(self) -> None:
        bank = self.bank
        if bank is None or bank.closed:
            return
        flows = np.arange(bank.n, dtype=np.int64)[::-1].copy()  # any order, not only the bank's
        bounds = bank.next_arrival_bounds(flows).tolist()
        drops = bank.replay_drops_each(flows).tolist()
        for f, b, d in zip(flows.tolist(), bounds, drops, strict=True):
            assert b == bank.next_arrival_bound([f])
            assert d == bank.replay_drops([f])
            lo, hi = int(bank.p_seg[f]), int(bank.p_seg[f + 1])
            self.seen["pool"] += hi > lo
            self.seen["pool_tail"] += hi > lo and hi == bank.p_arr.shape[0]
            self.seen["side"] += f in bank.side
            self.seen["split"] += f in bank.split_copies
            self.seen["drops"] += d > 0


@pytest.mark.parametrize("seed", [3, 4])
def test_bounds_and_drops_of_many_flows_are_each_flows_own(seed: int) -> None:
    world = _CheckedWorld(
        scenario(**split_brains(2, 10.0, 6.5, {"latency_s": 0.01, "jitter_s": 0.005, "loss": 0.01})), seed
    )
    world.run()
    assert world.failover.false_failovers >= 1
    assert all(v > 0 for v in world.seen.values()), world.seen
