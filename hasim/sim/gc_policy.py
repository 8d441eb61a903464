"""Python's cyclic garbage collector off for the length of one run.

A large run keeps millions of long-lived objects (IKE SAs, Child SAs, their snapshots, SimPy events,
the flow bank's per-flow objects), and a collection of even the youngest generation looks at the
objects its members refer to, scattered over the whole heap: the collector's time per peer grew with
the peers (with the young generation collected every 100,000 allocations: 4.3% of the run at 10,000
peers, 6.6% at 30,000). It frees nothing: a run's objects are freed by reference counting, and a
run makes no reference cycles but the world itself, which takes itself apart once its results are
read (``World.dismantle``) so that it too is freed by reference counting, and SimPy's environment
(8 objects, with its bound methods). So during a run the
collector is off; the caller's setting is restored afterwards, and its first pass then finds only
what the caller made. Results do not depend on it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_held_back() -> Iterator[None]:
    """Disable automatic collection for the duration of the block (a caller's own setting is restored)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
