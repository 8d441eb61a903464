"""The scaled world's memory follows SAs, window sizes and rates, not the number of packets: running twice
as long, or (with the epoch's packet budget reached) at twice the rate, does not grow what it holds."""

from __future__ import annotations

from typing import Any

import pytest

import hasim.sim.scale.world as scale_world
from hasim.sim.scale.world import ScaledWorld

from ..scenarios import scenario


class _Watched(ScaledWorld):
    """Records the bank's array bytes and the IV tracker's ranges at every pass over all flows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.peak_bank = 0
        self.peak_ranges = 0

    def advance_all(self) -> None:
        super().advance_all()
        if self.bank is not None:
            self.peak_bank = max(self.peak_bank, self.bank.memory_bytes())
            ranges = sum(len(r.starts) for r in self.ivs._used.values())
            self.peak_ranges = max(self.peak_ranges, ranges)


def _run(duration_s: float, rate: float) -> _Watched:
    cfg = scenario(
        scenario={"duration_s": duration_s},
        cluster={"sync_interval_s": 0.25},
        traffic={"peers": 20, "esp_out_pps": rate, "esp_in_pps": rate, "model": "poisson"},
        links={"loss": 0.01, "jitter_s": 0.005},
        faults=[{"at_s": duration_s / 2 + 0.5}],
    )
    w = _Watched(cfg, 3)
    w.run()
    return w


@pytest.fixture(autouse=True)
def _small_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scale_world, "_EPOCH_PACKETS_PER_FLOW", 1_000)  # epochs of 2 s at 500 packets/s


def test_twice_as_long_holds_no_more() -> None:
    short, long = _run(20.0, 500.0), _run(40.0, 500.0)
    sent = lambda w: sum(f.stats.sent for fl in w.flows.values() for f in fl)  # noqa: E731
    assert sent(long) > 1.9 * sent(short)
    assert long.peak_bank <= 1.1 * short.peak_bank
    assert long.peak_ranges <= short.peak_ranges + 4


def test_twice_the_rate_holds_about_the_same() -> None:
    slow, fast = _run(20.0, 500.0), _run(20.0, 1000.0)
    assert fast.bank.epoch_s < 0.6 * slow.bank.epoch_s
    assert fast.peak_bank <= 1.35 * slow.peak_bank
