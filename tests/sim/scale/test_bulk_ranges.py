"""The pass over all flows done range by range (hasim/sim/scale/bulk.py): where the ranges are cut, and a
run whose passes are cut into many ranges gives the per-SA world's metrics; an epoch built in the last
one's memory (hasim/sim/scale/epoch.py resized)."""

from __future__ import annotations

import numpy as np
import pytest

from hasim.sim import simulate
from hasim.sim.scale import bank_state, bulk
from hasim.sim.scale.epoch import resized

from ..scenarios import metric_diff, scenario


def test_each_range_closes_with_the_flow_that_reaches_the_size() -> None:
    # running sums 3 3 5 | 10 | 11 12 13: the first range reaches 4 at flow 2, the second (from 5) reaches
    # 9 at flow 3, the rest (3) stays short of 4 and closes at the end
    assert bulk.range_bounds(np.array([3, 0, 2, 5, 1, 1, 1]), 4) == [0, 3, 4, 7]
    assert bulk.range_bounds(np.array([9, 9, 9]), 1) == [0, 1, 2, 3]  # a heavy flow is a range alone
    assert bulk.range_bounds(np.array([0, 0, 0]), 4) == [0, 3]  # nothing to move: one range
    assert bulk.range_bounds(np.array([2, 2]), 100) == [0, 2]
    assert bulk.range_bounds(np.zeros(0, dtype=np.int64), 4) == [0, 0]


def test_many_ranges_per_pass_give_the_per_sa_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loss, jitter, reordering, duplicates, rekeys (copies of an old SPI in flight) and a takeover,
    with passes cut into ranges of some 300 packets (six peers send about 4,800 a second)."""
    cut: list[int] = []
    real = bulk.range_bounds

    def counted(weight: np.ndarray, size: int) -> list[int]:
        bounds = real(weight, size)
        cut.append(len(bounds) - 1)
        return bounds

    monkeypatch.setattr(bulk, "range_bounds", counted)
    monkeypatch.setattr(bank_state, "RANGE_COPIES", 300)
    cfg = scenario(
        traffic={
            "peers": 6,
            "child_sas_max": 2,
            "rate_spread": 4.0,
            "esp_out_pps": 300.0,
            "esp_in_pps": 200.0,
            "rekey_interval_s": 12.0,
            "rekey_jitter_s": 10.0,
            "liveness_interval_s": 2.0,
        },
        links={"loss": 0.05, "jitter_s": 0.003, "reorder": 0.05, "duplicate": 0.02},
        faults=[{"at_s": 10.5}],
    )
    per_sa = simulate(cfg, 9, esp_path="vectorized").metrics
    scaled = simulate(cfg, 9, esp_path="scaled").metrics
    assert metric_diff(per_sa, scaled) == {}
    assert per_sa["esp_out_sent"] > 20_000 and per_sa["esp_out_replay_drops"] > 0  # duplicates met windows
    assert max(cut) >= 4  # the passes really went range by range


def test_an_array_is_resized_in_place_only_when_nothing_else_holds_it() -> None:
    a = np.arange(5.0)
    addr = id(a)
    box = [a]
    del a
    grown = resized(box, 8)
    assert box == [] and id(grown) == addr  # the same array, its first elements kept, zeros added
    assert grown.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0]
    view = grown[1:3]
    cut = resized([grown], 2)  # a view of it is alive (and the caller's name): a new array, copied
    assert cut is not grown and cut.tolist() == [0.0, 1.0]
    assert grown.shape == (8,) and view.tolist() == [1.0, 2.0]
