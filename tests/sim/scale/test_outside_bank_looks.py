"""While no standby is alive the periodic share reads of an SA only what the counter rekeys need
(``records.outside_bank``: does the bank hold all its counters and windows, is one it does not hold near
the rekey limit), and only for SAs where that can have changed since the last look: those with values
the bank did not hold then, and those whose Child SAs or bound flows changed. Every SA called into
since and skipped would have read as held whole and not near."""

from __future__ import annotations

from typing import Any

from hasim.sim.model.sites import Member, Site
from hasim.sim.scale.sync import BatchEngine, ScaledSyncChannel
from hasim.sim.scale.world import ScaledWorld
from hasim.sim.scenario.config import ScenarioConfig

from ..scenarios import scenario


class _CheckedChannel(ScaledSyncChannel):
    """The cluster's channel, checking after each share that sent nothing the SAs it did not look at."""

    def __init__(self, world: BatchEngine, site: Site, looked: set[int]) -> None:
        super().__init__(world, site)
        self.looked = looked
        self.skipped = 0
        self.valued_seen = 0

    def share_all(self, m: Member) -> None:
        w = self.sworld
        standbys = [k for k in self.site.members if k is not m and k.alive]
        called = set(w.ike_dirty)
        self.looked.clear()
        super().share_all(m)
        if self.site is not w.cluster or (standbys and m.ready):
            return
        limit = w.cfg.traffic.rekey_counter_fraction * float(w.bank.limit) * (1 - 1e-12)
        for i in sorted(called - self.looked):
            assert w.sa_outside_bank(i, limit) == (False, False)
            assert i not in self._valued and i not in self._near
            self.skipped += 1
        self.valued_seen += len(self._valued)


class _World(ScaledWorld):
    def __init__(self, cfg: ScenarioConfig, seed: int) -> None:
        super().__init__(cfg, seed)
        self.looked: set[int] = set()
        self.checked = _CheckedChannel(self, self.cluster, self.looked)
        self.sync["cluster"] = self.checked

    def sa_outside_bank(self, i: int, limit: float) -> tuple[bool, bool]:
        self.looked.add(i)
        return super().sa_outside_bank(i, limit)


def test_skipped_sas_would_read_as_held_whole() -> None:
    """Two members; the active one crashes at 1 s and the standby takes over alone. Liveness checks
    every 0.5 s call into SAs without changing their Child SAs; rekeys every 4 s (staggered) and
    counter rekeys (after about 2,150 packets at 300 packets/s) change them."""
    sections: dict[str, Any] = {
        "scenario": {"duration_s": 12.0},
        "cluster": {"members": 2},
        "traffic": {
            "peers": 20,
            "child_sas": 1,
            "child_sas_max": 2,
            "esp_out_pps": 300.0,
            "esp_in_pps": 200.0,
            "liveness_interval_s": 0.5,
            "rekey_interval_s": 4.0,
            "rekey_jitter_s": 2.0,
            "rekey_counter_fraction": 5e-7,
        },
        "links": {"latency_s": 0.02, "jitter_s": 0.005, "loss": 0.01},
        "faults": [{"at_s": 1.0}],
    }
    world = _World(scenario(**sections), 4)
    world.run()
    assert world.failover.detections
    assert world.checked.skipped > 50 and world.checked.valued_seen > 0
