"""``sa_ends`` (every flow of an SA at once) gives what each flow's ``SlotEnds`` says on its own, at every
checkpoint of runs with rekeys, a crash and takeover, and split brains with two and three masters; and
after every checkpoint the flows are bound to what it says (a membership change re-reads only what it
can have moved)."""

from __future__ import annotations

from typing import Any

import pytest

from hasim.sim.model.sites import Site
from hasim.sim.scale.ends import FlowEnd, SaEnds, SiteNow
from hasim.sim.scale.world import ScaledWorld
from hasim.sim.scenario.config import ScenarioConfig

from ..scenarios import scenario
from .split_brains import split_brains


class _CheckedWorld(ScaledWorld):
    """A scaled world that asks each flow's ``SlotEnds`` too whenever it asks ``sa_ends``."""

    def __init__(self, cfg: ScenarioConfig, seed: int) -> None:
        super().__init__(cfg, seed)
        self.asked = 0
        self.with_splits = 0
        self.without_sender = 0
        self.bound_checked = 0

    def _ends(self, i: int, sites: dict[Site, SiteNow] | None = None) -> SaEnds:
        got = super()._ends(i, sites)
        self._agree(i, got)
        self.asked += 1
        self.with_splits += any(e.splits for e in got)
        self.without_sender += any(e.tx is None for e in got)
        return got

    def _agree(self, i: int, got: SaEnds) -> None:
        want = []
        for f in self.flows_of[i]:
            ends = self.bank.flows[f].ends
            tx = ends.sender()
            spi = tx.spi_out if tx is not None else int(self.bank.spi[f])
            rx = ends.receiver(spi) if spi >= 0 else None
            want.append(FlowEnd(tx, rx, spi, tuple(ends.split_senders())))
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            assert a.tx is b.tx and a.rx is b.rx and a.spi == b.spi
            assert [(x.member, id(x.child)) for x in a.splits] == [(x.member, id(x.child)) for x in b.splits]

    def advance_sa(self, i: int) -> None:
        """After the checkpoint, SA ``i``'s flows are bound to what each flow's ``SlotEnds`` says now
        (unless released): a membership change that is not followed by a settle of SA ``i`` (no holder
        of any site changed) must have left its ends as they were."""
        super().advance_sa(i)
        if self.bank is not None and not self.esp_closed and i not in self.released:
            self._agree(i, self.ends_now[i])
            self.bound_checked += 1

    def advance_all(self) -> None:
        super().advance_all()
        if self.bank is not None and not self.esp_closed:
            for i in range(self.cfg.traffic.peers):
                if i not in self.released:
                    self._agree(i, self.ends_now[i])
                    self.bound_checked += 1


@pytest.mark.parametrize("members", [2, 3])
def test_sa_ends_agrees_with_each_flow_through_split_brains(members: int) -> None:
    world = _CheckedWorld(scenario(**split_brains(members, 12.0, 7.5)), 3)
    world.run()
    assert world.failover.false_failovers >= 1
    assert world.with_splits > 0 and world.without_sender > 0 and world.asked > 50
    assert world.bound_checked > 300


def test_sa_ends_agrees_with_each_flow_through_rekeys_and_a_takeover() -> None:
    sections: dict[str, Any] = {
        "scenario": {"duration_s": 10.0},
        "traffic": {"peers": 5, "child_sas": 1, "child_sas_max": 2, "rekey_interval_s": 2.0},
        "faults": [{"at_s": 4.5}],
    }
    world = _CheckedWorld(scenario(**sections), 1)
    world.run()
    assert world.failover.detections and world.without_sender > 0
    assert world.bound_checked > 100
