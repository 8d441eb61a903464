"""The readings of R5.1-5 side by side: a terminal state where one loses the IKE SA and another,
taking the same steps, keeps it (AMB-1 answered at a bound, with the shortest such path).

The lossy reading is searched; its terminal states with the SA deleted are taken shortest first,
and each path is replayed under the other reading for as long as the other reading can take the
same steps (it cannot once the protocol diverges, say the sync is answered instead of dropped and
no timer is due), then run on a reliable network until terminal. The first path whose replay ends
synchronized is the answer: the same events, the SA lost under one reading and kept under the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from hasim.explore.model import Bounds, Policy
from hasim.explore.search import Exploration, Path, classify, explore, replay, settle
from hasim.protocol.policy import SyncReading


@dataclass
class Divergence:
    """A path that ends with the SA deleted under ``lossy`` and synchronized under ``other``."""

    lossy: SyncReading
    other: SyncReading
    lossy_path: Path
    other_path: Path
    followed: int
    """How many steps of ``lossy_path`` the other reading took before it ran on its own."""


def sa_lost_only_under(
    bounds: Bounds,
    policy: Policy,
    lossy: SyncReading = SyncReading.STRICT,
    other: SyncReading = SyncReading.SYNC_ONLY,
    keep: int = 5000,
    max_states: int = 0,
) -> tuple[Exploration, Divergence | None]:
    """Search under ``lossy``; the shortest terminal SA loss that ``other`` avoids, if any."""
    res = explore(bounds, lossy, policy, keep_deleted=keep, max_states=max_states)
    for path in res.outcome.deleted_paths:
        rep = replay(path, bounds, other, policy)
        tail, end = settle(rep.worlds[-1], rep.stepper)
        if classify(end) == "synchronized":
            return res, Divergence(lossy, other, path, (*path[: rep.taken], *tail), rep.taken)
    return res, None
