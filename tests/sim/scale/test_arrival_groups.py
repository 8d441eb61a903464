"""``arrival_groups``: a share's messages grouped by arrival time, as a mask per distinct time gives them."""

import numpy as np
import pytest

from hasim.sim.scale.sync import arrival_groups


@pytest.mark.parametrize("seed", range(20))
def test_groups_match_a_mask_per_distinct_time(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, standbys = int(rng.integers(0, 40)), int(rng.integers(1, 4))
    jitter = rng.random((n, standbys)) if seed % 2 else 0.0  # odd seeds: a time per message
    arrival = rng.choice([1.0, 1.5, 2.25], size=(n, standbys)) + jitter
    arrived = rng.random((n, standbys)) < 0.8
    want = [(t, *np.nonzero(arrived & (arrival == t))) for t in np.unique(arrival[arrived]).tolist()]
    got = arrival_groups(arrival, arrived)
    assert [t for t, _, _ in got] == [t for t, _, _ in want]
    for (_, rows, cols), (_, wrows, wcols) in zip(got, want, strict=True):
        assert rows.tolist() == wrows.tolist() and cols.tolist() == wcols.tolist()


def test_nothing_arrived_is_no_group() -> None:
    assert arrival_groups(np.ones((3, 2)), np.zeros((3, 2), dtype=bool)) == []
