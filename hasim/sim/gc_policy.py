"""Python's cyclic garbage collector held back for the length of one run.

A 10,000-peer run keeps millions of long-lived objects (IKE SAs, Child SAs, their snapshots, SimPy
events); CPython's default thresholds (700, 10, 10) make every full collection walk all of them again,
which cost about 15% of such a run's wall time while finding almost nothing to free (a run's objects
are freed by reference counting; the cycles it makes are few and young). During a run the young
generation is collected every 100,000 allocations instead of 700, and the caller's objects are frozen
(not walked) until the run ends; both are restored afterwards. Results do not depend on it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RUN_THRESHOLDS = (100_000, 20, 20)
"""Generation thresholds while a run is on (CPython's defaults are (700, 10, 10))."""


@contextmanager
def collector_held_back() -> Iterator[None]:
    """Raise the collector's thresholds and freeze what exists for the duration of the block."""
    old = gc.get_threshold()
    froze = gc.get_freeze_count() == 0  # leave a caller's own freeze alone
    if froze:
        gc.freeze()
    gc.set_threshold(*RUN_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if froze:
            gc.unfreeze()
