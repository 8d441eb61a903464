"""The pass over all flows done range by range (hasim/sim/scale/bulk.py): where the ranges are cut, and a
run whose passes are cut into many ranges gives the per-SA world's metrics; the buffers each epoch is
built in (hasim/sim/scale/epoch.py room)."""

from __future__ import annotations

import numpy as np
import pytest

from hasim.sim import simulate
from hasim.sim.scale import bank_state, bulk
from hasim.sim.scale.epoch import room

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


def test_a_buffer_is_kept_while_it_has_room_and_grown_in_place_when_nothing_else_holds_it() -> None:
    bufs: dict[str, np.ndarray] = {}
    first = room(bufs, "t", 64)
    assert first.shape == (80,) and bufs["t"] is first  # a quarter more than asked
    first[:] = np.arange(80.0)
    assert room(bufs, "t", 80) is first and room(bufs, "t", 10) is first  # room enough: the same
    addr = id(first)
    del first
    grown = room(bufs, "t", 100)  # grown in place: the same array, its elements kept, zeros added
    assert id(grown) == addr and grown.shape == (125,) and bufs["t"] is grown
    assert grown[:80].tolist() == list(range(80)) and not grown[80:].any()
    view = grown[:5]
    del grown
    again = room(bufs, "t", 150)  # a view of it is alive: a new array, copied
    assert id(again) != addr and again.shape == (187,) and again[:80].tolist() == list(range(80))
    assert view.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    far = room(bufs, "t", 1000)  # far too small (less than half): a new array, copied
    assert far.shape == (1250,) and far[:80].tolist() == list(range(80)) and bufs["t"] is far
