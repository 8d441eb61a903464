"""The unmutated protocol core at the default bound of ``hasim explore``: every safety property
holds in every one of at least 100,000 distinct states per window size, the search is exhaustive
(it ran out of states, not budget), and every terminal state is synchronized or has the SA deleted."""

from __future__ import annotations

import pytest

from hasim.explore.model import POLICIES, Bounds
from hasim.explore.search import explore
from hasim.protocol.policy import SyncReading


@pytest.mark.parametrize("window", [1, 2])
def test_default_bound_is_exhaustive_and_every_safety_property_holds(window: int) -> None:
    bounds = Bounds(window=window)
    assert (bounds.failovers, bounds.sync_losses, bounds.in_flight) == (2, 1, 6)
    res = explore(bounds, SyncReading.STRICT, POLICIES["proactive"])
    assert res.complete and res.states >= 100_000
    broken = {f.name: f.detail for f in res.findings.values() if f.safety and not f.holds}
    assert broken == {}
    out = res.outcome
    assert out.neither == 0 and out.synchronized > 0 and out.deleted > 0
    # the search went as deep as the bounds allow: both failovers and the lost copy were used
    assert res.depth >= 12
