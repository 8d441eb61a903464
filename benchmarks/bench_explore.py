"""Exhaustive exploration speed: distinct states per second of ``hasim explore`` at a bound deeper
than the test suite's (the default bound with one state copy to the standby, window 1).

Prints ``bench explore states=... transitions=... depth=... seconds=... states_per_s=... peak_mib=...``
(peak resident memory during the search). The search is exhaustive, so ``states`` is a fixed number
for a given protocol core; the rate and the memory are what change with the machine and the
explorer's own cost.
"""

from __future__ import annotations

from benchmarks.memory import peak_mib, reset_peak
from hasim.explore.model import POLICIES, Bounds
from hasim.explore.search import explore
from hasim.protocol.policy import SyncReading

BOUNDS = Bounds(window=1, syncs=1)


def main() -> None:
    """Print the bench line."""
    reset_peak()
    res = explore(BOUNDS, SyncReading.STRICT, POLICIES["proactive"])
    assert res.complete
    print(
        f"bench explore states={res.states} transitions={res.transitions} depth={res.depth} "
        f"seconds={res.seconds:.1f} states_per_s={res.states / res.seconds:.0f} peak_mib={peak_mib():.0f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
