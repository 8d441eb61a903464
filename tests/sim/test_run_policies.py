"""What a run sets for its process and gives back: the cyclic collector off, the C heap kept."""

from __future__ import annotations

import ctypes
import gc

import numpy as np
import pytest

from hasim.sim.gc_policy import collector_held_back
from hasim.sim.heap_policy import _glibc, heap_kept


def test_collector_off_during_the_block_and_the_callers_setting_restored() -> None:
    assert gc.isenabled()
    with collector_held_back():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_held_back():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the caller had it off: it stays off
    finally:
        gc.enable()


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


LIBC = _glibc()


@pytest.mark.skipif(LIBC is None, reason="the heap policy acts on glibc only (as on CI)")
def test_a_freed_array_of_megabytes_stays_in_the_heap_during_the_block_only() -> None:
    assert LIBC is not None
    LIBC.mallinfo2.restype = _MallInfo2
    size = 8 * 2**20

    def alloc_free() -> tuple[int, int]:
        """Bytes mapped on their own while an 8 MiB array lives, and free heap bytes after it is gone."""
        before = LIBC.mallinfo2()
        x = np.ones(size // 8)
        during = LIBC.mallinfo2()
        del x
        after = LIBC.mallinfo2()
        return during.hblkhd - before.hblkhd, after.fordblks - before.fordblks

    with heap_kept():
        mapped, kept = alloc_free()
        assert mapped == 0  # from the heap, not a mapping of its own
        assert kept >= size - 2**20  # freed, and still the process's for the next pass
    mapped, kept = alloc_free()
    assert mapped >= size  # glibc's default threshold again: a mapping, handed back when freed
    assert kept < 2**20
